"""Redriving a DLQ message: re-apply the *current* state of its sources of truth to the index.

Idempotent (the version rule drops whatever the index already has) and safe in any order:

* ``stream``: the product ids of the pointer's records are read back from the stream
  (``GetShardIterator AT_SEQUENCE_NUMBER`` .. the last sequence number) and each id's
  current item is read from the region's table (consistent read): present -> ``UpsertItem``
  at its version; absent -> ``Tombstone`` at the highest version known (the records'
  images, the index's own), else nothing. When the records cannot be read any more
  (trimmed after 24 h, stream or shard gone) no narrower set of ids is knowable: a delete
  leaves nothing in the table to find it by. The redrive then runs the region's full
  ``audit --repair``, which re-applies the table's and bucket's current state for every id
  whose index differs, deletes included;
* ``content``: each ``products/{id}.json`` key of the notification is re-resolved exactly
  as the indexer does (:func:`indexer.content.resolve_content`);
* ``poison``: re-processed after a fix: a stream record by reading its item's current
  state from the table (as for a pointer), an S3 record by re-resolving its object. If the
  source still cannot become a document, the redrive says why.

Nothing here deletes a message: :func:`replication.dlq.redrive` does, once it succeeded.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from catalog.convert import TransformError, deserialize_image, product_from_item, version_of
from catalog.engine import EngineError, Operation, Tombstone, UpsertItem
from replication.dlq_messages import CONTENT, POISON, STREAM, DlqMessage, StreamPointer
from replication.sources import batch_get

MAX_EMPTY_PAGES = 20  # GetRecords pages without a record before a pointer's range counts as unreadable
# what a stream read raises when the pointer's records are gone (not a permissions or network problem)
GONE_CODES = ("TrimmedDataAccessException", "ResourceNotFoundException", "ExpiredIteratorException",
              "ValidationException")


@dataclass
class RedriveResult:
    """What redriving one message did; ``render`` gives its lines in the command's report."""

    region: str
    id: str
    kind: str
    ok: bool
    action: str  # what was done, in words
    product_ids: list[str] = field(default_factory=list)
    applied: int = 0
    stale: int = 0
    problems: list[str] = field(default_factory=list)
    deleted: bool = False

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def render(self) -> str:
        mark = "ok  " if self.ok else "FAIL"
        ids = f" [{', '.join(self.product_ids[:5])}{', ...' if len(self.product_ids) > 5 else ''}]" \
            if self.product_ids else ""
        line = f"  {mark} {self.region} {self.id} {self.kind}: {self.action}{ids}"
        if self.ok:
            line += f"; {self.applied} applied, {self.stale} already current" + (
                "; message deleted" if self.deleted else "")
        for p in self.problems[:5]:
            line += f"\n         {p}"
        if not self.ok:
            line += "\n         message kept"
        return line


def _image_versions(record: Mapping[str, Any]) -> tuple[str | None, list[int]]:
    """(product id from the keys, the versions in the record's images) of a stream record."""
    ddb = record.get("dynamodb") if isinstance(record, Mapping) else None
    if not isinstance(ddb, Mapping):
        return None, []
    pid = None
    keys = ddb.get("Keys")
    if isinstance(keys, Mapping) and isinstance(keys.get("id"), Mapping):
        pid = keys["id"].get("S")
    versions = []
    for name in ("NewImage", "OldImage"):
        image = ddb.get(name)
        if isinstance(image, Mapping):
            with contextlib.suppress(TransformError):
                versions.append(version_of(deserialize_image(image)))
    return pid, versions


def read_pointer(streams: Any, pointer: StreamPointer, *, max_empty_pages: int = MAX_EMPTY_PAGES
                 ) -> tuple[dict[str, list[int]] | None, str | None]:
    """product id -> versions seen, for the records from the pointer's first to its last
    sequence number; ``(None, why)`` when they cannot be read any more."""
    end = int(pointer.end_sequence)
    try:
        it = streams.get_shard_iterator(StreamArn=pointer.stream_arn, ShardId=pointer.shard_id,
                                        ShardIteratorType="AT_SEQUENCE_NUMBER",
                                        SequenceNumber=pointer.start_sequence)["ShardIterator"]
        found: dict[str, list[int]] = {}
        empty = 0
        while it:
            resp = streams.get_records(ShardIterator=it, Limit=1000)
            records = resp.get("Records", [])
            empty = 0 if records else empty + 1
            for r in records:
                if int(r["dynamodb"]["SequenceNumber"]) > end:
                    return found, None
                pid, versions = _image_versions(r)
                if pid:
                    found.setdefault(pid, []).extend(versions)
                if int(r["dynamodb"]["SequenceNumber"]) == end:
                    return found, None
            if empty >= max_empty_pages:
                return None, f"the records up to {pointer.end_sequence} did not come back from the shard"
            it = resp.get("NextShardIterator")
        return (found, None) if found else (None, "the shard ended before the pointer's records")
    except Exception as exc:
        code = getattr(exc, "response", {}).get("Error", {}).get("Code")
        if code in GONE_CODES:
            return None, f"{code}: {getattr(exc, 'response', {}).get('Error', {}).get('Message', '')}".rstrip(": ")
        raise


def _apply(engine: Any, ops: Sequence[Operation], result: RedriveResult) -> None:
    if not ops:
        return
    for op, r in zip(ops, engine.apply(list(ops)), strict=True):
        if r.ok:
            if r.outcome.value == "applied":
                result.applied += 1
            else:
                result.stale += 1
        else:
            result.problems.append(f"{op.id}: the engine said {r.outcome.value}: {r.reason or ''}".rstrip(": "))


def reapply_items(target: Any, region: str, versions: Mapping[str, Sequence[int]], result: RedriveResult) -> None:
    """The table's current state of each id into the region's index (see the module doc)."""
    ids = list(versions)
    result.product_ids = ids
    items = batch_get(target.client("dynamodb", region), target.config.table_name, ids, consistent=True)
    engine = target.engine(region)
    states = engine.states(ids)
    ops: list[Operation] = []
    for pid in ids:
        item = items.get(pid)
        if item is not None:
            try:
                ops.append(UpsertItem(product_from_item(item)))
            except TransformError as exc:
                result.problems.append(f"{pid}: the table's item is still invalid: {exc}")
            continue
        state = states.get(pid)
        known = [*versions[pid], *([state.item_version] if state and state.item_version else [])]
        if known:
            ops.append(Tombstone(pid, max(known)))
    _apply(engine, ops, result)


def _redrive_stream(target: Any, region: str, msg: DlqMessage, result: RedriveResult,
                    audited: dict[str, RedriveResult]) -> None:
    from replication.audit import audit
    from replication.audit_report import REPAIRABLE

    pointer = msg.pointer
    assert pointer is not None
    found, why = read_pointer(target.client("dynamodbstreams", region), pointer)
    if found is not None:
        result.action = f"{pointer.batch_size} stream records re-read, their items from the table"
        reapply_items(target, region, found, result)
        return
    if region in audited:  # one full audit per region and run covers every pointer older than it
        earlier = audited[region]
        result.action = f"stream records no longer readable ({why}): covered by this run's audit of {region}"
        result.problems = list(earlier.problems)
        return
    audited[region] = result
    report = audit(target, regions=[region], repair=True)
    repairable = sum(n for k, n in report.counts.items() if k in REPAIRABLE)
    repaired = sum(report.repaired.values())
    result.action = (f"stream records no longer readable ({why}): full audit --repair of {region}, "
                     f"{repaired} of {repairable} repairable discrepancies repaired")
    result.applied = repaired
    if repaired < repairable:
        result.problems.append(f"{repairable - repaired} discrepancies were not repaired: run `storefront audit "
                               f"--region {region}`")
    others = {k: n for k, n in report.counts.items() if k not in REPAIRABLE}
    if others:
        result.action += f" (also found, not repairable here: {dict(sorted(others.items()))})"


def _redrive_content(target: Any, region: str, sqs_record: Mapping[str, Any], result: RedriveResult) -> None:
    from indexer.content import S3Reader, resolve_content
    from indexer.records import Status, sqs_work

    bucket = target.config.bucket_name(region)
    work = sqs_work(0, sqs_record, bucket)
    result.product_ids = sorted({h.product_id for h in work.hints})
    if work.status is Status.IGNORED:
        result.action = "nothing to index (a test event, or no products/ key of this region's bucket)"
        return
    if work.status is Status.PENDING:
        resolve_content([work], S3Reader(target.client("s3", region), bucket))
    if work.status is Status.POISON and work.error is not None:
        result.problems.append(f"still cannot be indexed: {work.error.field}: {work.error.reason}")
        return
    if work.status is Status.FAILED:
        result.problems.append(work.failure or "reading the object failed")
        return
    result.action = f"{len(result.product_ids)} object(s) re-read from {bucket}"
    _apply(target.engine(region), work.ops, result)


def redrive_message(target: Any, msg: DlqMessage, audited: dict[str, RedriveResult] | None = None) -> RedriveResult:
    """Redrive one message into its region's index (nothing is deleted here). ``audited``:
    the fallback audits already run by this redrive, by region (shared across calls)."""
    region = msg.region
    result = RedriveResult(region, msg.id, msg.kind, False, "")
    d = msg.data if isinstance(msg.data, Mapping) else {}
    try:
        if msg.kind == STREAM:
            _redrive_stream(target, region, msg, result, {} if audited is None else audited)
        elif msg.kind == CONTENT:
            _redrive_content(target, region, {"messageId": msg.id, "body": msg.body, "eventSource": "aws:sqs"},
                             result)
        elif msg.kind == POISON and d.get("source") == "s3":
            _redrive_content(target, region, d.get("record") or {}, result)
            result.action = "dead-lettered S3 record: " + (result.action or "re-resolved")
        elif msg.kind == POISON and d.get("source") == "dynamodb":
            key_id, versions = _image_versions(d.get("record") or {})
            pid = d.get("product_id") or key_id
            if not pid:
                result.problems.append("the record names no product id: nothing to re-read "
                                       "(`storefront dlq delete` it once understood)")
            else:
                result.action = "dead-lettered stream record: its item re-read from the table"
                reapply_items(target, region, {pid: versions}, result)
        else:
            result.problems.append(f"not redrivable: {msg.problem or 'unknown source'}")
    except EngineError as exc:
        result.problems.append(f"search engine: {exc}")
    result.ok = not result.problems
    return result
