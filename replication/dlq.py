"""``storefront dlq``: read, show, redrive and delete the messages of a region's indexer DLQ.

The commands, as plain functions over the parts: what a message is
(:mod:`replication.dlq_messages`: the three kinds, the stream pointer, parsing), the
queue as SQS has it (:mod:`replication.dlq_queue`: receive, release, delete) and the
redrive (:mod:`replication.dlq_redrive`: re-apply the current state of the sources of
truth). A message is deleted only when its redrive succeeded; every other message read is
made visible again (visibility timeout 0) before the command returns. The names the rest
of the project uses are exported from here.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from replication.dlq_messages import (
    CONTENT,
    POISON,
    STREAM,
    UNKNOWN,
    DlqError,
    DlqMessage,
    StreamPointer,
    classify,
    iso_millis,
    iso_seconds,
)
from replication.dlq_queue import (
    LIST_VISIBILITY_SECONDS,
    REDRIVE_VISIBILITY_SECONDS,
    RegionQueue,
    delete_chosen,
    receive_all,
    region_queues,
    release,
    select,
    wait_seconds_for,
)
from replication.dlq_redrive import RedriveResult, read_pointer, reapply_items, redrive_message


def list_messages(target: Any, regions: Iterable[str]) -> list[DlqMessage]:
    """Every message of each region's DLQ (left in the queue, visible again on return)."""
    out: list[DlqMessage] = []
    for q in region_queues(target, regions):
        msgs = receive_all(q.sqs, q.url, q.region, wait_seconds=wait_seconds_for(target))
        release(q.sqs, q.url, msgs)
        out += msgs
    return out


def show_message(target: Any, regions: Sequence[str], message_id: str) -> DlqMessage:
    """The message ``message_id`` of the regions' DLQs (left in the queue, visible again on return)."""
    shown: list[DlqMessage] = []
    select(target, regions, [message_id], LIST_VISIBILITY_SECONDS, lambda q, chosen: shown.extend(chosen))
    return shown[0]


def delete_messages(target: Any, regions: Sequence[str], ids: Sequence[str]) -> list[DlqMessage]:
    """Delete the named messages; the messages deleted."""
    done: list[DlqMessage] = []

    def work(q: RegionQueue, chosen: list[DlqMessage]) -> None:
        refused = delete_chosen(q, chosen)
        if refused:
            raise DlqError(f"SQS refused to delete {', '.join(refused)}: try again")
        done.extend(chosen)

    select(target, regions, ids, LIST_VISIBILITY_SECONDS, work)
    return done


def redrive(target: Any, regions: Sequence[str], ids: Sequence[str] | None = None) -> list[RedriveResult]:
    """Redrive the named messages (all if None) of each region's DLQ; delete those that succeeded."""
    results: list[RedriveResult] = []
    audited: dict[str, RedriveResult] = {}

    def work(q: RegionQueue, chosen: list[DlqMessage]) -> None:
        for m in chosen:
            r = redrive_message(target, m, audited)
            if r.ok:
                r.deleted = not delete_chosen(q, [m])
                if not r.deleted:
                    r.problems.append("redriven, but SQS refused to delete the message: redrive it again")
            results.append(r)

    select(target, regions, ids, REDRIVE_VISIBILITY_SECONDS, work)
    return results


def render_list(messages: Sequence[DlqMessage]) -> str:
    """``storefront dlq list``: one line a message (region, id, kind, when, what)."""
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


__all__ = ["CONTENT", "POISON", "STREAM", "UNKNOWN", "DlqError", "DlqMessage", "RedriveResult", "StreamPointer",
           "classify", "delete_messages", "iso_millis", "iso_seconds", "list_messages", "read_pointer",
           "reapply_items", "redrive", "redrive_message", "render_list", "show_message"]
