"""The versioning rule that keeps every region's index right.

* Every write of a source (the DynamoDB item, or the S3 content object) carries an
  integer ``version`` that grows on every write. Writers make it with
  :class:`VersionClock`: epoch milliseconds x 1000 + a counter.
* The index applies a write only if it is newer than what it stores for that source;
  otherwise the write is *stale* and dropped. Replays are therefore harmless.
* A delete of the item becomes a *tombstone* carrying the deleted item's version. At
  equal versions the tombstone wins (the delete happened after the write that set that
  version), so a replayed or late INSERT of the same version cannot resurrect it; a
  newer write brings the product back.
"""

from __future__ import annotations

import threading
import time


def item_order(version: int, deleted: bool) -> tuple[int, int]:
    """The total order of item writes: by version, and a delete after a write of the same version."""
    return (version, 1 if deleted else 0)


def item_is_newer(version: int, deleted: bool, stored_version: int | None, stored_deleted: bool) -> bool:
    """Whether an item upsert (``deleted=False``) or tombstone (``True``) beats the stored state."""
    if stored_version is None:
        return True
    return item_order(version, deleted) > item_order(stored_version, stored_deleted)


def content_is_newer(version: int, stored_version: int | None) -> bool:
    """Whether a content write or clear beats the stored content version."""
    return stored_version is None or version > stored_version


class VersionClock:
    """Makes versions for writers: epoch ms x 1000 + counter, strictly increasing per clock."""

    def __init__(self, now_ms: object = None) -> None:
        self._now_ms = now_ms or (lambda: time.time_ns() // 1_000_000)
        self._last = 0
        self._lock = threading.Lock()

    def next(self) -> int:
        with self._lock:
            candidate = int(self._now_ms()) * 1000  # type: ignore[operator]
            self._last = candidate if candidate > self._last else self._last + 1
            return self._last


def version_for_time(epoch_ms: int) -> int:
    """The largest version a writer could have made at ``epoch_ms`` (for events without one)."""
    return epoch_ms * 1000 + 999
