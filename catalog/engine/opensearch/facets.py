"""Filters and facets of the OpenSearch adapter (disjunctive faceting), both ways.

:func:`facet_filters` turns the request's filters into one clause per facet;
:func:`aggregations` counts each requested facet under every *other* facet's filter (so a
facet still shows its alternatives once one of its values is chosen); :func:`parse_facet`
reads those aggregations back into the port's facet entries. Category filters and the
hierarchy facet work on the ``category_path`` field (every ancestor path of a product's
category). Pure.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from catalog.engine.port import FacetValue, RangeBucket, SearchRequest
from catalog.model import CATEGORY_SEPARATOR, split_category
from catalog.schema import FACETS_BY_NAME, subfield

CATEGORY_PATH = subfield("category", "path", "_")


def canonical_category(path: str) -> str:
    """``"audio>headphones "`` -> ``"audio > headphones"`` (the keyword normalizer folds case)."""
    return CATEGORY_SEPARATOR.join(split_category(path))


def facet_filters(request: SearchRequest) -> dict[str, dict[str, Any]]:
    """The user's filters that belong to a facet, by facet name (disjunctive faceting)."""
    out: dict[str, dict[str, Any]] = {}
    categories = [c for c in (canonical_category(c) for c in request.categories) if c]
    if categories:
        out["category"] = {"terms": {f"{CATEGORY_PATH}.key": categories}}
    if request.brands:
        out["brand"] = {"terms": {"brand.key": list(request.brands)}}
    if request.price_min is not None or request.price_max is not None:
        bounds: dict[str, float] = {}
        if request.price_min is not None:
            bounds["gte"] = request.price_min
        if request.price_max is not None:
            bounds["lte"] = request.price_max
        out["price"] = {"range": {"price": bounds}}
    if request.rating_min is not None:
        out["rating"] = {"range": {"rating": {"gte": request.rating_min}}}
    return out


def all_of(filters: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """All of ``filters`` (``match_all`` when there are none)."""
    return {"bool": {"filter": list(filters)}} if filters else {"match_all": {}}


def _escape_regex(text: str) -> str:
    return re.sub(r'([.?+*|{}\[\]()"\\#@&<>~])', r"\\\1", text)


def _depth_regex(levels: int) -> str:
    """A Lucene regexp matching category path labels of exactly ``levels`` levels."""
    part = "[^\\>]+"
    sep = _escape_regex(CATEGORY_SEPARATOR)
    return part + (f"({sep}{part}){{{levels - 1}}}" if levels > 1 else "")


def facet_aggregation(name: str, request: SearchRequest) -> dict[str, Any]:
    """The aggregation of one facet, without its own filter."""
    facet = FACETS_BY_NAME[name]
    if facet.kind == "terms":
        return {"terms": {"field": facet.field, "size": facet.size}}
    if facet.kind == "ranges":
        ranges = []
        for lo, hi in facet.ranges:
            r: dict[str, float] = {}
            if lo is not None:
                r["from"] = lo
            if hi is not None:
                r["to"] = hi
            ranges.append(r)
        return {"range": {"field": facet.field, "ranges": ranges}}
    if facet.kind == "minimum":
        return {"range": {"field": facet.field, "ranges": [{"from": m} for m in facet.minimums]}}
    if facet.kind == "hierarchy":
        path = subfield(facet.field, "path", "_")
        aggs: dict[str, Any] = {
            "top": {"terms": {"field": path, "size": facet.size, "include": _depth_regex(1)}},
        }
        for i, selected in enumerate(dict.fromkeys(canonical_category(c) for c in request.categories)):
            if not selected:
                continue
            aggs[f"children_{i}"] = {
                "filter": {"term": {f"{path}.key": selected}},
                "aggs": {"values": {"terms": {
                    "field": path, "size": facet.size,
                    "include": _depth_regex(len(split_category(selected)) + 1)}}},
            }
        return {"filter": {"match_all": {}}, "aggs": aggs}
    raise ValueError(f"unknown facet kind {facet.kind!r}")


def aggregations(request: SearchRequest) -> dict[str, Any]:
    """One filter aggregation per requested facet, filtered by every *other* facet's filter."""
    filters = facet_filters(request)
    aggs: dict[str, Any] = {}
    for name in request.facets:
        others = [f for other, f in filters.items() if other != name]
        aggs[name] = {"filter": all_of(others), "aggs": {"values": facet_aggregation(name, request)}}
    return aggs


def _buckets(agg: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    buckets = agg.get("buckets") or []
    return list(buckets.values()) if isinstance(buckets, Mapping) else list(buckets)


def _f(value: float | None) -> float | None:
    return None if value is None else float(value)


def _range_counts(agg: Mapping[str, Any]) -> dict[tuple[float | None, float | None], int]:
    """Range buckets by their (from, to): the engine may return them in its own order."""
    return {(_f(b.get("from")), _f(b.get("to"))): int(b["doc_count"]) for b in _buckets(agg)}


def parse_facet(name: str, agg: Mapping[str, Any]) -> list[FacetValue] | list[RangeBucket]:
    """One facet's filter aggregation (``{"doc_count", "values": {...}}``) -> its entries."""
    facet = FACETS_BY_NAME[name]
    values = agg.get("values") or {}
    if facet.kind == "terms":
        return [FacetValue(b["key"], int(b["doc_count"])) for b in _buckets(values)]
    if facet.kind == "ranges":
        by_bounds = _range_counts(values)
        return [RangeBucket(_f(lo), _f(hi), by_bounds.get((_f(lo), _f(hi)), 0)) for lo, hi in facet.ranges]
    if facet.kind == "minimum":
        by_bounds = _range_counts(values)
        return [FacetValue(float(m), by_bounds.get((float(m), None), 0)) for m in facet.minimums]
    if facet.kind == "hierarchy":
        out: dict[str, int] = {}
        for b in _buckets(values.get("top") or {}):
            out.setdefault(b["key"], int(b["doc_count"]))
        for key in sorted(k for k in values if k.startswith("children_")):
            for b in _buckets((values[key] or {}).get("values") or {}):
                out.setdefault(b["key"], int(b["doc_count"]))
        return [FacetValue(k, n) for k, n in out.items() if n > 0]
    raise ValueError(f"unknown facet kind {facet.kind!r}")
