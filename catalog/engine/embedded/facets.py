"""Facet counting: one aggregation pass for the facets (each without its own filter) and the total.

Filtered brand/category facets come from one brand x leaf pass (:func:`_matrix_aggs`);
range facets are counted from band codes; hierarchy facets from leaf counts added up.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

import tantivy

from catalog.engine.embedded import query as eq
from catalog.engine.embedded.paging import COUNT, COUNT_AGG
from catalog.engine.embedded.schema import BAND_DIGITS, BANDS, CELL, CELL_FIELDS, band_facets
from catalog.engine.port import FacetValue, RangeBucket, SearchRequest
from catalog.model import category_ancestors, split_category
from catalog.schema import FACETS_BY_NAME
from catalog.text import fold

# facet -> its single-valued field: filtered brand/category facets are counted in one (brand x leaf) pass
_MATRIX = {"brand": "brand", "category": "category"}
_CELL_ORDER = CELL_FIELDS  # the _cell field holds [brand, category] (JSON, null when missing)


def facet_aggs(searcher: tantivy.Searcher, req: SearchRequest, base: list[tantivy.Query],
                filters: dict[str, tantivy.Query]) -> tuple[dict[str, Any], int | None]:
    """Raw aggregations per facet (each without its own filter), and the total if counted."""
    split = {name for name in req.facets if name in filters}
    matrix = split & set(_MATRIX)
    raw: dict[str, Any]
    total: int | None
    if matrix:
        # brand/category from one matrix pass; any other facet with its own filter
        # (price, rating) from its own pass (it would need one anyway)
        own = [name for name in req.facets if name in split and name not in matrix]
        try:
            raw, total = _matrix_aggs(searcher, req, base, filters, matrix,
                                           [name for name in req.facets if name not in own])
        except ValueError:  # e.g. too many buckets: one pass per facet instead
            pass
        else:
            for name in own:
                out = searcher.aggregate(eq.all_of(base + [f for k, f in filters.items() if k != name]),
                                         _aggs([name]))
                raw[name] = out[_agg_key(name)]
            return raw, total
    by_query: dict[str | None, list[str]] = {}
    for name in req.facets:
        by_query.setdefault(name if name in filters else None, []).append(name)
    raw = {}
    total = None
    for excluded, names in by_query.items():
        q = eq.all_of(base + [f for k, f in filters.items() if k != excluded])
        aggs = _aggs(names)
        if excluded is None:
            aggs[COUNT] = COUNT_AGG  # this is the main query: count it here
        out = searcher.aggregate(q, aggs)
        if excluded is None:
            total = int(out.pop(COUNT)["value"])
        raw.update({name: out[_agg_key(name)] for name in names})
    return raw, total

def _matrix_aggs(searcher: tantivy.Searcher, req: SearchRequest, base: list[tantivy.Query],
                 filters: dict[str, tantivy.Query], split: set[str],
                 facets: Sequence[str]) -> tuple[dict[str, Any], int]:
    """Brand and category facets with their own filters active, in one pass.

    ``facets``: the requested facets counted here (none of them but brand and category
    may have its own filter active).

    Brand and the leaf category are single-valued, so one aggregation over the query
    without those filters, counted per (outer, inner) cell, holds every answer: a facet
    adds up the cells that match the *other* filter, the total the cells that match
    both. (One pass instead of one per filtered facet, each re-running the text query.)
    The outer dimension is the filtered one; when only one is filtered, the other
    requested facets (price, rating: no own filter here) are counted under the outer
    buckets that match it (a nested aggregation), else in a pass over the main query,
    and the cells come from one flat terms aggregation over ``_cell`` (at 100k docs
    0.6 ms instead of 1.8 ms for the nested brand x category aggregation).
    """
    missing = "\u0000"
    outer, inner = ("category", "brand") if split == {"category"} else ("brand", "category")
    keys = {"brand": {fold(b) for b in req.brands} if "brand" in split else None,
            "category": {_selection(c)[1] for c in req.categories} if "category" in split else None}
    rest = [name for name in facets if name not in _MATRIX]
    nested_rest = rest if len(split) == 1 else []
    q0 = eq.all_of(base + [f for k, f in filters.items() if k not in split])
    # outer value -> ([(inner value, count)], the outer bucket with the nested facets or None)
    rows: dict[str, tuple[list[tuple[str, int]], Mapping[str, Any] | None]] = {}
    if nested_rest:
        sub: dict[str, Any] = {"i": {"terms": {"field": _MATRIX[inner], "size": 65_000, "missing": missing}}}
        sub.update(_aggs(nested_rest))
        agg = {"terms": {"field": _MATRIX[outer], "size": 65_000, "missing": missing}, "aggs": sub}
        for o in searcher.aggregate(q0, {"_m": agg})["_m"]["buckets"]:
            rows[o["key"]] = ([(i["key"], int(i["doc_count"])) for i in o["i"]["buckets"]], o)
    else:
        # one flat terms aggregation over the (brand, category) cell field: ~8x cheaper than nesting
        flip = outer != _CELL_ORDER[0]
        for b in searcher.aggregate(q0, {"_m": {"terms": {"field": CELL, "size": 65_000}}})["_m"]["buckets"]:
            first, second = _cell_parts(b["key"])
            o_value, i_value = (second, first) if flip else (first, second)
            rows.setdefault(o_value, ([], None))[0].append((i_value, int(b["doc_count"])))

    def ok(dim: str, value: str) -> bool:
        wanted = keys[dim]
        if wanted is None:
            return True
        if value == missing:
            return False
        if dim == "brand":
            return _folded(value) in wanted
        return not wanted.isdisjoint(_folded_paths(value))

    counts: dict[str, dict[str, int]] = {outer: {}, inner: {}}
    nested: dict[str, dict[Any, int]] = {name: {} for name in nested_rest}
    total = 0
    for o_value, (inners, o) in rows.items():
        o_ok = ok(outer, o_value)
        for i_value, n in inners:
            i_ok = ok(inner, i_value)
            if i_ok and o_value != missing:
                counts[outer][o_value] = counts[outer].get(o_value, 0) + n
            if o_ok and i_value != missing:
                counts[inner][i_value] = counts[inner].get(i_value, 0) + n
            if o_ok and i_ok:
                total += n
        if o_ok and o is not None:  # the inner dimension is not filtered here: the whole outer bucket matches
            for name in nested_rest:
                for b in o[_agg_key(name)]["buckets"]:
                    nested[name][b.get("key")] = nested[name].get(b.get("key"), 0) + int(b["doc_count"])
    raw: dict[str, Any] = {dim: {"buckets": [{"key": k, "doc_count": n} for k, n in c.items()]}
                           for dim, c in counts.items()}
    for name in nested_rest:
        raw[name] = {"buckets": [{"key": k, "doc_count": n} for k, n in nested[name].items()]}
    if rest and not nested_rest:
        out = searcher.aggregate(eq.all_of(base + list(filters.values())), _aggs(rest))
        raw.update({name: out[_agg_key(name)] for name in rest})
    return raw, total


@lru_cache(maxsize=8192)
def _ancestors(label: str) -> tuple[str, ...]:
    return category_ancestors(label)


@lru_cache(maxsize=65536)
def _cell_parts(key: str) -> tuple[str, str]:
    """A ``_cell`` value -> (brand, category), ``"\u0000"`` for a missing one (as the terms ``missing``)."""
    first, second = json.loads(key)
    return (first if first is not None else "\u0000", second if second is not None else "\u0000")


@lru_cache(maxsize=8192)
def _path_info(label: str) -> tuple[int, str]:
    """A category path label -> (depth, folded path of its parent)."""
    levels = split_category(label)
    return len(levels), fold(" > ".join(levels[:-1]))


@lru_cache(maxsize=65536)
def _folded(label: str) -> str:
    return fold(label)


@lru_cache(maxsize=8192)
def _folded_paths(label: str) -> frozenset[str]:
    """The folded keys of a category label and all its ancestors (what a filter matches)."""
    return frozenset(fold(p) for p in category_ancestors(label))


@lru_cache(maxsize=1024)
def _selection(path: str) -> tuple[int, str]:
    """A category filter value -> (depth, folded canonical path)."""
    levels = split_category(path)
    return len(levels), fold(" > ".join(levels))


def _rating_edges(minimums: Sequence[float]) -> list[tuple[float, float | None]]:
    asc = sorted(set(minimums))
    return [(m, asc[i + 1] if i + 1 < len(asc) else None) for i, m in enumerate(asc)]


def _band_counts(name: str, buckets: Sequence[Mapping[str, Any]]) -> dict[int, int]:
    """Bucket index -> count of a band facet, added up from the ``_bands`` code buckets."""
    pos = band_facets()[name].position
    counts: dict[int, int] = {}
    for b in buckets:
        key = b.get("key")
        if isinstance(key, str) and len(key) > pos and key[pos] != "-":
            i = BAND_DIGITS.index(key[pos])
            counts[i] = counts.get(i, 0) + int(b["doc_count"])
    return counts


def _agg_key(name: str) -> str:
    """The aggregation that counts facet ``name``: all band facets share one over ``_bands``."""
    return BANDS if name in band_facets() else name


def _aggs(names: Sequence[str]) -> dict[str, Any]:
    """The aggregations of the facets ``names`` (one terms aggregation for all band facets)."""
    return {_agg_key(name): _agg(name) for name in names}


def _agg(name: str) -> dict[str, Any]:
    facet = FACETS_BY_NAME[name]
    bands = band_facets()
    if name in bands:
        # one cheap terms aggregation over the band codes instead of a range aggregation over
        # the float column (~0.15 ms instead of 0.6-1.2 ms at 100k docs); see _facet_values
        return {"terms": {"field": BANDS, "size": _band_code_space()}}
    if facet.kind == "hierarchy":
        # the leaf path is single-valued: count leaves, add them up into their ancestors
        # (a terms aggregation over the multi-valued ancestor field costs ~30x more)
        return {"terms": {"field": facet.field, "size": 65_000}}
    if facet.kind == "terms":
        return {"terms": {"field": facet.field, "size": max(1000, facet.size * 10)}}
    if facet.kind == "ranges":
        ranges = []
        for i, (lo, hi) in enumerate(facet.ranges):
            r: dict[str, Any] = {"key": f"r{i}"}
            if lo is not None:
                r["from"] = float(lo)
            if hi is not None:
                r["to"] = float(hi)
            ranges.append(r)
        return {"range": {"field": facet.field, "ranges": ranges}}
    # minimum: disjoint [m_i, m_i+1) buckets, summed into "at least" counts
    ranges = []
    for lo, hi in _rating_edges(facet.minimums):
        r = {"key": f"m{lo}", "from": float(lo)}
        if hi is not None:
            r["to"] = float(hi)
        ranges.append(r)
    return {"range": {"field": facet.field, "ranges": ranges}}


@lru_cache(maxsize=1)
def _band_code_space() -> int:
    """How many distinct band codes there can be (the terms aggregation keeps them all)."""
    n = 1
    for bf in band_facets().values():
        n *= len(bf.edges) + 1
    return max(n, 10)


def facet_values(name: str, raw: Mapping[str, Any], req: SearchRequest) -> list[FacetValue] | list[RangeBucket]:
    facet = FACETS_BY_NAME[name]
    buckets = raw.get("buckets") or []
    bands = band_facets().get(name)
    if bands is not None:
        by_band = _band_counts(name, buckets)
        if facet.kind == "ranges":
            return [RangeBucket(lo, hi, by_band.get(i, 0)) for i, (lo, hi) in enumerate(bands.edges)]
        # a minimum facet's bands all have a lower edge (minimum_edges)
        return [FacetValue(float(m), sum(n for i, n in by_band.items()
                                         if (lo := bands.edges[i][0]) is not None and lo >= float(m)))
                for m in facet.minimums]
    if facet.kind == "terms":
        ranked = sorted(((b["key"], int(b["doc_count"])) for b in buckets if b["doc_count"] > 0),
                        key=lambda kv: (-kv[1], kv[0]))
        return [FacetValue(k, c) for k, c in ranked[: facet.size]]
    if facet.kind == "hierarchy":
        counts: dict[str, int] = {}
        for b in buckets:
            if b["doc_count"] > 0:
                for path in _ancestors(b["key"]):
                    counts[path] = counts.get(path, 0) + int(b["doc_count"])
        info = {k: _path_info(k) for k in counts}  # label -> (depth, folded parent path)
        out = sorted(((k, c) for k, c in counts.items() if info[k][0] == 1), key=lambda kv: (-kv[1], kv[0]))
        seen = {k for k, _ in out}
        for selected in req.categories:
            depth, key = _selection(selected)
            children = [(k, c) for k, c in counts.items()
                        if info[k][0] == depth + 1 and info[k][1] == key and k not in seen]
            for k, c in sorted(children, key=lambda kv: (-kv[1], kv[0])):
                seen.add(k)
                out.append((k, c))
        return [FacetValue(k, c) for k, c in out[: facet.size]]
    by_key = {b.get("key"): int(b["doc_count"]) for b in buckets}
    if facet.kind == "ranges":
        return [RangeBucket(None if lo is None else float(lo), None if hi is None else float(hi),
                            by_key.get(f"r{i}", 0)) for i, (lo, hi) in enumerate(facet.ranges)]
    edges = _rating_edges(facet.minimums)
    return [FacetValue(float(m), sum(by_key.get(f"m{lo}", 0) for lo, _ in edges if lo >= m))
            for m in facet.minimums]
