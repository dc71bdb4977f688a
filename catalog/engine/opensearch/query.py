"""The query side of the OpenSearch adapter: visibility, text matching, the clause limit, ranking.

User text never becomes query syntax: it is tokenised with :func:`catalog.analysis.split`
(the index analyzers' own tokens) and each token is placed into ``multi_match`` queries
built here (never ``query_string``). The matching rules are :mod:`catalog.analysis`'s
(``TYPO``, ``PREFIX``, ``MAX_TERMS``); the index analyzers are its chain. Pure.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from catalog.analysis import MAX_TERMS, PREFIX, TYPO, split
from catalog.schema import RELEVANCE, SEARCHABLE, Kind, subfield

VISIBLE: tuple[dict[str, Any], ...] = (
    {"term": {"has_item": True}},
    {"term": {"deleted": False}},
)


def visible_query() -> dict[str, Any]:
    """Only products whose item is present and not tombstoned."""
    return {"bool": {"filter": list(VISIBLE)}}


MAX_CLAUSES = 1024  # indices.query.bool.max_clause_count (2.x default), counted after rewriting


def _boost(value: float) -> str:
    return f"{value:g}"


def stemmed_name(name: str, kind: Kind) -> str:
    """The stemmed field of ``name``: a text field itself, a keyword's ``.text`` subfield."""
    return name if kind is Kind.TEXT else subfield(name, "text")


STEMMED_FIELDS: tuple[str, ...] = tuple(f"{stemmed_name(f.name, f.kind)}^{_boost(f.boost)}" for f in SEARCHABLE)
# exact (unstemmed) matches score more on the field shoppers type into: the title
EXACT_FIELDS: tuple[str, ...] = tuple(
    f"{subfield(f.name, 'exact')}^{_boost(f.boost * RELEVANCE.exact_factor)}" for f in SEARCHABLE if f.autocomplete
)
# typo matching runs on the unstemmed copies of TYPO.fields at the plain field boost (x fuzzy_factor)
FUZZY_FIELDS: tuple[str, ...] = tuple(
    f"{subfield(f.name, 'exact')}^{_boost(f.boost)}" for f in SEARCHABLE if f.name in TYPO.fields
)
PREFIX_FIELDS: tuple[str, ...] = tuple(
    f"{subfield(f.name, 'prefix')}^{_boost(f.boost * RELEVANCE.prefix_factor)}" for f in SEARCHABLE
    if f.name in PREFIX.fields
)


def query_terms(text: str) -> list[str]:
    """The query's tokens as written: each one is a token of the index analyzers."""
    return split(text)[:MAX_TERMS]


def term_query(term: str, *, last: bool) -> dict[str, Any]:
    """Where one term may match: stemmed (1x), unstemmed (exact_factor x), with typos
    (fuzzy_factor x; ``AUTO`` gives the edits of :data:`TYPO` by the analysed token's
    length) and, for the last term, as a prefix of a title word (prefix_factor x; the
    edge n-grams hold prefixes up to ``PREFIX.max_chars``). exact > stemmed > prefix > typo."""
    should: list[dict[str, Any]] = [
        {"multi_match": {"query": term, "type": "best_fields", "fields": list(STEMMED_FIELDS)}},
    ]
    if EXACT_FIELDS:
        should.append({"multi_match": {"query": term, "type": "best_fields", "fields": list(EXACT_FIELDS)}})
    if FUZZY_FIELDS:
        should.append({"multi_match": {
            "query": term, "type": "best_fields", "fields": list(FUZZY_FIELDS), "fuzziness": TYPO.fuzziness,
            "prefix_length": TYPO.prefix_length, "max_expansions": TYPO.max_expansions,
            "fuzzy_transpositions": TYPO.transpositions, "boost": RELEVANCE.fuzzy_factor,
        }})
    if last and PREFIX_FIELDS:
        should.append({"multi_match": {"query": term, "type": "best_fields", "fields": list(PREFIX_FIELDS)}})
    return {"bool": {"should": should, "minimum_should_match": 1}}


def text_query(terms: Sequence[str]) -> list[dict[str, Any]]:
    """Every term must match somewhere (AND over terms, OR over ways and fields)."""
    return [term_query(t, last=i == len(terms) - 1) for i, t in enumerate(terms)]


def clause_count(query: Any) -> int:
    """Lucene clauses of a query after rewriting, as ``max_clause_count`` counts them: a
    ``multi_match`` is one clause per field (its token is one term), times
    ``max_expansions`` when fuzzy; a compound query adds its children."""
    if isinstance(query, list):
        return sum(clause_count(q) for q in query)
    if not isinstance(query, Mapping):
        return 0
    if "multi_match" in query:
        mm = query["multi_match"]
        per_field = mm.get("max_expansions", 50) if mm.get("fuzziness") not in (None, 0, "0") else 1
        return len(mm.get("fields") or [""]) * per_field
    if "bool" in query:
        b = query["bool"]
        return sum(clause_count(b.get(k) or []) for k in ("must", "should", "filter", "must_not"))
    if "function_score" in query:
        fs = query["function_score"]
        return clause_count(fs.get("query")) + sum(clause_count(f.get("filter")) for f in fs.get("functions", []))
    return 1  # a leaf: term, range, match_all, ...


def ranked(query: dict[str, Any]) -> dict[str, Any]:
    """Mild business boosts on top of text relevance: in stock x in_stock_boost and
    x (1 + rating_weight x rating / 5), both as multipliers, no script."""
    with_rating = {"function_score": {
        "query": query,
        "functions": [{"weight": 1}, {"field_value_factor": {
            "field": "rating", "factor": RELEVANCE.rating_weight / 5, "missing": 0}}],
        "score_mode": "sum", "boost_mode": "multiply",
    }}
    return {"function_score": {
        "query": with_rating,
        "functions": [{"filter": {"term": {"in_stock": True}}, "weight": RELEVANCE.in_stock_boost}],
        "score_mode": "multiply", "boost_mode": "multiply",
    }}
