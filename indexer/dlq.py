"""Dead-letter messages for records that cannot be indexed, and sending them to SQS.

Message body (JSON, one per record)::

    {"source": "dynamodb" | "s3", "reason": "...", "field": "price" | null,
     "product_id": "p000123" | null, "region": "eu-west-1",
     "record": <the original Lambda record>, "at": "2026-01-01T00:00:00.000Z"}

A body larger than :data:`MAX_MESSAGE_BYTES` (SQS's classic 256 KiB limit; an item near
DynamoDB's 400 KB limit does not fit) keeps the record's identity but drops its bulk:
stream images are replaced by their ``Keys`` and an SQS body by its first 4 KiB, and
``"record_truncated": true`` is added. The table and the bucket still hold the data.

Messages are sent in order, ten per ``SendMessageBatch``; sending stops at the first
batch with a failure so that, on a stream, no record after an unacknowledged one is
dead-lettered twice.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from indexer.records import Work

MAX_MESSAGE_BYTES = 256 * 1024
SQS_BATCH = 10


def _now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _truncated(record: Mapping[str, Any]) -> dict[str, Any]:
    slim = {k: v for k, v in record.items() if k not in ("dynamodb", "body")}
    ddb = record.get("dynamodb")
    if isinstance(ddb, Mapping):
        slim["dynamodb"] = {k: v for k, v in ddb.items() if k not in ("NewImage", "OldImage")}
    body = record.get("body")
    if isinstance(body, str):
        slim["body"] = body[:4096]
    slim["record_truncated"] = True
    return slim


def dead_letter_body(work: Work, region: str, *, reason: str | None = None, field: str | None = None,
                     at: str | None = None) -> str:
    """The JSON body of the dead-letter message for ``work``."""
    error = work.error
    message: dict[str, Any] = {
        "source": work.source,
        "reason": reason if reason is not None else (error.reason if error else "unknown"),
        "field": field if field is not None else (error.field if error else None),
        "product_id": work.product_id,
        "region": region,
        "record": work.record,
        "at": at or _now_iso(),
    }
    body = json.dumps(message, default=str, ensure_ascii=False)
    if len(body.encode()) > MAX_MESSAGE_BYTES:
        message["record"] = _truncated(work.record)
        message["record_truncated"] = True
        body = json.dumps(message, default=str, ensure_ascii=False)
    return body


class DeadLetterQueue:
    """Sends dead-letter bodies to the queue at ``url`` with a boto3 SQS client."""

    def __init__(self, client: Any, url: str) -> None:
        self._client = client
        self._url = url

    def send(self, bodies: Sequence[str]) -> list[str | None]:
        """One entry per body: None if SQS accepted it, else why not (later ones are not sent)."""
        errors: list[str | None] = ["not sent: an earlier dead-letter message failed"] * len(bodies)
        for start in range(0, len(bodies), SQS_BATCH):
            part = bodies[start:start + SQS_BATCH]
            entries = [{"Id": str(i), "MessageBody": b} for i, b in enumerate(part)]
            try:
                response = self._client.send_message_batch(QueueUrl=self._url, Entries=entries)
            except Exception as exc:
                reason = f"{type(exc).__name__}: {exc}"
                for i in range(len(part)):
                    errors[start + i] = reason
                return errors
            failed = {f["Id"]: f.get("Message") or f.get("Code") or "failed" for f in response.get("Failed", [])}
            for i in range(len(part)):
                errors[start + i] = failed.get(str(i))
            if failed:
                return errors
        return errors
