"""Apply one chunk of operations, retrying what is retryable, within a time budget.

Retryable: an item whose outcome is :attr:`Outcome.RETRYABLE` (the OpenSearch adapter
maps 429, 502, 503, 504 and rejected execution to it) and a whole request that raised
:class:`~catalog.engine.port.EngineError` (transport errors, timeouts, engine down). Only
the operations still retryable are sent again. The wait before attempt ``n`` (from 1) is
*full jitter*: uniform in ``[0, min(cap, base x 2^n)]`` (AWS Architecture Blog,
"Exponential Backoff And Jitter"). Retrying stops when the next wait would not fit in
the budget (the Lambda's remaining time minus ``RETRY_MARGIN_MS``); the first attempt is
always made. Stale outcomes are success: retrying an operation whose earlier attempt
was in fact applied comes back stale, so retries are safe under the versioning rule.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from catalog.engine.port import EngineError, IndexWriter, Operation, OpResult, Outcome


@dataclass(frozen=True)
class Backoff:
    base_ms: float = 50.0
    cap_ms: float = 2000.0

    def delay_ms(self, attempt: int, rng: random.Random) -> float:
        """Full-jitter wait before retry number ``attempt`` (1 for the first retry)."""
        return rng.uniform(0.0, min(self.cap_ms, self.base_ms * (2 ** attempt)))


@dataclass
class ChunkResult:
    results: list[OpResult]
    attempts: int = 0
    retried: int = 0  # operations sent again, summed over retries
    reached_engine: bool = False  # at least one attempt got per-item answers
    latencies_ms: list[float] = field(default_factory=list)


def apply_with_retry(
    engine: IndexWriter,
    ops: Sequence[Operation],
    budget_ms: Callable[[], float],
    *,
    backoff: Backoff | None = None,
    rng: random.Random | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> ChunkResult:
    """One result per op: APPLIED/STALE/FAILED as answered, RETRYABLE if it never got through."""
    backoff = backoff or Backoff()
    rng = rng or random.Random()
    results: list[OpResult | None] = [None] * len(ops)
    pending = list(range(len(ops)))
    out = ChunkResult(results=[])
    last_reason = "not attempted"
    while pending:
        if out.attempts:
            wait = backoff.delay_ms(out.attempts, rng)
            if wait >= budget_ms():
                break
            sleep(wait / 1000.0)
            out.retried += len(pending)
        out.attempts += 1
        batch = [ops[i] for i in pending]
        started = time.perf_counter()
        try:
            answers = engine.apply(batch)
        except EngineError as exc:
            out.latencies_ms.append((time.perf_counter() - started) * 1000.0)
            last_reason = f"engine unavailable: {type(exc).__name__}: {exc}"
            continue
        out.latencies_ms.append((time.perf_counter() - started) * 1000.0)
        if len(answers) != len(batch):
            raise RuntimeError(f"engine returned {len(answers)} results for {len(batch)} operations")
        out.reached_engine = True
        still = []
        for i, answer in zip(pending, answers, strict=True):
            results[i] = answer
            if answer.outcome is Outcome.RETRYABLE:
                still.append(i)
        pending = still
    for i in pending:
        if results[i] is None:
            results[i] = OpResult(Outcome.RETRYABLE, last_reason)
    out.results = [r for r in results if r is not None]
    return out
