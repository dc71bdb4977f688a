"""The messages of a region's indexer DLQ: what each one is, parsed from its body.

One queue per region (``dlq_name(region)``) receives three kinds of message:

* ``poison``: the indexer's own dead letter for a record it cannot transform
  (:mod:`indexer.dlq`: ``{source, reason, field, product_id, region, record, at}``);
* ``stream``: the stream event source's on-failure record, sent when a batch exhausted
  ``stream_max_retries`` or ``stream_max_record_age_seconds``. It holds only a pointer
  (Lambda's ``DDBStreamBatchInfo``: shard, first and last sequence number, stream ARN:
  :class:`StreamPointer`), never the records, and those leave the stream after 24 h;
* ``content``: an S3 event notification the content queue gave up on after its
  ``maxReceiveCount`` receives (SQS's redrive moves the original body here).

:func:`classify` tells them apart; :func:`parse_message` makes a :class:`DlqMessage` of an
SQS message (with its summary and detail for ``storefront dlq list``/``show``).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

POISON, STREAM, CONTENT, UNKNOWN = "poison", "stream", "content", "unknown"


class DlqError(Exception):
    """A problem the operator can fix (no queue, unknown message id); one-line message."""


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
    """The object keys an S3 event notification names."""
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


def parse_message(region: str, raw: Mapping[str, Any]) -> DlqMessage:
    """An SQS message (``ReceiveMessage``, all attributes) of ``region``'s DLQ."""
    attrs = raw.get("Attributes", {})
    kind, data, pointer, problem = classify(raw["Body"])
    return DlqMessage(region, raw["MessageId"], raw["ReceiptHandle"], raw["Body"], _iso_ms(attrs.get("SentTimestamp")),
                      int(attrs.get("ApproximateReceiveCount", 0)), kind, data, pointer, problem)
