"""The DLQ as SQS has it: receive every message, make the others visible again, delete.

SQS cannot peek: reading a message hides it for a visibility timeout, so every command
receives what it needs (:func:`receive_all`), and :func:`select` hands the messages it
was asked for to the work at hand and makes whatever that work did not delete visible
again (:func:`release`) before it returns, whatever happened.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from replication.dlq_messages import DlqError, DlqMessage, parse_message

LIST_VISIBILITY_SECONDS = 30  # messages read by list/show/delete are hidden this long at most
REDRIVE_VISIBILITY_SECONDS = 900  # ... and by redrive, which may run a full audit per message


def queue_url(sqs: Any, name: str) -> str:
    """The URL of the queue ``name`` (:class:`DlqError` if there is none)."""
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
            seen[raw["MessageId"]] = parse_message(region, raw)  # the latest receipt handle counts
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


@dataclass
class RegionQueue:
    """One region's DLQ and the SQS client that reaches it."""

    region: str
    url: str
    sqs: Any


def region_queues(target: Any, regions: Iterable[str]) -> list[RegionQueue]:
    """The DLQ of each region (:class:`DlqError` for a region that has none)."""
    out = []
    for region in regions:
        sqs = target.client("sqs", region)
        out.append(RegionQueue(region, queue_url(sqs, target.config.dlq_name(region)), sqs))
    return out


def wait_seconds_for(target: Any) -> int:
    """How long a receive waits for messages on ``target``."""
    # long polling asks every SQS server (short polling samples some); moto and the sandbox need not
    return 1 if getattr(target, "kind", "") == "aws" else 0


def select(target: Any, regions: Sequence[str], ids: Sequence[str] | None, visibility: int,
           work: Callable[[RegionQueue, list[DlqMessage]], None]) -> None:
    """Receive each region's messages, hand those named by ``ids`` (all if None) to
    ``work``, and release whatever ``work`` left undeleted; unknown ids raise :class:`DlqError`."""
    wanted = set(ids) if ids is not None else None
    found: set[str] = set()
    for q in region_queues(target, regions):
        msgs = receive_all(q.sqs, q.url, q.region, visibility=visibility, wait_seconds=wait_seconds_for(target))
        chosen = [m for m in msgs if wanted is None or m.id in wanted]
        found |= {m.id for m in chosen}
        try:
            work(q, chosen)
        finally:
            release(q.sqs, q.url, [m for m in msgs if not m.deleted])
    if wanted is not None and wanted - found:
        raise DlqError(f"no message {', '.join(sorted(wanted - found))} in the dead-letter queue(s) of "
                       f"{', '.join(regions)} (ids as `storefront dlq list` shows them)")


def delete_chosen(q: RegionQueue, msgs: list[DlqMessage]) -> list[str]:
    """Delete ``msgs`` and mark those deleted (:func:`select` leaves them hidden); the ids SQS refused."""
    refused = set(delete(q.sqs, q.url, msgs))
    for m in msgs:
        if m.id not in refused:
            m.deleted = True
    return sorted(refused)
