"""A fault-injecting :class:`~catalog.engine.port.SearchEngine` around a real engine.

Test double. It keeps the semantics of OpenSearch's ``_bulk`` API: every item of a bulk
request succeeds or fails on its own, and an item answered 429 (or 502/503/504, rejected
execution) was *not* applied. So an injected item failure forwards nothing for that
operation and answers :attr:`Outcome.RETRYABLE` with the status; the other operations
go to the real engine in their original order and get its real answers (applied or
stale). "Engine down" raises :class:`EngineUnavailable` before anything is applied, as a
connection error or a timeout before the request reached the cluster would. A rejected
item (:attr:`Outcome.FAILED`, 400) is how OpenSearch answers a mapping conflict.
Everything that is not ``apply`` is the real engine's.
"""

from __future__ import annotations

import random
from collections.abc import Collection, Iterator, Sequence

from catalog.engine.port import (
    DocState,
    EngineUnavailable,
    Health,
    Operation,
    OpResult,
    Outcome,
    SearchEngine,
    SearchRequest,
    SearchResult,
    Suggestion,
)
from catalog.model import Content, Product


class FaultyEngine:
    """Wraps ``inner``; see the module docstring for what each fault means."""

    def __init__(
        self,
        inner: SearchEngine,
        *,
        failure_rate: float = 0.0,
        status: int = 429,
        storm_ids: Collection[str] = (),
        storm_attempts: int = 0,
        reject_ids: Collection[str] = (),
        down: bool = False,
        down_calls: int = 0,
        seed: int = 0,
    ) -> None:
        self.inner = inner
        self.alias = inner.alias
        self.failure_rate = failure_rate
        self.status = status
        self.storm_ids = set(storm_ids)
        self.storm_attempts = storm_attempts  # storm ids fail this many times each, then pass
        self.reject_ids = set(reject_ids)
        self.down = down
        self.down_calls = down_calls  # the next N apply calls fail as "down"
        self.rng = random.Random(seed)
        self.calls = 0
        self.injected = 0
        self.batch_sizes: list[int] = []
        self._storm_left: dict[str, int] = {}

    def _fault(self, op: Operation) -> OpResult | None:
        if op.id in self.reject_ids:
            return OpResult(Outcome.FAILED, "mapper_parsing_exception (injected)", 400)
        if op.id in self.storm_ids:
            left = self._storm_left.setdefault(op.id, self.storm_attempts)
            if left > 0:
                self._storm_left[op.id] = left - 1
                return OpResult(Outcome.RETRYABLE, f"{self.status} (injected storm)", self.status)
        if self.failure_rate and self.rng.random() < self.failure_rate:
            return OpResult(Outcome.RETRYABLE, f"{self.status} (injected)", self.status)
        return None

    # -- write --
    def apply(self, ops: Sequence[Operation], *, index: str | None = None) -> list[OpResult]:
        self.calls += 1
        self.batch_sizes.append(len(ops))
        if self.down or self.down_calls > 0:
            self.down_calls = max(0, self.down_calls - 1)
            raise EngineUnavailable("connection refused (injected)")
        results: list[OpResult | None] = []
        forward: list[Operation] = []
        where: list[int] = []
        for op in ops:
            fault = self._fault(op)
            if fault is not None:
                self.injected += 1
            else:
                where.append(len(results))
                forward.append(op)
            results.append(fault)
        if forward:
            for i, answer in zip(where, self.inner.apply(forward, index=index), strict=True):
                results[i] = answer
        return [r for r in results if r is not None]

    # -- everything else: the real engine --
    def search(self, request: SearchRequest) -> SearchResult:
        return self.inner.search(request)

    def suggest(self, prefix: str, size: int = 10) -> list[Suggestion]:
        return self.inner.suggest(prefix, size)

    def get(self, product_id: str) -> tuple[Product, Content | None] | None:
        return self.inner.get(product_id)

    def count(self, *, index: str | None = None) -> int:
        return self.inner.count(index=index)

    def health(self) -> Health:
        return self.inner.health()

    def states(self, ids: Sequence[str], *, index: str | None = None) -> dict[str, DocState]:
        return self.inner.states(ids, index=index)

    def iter_states(self, *, index: str | None = None, batch_size: int = 1000) -> Iterator[DocState]:
        return self.inner.iter_states(index=index, batch_size=batch_size)

    def create_index(self, name: str | None = None) -> str:
        return self.inner.create_index(name)

    def alias_target(self) -> str | None:
        return self.inner.alias_target()

    def swap_alias(self, new_index: str) -> str | None:
        return self.inner.swap_alias(new_index)

    def indices(self) -> list[str]:
        return self.inner.indices()

    def delete_index(self, name: str) -> None:
        self.inner.delete_index(name)

    def purge_tombstones(self, older_than_seconds: float) -> int:
        return self.inner.purge_tombstones(older_than_seconds)

    def close(self) -> None:
        self.inner.close()

