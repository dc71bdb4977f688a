"""Event decoding: a Lambda batch -> one :class:`Work` per record, with its port operations.

Two event sources reach the indexer, told apart by the records' ``eventSource``:

* ``aws:dynamodb``: DynamoDB Streams records of the region's replica (NEW_AND_OLD_IMAGES).
  INSERT/MODIFY -> :class:`UpsertItem` of the NewImage; REMOVE -> :class:`Tombstone`
  carrying the OldImage's version (a TTL expiry is the same tombstone; its
  ``userIdentity`` is ``{"type": "Service", "principalId": "dynamodb.amazonaws.com"}``
  and it is counted separately). The item identifier is ``dynamodb.SequenceNumber``.
* ``aws:sqs``: each body is an S3 event notification for the region's bucket. The event
  is only a *hint* that ``products/{id}.json`` changed: :mod:`indexer.content` reads the
  object's current state afterwards. ``s3:TestEvent`` and keys that are not product
  content are ignored (and counted). The item identifier is the SQS ``messageId``.

A record that cannot be decoded or transformed becomes *poison*: it carries the
:class:`~catalog.convert.TransformError` (field and reason) and goes to the dead-letter
queue. Nothing here does I/O. Records are JSON-decoded Lambda events, so shapes are
checked against ``dict`` (an ABC ``Mapping`` check costs ~10% of the pure pipeline).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any
from urllib.parse import unquote_plus

from catalog.convert import TransformError, deserialize_image, product_from_item, validate_id, version_of
from catalog.engine.port import Operation, Tombstone, UpsertItem
from catalog.model import product_id_from_key

DYNAMODB = "aws:dynamodb"
SQS = "aws:sqs"
TTL_PRINCIPAL = "dynamodb.amazonaws.com"


class InvalidEvent(ValueError):
    """The event is not a batch this function can handle (wrong wiring, not bad data)."""


class Status(StrEnum):
    PENDING = "pending"  # has operations to apply (or content to read)
    IGNORED = "ignored"  # nothing to index (test event, other keys): acknowledged, counted
    POISON = "poison"  # cannot be transformed: dead-letter queue, then acknowledged
    FAILED = "failed"  # a retryable failure remained: reported as a batch item failure
    DONE = "done"  # every operation applied or stale


@dataclass(frozen=True, slots=True)
class ContentHint:
    """One S3 event about ``products/{product_id}.json``."""

    key: str
    product_id: str
    event_ms: int  # the S3 event time, epoch milliseconds


@dataclass(slots=True)
class Work:
    """One record of the batch and what became of it."""

    position: int
    item_id: str  # the batchItemFailures itemIdentifier
    source: str  # "dynamodb" or "s3" (the DLQ message's source)
    record: Mapping[str, Any]
    ops: list[Operation] = field(default_factory=list)
    hints: list[ContentHint] = field(default_factory=list)
    status: Status = Status.PENDING
    error: TransformError | None = None
    product_id: str | None = None
    ttl: bool = False
    failure: str | None = None  # why it was reported failed

    def poison(self, error: TransformError) -> None:
        self.status = Status.POISON
        self.error = error
        self.product_id = self.product_id or error.product_id
        self.ops = []
        self.hints = []


def batch_source(event: Any) -> str | None:
    """``"dynamodb"``, ``"s3"`` (SQS), or None for an empty batch; raises :class:`InvalidEvent`."""
    if not isinstance(event, dict) or not isinstance(event.get("Records"), list):
        raise InvalidEvent("event: expected a batch with a 'Records' list (DynamoDB Streams or SQS)")
    records = event["Records"]
    if not records:
        return None
    sources = {r.get("eventSource") if isinstance(r, dict) else None for r in records}
    if sources == {DYNAMODB}:
        return "dynamodb"
    if sources == {SQS}:
        return "s3"
    raise InvalidEvent(f"Records[].eventSource: expected all {DYNAMODB!r} or all {SQS!r}, "
                       f"got {sorted(map(str, sources))}")


# ---------------------------------------------------------------- DynamoDB Streams
def _key_id(ddb: Mapping[str, Any]) -> str | None:
    keys = ddb.get("Keys")
    if isinstance(keys, dict):
        value = keys.get("id")
        s = value.get("S") if isinstance(value, dict) else None
        if isinstance(s, str):
            return s
    return None


def is_ttl_remove(record: Mapping[str, Any]) -> bool:
    identity = record.get("userIdentity")
    return (isinstance(identity, dict) and identity.get("type") == "Service"
            and identity.get("principalId") == TTL_PRINCIPAL)


def stream_work(position: int, record: Mapping[str, Any]) -> Work:
    """A DynamoDB Streams record -> :class:`Work` with one operation (or poison)."""
    ddb = record.get("dynamodb") if isinstance(record, dict) else None
    seq = ddb.get("SequenceNumber") if isinstance(ddb, dict) else None
    work = Work(position, str(seq) if seq is not None else f"#{position}", "dynamodb", record)
    try:
        if not isinstance(ddb, dict):
            raise TransformError("dynamodb", "missing: not a DynamoDB Streams record")
        work.product_id = _key_id(ddb)
        if seq is None:
            raise TransformError("dynamodb.SequenceNumber", "missing")
        name = record.get("eventName")
        if name in ("INSERT", "MODIFY"):
            image = ddb.get("NewImage")
            if image is None:
                raise TransformError("dynamodb.NewImage", "missing: the stream view type must be NEW_AND_OLD_IMAGES",
                                     work.product_id)
            product = product_from_item(deserialize_image(image))
            work.product_id = product.id
            work.ops.append(UpsertItem(product))
        elif name == "REMOVE":
            image = ddb.get("OldImage")
            if image is None:
                raise TransformError("dynamodb.OldImage", "missing: the stream view type must be NEW_AND_OLD_IMAGES",
                                     work.product_id)
            item = deserialize_image(image)
            pid = validate_id(item.get("id"))
            work.product_id = pid
            work.ops.append(Tombstone(pid, version_of(item, pid)))
            work.ttl = is_ttl_remove(record)
        else:
            raise TransformError("eventName", f"expected INSERT, MODIFY or REMOVE, got {name!r}", work.product_id)
    except TransformError as exc:
        work.poison(exc)
    return work


# ---------------------------------------------------------------- S3 notifications via SQS
def _event_ms(value: Any) -> int:
    if not isinstance(value, str):
        raise TransformError("Records[].eventTime", "missing")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise TransformError("Records[].eventTime", f"not an ISO-8601 time: {value!r}") from None
    if parsed.tzinfo is None:
        raise TransformError("Records[].eventTime", f"needs a time zone: {value!r}")
    return int(parsed.timestamp() * 1000)


def sqs_work(position: int, record: Mapping[str, Any], bucket: str) -> Work:
    """An SQS record carrying an S3 notification -> :class:`Work` with content hints.

    Notifications for another bucket than ``bucket`` (the region's) are ignored: the
    queue is wired to one bucket, and reading another region's bucket would break the
    rule that each region indexes only its own replicas.
    """
    message_id = record.get("messageId") if isinstance(record, dict) else None
    work = Work(position, str(message_id) if message_id is not None else f"#{position}", "s3", record)
    try:
        if message_id is None:
            raise TransformError("messageId", "missing: not an SQS record")
        body = record.get("body")
        if not isinstance(body, str):
            raise TransformError("body", "missing: not an SQS record")
        try:
            note = json.loads(body)
        except ValueError as exc:
            raise TransformError("body", f"not JSON: {exc}") from None
        if not isinstance(note, dict):
            raise TransformError("body", "not an S3 event notification (expected a JSON object)")
        if note.get("Event") == "s3:TestEvent":
            work.status = Status.IGNORED
            return work
        s3_records = note.get("Records")
        if not isinstance(s3_records, list) or not s3_records:
            raise TransformError("body.Records", "not an S3 event notification (no 'Records')")
        for i, s3rec in enumerate(s3_records):
            s3 = s3rec.get("s3") if isinstance(s3rec, dict) else None
            obj = s3.get("object") if isinstance(s3, dict) else None
            raw_key = obj.get("key") if isinstance(obj, dict) else None
            if not isinstance(raw_key, str):
                raise TransformError(f"body.Records[{i}].s3.object.key", "missing")
            s3_bucket = s3.get("bucket") if isinstance(s3, dict) else None
            src = s3_bucket.get("name") if isinstance(s3_bucket, dict) else None
            if src != bucket:
                continue
            key = unquote_plus(raw_key)
            pid = product_id_from_key(key)
            if pid is None:
                continue
            work.product_id = work.product_id or pid
            validate_id(pid, f"body.Records[{i}].s3.object.key")
            work.hints.append(ContentHint(key, pid, _event_ms(s3rec.get("eventTime"))))
        if not work.hints:
            work.status = Status.IGNORED
    except TransformError as exc:
        work.poison(exc)
    return work


def decode(event: Mapping[str, Any], bucket: str) -> tuple[str | None, list[Work]]:
    """The batch's source and one :class:`Work` per record, in delivery order."""
    source = batch_source(event)
    records: Sequence[Mapping[str, Any]] = event["Records"]
    if source == "dynamodb":
        return source, [stream_work(i, r) for i, r in enumerate(records)]
    if source == "s3":
        return source, [sqs_work(i, r, bucket) for i, r in enumerate(records)]
    return None, []
