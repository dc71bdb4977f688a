"""Publish the CloudWatch metrics AWS publishes for the services the sandbox emulates.

The emulators put datapoints here; a background thread flushes them into the local
moto CloudWatch once a second with ``PutMetricData`` (one call per region and
namespace, at most 1,000 datapoints), so ``replication status`` and the drills read
the same metric names and dimensions as on AWS:

* ``AWS/DynamoDB`` ``ReplicationLatency`` (TableName, ReceivingRegion), in the source region;
* ``AWS/S3`` ``ReplicationLatency``, ``OperationsPendingReplication``,
  ``OperationsFailedReplication`` (SourceBucket, DestinationBucket, RuleId), in the source region;
* ``AWS/Lambda`` ``IteratorAge`` (FunctionName), in the function's region.
"""

from __future__ import annotations

import logging
import threading
from collections import defaultdict
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from sandbox.aws import client

log = logging.getLogger(__name__)
MAX_PER_CALL = 1000


class MetricsPublisher:
    def __init__(self, endpoint: str, flush_seconds: float = 1.0) -> None:
        self._endpoint = endpoint
        self._flush_seconds = flush_seconds
        self._lock = threading.Lock()
        self._pending: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
        self._clients: dict[str, Any] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def put(self, region: str, namespace: str, name: str, value: float, unit: str,
            dimensions: Mapping[str, str]) -> None:
        datum = {
            "MetricName": name,
            "Value": float(value),
            "Unit": unit,
            "Timestamp": datetime.now(UTC),
            "Dimensions": [{"Name": k, "Value": v} for k, v in dimensions.items()],
        }
        with self._lock:
            self._pending[(region, namespace)].append(datum)

    def start(self) -> MetricsPublisher:
        self._thread = threading.Thread(target=self._run, name="metrics", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=5)
        self.flush()

    def _run(self) -> None:
        while not self._stop.wait(self._flush_seconds):
            self.flush()

    def flush(self) -> None:
        with self._lock:
            pending, self._pending = self._pending, defaultdict(list)
        for (region, namespace), data in pending.items():
            cw = self._clients.get(region)
            if cw is None:
                cw = self._clients[region] = client("cloudwatch", region, self._endpoint)
            for i in range(0, len(data), MAX_PER_CALL):
                try:
                    cw.put_metric_data(Namespace=namespace, MetricData=data[i:i + MAX_PER_CALL])
                except Exception as exc:  # the sandbox may be stopping; metrics are best effort
                    log.debug("put_metric_data %s %s failed: %s", region, namespace, exc)
