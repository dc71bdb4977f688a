"""One search of the OpenSearch adapter: the request body and the parsed answer.

:func:`search_body` assembles a :class:`~catalog.engine.port.SearchRequest` from the
parts of this package (the visible-and-text query of :mod:`.query`, the facet filters and
aggregations of :mod:`.facets`, the sort and cursor of :mod:`.paging`) plus the
highlight; :func:`parse_search` reads the response back into a
:class:`~catalog.engine.port.SearchResult` with the next cursor. Pure.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from catalog.analysis import TOTAL_EXACT_UP_TO
from catalog.engine import cursor
from catalog.engine.opensearch.facets import aggregations, all_of, facet_filters, parse_facet
from catalog.engine.opensearch.paging import decode_cursor, encode_cursor, sort_clause
from catalog.engine.opensearch.query import (
    MAX_CLAUSES,
    VISIBLE,
    clause_count,
    query_terms,
    ranked,
    stemmed_name,
    text_query,
)
from catalog.engine.port import Hit, SearchRequest, SearchResult, Sort, Total
from catalog.schema import HIGHLIGHT_POST, HIGHLIGHT_PRE, HIGHLIGHTED

SOURCE_FIELDS: tuple[str, ...] = (
    "id", "title", "brand", "category", "price", "currency", "rating", "review_count", "in_stock", "image_url",
)
TRACK_TOTAL_HITS = TOTAL_EXACT_UP_TO  # above it both engines report "at least" (gte)
DESCRIPTION_FRAGMENT = 160


def highlight_clause(terms: Sequence[str]) -> dict[str, Any]:
    """Highlights of the words whose stem is a query token's stem (the rule of
    :mod:`catalog.analysis`): a ``highlight_query`` of the stemmed tokens only, so the
    prefix and typo clauses of the search mark nothing, as on the embedded engine."""
    fields: dict[str, Any] = {}
    for f in HIGHLIGHTED:
        if f.name == "title":
            fields[f.name] = {"number_of_fragments": 0}
        else:
            fields[f.name] = {"fragment_size": DESCRIPTION_FRAGMENT, "number_of_fragments": 1}
    # no "type": unified is the default highlighter, and the API specification's oneOf of a
    # custom name or a built-in one cannot place "unified" (both match) and rejects it
    names = [stemmed_name(f.name, f.kind) for f in HIGHLIGHTED]
    return {
        "encoder": "html", "pre_tags": [HIGHLIGHT_PRE], "post_tags": [HIGHLIGHT_POST],
        "require_field_match": True, "fields": fields,
        "highlight_query": {"bool": {"should": [
            {"multi_match": {"query": t, "type": "best_fields", "fields": names}} for t in terms
        ]}},
    }


def search_body(request: SearchRequest, *, timeout_ms: int | None = None) -> dict[str, Any]:
    """The search DSL for ``request``.

    ``query``: visible documents, the in-stock filter (no facet) and the text; user
    filters that belong to a facet go to ``post_filter`` so that each facet aggregation
    can count without its own filter. ``from``/``size`` up to MAX_DEPTH, then
    ``search_after`` from the cursor. Raises :class:`InvalidRequest` for a bad cursor.
    """
    terms = query_terms(request.text)
    filters: list[dict[str, Any]] = list(VISIBLE)
    if request.in_stock is not None:
        filters.append({"term": {"in_stock": request.in_stock}})
    query: dict[str, Any] = {"bool": {"filter": filters}}
    # match_all scores 1 so that the business boosts still rank a browse (no text)
    query["bool"]["must"] = text_query(terms) if terms else [{"match_all": {}}]
    if clause_count(query) > MAX_CLAUSES:  # MAX_TERMS x the clauses of a term fit: tested
        raise ValueError(f"query of {len(terms)} terms exceeds {MAX_CLAUSES} clauses")
    if request.sort is Sort.RELEVANCE:
        query = ranked(query)
    body: dict[str, Any] = {
        "query": query,
        "size": request.size,
        "sort": sort_clause(request.sort),
        "track_total_hits": TRACK_TOTAL_HITS,
        "_source": list(SOURCE_FIELDS),
    }
    if request.cursor is not None:
        after, _ = decode_cursor(request)
        body["search_after"] = after
    else:
        cursor.check_depth(request.page, request.size)
        body["from"] = request.offset
    user = facet_filters(request)
    if user:
        body["post_filter"] = all_of(list(user.values()))
    if request.facets:
        body["aggs"] = aggregations(request)
    if request.highlight and terms:
        body["highlight"] = highlight_clause(terms)
    if timeout_ms is not None:
        body["timeout"] = f"{timeout_ms}ms"
    return body


def _hit(raw: Mapping[str, Any], highlight: bool) -> Hit:
    src = raw.get("_source") or {}
    marks: dict[str, str | None] = {}
    if highlight:
        found = raw.get("highlight") or {}
        for f in HIGHLIGHTED:
            fragments = found.get(f.name)
            marks[f.name] = " … ".join(fragments) if fragments else None
    rating = src.get("rating")
    return Hit(
        id=src.get("id") or raw["_id"],  # every hit has an _id
        title=src.get("title") or "",
        brand=src.get("brand") or "",
        category=src.get("category") or "",
        price=float(src.get("price") or 0.0),
        currency=src.get("currency") or "",
        rating=None if rating is None else float(rating),
        review_count=int(src.get("review_count") or 0),
        in_stock=bool(src.get("in_stock")),
        image_url=src.get("image_url"),
        score=raw.get("_score"),
        highlight=marks,
    )


def parse_search(response: Mapping[str, Any], request: SearchRequest) -> SearchResult:
    """A search response -> :class:`SearchResult` (hits, total, facets, next cursor)."""
    hits_block = response.get("hits") or {}
    raw_hits = hits_block.get("hits") or []
    with_marks = request.highlight and bool(query_terms(request.text))
    hits = [_hit(h, with_marks) for h in raw_hits]
    total_raw = hits_block.get("total") or {}
    if isinstance(total_raw, int):  # rest_total_hits_as_int
        total = Total(total_raw)
    else:
        total = Total(int(total_raw.get("value", 0)), "gte" if total_raw.get("relation") == "gte" else "eq")
    aggs = response.get("aggregations") or {}
    facets = {name: parse_facet(name, aggs[name]) for name in request.facets if name in aggs}
    position = decode_cursor(request)[1] if request.cursor is not None else request.offset
    position += len(hits)
    more = len(hits) == request.size and (total.relation == "gte" or position < total.value)
    next_cursor = encode_cursor(request, raw_hits[-1].get("sort") or [], position) if more and raw_hits else None
    return SearchResult(hits=hits, total=total, facets=facets, next_cursor=next_cursor,
                        took_ms=float(response.get("took") or 0))
