"""No search exceeds OpenSearch's clause limit (``indices.query.bool.max_clause_count``,
1,024 by default in 2.x), counted as OpenSearch 2.x counts it: over the whole query tree,
after fuzzy terms are rewritten into up to ``max_expansions`` terms each."""

from __future__ import annotations

from catalog.analysis import MAX_TERMS, TYPO, split
from catalog.engine import SearchRequest, Sort
from catalog.engine.opensearch.query import FUZZY_FIELDS, MAX_CLAUSES, STEMMED_FIELDS, clause_count, term_query
from catalog.engine.opensearch.search import search_body
from catalog.engine.opensearch.suggest import suggest_body
from catalog.schema import FACET_NAMES, MAX_FILTER_VALUES, MAX_QUERY_CHARS, MAX_SUGGEST_SIZE


def longest_query() -> str:
    """MAX_QUERY_CHARS characters of as many 8-letter words (two edits each) as fit."""
    words = []
    i = 0
    while len(" ".join([*words, "x" * 8])) <= MAX_QUERY_CHARS:
        words.append(f"wrd{i:05d}")
        i += 1
    return " ".join(words)


def test_the_longest_query_has_more_tokens_than_take_part():
    text = longest_query()
    assert len(text) <= MAX_QUERY_CHARS and len(split(text)) > MAX_TERMS


def test_clause_count_counts_fields_and_fuzzy_expansions():
    one = term_query("headphones", last=False)
    # stemmed: one clause per field; exact: the title; fuzzy: max_expansions per field
    assert clause_count(one) == len(STEMMED_FIELDS) + 1 + TYPO.max_expansions * len(FUZZY_FIELDS)
    assert clause_count(term_query("headphones", last=True)) == clause_count(one) + 1  # + the prefix
    assert clause_count({"bool": {"filter": [{"term": {"a": 1}}, {"range": {"b": {"gte": 1}}}]}}) == 2


def test_the_longest_allowed_search_stays_within_the_clause_limit():
    request = SearchRequest(
        text=longest_query(), categories=tuple(f"Cat {i} > Sub" for i in range(MAX_FILTER_VALUES)),
        brands=tuple(f"Brand {i}" for i in range(MAX_FILTER_VALUES)), price_min=1, price_max=2, in_stock=True,
        rating_min=3, facets=FACET_NAMES, sort=Sort.RELEVANCE,
    )
    body = search_body(request)
    n = clause_count(body["query"])
    assert MAX_CLAUSES * 0.8 < n <= MAX_CLAUSES, n  # the bound is used, and kept
    assert clause_count(body["post_filter"]) <= MAX_CLAUSES
    for agg in body["aggs"].values():
        assert clause_count(agg["filter"]) <= MAX_CLAUSES
    assert clause_count(suggest_body(longest_query(), MAX_SUGGEST_SIZE)["query"]) <= MAX_CLAUSES
