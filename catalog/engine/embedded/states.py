"""Stored document states: by id, one product, and every document in id order."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import tantivy

from catalog.convert import product_from_fields
from catalog.engine.embedded import query as eq
from catalog.engine.embedded.paging import by_id
from catalog.engine.embedded.schema import ID, IDKEY, SOURCE, content_from_source, hit_count, physical_schema
from catalog.engine.port import DocState, InvalidRequest
from catalog.model import Content, Product

_U = tantivy.FieldType.Unsigned


def load_states(searcher: tantivy.Searcher, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    """The stored sources (raw states) of ``ids`` that exist."""
    if not ids:
        return {}
    schema = physical_schema().schema
    out: dict[str, dict[str, Any]] = {}
    for chunk in range(0, len(ids), 1024):
        part = list(ids[chunk:chunk + 1024])
        q = tantivy.Query.term_set_query(schema, ID, part)
        for _, addr in searcher.search(q, len(part), count=False).hits:
            state = json.loads(searcher.doc(addr)[SOURCE][0])
            out[state["id"]] = state
    return out


def doc_state(state: Mapping[str, Any]) -> DocState:
    item = state.get("item")
    product = None if item is None else product_from_fields(item, state["item_version"])
    content = None
    if state.get("content") is not None:
        content = content_from_source(state["id"], state["content_version"], state["content"])
    return DocState(id=state["id"], item_version=state.get("item_version"),
                    content_version=state.get("content_version"), deleted=bool(state.get("deleted")),
                    visible=item is not None and not state.get("deleted"), product=product,
                    content=content, tombstoned_at=state.get("tombstoned_at"))


def states(searcher: tantivy.Searcher, ids: Sequence[str]) -> dict[str, DocState]:
    wanted = list(dict.fromkeys(ids))
    return {pid: doc_state(s) for pid, s in load_states(searcher, wanted).items()}


def iter_states(open_searcher: Callable[[], tantivy.Searcher], batch_size: int = 1000) -> Iterator[DocState]:
    """Every stored document's state in id order, a page of whole id-key runs at a time,
    each page resumed from a key (``search_after`` on the integer id key): bounded memory."""
    if batch_size < 1:
        raise InvalidRequest("batch_size", "must be 1 or more")
    searcher = open_searcher()  # one consistent snapshot for the whole walk
    schema = physical_schema().schema
    start: int | None = None  # the next page starts at this key (inclusive)
    while True:
        q = tantivy.Query.all_query() if start is None else tantivy.Query.range_query(schema, IDKEY, _U, start, None)
        hits = searcher.search(q, batch_size, count=False, order_by_field=IDKEY, order=tantivy.Order.Asc).hits
        if not hits:
            return
        full, last = len(hits) == batch_size, hits[-1][0]
        if full and hits[0][0] == last:  # one run of equal keys fills the page: take it whole
            run = tantivy.Query.range_query(schema, IDKEY, _U, last, last)
            addrs = [a for _, a in searcher.search(run, hit_count(searcher.search(run, 1, count=True)),
                                                   count=False).hits]
            ordered, start = by_id(searcher, addrs), last + 1
        elif full:  # the last run may go on: it starts the next page
            kept = [h for h in hits if h[0] != last]
            ordered, start = by_id(searcher, [a for _, a in kept], [k for k, _ in kept]), last
        else:
            ordered = by_id(searcher, [a for _, a in hits], [k for k, _ in hits])
        for addr in ordered:
            yield doc_state(json.loads(searcher.doc(addr)[SOURCE][0]))
        if not full or start is None or start > 2**64 - 1:  # (a full page has set start)
            return


def get(searcher: tantivy.Searcher, product_id: str) -> tuple[Product, Content | None] | None:
    """A visible product and its content, or None."""
    q = eq.all_of([eq.visible_filter(), tantivy.Query.term_query(physical_schema().schema, ID, product_id)])
    hits = searcher.search(q, 1, count=False).hits
    if not hits:
        return None
    state = doc_state(json.loads(searcher.doc(hits[0][1])[SOURCE][0]))
    assert state.product is not None
    return state.product, state.content
