"""The two paging strategies of a search, each with its own cursor data.

* relevance with text (:func:`score_page`): top hits by score x the ``_rank`` multiplier;
  equal scores are ordered by id; the cursor holds the position (it never skips or repeats
  on a static index, and goes past the 10,000 depth limit);
* any other order, and browsing by relevance, i.e. by ``_rank`` (:func:`field_page`): top
  hits by the fast field, ties by id; the cursor is ``search_after``-like: the last value,
  how many docs of that value's tie group were served, and the position.

Ties are ordered by an integer key of the id's first 8 bytes and, where keys collide,
by the stored id (ordering on the text id field costs ~10x more).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

import tantivy

from catalog.engine import cursor
from catalog.engine.embedded import query as eq
from catalog.engine.embedded.schema import ID, IDKEY, RANK, VISIBLE, hit_count, physical_schema
from catalog.engine.port import SearchRequest, Sort

COUNT = "_total"
COUNT_AGG = {"value_count": {"field": VISIBLE}}
SMALL_GROUP = 128  # a complete tie group up to this size is ordered from stored ids, not another search
EXTRA = 48  # hits fetched beyond the page, so that a tie group at its end is seen whole
_F = tantivy.FieldType

# sort -> (tantivy fast field, order, field type); relevance without text sorts by _rank
_SORTS: dict[Sort, tuple[str, tantivy.Order, tantivy.FieldType]] = {
    Sort.RELEVANCE: (RANK, tantivy.Order.Desc, _F.Float),
    Sort.PRICE_ASC: ("price", tantivy.Order.Asc, _F.Float),
    Sort.PRICE_DESC: ("price", tantivy.Order.Desc, _F.Float),
    Sort.RATING_DESC: ("rating", tantivy.Order.Desc, _F.Float),
    Sort.NEWEST: ("created_at", tantivy.Order.Desc, _F.Integer),
}


def by_id(searcher: tantivy.Searcher, addrs: Sequence[Any],
          keys: Sequence[int | float | bool | None] | None = None) -> list[Any]:
    """``addrs`` in id order: by the integer id key, the stored id only where keys collide."""
    if len(addrs) < 2:
        return list(addrs)
    if keys is None:
        keys = searcher.fast_field_values(IDKEY, list(addrs))
    out: list[Any] = []
    for _, run in itertools.groupby(sorted(zip(keys, range(len(addrs)), addrs, strict=True),
                                           key=lambda t: (t[0], t[1])), key=lambda t: t[0]):
        members = [a for _, _, a in run]
        if len(members) > 1:
            ids = [searcher.doc(a)[ID][0] for a in members]
            members = [a for _, a in sorted(zip(ids, members, strict=True), key=lambda p: p[0])]
        out.extend(members)
    return out


def count_all(searcher: tantivy.Searcher, query: tantivy.Query) -> int:
    return int(searcher.aggregate(query, {COUNT: COUNT_AGG})[COUNT]["value"])


def score_page(searcher: tantivy.Searcher, query: tantivy.Query, req: SearchRequest,
                after: dict[str, Any] | None, total: int | None) -> tuple[list[Any], dict[str, Any] | None, int]:
    """Relevance: score desc, then id. Cursor: the position (a static index never skips)."""
    offset = req.offset
    if after is not None:
        at = after.get("o")
        if not isinstance(at, int) or at < 0:
            raise cursor.malformed()
        offset = at
    end = offset + req.size
    fetch = end + 1 + EXTRA  # a little more than the page: ties at its end are usually complete
    while True:
        res = searcher.search(query, fetch, count=total is None, weight_by_field=RANK)
        if total is None:
            total = hit_count(res)
        hits = res.hits
        if len(hits) < fetch or len(hits) < end or hits[-1][0] != hits[end - 1][0]:
            break
        fetch *= 4  # the tie group at the page's end goes on: see all of it
    # order = (score desc, id asc): ids only where scores tie
    ordered: list[tuple[float, Any]] = []
    for _, group in itertools.groupby(hits, key=lambda h: h[0]):
        g = list(group)
        if len(g) > 1 and len(ordered) < end:
            score = g[0][0]
            g = [(score, a) for a in by_id(searcher, [a for _, a in g])]
        ordered.extend(g)
        if len(ordered) >= end:
            break
    page = ordered[offset:end]
    nxt = {"o": end} if end < total else None
    return page, nxt, total


def _eq_filter(field: str, ftype: tantivy.FieldType, value: Any) -> tantivy.Query:
    if value is None:
        return eq.const(tantivy.Query.boolean_query([(eq.Must, tantivy.Query.all_query()),
                                                     (eq.MustNot, tantivy.Query.exists_query(field))]))
    return eq.range_filter(field, ftype, value, value)


def _after_filter(field: str, order: tantivy.Order, ftype: tantivy.FieldType,
                  value: Any) -> tantivy.Query | None:
    """Documents whose sort value comes strictly after ``value`` (missing values come last)."""
    if value is None:
        return None
    if order is tantivy.Order.Asc:
        rng = tantivy.Query.range_query(physical_schema().schema, field, ftype, value, None, include_lower=False)
    else:
        rng = tantivy.Query.range_query(physical_schema().schema, field, ftype, None, value, include_upper=False)
    missing = tantivy.Query.boolean_query([(eq.Must, tantivy.Query.all_query()),
                                           (eq.MustNot, tantivy.Query.exists_query(field))])
    return eq.const(tantivy.Query.boolean_query([(eq.Should, rng), (eq.Should, missing)]))


def _group(searcher: tantivy.Searcher, query: tantivy.Query, field: str, ftype: tantivy.FieldType,
           value: Any, skip: int, take: int) -> list[Any]:
    """Addresses of the docs whose sort value equals ``value``, in id order, [skip, skip+take)."""
    if take <= 0:
        return []
    q = eq.all_of([query, _eq_filter(field, ftype, value)])
    end = skip + take
    limit = end + 1
    while True:  # by the integer id key; a run of equal keys at the end is fetched whole
        hits = searcher.search(q, limit, count=False, order_by_field=IDKEY, order=tantivy.Order.Asc).hits
        if len(hits) < limit or hits[-1][0] != hits[end - 1][0]:
            break
        limit *= 2
    ordered = by_id(searcher, [a for _, a in hits], [k for k, _ in hits])
    return ordered[skip:end]


def field_page(searcher: tantivy.Searcher, query: tantivy.Query, req: SearchRequest,
                after: dict[str, Any] | None, total: int | None) -> tuple[list[Any], dict[str, Any] | None, int]:
    """A sort on a fast field, ties by id; the cursor continues after (value, id) like search_after.

    Returns the page (score None) and the next cursor's data. The cursor
    holds the last value, its id and how many docs of that value's group were served.
    """
    field, order, ftype = _SORTS[req.sort]
    size = req.size
    out: list[tuple[Any, Any, int]] = []  # (value, address, rank within its value group)
    q: tantivy.Query | None = query
    skip = req.offset
    if after is not None:
        if ("v" not in after or not isinstance(after.get("r"), int) or after["r"] < 0
                or not isinstance(after.get("p"), int)):
            raise cursor.malformed()
        value, served = after["v"], after["r"]
        if value is not None and not isinstance(value, int | float):
            raise cursor.malformed()
        rest = _group(searcher, query, field, ftype, value, served, size)
        out.extend((value, a, served + i + 1) for i, a in enumerate(rest))
        after_q = _after_filter(field, order, ftype, value)
        q = None if after_q is None else eq.all_of([query, after_q])
        skip = 0
    need = size - len(out)
    if q is not None and need > 0:
        end = skip + need
        counting = total is None and q is query
        res = searcher.search(q, end + 1 + EXTRA, count=counting, order_by_field=field, order=order)
        if counting:
            total = hit_count(res)
        hits = res.hits
        pos = 0
        groups = [(k, [a for _, a in g]) for k, g in itertools.groupby(hits, key=lambda h: h[0])]
        for gi, (value, addrs) in enumerate(groups):
            last_group = gi == len(groups) - 1
            complete = not last_group or len(hits) <= end + EXTRA
            g_start, g_end = pos, pos + len(addrs)
            lo = max(g_start, skip)
            hi = min(g_end, end) if complete else end
            if hi > lo:
                if complete and len(addrs) <= SMALL_GROUP:
                    # the whole tie group is here: order it by id from the stored ids
                    addrs = by_id(searcher, addrs)
                    got = addrs[lo - g_start:hi - g_start]
                else:
                    got = _group(searcher, q, field, ftype, value, lo - g_start, hi - lo)
                out.extend((value, a, lo - g_start + i + 1) for i, a in enumerate(got))
            pos = g_end
            if pos >= end:
                break
    if total is None:
        total = count_all(searcher, query)
    page = [(None, a) for _, a, _ in out[:size]]
    start = req.offset if after is None else after.get("p", 0)
    nxt = None
    if out and start + len(page) < total:
        value, _, rank = out[len(page) - 1]
        nxt = {"v": value, "r": rank, "p": start + len(page)}
    return page, nxt, total

# ------------------------------------------------------------ facets
