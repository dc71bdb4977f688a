"""``storefront dlq``: read, show, redrive and delete the messages of a region's indexer DLQ.

One queue per region (``dlq_name(region)``) receives three kinds of message:

* ``poison``: the indexer's own dead letter for a record it cannot transform
  (:mod:`indexer.dlq`: ``{source, reason, field, product_id, region, record, at}``);
* ``stream``: the stream event source's on-failure record, sent when a batch exhausted
  ``stream_max_retries`` or ``stream_max_record_age_seconds``. It holds only a pointer
  (Lambda's ``DDBStreamBatchInfo``: shard, first and last sequence number, stream ARN),
  never the records, and those leave the stream after 24 h;
* ``content``: an S3 event notification the content queue gave up on after its
  ``maxReceiveCount`` receives (SQS's redrive moves the original body here).

Redrive re-applies the *current* state of the sources of truth, so it is idempotent (the
version rule drops whatever the index already has) and safe in any order:

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
  source still cannot become a document, the redrive says why and keeps the message.

A message is deleted only when its redrive succeeded; every other message read is made
visible again (visibility timeout 0) before the command returns.
"""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from catalog.convert import TransformError, deserialize_image, product_from_item, version_of
from catalog.engine import EngineError, Operation, Tombstone, UpsertItem
from replication.sources import batch_get

POISON, STREAM, CONTENT, UNKNOWN = "poison", "stream", "content", "unknown"
LIST_VISIBILITY_SECONDS = 30  # messages read by list/show/delete are hidden this long at most
REDRIVE_VISIBILITY_SECONDS = 900  # ... and by redrive, which may run a full audit per message
MAX_EMPTY_PAGES = 20  # GetRecords pages without a record before a pointer's range counts as unreadable
# what a stream read raises when the pointer's records are gone (not a permissions or network problem)
GONE_CODES = ("TrimmedDataAccessException", "ResourceNotFoundException", "ExpiredIteratorException",
              "ValidationException")


class DlqError(Exception):
    """A problem the operator can fix (no queue, unknown message id); one-line message."""


# ---------------------------------------------------------------- Lambda's on-failure record
@dataclass(frozen=True)
class StreamPointer:
    """Lambda's on-failure invocation record for a DynamoDB stream batch (the SQS body).

    AWS Lambda Developer Guide, "Using AWS Lambda with Amazon DynamoDB" (example invocation
    record)::

        {"requestContext": {"requestId": "...", "functionArn": "arn:aws:lambda:...:function:f",
                            "condition": "RetryAttemptsExhausted", "approximateInvokeCount": 1},
         "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
         "version": "1.0", "timestamp": "2019-11-14T00:13:49.717Z",
         "DDBStreamBatchInfo": {"shardId": "shardId-00000001573689847184-864758bb",
             "startSequenceNumber": "800000000003126276362", "endSequenceNumber": "800000000003126276362",
             "approximateArrivalOfFirstRecord": "2019-11-14T00:13:19Z",
             "approximateArrivalOfLastRecord": "2019-11-14T00:13:19Z",
             "batchSize": 1, "streamArn": "arn:aws:dynamodb:...:table/mytable/stream/2019-11-14T00:04:06.388"}}

    ``condition`` is ``RetryAttemptsExhausted`` or ``RecordAgeExceeded``; ``functionError``
    is present only when the function raised (not for a partial batch response).
    """

    shard_id: str
    start_sequence: str
    end_sequence: str
    stream_arn: str
    batch_size: int
    first_arrival: str
    last_arrival: str
    condition: str
    invoke_count: int
    function_arn: str
    timestamp: str
    request_id: str = ""
    function_error: str | None = None

    @classmethod
    def from_message(cls, data: Mapping[str, Any]) -> StreamPointer:
        info = data.get("DDBStreamBatchInfo")
        if not isinstance(info, Mapping):
            raise DlqError("not a stream on-failure record: no DDBStreamBatchInfo")
        missing = [k for k in ("shardId", "startSequenceNumber", "endSequenceNumber", "streamArn") if not info.get(k)]
        if missing:
            raise DlqError(f"DDBStreamBatchInfo lacks {', '.join(missing)}")
        req: Mapping[str, Any] = data["requestContext"] if isinstance(data.get("requestContext"), Mapping) else {}
        resp: Mapping[str, Any] = data["responseContext"] if isinstance(data.get("responseContext"), Mapping) else {}
        return cls(
            shard_id=str(info["shardId"]), start_sequence=str(info["startSequenceNumber"]),
            end_sequence=str(info["endSequenceNumber"]), stream_arn=str(info["streamArn"]),
            batch_size=int(info.get("batchSize") or 0),
            first_arrival=str(info.get("approximateArrivalOfFirstRecord", "")),
            last_arrival=str(info.get("approximateArrivalOfLastRecord", "")),
            condition=str(req.get("condition", "")), invoke_count=int(req.get("approximateInvokeCount") or 0),
            function_arn=str(req.get("functionArn", "")), request_id=str(req.get("requestId", "")),
            timestamp=str(data.get("timestamp", "")), function_error=resp.get("functionError"),
        )

    def to_message(self) -> dict[str, Any]:
        response: dict[str, Any] = {"statusCode": 200, "executedVersion": "$LATEST"}
        if self.function_error:
            response["functionError"] = self.function_error
        return {
            "requestContext": {"requestId": self.request_id or str(uuid.uuid4()), "functionArn": self.function_arn,
                               "condition": self.condition, "approximateInvokeCount": self.invoke_count},
            "responseContext": response,
            "version": "1.0",
            "timestamp": self.timestamp,
            "DDBStreamBatchInfo": {
                "shardId": self.shard_id, "startSequenceNumber": self.start_sequence,
                "endSequenceNumber": self.end_sequence,
                "approximateArrivalOfFirstRecord": self.first_arrival,
                "approximateArrivalOfLastRecord": self.last_arrival,
                "batchSize": self.batch_size, "streamArn": self.stream_arn,
            },
        }


def iso_seconds(epoch: float) -> str:
    """``2019-11-14T00:13:19Z``: the arrival times of a DynamoDB pointer (whole seconds)."""
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def iso_millis(epoch: float) -> str:
    """``2019-11-14T00:13:49.717Z``: the pointer's ``timestamp``."""
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


# ---------------------------------------------------------------- messages
@dataclass
class DlqMessage:
    region: str
    id: str
    receipt: str = field(repr=False)
    body: str = field(repr=False)
    sent_at: str | None = None
    receives: int = 0
    kind: str = UNKNOWN
    data: Any = field(default=None, repr=False)
    pointer: StreamPointer | None = None
    problem: str | None = None  # why the body is of no known kind
    deleted: bool = False

    def summary(self) -> dict[str, Any]:
        """One line's worth: kind, product ids, why, when."""
        out: dict[str, Any] = {"region": self.region, "id": self.id, "kind": self.kind, "sent_at": self.sent_at,
                               "receives": self.receives}
        d = self.data if isinstance(self.data, Mapping) else {}
        if self.kind == POISON:
            out.update(source=d.get("source"), product_id=d.get("product_id"), field=d.get("field"),
                       reason=d.get("reason"), at=d.get("at"), record_truncated=bool(d.get("record_truncated")))
        elif self.kind == STREAM and self.pointer is not None:
            p = self.pointer
            out.update(condition=p.condition, invokes=p.invoke_count, shard=p.shard_id,
                       sequence=f"{p.start_sequence}..{p.end_sequence}", records=p.batch_size,
                       arrived=f"{p.first_arrival}..{p.last_arrival}")
        elif self.kind == CONTENT:
            out.update(keys=content_keys(d))
        else:
            out.update(problem=self.problem)
        return out

    def detail(self) -> dict[str, Any]:
        """Everything: the summary, the parsed body and the raw body."""
        return {**self.summary(), "message": self.data if self.data is not None else None, "body": self.body}


def content_keys(note: Mapping[str, Any]) -> list[str]:
    records = note.get("Records") if isinstance(note, Mapping) else None
    keys = []
    for r in records if isinstance(records, list) else []:
        key = r.get("s3", {}).get("object", {}).get("key") if isinstance(r, Mapping) else None
        if isinstance(key, str):
            keys.append(key)
    return keys


def classify(body: str) -> tuple[str, Any, StreamPointer | None, str | None]:
    """(kind, parsed body, pointer, problem) of a DLQ message body."""
    try:
        data = json.loads(body)
    except ValueError as exc:
        return UNKNOWN, None, None, f"body is not JSON: {exc}"
    if not isinstance(data, dict):
        return UNKNOWN, data, None, "body is not a JSON object"
    if "DDBStreamBatchInfo" in data:
        try:
            return STREAM, data, StreamPointer.from_message(data), None
        except (DlqError, TypeError, ValueError) as exc:
            return UNKNOWN, data, None, f"stream on-failure record: {exc}"
    if {"source", "reason", "record"} <= data.keys():
        return POISON, data, None, None
    if data.get("Event") == "s3:TestEvent" or (isinstance(data.get("Records"), list) and all(
            isinstance(r, dict) and r.get("eventSource") == "aws:s3" for r in data["Records"])):
        return CONTENT, data, None, None
    return UNKNOWN, data, None, "neither a dead-lettered record, a stream pointer nor an S3 notification"


def _iso_ms(ms: Any) -> str | None:
    try:
        return iso_millis(int(ms) / 1000)
    except (TypeError, ValueError):
        return None


def _message(region: str, raw: Mapping[str, Any]) -> DlqMessage:
    attrs = raw.get("Attributes", {})
    kind, data, pointer, problem = classify(raw["Body"])
    return DlqMessage(region, raw["MessageId"], raw["ReceiptHandle"], raw["Body"], _iso_ms(attrs.get("SentTimestamp")),
                      int(attrs.get("ApproximateReceiveCount", 0)), kind, data, pointer, problem)


# ---------------------------------------------------------------- the queue
def queue_url(sqs: Any, name: str) -> str:
    try:
        url: str = sqs.get_queue_url(QueueName=name)["QueueUrl"]
        return url
    except sqs.exceptions.QueueDoesNotExist:
        raise DlqError(f"no queue {name}: is the region deployed (or the sandbox running)?") from None


def receive_all(sqs: Any, url: str, region: str, *, visibility: int = LIST_VISIBILITY_SECONDS,
                wait_seconds: int = 0, limit: int | None = None) -> list[DlqMessage]:
    """Every message of the queue (up to ``limit``), hidden for ``visibility`` seconds
    (SQS cannot peek); :func:`release` makes them visible again."""
    seen: dict[str, DlqMessage] = {}
    while limit is None or len(seen) < limit:
        resp = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=visibility,
                                   WaitTimeSeconds=wait_seconds, AttributeNames=["All"])
        raws = resp.get("Messages", [])
        if not raws:
            break
        for raw in raws:
            seen[raw["MessageId"]] = _message(region, raw)  # the latest receipt handle counts
    return list(seen.values())


def release(sqs: Any, url: str, messages: Sequence[DlqMessage]) -> None:
    """Make ``messages`` visible again now."""
    for i in range(0, len(messages), 10):
        chunk = messages[i:i + 10]
        sqs.change_message_visibility_batch(QueueUrl=url, Entries=[
            {"Id": str(n), "ReceiptHandle": m.receipt, "VisibilityTimeout": 0} for n, m in enumerate(chunk)])


def delete(sqs: Any, url: str, messages: Sequence[DlqMessage]) -> list[str]:
    """Delete ``messages``; the ids SQS refused."""
    failed: list[str] = []
    for i in range(0, len(messages), 10):
        chunk = messages[i:i + 10]
        resp = sqs.delete_message_batch(QueueUrl=url, Entries=[
            {"Id": str(n), "ReceiptHandle": m.receipt} for n, m in enumerate(chunk)])
        failed += [chunk[int(f["Id"])].id for f in resp.get("Failed", [])]
    return failed


# ---------------------------------------------------------------- redrive
@dataclass
class RedriveResult:
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
    from replication.audit import REPAIRABLE, audit

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


# ---------------------------------------------------------------- commands (plain functions)
@dataclass
class RegionQueue:
    region: str
    url: str
    sqs: Any


def region_queues(target: Any, regions: Iterable[str]) -> list[RegionQueue]:
    out = []
    for region in regions:
        sqs = target.client("sqs", region)
        out.append(RegionQueue(region, queue_url(sqs, target.config.dlq_name(region)), sqs))
    return out


def _wait(target: Any) -> int:
    # long polling asks every SQS server (short polling samples some); moto and the sandbox need not
    return 1 if getattr(target, "kind", "") == "aws" else 0


def list_messages(target: Any, regions: Iterable[str]) -> list[DlqMessage]:
    """Every message of each region's DLQ (left in the queue, visible again on return)."""
    out: list[DlqMessage] = []
    for q in region_queues(target, regions):
        msgs = receive_all(q.sqs, q.url, q.region, wait_seconds=_wait(target))
        release(q.sqs, q.url, msgs)
        out += msgs
    return out


def _select(target: Any, regions: Sequence[str], ids: Sequence[str] | None, visibility: int,
            work: Callable[[RegionQueue, list[DlqMessage]], None]) -> None:
    """Receive each region's messages, hand those named by ``ids`` (all if None) to
    ``work``, and release whatever ``work`` left undeleted; unknown ids raise :class:`DlqError`."""
    wanted = set(ids) if ids is not None else None
    found: set[str] = set()
    for q in region_queues(target, regions):
        msgs = receive_all(q.sqs, q.url, q.region, visibility=visibility, wait_seconds=_wait(target))
        chosen = [m for m in msgs if wanted is None or m.id in wanted]
        found |= {m.id for m in chosen}
        try:
            work(q, chosen)
        finally:
            release(q.sqs, q.url, [m for m in msgs if not m.deleted])
    if wanted is not None and wanted - found:
        raise DlqError(f"no message {', '.join(sorted(wanted - found))} in the dead-letter queue(s) of "
                       f"{', '.join(regions)} (ids as `storefront dlq list` shows them)")


def show_message(target: Any, regions: Sequence[str], message_id: str) -> DlqMessage:
    shown: list[DlqMessage] = []
    _select(target, regions, [message_id], LIST_VISIBILITY_SECONDS, lambda q, chosen: shown.extend(chosen))
    return shown[0]


def _delete_chosen(q: RegionQueue, msgs: list[DlqMessage]) -> list[str]:
    refused = set(delete(q.sqs, q.url, msgs))
    for m in msgs:
        if m.id not in refused:
            m.deleted = True
    return sorted(refused)


def delete_messages(target: Any, regions: Sequence[str], ids: Sequence[str]) -> list[DlqMessage]:
    """Delete the named messages; the messages deleted."""
    done: list[DlqMessage] = []

    def work(q: RegionQueue, chosen: list[DlqMessage]) -> None:
        refused = _delete_chosen(q, chosen)
        if refused:
            raise DlqError(f"SQS refused to delete {', '.join(refused)}: try again")
        done.extend(chosen)

    _select(target, regions, ids, LIST_VISIBILITY_SECONDS, work)
    return done


def redrive(target: Any, regions: Sequence[str], ids: Sequence[str] | None = None) -> list[RedriveResult]:
    """Redrive the named messages (all if None) of each region's DLQ; delete those that succeeded."""
    results: list[RedriveResult] = []
    audited: dict[str, RedriveResult] = {}

    def work(q: RegionQueue, chosen: list[DlqMessage]) -> None:
        for m in chosen:
            r = redrive_message(target, m, audited)
            if r.ok:
                r.deleted = not _delete_chosen(q, [m])
                if not r.deleted:
                    r.problems.append("redriven, but SQS refused to delete the message: redrive it again")
            results.append(r)

    _select(target, regions, ids, REDRIVE_VISIBILITY_SECONDS, work)
    return results


def render_list(messages: Sequence[DlqMessage]) -> str:
    if not messages:
        return "dead-letter queues are empty"
    lines = [f"{len(messages)} dead-letter message(s)"]
    for m in messages:
        s = m.summary()
        if m.kind == POISON:
            what = (f"{s['source']} record of {s['product_id'] or '?'}: "
                    f"{s['field'] + ': ' if s['field'] else ''}{s['reason']}")
        elif m.kind == STREAM:
            what = (f"{s['condition']} after {s['invokes']} invocations: {s['records']} records of {s['shard']} "
                    f"({s['sequence']}), arrived {s['arrived']}")
        elif m.kind == CONTENT:
            what = f"S3 notification for {', '.join(s['keys']) or 'no key'}"
        else:
            what = s["problem"]
        lines.append(f"  {m.region}  {m.id}  {m.kind:<7} {m.sent_at or '':<24}  {what}")
    return "\n".join(lines)


__all__ = ["DlqError", "DlqMessage", "RedriveResult", "StreamPointer", "classify", "delete_messages",
           "list_messages", "read_pointer", "reapply_items", "redrive", "redrive_message", "render_list",
           "show_message"]
