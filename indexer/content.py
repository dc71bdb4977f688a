"""Turn S3 hints into content operations by reading each object's current state.

An S3 notification only says that ``products/{id}.json`` changed. The indexer reads the
object as it is now (one ``GetObject`` per distinct key per batch):

* present -> :class:`UpsertContent` with the version written inside the object;
* absent (``NoSuchKey``; on a versioned bucket also a delete marker) ->
  :class:`ClearContent` whose version is :func:`catalog.versioning.version_for_time` of
  the latest S3 event time seen for that key in the batch.

Ordering assumption behind the clear's version: content writers stamp ``version`` with a
:class:`~catalog.versioning.VersionClock` (epoch ms x 1000 + counter) at write time, and
their clocks agree with S3's event clock to within the gap between a delete and a later
re-put of the same key. Then every version written before the removal is at most
``event_ms x 1000 + 999`` and loses to the clear, while a put made after the removal
carries a larger version and wins over it. The object being absent now means its last
write, whatever the events in this batch, was a removal at or after the latest event
time, so a clear at that time is never stronger than the truth; the removal's own event
(a later batch) carries its exact time. Using the read time instead would be stronger
still but could beat a put that lands just after the read, so it is not used.

Read errors other than "absent" (throttling, permissions, timeouts) are retryable: the
records that hinted the key are reported as batch item failures and SQS redelivers them.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from catalog.convert import TransformError, content_from_json
from catalog.engine.port import ClearContent, Operation, UpsertContent
from catalog.versioning import version_for_time
from indexer.records import Status, Work

if TYPE_CHECKING:
    from concurrent.futures import ThreadPoolExecutor

# key -> bytes of the object, or None when it does not exist; raises on other errors
ReadObject = Callable[[str], bytes | None]

# GetObject calls in flight per batch (threads; boto3 clients are thread-safe). The S3 client's
# connection pool is sized to match (indexer.runtime), else urllib3 drops the extra connections.
READ_CONCURRENCY = 16


class S3Reader:
    """Reads ``products/{id}.json`` from the region's bucket with a boto3 S3 client."""

    def __init__(self, client: Any, bucket: str) -> None:
        self._client = client
        self._bucket = bucket

    def __call__(self, key: str) -> bytes | None:
        try:
            response = self._client.get_object(Bucket=self._bucket, Key=key)
        except self._client.exceptions.NoSuchKey:
            return None
        except Exception as exc:  # botocore ClientError without a modelled type (e.g. 404 on HEAD-like paths)
            code = getattr(exc, "response", {}).get("Error", {}).get("Code")
            if code in ("NoSuchKey", "404"):
                return None
            raise
        body: bytes = response["Body"].read()
        return body


@dataclass(frozen=True, slots=True)
class _Resolved:
    op: Operation | None = None
    error: TransformError | None = None
    failure: str | None = None


_pools: dict[int, ThreadPoolExecutor] = {}
_pools_lock = threading.Lock()


def _pool(workers: int) -> ThreadPoolExecutor:
    """The reading threads, ``workers`` at most, kept for the life of the execution environment:
    a warm instance reuses them instead of starting up to ``workers`` threads per invocation
    (~7% of the indexer's CPU in the sandbox's profile). Idle threads cost nothing while Lambda
    freezes the environment between invocations."""
    with _pools_lock:
        if workers not in _pools:
            from concurrent.futures import ThreadPoolExecutor

            _pools[workers] = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="s3-read")
        return _pools[workers]


def resolve_content(works: Sequence[Work], read: ReadObject, *, max_workers: int = READ_CONCURRENCY) -> int:
    """Fill ``ops`` of every pending S3 :class:`Work` from its hints; returns the number of reads.

    Distinct keys are read concurrently (``max_workers`` threads; boto3 clients are
    thread-safe): a batch of SQS messages can name hundreds of keys (up to the queue event
    source's batch size). Results keep the batch's order whatever order the reads finish in.

    Poison content (bad JSON, wrong id, bad fields) poisons every record that hinted the
    key; a failed read marks them :attr:`Status.FAILED`. Reads do not consult the retry
    budget (it only bounds bulk retries); each read is bounded by the client's timeouts.
    """
    latest: dict[str, int] = {}
    pid_of: dict[str, str] = {}
    for work in works:
        if work.status is Status.PENDING:
            for hint in work.hints:
                latest[hint.key] = max(latest.get(hint.key, 0), hint.event_ms)
                pid_of[hint.key] = hint.product_id

    def resolve(key: str) -> _Resolved:
        pid = pid_of[key]
        try:
            body = read(key)
        except Exception as exc:
            return _Resolved(failure=f"reading s3 object {key!r}: {type(exc).__name__}: {exc}")
        if body is None:
            return _Resolved(op=ClearContent(pid, version_for_time(latest[key])))
        try:
            return _Resolved(op=UpsertContent(content_from_json(pid, body)))
        except TransformError as exc:
            return _Resolved(error=exc)

    keys = list(latest)
    if len(keys) > 1 and max_workers > 1:
        resolved = dict(zip(keys, _pool(max_workers).map(resolve, keys), strict=True))
    else:
        resolved = {key: resolve(key) for key in keys}
    for work in works:
        if work.status is not Status.PENDING:
            continue
        seen: set[str] = set()
        for hint in work.hints:
            if hint.key in seen:
                continue
            seen.add(hint.key)
            r = resolved[hint.key]
            if r.error is not None:
                work.poison(r.error)
                break
            if r.failure is not None:
                work.status = Status.FAILED
                work.failure = r.failure
                work.ops = []
                break
            assert r.op is not None
            work.ops.append(r.op)
    return len(latest)
