"""The write side of the OpenSearch adapter: ``_bulk`` bodies and their outcomes.

:func:`bulk_body` turns port operations into NDJSON for ``_bulk``: one scripted upsert per
operation, the Painless scripts below enforcing the versioning rule of
:mod:`catalog.versioning` on the server. :func:`bulk_outcomes` turns the bulk response
into one :class:`~catalog.engine.port.OpResult` per operation (stale, applied, retryable
or failed). Pure: no client, no I/O.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from typing import Any

from catalog.convert import content_fields, item_fields
from catalog.engine.opensearch.facets import CATEGORY_PATH
from catalog.engine.port import ClearContent, Operation, OpResult, Outcome, Tombstone, UpsertContent, UpsertItem
from catalog.schema import ITEM_FIELDS

RETRY_ON_CONFLICT = 3

# Fields a tombstone removes: everything the item brought, except the id.
_ITEM_DOC_FIELDS: tuple[str, ...] = (*(f.name for f in ITEM_FIELDS if f.name != "id"), CATEGORY_PATH)


def _painless(source: str) -> str:
    """Collapse the readable script below into one line (the server caches it compiled)."""
    return " ".join(source.split())


# The versioning rule (catalog.versioning), enforced on the server. Each script is
# either a no-op (ctx.op = 'none' -> bulk result "noop" -> Outcome.STALE) or writes the
# whole source's fields plus the bookkeeping fields. ``scripted_upsert`` runs the same
# script on an empty document when the id is new, so "nothing stored" always applies.
#
# item upsert: applies only if its version is greater than the stored item version
# (at an equal version a stored upsert is a replay and a stored tombstone wins).
ITEM_UPSERT_SCRIPT = _painless("""
    def s = ctx._source;
    long v = ((Number) params.version).longValue();
    long sv = s.item_version == null ? -1L : ((Number) s.item_version).longValue();
    if (sv >= v) {
      ctx.op = 'none';
    } else {
      s.putAll(params.doc);
      s.item_version = v;
      s.has_item = true;
      s.deleted = false;
      s.tombstoned_at = null;
    }
""")

# tombstone: applies if its version is greater than the stored item version, or equal
# to it while the stored item is not deleted (a delete follows the write it deletes).
TOMBSTONE_SCRIPT = _painless("""
    def s = ctx._source;
    long v = ((Number) params.version).longValue();
    long sv = s.item_version == null ? -1L : ((Number) s.item_version).longValue();
    if (sv > v || (sv == v && s.deleted == true)) {
      ctx.op = 'none';
    } else {
      for (def f : ITEM_DOC_FIELDS) { s.remove(f); }
      s.id = params.id;
      s.item_version = v;
      s.has_item = false;
      s.deleted = true;
      s.tombstoned_at = params.at;
    }
""").replace("ITEM_DOC_FIELDS", json.dumps(list(_ITEM_DOC_FIELDS)).replace('"', "'"))

# content upsert or clear (params.doc carries nulls): applies only if its version is
# greater than the stored content version. A content-only document is not visible.
CONTENT_SCRIPT = _painless("""
    def s = ctx._source;
    long v = ((Number) params.version).longValue();
    long sv = s.content_version == null ? -1L : ((Number) s.content_version).longValue();
    if (sv >= v) {
      ctx.op = 'none';
    } else {
      s.putAll(params.doc);
      s.id = params.id;
      s.content_version = v;
      if (s.has_item == null) { s.has_item = false; s.deleted = false; }
    }
""")

# purge: a tombstone that also holds content keeps the content and forgets the item.
FORGET_ITEM_SCRIPT = _painless("""
    ctx._source.remove('item_version');
    ctx._source.remove('tombstoned_at');
    ctx._source.has_item = false;
    ctx._source.deleted = false;
""")

_DUMPS = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def _script_prefix(source: str) -> str:
    return '{"scripted_upsert":true,"upsert":{},"script":{"lang":"painless","source":' + _DUMPS(source) + ',"params":'


_ITEM_PREFIX = _script_prefix(ITEM_UPSERT_SCRIPT)
_TOMBSTONE_PREFIX = _script_prefix(TOMBSTONE_SCRIPT)
_CONTENT_PREFIX = _script_prefix(CONTENT_SCRIPT)


def op_script(op: Operation, *, now_ms: int) -> tuple[str, dict[str, Any]]:
    """The script source and params of one operation (what :func:`bulk_body` sends)."""
    if isinstance(op, UpsertItem):
        return ITEM_UPSERT_SCRIPT, {"version": op.version, "doc": item_fields(op.product)}
    if isinstance(op, Tombstone):
        return TOMBSTONE_SCRIPT, {"id": op.id, "version": op.version, "at": now_ms}
    if isinstance(op, UpsertContent):
        return CONTENT_SCRIPT, {"id": op.id, "version": op.version, "doc": content_fields(op.content)}
    if isinstance(op, ClearContent):
        return CONTENT_SCRIPT, {"id": op.id, "version": op.version, "doc": content_fields(None)}
    raise TypeError(f"not an engine operation: {type(op).__name__}")


_PREFIXES = {ITEM_UPSERT_SCRIPT: _ITEM_PREFIX, TOMBSTONE_SCRIPT: _TOMBSTONE_PREFIX, CONTENT_SCRIPT: _CONTENT_PREFIX}


def bulk_body(ops: Sequence[Operation], index: str | None = None, *, now_ms: int | None = None) -> bytes:
    """The NDJSON body of one ``_bulk`` request: an ``update`` action and a scripted
    upsert per operation, in order (one bulk item per operation).

    ``index`` is named in every action line; ``None`` leaves it out, for a request whose
    path names the index (``POST /<index>/_bulk``): what the engine sends, so that the
    domain can refuse indices named in bodies (``rest.action.multi.allow_explicit_index``
    false) and the IAM grant on the path is the whole truth.
    ``now_ms`` stamps tombstones (``tombstoned_at``, epoch milliseconds; default: now).
    """
    if now_ms is None:
        now_ms = time.time_ns() // 1_000_000
    target = '"_index":' + _DUMPS(index) + "," if index is not None else ""
    lines: list[str] = []
    for op in ops:
        source, params = op_script(op, now_ms=now_ms)
        lines.append('{"update":{' + target + '"_id":' + _DUMPS(op.id)
                     + ',"retry_on_conflict":' + str(RETRY_ON_CONFLICT) + "}}")
        lines.append(_PREFIXES[source] + _DUMPS(params) + "}}")
    lines.append("")
    return "\n".join(lines).encode()


# Item errors that succeed when sent again later.
RETRYABLE_STATUS = frozenset({409, 429, 500, 502, 503, 504})
RETRYABLE_TYPES = frozenset({
    "es_rejected_execution_exception", "rejected_execution_exception", "too_many_requests",
    "circuit_breaking_exception", "version_conflict_engine_exception", "unavailable_shards_exception",
    "no_shard_available_action_exception", "node_not_connected_exception", "process_cluster_event_timeout_exception",
    "cluster_block_exception", "index_not_found_exception",
})


def error_reason(error: Any) -> str:
    """``type: reason (caused by: type: reason)`` of an OpenSearch error object."""
    if not isinstance(error, Mapping):
        return str(error)
    text = f"{error.get('type', 'error')}: {error.get('reason', '')}".rstrip(": ")
    cause = error.get("caused_by")
    if isinstance(cause, Mapping):
        text += f" (caused by {error_reason(cause)})"
    return text


def item_outcome(item: Mapping[str, Any]) -> OpResult:
    """One bulk response item -> its :class:`OpResult`.

    ``noop`` (the script found the stored version newer or equal) is STALE. Errors: 429,
    rejected execution, 409 (still conflicting after ``retry_on_conflict``), 5xx and a
    missing index (bootstrap not done yet) are RETRYABLE; 400 and other 4xx are FAILED.
    """
    body = next(iter(item.values())) if len(item) == 1 else item
    status = body.get("status")
    error = body.get("error")
    if error is None and isinstance(status, int) and 200 <= status < 300:
        if body.get("result") == "noop":
            return OpResult(Outcome.STALE, status=status)
        return OpResult(Outcome.APPLIED, status=status)
    reason = error_reason(error) if error is not None else f"status {status}"
    etype = error.get("type") if isinstance(error, Mapping) else None
    if status in RETRYABLE_STATUS or etype in RETRYABLE_TYPES or (isinstance(status, int) and status >= 500):
        return OpResult(Outcome.RETRYABLE, reason=reason, status=status)
    return OpResult(Outcome.FAILED, reason=reason, status=status)


class BulkResponseError(ValueError):
    """The bulk response does not line up with the request (one item per operation)."""


def bulk_outcomes(response: Mapping[str, Any], count: int) -> list[OpResult]:
    """A ``_bulk`` response -> one :class:`OpResult` per operation, in request order."""
    items = response.get("items")
    if not isinstance(items, list) or len(items) != count:
        got = len(items) if isinstance(items, list) else "no"
        raise BulkResponseError(f"bulk response has {got} items for {count} operations")
    return [item_outcome(item) for item in items]

