"""EMULATION of DynamoDB global tables replication, which moto does not perform.

moto accepts ``ReplicaUpdates`` and does nothing, so the sandbox creates the template's
``AWS::DynamoDB::GlobalTable`` as one table per replica region (:mod:`sandbox.resources`:
the template's table name, replica regions, keys and stream) and this module replicates
between them. Global tables need a ``NEW_AND_OLD_IMAGES`` stream: a table with another
view type (or none) fails :meth:`GlobalTableReplicator.start`, as AWS refuses it. It
follows the documented behaviour of global tables (version 2019.11.21):

* **Asynchronous:** every write in one region's table is applied to every other
  region's table ``lag`` seconds after it was made (``sandbox.replication_lag_ms``;
  AWS: "usually within a second"). Writes are read from the source's stream, as the
  AWS replication service does.
* **Last writer wins:** a replicated write is applied only if it is newer than what the
  destination holds. AWS compares internal write timestamps; this project's writers put
  a growing ``version`` on every item (DESIGN.md), so the emulator compares ``version``
  with a conditional write (a put needs a strictly newer version, a delete removes an
  item whose version is not newer than the deleted one). Items without ``version`` are
  replicated unconditionally.
* **Replicated writes appear in the destination's stream** (they are real writes there),
  so every region's indexer sees every change.
* **No loops:** a write the emulator made is not replicated again. The emulator
  remembers each write it makes (region, key, put/delete, version) and skips the stream
  record that write produces, which is what the AWS service does with its own writes
  (the 2017 version marked them with ``aws:rep:*`` attributes; tracking the origin keeps
  items free of extra attributes).
* **Metrics:** ``AWS/DynamoDB`` ``ReplicationLatency`` in milliseconds per
  (TableName, ReceivingRegion), published in the source region.

Records in moto's streams always say ``awsRegion: us-east-1``; the emulator knows which
region it read them from. In the sandbox it runs in the process hosting moto and reads
streams and writes replicas through moto's backend (the code path of the HTTP API, without
serializing every record); given only an endpoint it uses the Streams and DynamoDB APIs.
"""

from __future__ import annotations

import heapq
import itertools
import json
import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sandbox.aws import client
from sandbox.metrics import MetricsPublisher
from sandbox.streams import InProcessStreamReader, StreamReader, approximate_creation_seconds

log = logging.getLogger(__name__)
EXPECTATION_TTL_SECONDS = 120.0
VERSION = "version"
REQUIRED_STREAM_VIEW = "NEW_AND_OLD_IMAGES"


@dataclass(order=True)
class _Write:
    due: float
    seq: int
    source: str = field(compare=False)
    destination: str = field(compare=False)
    record: dict[str, Any] = field(compare=False)
    created: float = field(compare=False)


def _key_id(keys: dict[str, Any]) -> str:
    return json.dumps(keys, sort_keys=True)


def _version(image: dict[str, Any] | None) -> str | None:
    if not image or VERSION not in image:
        return None
    version = image[VERSION].get("N")
    return None if version is None else str(version)


# a write this replicator made, expected back on the destination's stream: (region, key, kind, version)
_Expected = tuple[str, str, str, str | None]


def signature(record: dict[str, Any]) -> tuple[str, str, str | None]:
    """What identifies a write in a stream record: (key, put|delete, version)."""
    ddb = record["dynamodb"]
    if record.get("eventName") == "REMOVE":
        return _key_id(ddb["Keys"]), "delete", _version(ddb.get("OldImage"))
    return _key_id(ddb["Keys"]), "put", _version(ddb.get("NewImage"))


class GlobalTableReplicator:
    """Replicates ``table_name`` between the tables of ``regions`` on the moto endpoint."""

    def __init__(self, endpoint: str, table_name: str, regions: Sequence[str], lag_seconds: float,
                 metrics: MetricsPublisher | None = None, poll_seconds: float = 0.1,
                 in_process_account: str | None = None) -> None:
        """With ``in_process_account`` the streams are read from moto's backend in this
        process (the supervisor hosts moto); otherwise through the Streams API."""
        self.endpoint = endpoint
        self.table_name = table_name
        self.regions = tuple(regions)
        self.lag_seconds = lag_seconds
        self.poll_seconds = poll_seconds
        self.metrics = metrics
        self.in_process_account = in_process_account
        self._heap: list[_Write] = []
        self._seq = itertools.count()
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        # (region, key, kind, version) -> expiry time: writes this emulator made
        self._mine: dict[_Expected, float] = {}
        self._mine_lock = threading.Lock()
        self._ddb = {r: client("dynamodb", r, endpoint) for r in self.regions}
        self.applied = 0
        self.skipped_stale = 0

    def start(self) -> GlobalTableReplicator:
        for region in self.regions:
            spec = self._ddb[region].describe_table(TableName=self.table_name)["Table"].get("StreamSpecification", {})
            if spec.get("StreamViewType") != REQUIRED_STREAM_VIEW:
                raise ValueError(f"global table {self.table_name} in {region}: replication needs a "
                                 f"{REQUIRED_STREAM_VIEW} stream, the table has {spec.get('StreamViewType') or 'none'}")
        for region in self.regions:
            reader: StreamReader | InProcessStreamReader
            if self.in_process_account:
                reader = InProcessStreamReader(self.in_process_account, region, self.table_name)
            else:
                arn = self._ddb[region].describe_table(TableName=self.table_name)["Table"]["LatestStreamArn"]
                reader = StreamReader(client("dynamodbstreams", region, self.endpoint), arn)
            t = threading.Thread(target=self._poll, args=(region, reader), name=f"gt-poll-{region}", daemon=True)
            self._threads.append(t)
        self._threads.append(threading.Thread(target=self._apply_loop, name="gt-apply", daemon=True))
        for t in self._threads:
            t.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        with self._cond:
            self._cond.notify_all()
        for t in self._threads:
            t.join(timeout=5)

    def pending(self) -> int:
        with self._cond:
            return len(self._heap)

    # ---------------------------------------------------------------- source side
    def _poll(self, region: str, reader: StreamReader | InProcessStreamReader) -> None:
        while not self._stop.is_set():
            try:
                records = reader.read(1000)
            except Exception as exc:
                log.warning("global table: reading the %s stream failed: %s", region, exc)
                records = []
            now = time.time()
            scheduled = False
            for _, record in records:
                if self._consume_mine(region, record):
                    continue
                created = approximate_creation_seconds(record) or now
                due = max(created + self.lag_seconds, now)
                with self._cond:
                    for dest in self.regions:
                        if dest != region:
                            heapq.heappush(self._heap, _Write(due, next(self._seq), region, dest, record, created))
                            scheduled = True
            if scheduled:
                with self._cond:
                    self._cond.notify()
            if not records:
                self._stop.wait(self.poll_seconds)

    def _consume_mine(self, region: str, record: dict[str, Any]) -> bool:
        key, kind, version = signature(record)
        now = time.time()
        with self._mine_lock:
            if len(self._mine) > 10_000:
                self._mine = {k: exp for k, exp in self._mine.items() if exp > now}
            return self._mine.pop((region, key, kind, version), None) is not None

    def _remember(self, region: str, record: dict[str, Any]) -> _Expected:
        key, kind, version = signature(record)
        entry = (region, key, kind, version)
        with self._mine_lock:
            self._mine[entry] = time.time() + EXPECTATION_TTL_SECONDS
        return entry

    def _forget(self, entry: _Expected) -> None:
        with self._mine_lock:
            self._mine.pop(entry, None)

    # ---------------------------------------------------------------- destination side
    def _write(self, region: str, kind: str, data: dict[str, Any], condition: str | None,
               names: dict[str, str] | None, values: dict[str, Any] | None) -> bool:
        """One conditional put or delete in ``region``; False when the condition failed."""
        if self.in_process_account:
            from moto.dynamodb.exceptions import ConditionalCheckFailed
            from moto.dynamodb.models import dynamodb_backends

            backend = dynamodb_backends[self.in_process_account][region]
            try:
                if kind == "put":
                    backend.put_item(self.table_name, data, condition_expression=condition,
                                     expression_attribute_names=names, expression_attribute_values=values)
                else:
                    backend.delete_item(self.table_name, data, expression_attribute_names=names,
                                        expression_attribute_values=values, condition_expression=condition)
            except ConditionalCheckFailed:
                return False
            return True
        ddb = self._ddb[region]
        kwargs: dict[str, Any] = {"TableName": self.table_name}
        kwargs.update({"Item": data} if kind == "put" else {"Key": data})
        if condition:
            kwargs["ConditionExpression"] = condition
            kwargs["ExpressionAttributeNames"] = names
            if values:
                kwargs["ExpressionAttributeValues"] = values
        try:
            (ddb.put_item if kind == "put" else ddb.delete_item)(**kwargs)
        except ddb.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def _apply_loop(self) -> None:
        while True:
            with self._cond:
                while not self._stop.is_set() and (not self._heap or self._heap[0].due > time.time()):
                    timeout = None if not self._heap else max(0.0, self._heap[0].due - time.time())
                    self._cond.wait(timeout)
                if self._stop.is_set():
                    return
                write = heapq.heappop(self._heap)
            try:
                self._apply(write)
            except Exception as exc:
                log.warning("global table: replicating to %s failed: %s", write.destination, exc)

    def _apply(self, write: _Write) -> None:
        record = write.record["dynamodb"]
        entry = self._remember(write.destination, write.record)
        cond: tuple[str | None, dict[str, str] | None, dict[str, Any] | None]
        try:
            if write.record.get("eventName") == "REMOVE":
                version = _version(record.get("OldImage"))
                if version is not None:
                    cond = ("attribute_exists(#v) AND #v <= :v", {"#v": VERSION}, {":v": {"N": version}})
                else:
                    cond = ("attribute_exists(#k)", {"#k": next(iter(record["Keys"]))}, None)
                applied = self._write(write.destination, "delete", record["Keys"], *cond)
            else:
                image = record["NewImage"]
                version = _version(image)
                if version is not None:
                    cond = ("attribute_not_exists(#v) OR #v < :v", {"#v": VERSION}, {":v": {"N": version}})
                else:
                    cond = (None, None, None)
                applied = self._write(write.destination, "put", image, *cond)
        except Exception:
            self._forget(entry)
            raise
        if not applied:
            self._forget(entry)  # not newer there (or nothing to delete): last writer wins
            self.skipped_stale += 1
            return
        self.applied += 1
        if self.metrics:
            self.metrics.put(write.source, "AWS/DynamoDB", "ReplicationLatency",
                             max(0.0, (time.time() - write.created) * 1000.0), "Milliseconds",
                             {"TableName": self.table_name, "ReceivingRegion": write.destination})
