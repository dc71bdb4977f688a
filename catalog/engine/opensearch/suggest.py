"""Title suggestions of the OpenSearch adapter: the request body and the distinct titles of its answer.

The same rule as the embedded engine's suggest (:mod:`catalog.analysis`): every word of
the prefix matches a title word, the last one also as the start of one. Pure.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from catalog.analysis import SUGGEST_OVERFETCH, distinct_titles
from catalog.engine.opensearch.paging import SORTS, TIE_BREAK
from catalog.engine.opensearch.query import VISIBLE, query_terms, stemmed_name
from catalog.engine.port import Sort, Suggestion
from catalog.schema import MAX_SUGGEST_SIZE, SEARCHABLE, subfield
from catalog.text import fold


def suggest_body(prefix: str, size: int) -> dict[str, Any] | None:
    """Titles completing ``prefix``, as the embedded engine's suggest: every word matches a
    title word (stemmed or exact), the last one also as a prefix (``title.prefix``, from
    one character). None if the prefix has no word. :func:`parse_suggest` keeps distinct
    titles, so more hits than ``size`` are asked for."""
    terms = query_terms(prefix)
    if not terms:
        return None
    title = next(f for f in SEARCHABLE if f.autocomplete)
    stemmed, exact, grams = (stemmed_name(title.name, title.kind), subfield(title.name, "exact"),
                             subfield(title.name, "prefix"))
    must: list[dict[str, Any]] = []
    for i, term in enumerate(terms):
        fields = [stemmed, exact] + ([grams] if i == len(terms) - 1 else [])
        must.append({"multi_match": {"query": term, "type": "best_fields", "fields": fields}})
    size = max(1, min(size, MAX_SUGGEST_SIZE))
    return {
        "query": {"bool": {"filter": list(VISIBLE), "must": must}},
        "size": size * SUGGEST_OVERFETCH,
        "sort": [*SORTS[Sort.RELEVANCE], TIE_BREAK],
        "_source": ["id", "title"],
        "track_total_hits": False,
    }


def parse_suggest(response: Mapping[str, Any], size: int = MAX_SUGGEST_SIZE) -> list[Suggestion]:
    """The first ``size`` distinct titles (compared folded) of a suggest response."""
    out = []
    for h in (response.get("hits") or {}).get("hits") or []:
        src = h.get("_source") or {}
        out.append(Suggestion(text=src.get("title") or "", id=src.get("id") or h.get("_id")))
    return distinct_titles(out, lambda s: s.text, size, fold)
