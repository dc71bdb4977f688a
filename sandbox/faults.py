"""Fault injection for tests and drills: make the sandbox's indexer fail for chosen products,
or a region's API front answer 503 (``region_down``, see :class:`RegionDownFront`).

``<sandbox.state_dir>/faults.json``::

    {"indexer": {"fail_product_ids": ["p000042"]}}

Each region process wraps its indexer handler in :class:`FaultyIndexer`, which re-reads
the file when it changes (one ``stat`` per invocation; no file, no faults). In a DynamoDB
Streams batch, the first record of a listed product is reported as a batch item failure,
as the real indexer reports a record the engine keeps refusing: the records before it go
to the real handler, and Lambda's emulation retries from the failed one until its retries
or record age run out (then its on-failure record goes to the DLQ). SQS batches are not
affected. Tests only: nothing in a deployment reads this file.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from catalog.config import DeploymentConfig
from sandbox.state import state_dir

FAULTS_FILE = "faults.json"


def faults_path(cfg: DeploymentConfig) -> Path:
    return state_dir(cfg) / FAULTS_FILE


def _update(cfg: DeploymentConfig, key: str, value: Any) -> Path:
    """Set one key of the faults file, keeping the others, in one atomic replace."""
    path = faults_path(cfg)
    try:
        data = json.loads(path.read_text())
        if not isinstance(data, dict):
            data = {}
    except (OSError, ValueError):
        data = {}
    data[key] = value
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data))
    os.replace(tmp, path)
    return path


def set_faults(cfg: DeploymentConfig, fail_product_ids: Iterable[str] = ()) -> Path:
    """Make the running sandbox's indexers fail for these products (empty: no faults)."""
    return _update(cfg, "indexer", {"fail_product_ids": sorted(fail_product_ids)})


class _FaultsFile:
    """The faults file as last read: re-read only when its stamp (mtime, size) changes (one
    ``stat`` per call); no file, or one that cannot be read, is an empty document."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._stamp: tuple[int, int] | None = None
        self._data: dict[str, Any] = {}

    def read(self) -> dict[str, Any]:
        try:
            st = self.path.stat()
        except OSError:
            self._stamp, self._data = None, {}
            return self._data
        stamp = (st.st_mtime_ns, st.st_size)
        if stamp != self._stamp:
            try:
                data = json.loads(self.path.read_text())
            except (OSError, ValueError):
                data = {}
            self._stamp, self._data = stamp, data if isinstance(data, dict) else {}
        return self._data


class FaultyIndexer:
    """An indexer handler that fails the records of the products listed in ``path``."""

    def __init__(self, handler: Callable[[dict[str, Any], Any], Any], path: str | os.PathLike[str]) -> None:
        self.handler = handler
        self.faults = _FaultsFile(path)

    def failing(self) -> frozenset[str]:
        indexer = self.faults.read().get("indexer")
        ids = indexer.get("fail_product_ids", []) if isinstance(indexer, dict) else []
        return frozenset(str(i) for i in ids) if isinstance(ids, list) else frozenset()

    def __call__(self, event: dict[str, Any], context: Any) -> Any:
        failing = self.failing()
        records = event.get("Records") if isinstance(event, dict) else None
        if not failing or not records or records[0].get("eventSource") != "aws:dynamodb":
            return self.handler(event, context)
        for i, record in enumerate(records):
            if record.get("dynamodb", {}).get("Keys", {}).get("id", {}).get("S") in failing:
                if i:
                    response = self.handler({**event, "Records": records[:i]}, context)
                    if isinstance(response, dict) and response.get("batchItemFailures"):
                        return response
                return {"batchItemFailures": [{"itemIdentifier": record["dynamodb"]["SequenceNumber"]}]}
        return self.handler(event, context)


# ---------------------------------------------------------------- a region's front down
def set_region_down(cfg: DeploymentConfig, regions: Iterable[str] = ()) -> Path:
    """Make these regions' API fronts answer 503 to everything, ``/health`` included (empty:
    all up); the indexer faults in the same file are kept. ``storefront drill --method
    region-down`` uses it in the sandbox."""
    return _update(cfg, "region_down", sorted(regions))


class RegionDownFront:
    """The region's API Gateway front: while ``path`` lists the region under
    ``region_down``, every request is answered 503 without reaching the function (as a
    WAF block-all rule or a stage throttled to zero would refuse it); else ``invoke``."""

    def __init__(self, invoke: Callable[[dict[str, Any]], Any], path: str | os.PathLike[str], region: str) -> None:
        self.invoke = invoke
        self.faults = _FaultsFile(path)
        self.region = region

    def down(self) -> bool:
        regions = self.faults.read().get("region_down", [])
        return isinstance(regions, list) and self.region in regions

    def __call__(self, event: dict[str, Any]) -> Any:
        if self.down():
            return {"statusCode": 503, "headers": {"Content-Type": "application/json", "Retry-After": "5"},
                    "body": json.dumps({"message": "Service Unavailable", "region_down": self.region})}
        return self.invoke(event)
