"""Versioned writes: each product is one document whose stored source is its whole state.

Each product is one document (delete by id + add) carrying a stored JSON source of its
whole state (item fields, content, both versions, tombstone), so a write is a
read-modify-write under the writer lock that follows :mod:`catalog.versioning`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from typing import Any

import tantivy

from catalog.engine.embedded import query as eq
from catalog.engine.embedded.schema import ID, SOURCE, content_to_source, hit_count
from catalog.engine.embedded.schema import build_document as _build_document
from catalog.engine.embedded.schema import product_state_item as _item_of
from catalog.engine.embedded.states import load_states
from catalog.engine.embedded.store import IndexStore, Physical
from catalog.engine.port import (
    ClearContent,
    EngineUnavailable,
    InvalidRequest,
    Operation,
    OpResult,
    Outcome,
    Tombstone,
    UpsertContent,
    UpsertItem,
)
from catalog.versioning import content_is_newer, item_is_newer


def _new_state(pid: str) -> dict[str, Any]:
    return {"id": pid, "item": None, "item_version": None, "content": None, "content_version": None,
            "deleted": False, "tombstoned_at": None}


def apply(store: IndexStore, ops: Sequence[Operation], index: str | None = None) -> list[OpResult]:
    """Apply ``ops`` in order to ``index`` (default: the alias, made on first write)."""
    if not ops:
        return []
    with store.write_lock:
        if index is None and store.alias_target() is None:
            store.create_alias()
        phys = store.open(store.target(index))
        writer = store.writer(phys)
        try:
            results = _apply_locked(phys, writer, ops)
        finally:
            del writer  # releases the lock file: other processes may write between batches
        store.refresh(phys)
        return results


def _apply_locked(phys: Physical, writer: tantivy.IndexWriter, ops: Sequence[Operation]) -> list[OpResult]:
    phys.index.reload()  # whatever others committed before we took the writer
    searcher = phys.index.searcher()
    ids = list(dict.fromkeys(op.id for op in ops if isinstance(getattr(op, "id", None), str)))
    stored = load_states(searcher, ids)
    dirty: dict[str, dict[str, Any]] = {}
    touched: dict[str, list[int]] = {}
    results: list[OpResult] = []
    now = time.time()
    for i, op in enumerate(ops):
        try:
            pid = op.id
            state = dirty.get(pid)
            if state is None:
                state = dict(stored.get(pid) or _new_state(pid))
            applied = _apply_one(state, op, now)
        except Exception as exc:  # a bad operation fails alone
            results.append(OpResult(Outcome.FAILED, f"{type(exc).__name__}: {exc}", 400))
            continue
        if applied:
            dirty[pid] = state
            touched.setdefault(pid, []).append(i)
            results.append(OpResult(Outcome.APPLIED, None, 200))
        else:
            results.append(OpResult(Outcome.STALE, "version is not newer than the stored one", 409))
    if not dirty:
        return results
    try:
        for pid, state in dirty.items():
            try:
                doc = _build_document(state)
            except Exception as exc:
                for i in touched[pid]:
                    results[i] = OpResult(Outcome.FAILED, f"{type(exc).__name__}: {exc}", 400)
                continue
            if pid in stored:
                writer.delete_documents_by_term(ID, pid)
            writer.add_document(doc)
        writer.commit()
        writer.wait_merging_threads()
    except (OSError, ValueError, RuntimeError) as exc:
        raise EngineUnavailable(f"commit to index {phys.name!r} failed: {exc}") from exc
    return results


def _apply_one(state: dict[str, Any], op: Operation, now: float) -> bool:
    if isinstance(op, UpsertItem):
        if not item_is_newer(op.version, False, state["item_version"], state["deleted"]):
            return False
        state.update(item=_item_of(op.product), item_version=op.version, deleted=False, tombstoned_at=None)
    elif isinstance(op, Tombstone):
        if not item_is_newer(op.version, True, state["item_version"], state["deleted"]):
            return False
        state.update(item=None, item_version=op.version, deleted=True, tombstoned_at=now)
    elif isinstance(op, UpsertContent):
        if not content_is_newer(op.version, state["content_version"]):
            return False
        state.update(content=content_to_source(op.content), content_version=op.version)
    elif isinstance(op, ClearContent):
        if not content_is_newer(op.version, state["content_version"]):
            return False
        state.update(content=None, content_version=op.version)
    else:
        raise TypeError(f"unknown operation {type(op).__name__}")
    return True


def purge_tombstones(store: IndexStore, older_than_seconds: float) -> int:
    """Forget tombstones written more than ``older_than_seconds`` ago.

    A tombstone without content is deleted; one with content becomes a content-only
    document again (the content is there when a newer item brings the product back).
    Returns how many tombstones were forgotten.
    """
    if older_than_seconds < 0:
        raise InvalidRequest("older_than_seconds", "must be 0 or more")
    with store.write_lock:
        target = store.alias_target()
        if target is None:
            return 0
        phys = store.open(target)
        cutoff = int((time.time() - older_than_seconds) * 1000)
        q = eq.all_of([eq.bool_filter("deleted", True),
                       eq.range_filter("tombstoned_at", tantivy.FieldType.Integer, None, cutoff,
                                       include_upper=False)])
        writer = store.writer(phys)
        try:
            phys.index.reload()
            searcher = phys.index.searcher()
            n = hit_count(searcher.search(q, 1, count=True))
            if n:
                keep = []
                for _, addr in searcher.search(q, n, count=False).hits:
                    state = json.loads(searcher.doc(addr)[SOURCE][0])
                    if state.get("content") is not None:
                        state.update(item=None, item_version=None, deleted=False, tombstoned_at=None)
                        keep.append(state)
                writer.delete_documents_by_query(q)
                for state in keep:
                    writer.add_document(_build_document(state))
                writer.commit()
                writer.wait_merging_threads()
        finally:
            del writer
        store.refresh(phys)
        return n
