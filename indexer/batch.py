"""Process one Lambda batch: decode, transform, bulk-apply with retries, route failures.

Why not Powertools' ``BatchProcessor``/``process_partial_response``: they call a record
handler once per record, so each record would be its own engine request (exactly the
naive baseline of ``bench/bench_indexer.py``). The issue asks for one ``_bulk`` request
per chunk of the whole batch. This module therefore drives the batch itself and returns
the same partial batch response (``{"batchItemFailures": [{"itemIdentifier": ...}]}``,
for functions configured with ``ReportBatchItemFailures``) with these rules:

* SQS: exactly the messages that failed are reported; the rest are deleted.
* DynamoDB Streams: Lambda resumes from the *lowest* reported sequence number, so the
  first failed record (the batch is one shard's records in sequence order) and every
  record after it are reported. Poison records after that point are not dead-lettered
  yet: they will come back, and dead-lettering them now would duplicate their entry.
* Engine down for the whole batch (no request got an answer): every record is reported
  and nothing is dead-lettered. Unlike Powertools we do not raise for an all-failed
  batch; reporting every record has the same effect and keeps the metrics flushed.

Poison records (see :mod:`indexer.records`) and operations the engine rejects for good
(:attr:`Outcome.FAILED`, e.g. a mapping conflict) go to the dead-letter queue and are
then acknowledged; if the dead-letter send fails they are reported failed instead.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from catalog import defaults
from catalog.convert import TransformError
from catalog.engine.port import IndexWriter, Operation, OpResult, Outcome, Tombstone
from indexer.chunking import chunks
from indexer.content import ReadObject, resolve_content
from indexer.dlq import dead_letter_body
from indexer.records import Status, Work, decode
from indexer.retry import Backoff, apply_with_retry

# bodies -> one entry per body: None when sent, else the reason it was not
SendDeadLetters = Callable[[Sequence[str]], list[str | None]]


@dataclass
class Counters:
    """What the handler publishes as metrics (see README, section indexer)."""

    records_in: int = 0
    applied: int = 0  # operations applied
    stale: int = 0  # operations dropped as not newer (success)
    tombstoned: int = 0  # tombstones applied (user deletes and TTL expiries)
    ttl_removes: int = 0  # TTL-expiry REMOVE records indexed (applied or stale)
    ignored: int = 0  # records with nothing to index (s3:TestEvent, other keys)
    dead_lettered: int = 0  # records sent to the dead-letter queue
    retried: int = 0  # operation retries (one op sent again counts once per retry)
    failed: int = 0  # records reported as batch item failures
    s3_reads: int = 0
    bulk_requests: int = 0
    bulk_latency_ms: list[float] = field(default_factory=list)


@dataclass
class BatchOutcome:
    source: str | None
    works: list[Work]
    counters: Counters
    reported: list[Work]  # the batch item failures, in delivery order
    engine_down: bool = False

    def response(self) -> dict[str, list[dict[str, str]]]:
        return {"batchItemFailures": [{"itemIdentifier": w.item_id} for w in self.reported]}


@dataclass(frozen=True)
class BatchLimits:
    max_operations: int = defaults.BULK_MAX_OPERATIONS
    max_bytes: int = defaults.BULK_MAX_BYTES


def process_batch(
    event: Mapping[str, Any],
    *,
    engine: IndexWriter,
    bucket: str,
    region: str,
    read_object: ReadObject,
    send_dead_letters: SendDeadLetters,
    budget_ms: Callable[[], float],
    limits: BatchLimits | None = None,
    backoff: Backoff | None = None,
    rng: random.Random | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> BatchOutcome:
    """Index one batch; raises :class:`~indexer.records.InvalidEvent` for a non-batch event."""
    limits = limits or BatchLimits()
    source, works = decode(event, bucket)
    counters = Counters(records_in=len(works))
    if source == "s3":
        counters.s3_reads = resolve_content(works, read_object)

    # ---- apply every pending operation, chunk by chunk, in delivery order
    ops: list[Operation] = []
    owner: list[Work] = []
    for work in works:
        if work.status is Status.PENDING:
            ops.extend(work.ops)
            owner.extend([work] * len(work.ops))
    results: list[OpResult] = []
    reached = False
    for n, (start, end) in enumerate(chunks(ops, limits.max_operations, limits.max_bytes)):
        part = ops[start:end]
        if n and budget_ms() <= 0:
            results.extend([OpResult(Outcome.RETRYABLE, "out of time before this chunk")] * len(part))
            continue
        chunk = apply_with_retry(engine, part, budget_ms, backoff=backoff, rng=rng, sleep=sleep)
        reached = reached or chunk.reached_engine
        counters.retried += chunk.retried
        counters.bulk_requests += chunk.attempts
        counters.bulk_latency_ms.extend(chunk.latencies_ms)
        results.extend(chunk.results)
    engine_down = bool(ops) and not reached

    for work, op, result in zip(owner, ops, results, strict=True):
        if result.outcome is Outcome.APPLIED:
            counters.applied += 1
            if isinstance(op, Tombstone):
                counters.tombstoned += 1
        elif result.outcome is Outcome.STALE:
            counters.stale += 1
        elif result.outcome is Outcome.RETRYABLE:
            work.status = Status.FAILED
            work.failure = work.failure or result.reason or "retryable"
        elif work.status is not Status.FAILED:  # Outcome.FAILED: this document will never be accepted
            work.poison(TransformError("<document>", f"rejected by the engine: {result.reason or result.status}",
                                       work.product_id))
        if result.ok and work.ttl:
            counters.ttl_removes += 1
    for work in works:
        if work.status is Status.PENDING:
            work.status = Status.DONE

    # ---- route what is left
    if engine_down:
        for work in works:
            if work.status is not Status.FAILED:
                work.failure = "engine unavailable for the whole batch"
        reported = list(works)
    else:
        cutoff = _cutoff(source, works)
        poison = [w for w in works if w.status is Status.POISON and w.position < cutoff]
        errors = send_dead_letters([dead_letter_body(w, region) for w in poison]) if poison else []
        for work, error in zip(poison, errors, strict=True):
            if error is None:
                counters.dead_lettered += 1
            else:
                work.status = Status.FAILED
                work.failure = f"dead-letter queue: {error}"
        if source == "dynamodb":
            cutoff = _cutoff(source, works)
            reported = [w for w in works if w.position >= cutoff]
        else:
            reported = [w for w in works if w.status is Status.FAILED]
    counters.ignored = sum(1 for w in works if w.status is Status.IGNORED)
    counters.failed = len(reported)
    return BatchOutcome(source, works, counters, reported, engine_down)


def _cutoff(source: str | None, works: Sequence[Work]) -> int:
    """Stream: the position of the first failed record (len if none). SQS: no cutoff."""
    if source != "dynamodb":
        return len(works)
    return next((w.position for w in works if w.status is Status.FAILED), len(works))
