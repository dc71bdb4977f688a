"""EMULATION of Amazon S3 replication (cross-region), which moto does not perform.

moto stores a bucket's replication configuration but never copies an object. This
module runs inside the supervisor process that hosts the moto server and follows the
documented behaviour of S3 replication (live replication, V2 rule schema):

* **What is replicated:** new object versions whose key matches an *enabled* rule's
  filter prefix, from the bucket that carries the rule to the rule's destination bucket
  (in the sandbox, as the CDK app configures it: every bucket to every other). Replicas
  are not replicated again (replica modification sync only carries metadata changes,
  which the sandbox does not make), so two-way rules never loop.
* **Asynchronous:** each version is copied ``lag`` seconds after it was written
  (``sandbox.replication_lag_ms``); in the meantime ``HeadObject`` on the source says
  ``ReplicationStatus: PENDING``, then ``COMPLETED`` (or ``FAILED``); the copy says
  ``REPLICA``. Body and user metadata are copied.
* **Deletes:** a ``DeleteObject`` without a version id on a versioned bucket makes a
  delete marker. S3 announces it as ``s3:ObjectRemoved:DeleteMarkerCreated`` (moto emits
  no event for it: this module adds the event) and replicates the marker only when the
  rule's ``DeleteMarkerReplication`` is ``Enabled``. Deleting a specific version is
  never replicated (as on S3).
* **Events in the destination:** the copy is written into the destination bucket, so
  the destination's own event notifications fire (``ObjectCreated:Put`` for a copy,
  ``ObjectRemoved:DeleteMarkerCreated`` for a replicated marker), as S3 does for replicas.
* **Metrics** (replication metrics enabled): ``AWS/S3`` ``ReplicationLatency`` (seconds),
  ``OperationsPendingReplication`` and ``OperationsFailedReplication`` per
  (SourceBucket, DestinationBucket, RuleId), in the source bucket's region.

Mechanism: it wraps moto's in-process S3 notification hook to learn about new versions
and delete markers, and writes replicas through moto's S3 backend (the same code path an
HTTP ``PutObject`` takes). It must run in the process that hosts the moto server.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import logging
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from sandbox.metrics import MetricsPublisher

log = logging.getLogger(__name__)
_local = threading.local()

CREATED_PREFIX = "s3:ObjectCreated:"
DELETE_MARKER_CREATED = "s3:ObjectRemoved:DeleteMarkerCreated"
STATUS_ATTR = "_sandbox_replication_status"


@dataclass(order=True)
class _Task:
    due: float
    seq: int
    source_bucket: str = field(compare=False)
    destination_bucket: str = field(compare=False)
    key: str = field(compare=False)
    version_id: str | None = field(compare=False)
    delete_marker: bool = field(compare=False)
    rule_id: str = field(compare=False)
    written_at: float = field(compare=False)
    source_region: str = field(compare=False)


class _MarkerShim:
    """What moto's event builder needs of a delete marker (it has no size or ETag)."""

    def __init__(self, name: str, version_id: str) -> None:
        self.name = name
        self.version_id = version_id
        self.etag = ""
        self.size = 0


def matching_rules(replication: dict[str, Any] | None, key: str, delete_marker: bool) -> list[tuple[str, str]]:
    """``(rule id, destination bucket name)`` for each enabled rule that replicates ``key``.

    ``replication`` is the stored configuration (``{"Role", "Rule": [...]}``). Among
    rules with the same destination, the highest priority wins (S3 resolves overlaps so).
    """
    if not replication:
        return []
    rules = replication.get("Rule") or replication.get("Rules") or []
    if isinstance(rules, dict):
        rules = [rules]
    chosen: dict[str, tuple[int, str]] = {}
    for rule in rules:
        if rule.get("Status") != "Enabled":
            continue
        filt = rule.get("Filter") or {}
        prefix = filt.get("Prefix", (filt.get("And") or {}).get("Prefix", rule.get("Prefix", ""))) or ""
        if not key.startswith(prefix):
            continue
        if delete_marker and ((rule.get("DeleteMarkerReplication") or {}).get("Status") != "Enabled"):
            continue
        dest_arn = (rule.get("Destination") or {}).get("Bucket", "")
        dest = dest_arn.split(":::", 1)[-1]
        if not dest:
            continue
        priority = int(rule.get("Priority") or 0)
        if dest not in chosen or priority > chosen[dest][0]:
            chosen[dest] = (priority, str(rule.get("ID", "")))
    return [(rule_id, dest) for dest, (_, rule_id) in chosen.items()]


class S3Replicator:
    """Copies new object versions and delete markers along the buckets' replication rules."""

    def __init__(self, account_id: str, lag_seconds: float, metrics: MetricsPublisher | None = None) -> None:
        self.account_id = account_id
        self.lag_seconds = lag_seconds
        self.metrics = metrics
        self._heap: list[_Task] = []
        self._seq = itertools.count()
        self._cond = threading.Condition()
        self._stop = False
        self._held = 0
        self._thread: threading.Thread | None = None
        self._pending: dict[tuple[str, str, str], int] = defaultdict(int)
        self._originals: dict[str, Any] = {}
        self.replicated = 0
        self.failed = 0

    # ------------------------------------------------------------------ hooks
    def install(self) -> None:
        from moto.s3 import models, notifications

        if self._originals:
            return
        original_send = notifications.send_event
        original_marker = models.S3Backend._set_delete_marker
        # the property object itself (moto types the class attribute as the getter it wraps)
        original_response: property = vars(models.FakeKey)["response_dict"]
        self._originals = {"send_event": original_send, "set_delete_marker": original_marker,
                           "response_dict": original_response}
        replicator = self

        def send_event(account_id: str, event_name: notifications.S3NotificationEvent, bucket: Any,
                       key: Any) -> None:
            original_send(account_id, event_name, bucket, key)
            try:
                replicator._observe(str(getattr(event_name, "value", event_name)), bucket, key)
            except Exception:  # never break the S3 call that caused the event
                log.exception("s3 replication: could not schedule %s", getattr(key, "name", key))

        def set_delete_marker(backend: models.S3Backend, bucket_name: str,
                              key_name: str) -> models.FakeDeleteMarker:
            marker = original_marker(backend, bucket_name, key_name)
            bucket = backend.get_bucket(bucket_name)
            notifications.send_event(backend.account_id, notifications.S3NotificationEvent(DELETE_MARKER_CREATED),
                                     bucket, _MarkerShim(key_name, marker.version_id))
            return marker

        def response_dict(key: models.FakeKey) -> dict[str, Any]:
            res: dict[str, Any] = original_response.__get__(key)
            status = getattr(key, STATUS_ATTR, None)
            if status:
                res["x-amz-replication-status"] = status
            return res

        notifications.send_event = send_event
        # replacing moto's methods on its classes (mypy has no type for a monkeypatch; the wrappers
        # above are typed against moto's own signatures)
        setattr(models.S3Backend, "_set_delete_marker", set_delete_marker)  # noqa: B010
        setattr(models.FakeKey, "response_dict", property(response_dict))  # noqa: B010

    def uninstall(self) -> None:
        from moto.s3 import models, notifications

        if not self._originals:
            return
        notifications.send_event = self._originals["send_event"]
        setattr(models.S3Backend, "_set_delete_marker", self._originals["set_delete_marker"])  # noqa: B010
        setattr(models.FakeKey, "response_dict", self._originals["response_dict"])  # noqa: B010
        self._originals = {}

    def _observe(self, event_name: str, bucket: Any, key: Any) -> None:
        if getattr(_local, "replicating", False):
            return  # a replica: S3 does not replicate replicas
        delete_marker = event_name == DELETE_MARKER_CREATED
        if not (delete_marker or event_name.startswith(CREATED_PREFIX)):
            return
        rules = matching_rules(getattr(bucket, "replication", None), key.name, delete_marker)
        if not rules:
            return
        now = time.time()
        if not delete_marker:
            setattr(key, STATUS_ATTR, "PENDING")
        with self._cond:
            for rule_id, dest in rules:
                task = _Task(now + self.lag_seconds, next(self._seq), bucket.name, dest, key.name,
                             getattr(key, "version_id", None), delete_marker, rule_id, now, bucket.region_name)
                heapq.heappush(self._heap, task)
                self._pending[(bucket.name, dest, rule_id)] += 1
            self._cond.notify()

    # ------------------------------------------------------------------ worker
    def start(self) -> S3Replicator:
        self.install()
        self._thread = threading.Thread(target=self._run, name="s3-replication", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        with self._cond:
            self._stop = True
            self._cond.notify()
        if self._thread:
            self._thread.join(timeout=5)
        self.uninstall()

    def pending(self) -> int:
        with self._cond:
            return len(self._heap)

    @contextlib.contextmanager
    def held(self) -> Iterator[None]:
        """No copy is made while inside (due ones wait and then go in order): lets a test see
        the PENDING state whatever the machine's load, instead of racing the lag."""
        with self._cond:
            self._held += 1
        try:
            yield
        finally:
            with self._cond:
                self._held -= 1
                self._cond.notify()

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._stop and (self._held or not self._heap or self._heap[0].due > time.time()):
                    timeout = None if self._held or not self._heap else max(0.0, self._heap[0].due - time.time())
                    self._cond.wait(timeout)
                if self._stop:
                    return
                task = heapq.heappop(self._heap)
            self._replicate(task)

    def _replicate(self, task: _Task) -> None:
        from moto.s3.models import s3_backends

        backend = s3_backends[self.account_id]["global"]
        ok = True
        source_key = None
        try:
            _local.replicating = True
            if task.delete_marker:
                backend.delete_object(task.destination_bucket, task.key)
            else:
                source_key = backend.get_object(task.source_bucket, task.key, version_id=task.version_id)
                if source_key is None:
                    raise LookupError(f"version {task.version_id} of {task.key} is gone")
                replica = backend.put_object(task.destination_bucket, task.key, source_key.value)
                if source_key.metadata:
                    replica.set_metadata(dict(source_key.metadata))
                setattr(replica, STATUS_ATTR, "REPLICA")
        except Exception as exc:
            ok = False
            log.warning("s3 replication of %s/%s to %s failed: %s", task.source_bucket, task.key,
                        task.destination_bucket, exc)
        finally:
            _local.replicating = False
        if source_key is not None:
            setattr(source_key, STATUS_ATTR, "COMPLETED" if ok else "FAILED")
        with self._cond:
            rule = (task.source_bucket, task.destination_bucket, task.rule_id)
            self._pending[rule] -= 1
            pending = self._pending[rule]
        if ok:
            self.replicated += 1
        else:
            self.failed += 1
        if self.metrics:
            dims = {"SourceBucket": task.source_bucket, "DestinationBucket": task.destination_bucket,
                    "RuleId": task.rule_id}
            if ok:
                self.metrics.put(task.source_region, "AWS/S3", "ReplicationLatency", time.time() - task.written_at,
                                 "Seconds", dims)
            else:
                self.metrics.put(task.source_region, "AWS/S3", "OperationsFailedReplication", 1, "Count", dims)
            self.metrics.put(task.source_region, "AWS/S3", "OperationsPendingReplication", pending, "Count", dims)
