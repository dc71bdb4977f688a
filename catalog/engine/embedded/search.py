"""One search and one suggestion list over a searcher.

A search is one aggregation pass (facets and the total, see :mod:`.facets`) and one page
pass (see :mod:`.paging`).
"""

from __future__ import annotations

import json
import time
from typing import Any

import tantivy

from catalog.analysis import PREFIX, SUGGEST_OVERFETCH, distinct_titles
from catalog.analysis import total as total_hits
from catalog.engine import cursor
from catalog.engine.embedded import query as eq
from catalog.engine.embedded.facets import facet_aggs, facet_values
from catalog.engine.embedded.paging import field_page, score_page
from catalog.engine.embedded.schema import HIT, RANK, physical_schema
from catalog.engine.port import Hit, InvalidRequest, SearchRequest, SearchResult, Sort, Suggestion, Total
from catalog.schema import MAX_SUGGEST_SIZE
from catalog.text import fold


def search(searcher: tantivy.Searcher, request: SearchRequest, t0: float) -> SearchResult:
    """``request`` over ``searcher``; ``t0`` is when it started (``time.perf_counter``)."""
    terms = eq.analyse(request.text) if request.text else eq.Terms((), ())
    text_q = eq.text_query(terms) if terms else None
    filters = eq.request_filters(request)
    base = [eq.visible_filter()] + ([text_q] if text_q is not None else [])
    query = eq.all_of(base + list(filters.values()))
    after = cursor.decode(request) if request.cursor else None
    # facets first: the aggregation over the main query also counts the total, which
    # is cheaper than counting in the scored search
    # (no facet over the main query: the page's first search counts instead)
    raw_facets, total = facet_aggs(searcher, request, base, filters)
    page: list[Any]
    next_after: dict[str, Any] | None
    if total == 0:
        page, next_after = [], None
    elif text_q is not None and request.sort is Sort.RELEVANCE:
        page, next_after, total = score_page(searcher, query, request, after, total)
    else:
        page, next_after, total = field_page(searcher, query, request, after, total)
    facets = {name: facet_values(name, raw_facets.get(name) or {}, request) for name in request.facets}
    highlighter = eq.highlighter(terms) if (request.highlight and terms) else None
    hits = [_hit(searcher, addr, score, highlighter) for score, addr in page]
    next_cursor = cursor.encode(request, next_after) if next_after is not None else None
    return SearchResult(hits=hits, total=Total(*total_hits(total)), facets=facets, next_cursor=next_cursor,
                        took_ms=(time.perf_counter() - t0) * 1000)


def _hit(searcher: tantivy.Searcher, addr: tantivy.DocAddress, score: float | None,
         highlighter: eq.Highlighter | None) -> Hit:
    item = json.loads(searcher.doc(addr)[HIT][0])
    highlight: dict[str, str | None] = {}
    if highlighter is not None:
        highlight = {"title": highlighter(item.get("title")), "description": highlighter(item.get("description"))}
    return Hit(id=item["id"], title=item.get("title") or "", brand=item.get("brand") or "",
               category=item.get("category") or "", price=float(item.get("price") or 0.0),
               currency=item.get("currency") or "", rating=item.get("rating"),
               review_count=int(item.get("review_count") or 0), in_stock=bool(item.get("in_stock")),
               image_url=item.get("image_url"), score=score, highlight=highlight)


def check_suggest_size(size: int) -> None:
    if not isinstance(size, int) or not 1 <= size <= MAX_SUGGEST_SIZE:
        raise InvalidRequest("size", f"must be between 1 and {MAX_SUGGEST_SIZE}")


def suggest(searcher: tantivy.Searcher, terms: eq.Terms, size: int) -> list[Suggestion]:
    """Titles of visible products matching the analysed ``terms``, the last one as a prefix."""
    ps = physical_schema()
    schema = ps.schema
    Q = tantivy.Query
    # (stemmed, exact) tantivy fields: an autocomplete field always has its exact copy
    fields = [(sf.stemmed, sf.exact) for sf in ps.search_fields if sf.autocomplete and sf.exact is not None]
    groups = []
    for i, (stem, exact) in enumerate(zip(terms.stemmed, terms.exact, strict=True)):
        clauses = []
        for stemmed_field, exact_field in fields:
            clauses.append(Q.term_query(schema, stemmed_field, stem))
            clauses.append(Q.term_query(schema, exact_field, exact))
            if i == len(terms.exact) - 1 and len(exact) <= PREFIX.max_chars:
                clauses.append(Q.fuzzy_term_query(schema, exact_field, exact, distance=0, prefix=True))
        groups.append(Q.boolean_query([(eq.Should, c) for c in clauses]))
    q = eq.all_of([eq.visible_filter(), *groups])
    hits = searcher.search(q, size * SUGGEST_OVERFETCH, count=False, weight_by_field=RANK).hits
    items = (json.loads(searcher.doc(addr)[HIT][0]) for _, addr in hits)
    found = (Suggestion(text=item.get("title") or "", id=item["id"]) for item in items)
    return distinct_titles(found, lambda s: s.text, size, fold)
