"""EMULATION of Route 53 health checking and DNS answers (moto reports every check healthy
and does not implement ``TestDNSAnswer``).

Health checks (documented behaviour of HTTP health checks, at sandbox speed):

* every ``sandbox.health_check_interval_seconds`` (AWS: 10 or 30 s), each check sends
  ``GET http://<IPAddress>:<Port><ResourcePath>``; a 2xx or 3xx answer within the timeout
  (2 s, as Route 53 allows for the response) is a success, anything else a failure;
* a healthy check becomes unhealthy after ``FailureThreshold`` consecutive failures, and
  an unhealthy one healthy after as many consecutive successes (new checks start healthy);
* the check's configuration is re-read from moto's Route 53 on every probe, so
  ``UpdateHealthCheck`` takes effect as on AWS: ``Inverted`` swaps success and failure;
  ``Disabled`` stops probing and the check is considered healthy.

DNS answers for the sandbox's record name, from the records stored in moto:

* **failover**: the PRIMARY record if its health check is healthy, else the SECONDARY if
  healthy; if both are unhealthy Route 53 answers with the PRIMARY;
* **latency**: the healthy record "nearest" to the client. In the sandbox the client is
  taken to be in the primary region and nearness follows the order of ``regions`` in the
  configuration (the primary, then the next region, ...). If every record is unhealthy,
  Route 53 treats them all as healthy and answers the nearest.

A record without ``HealthCheckId`` is always healthy. The answered record names its
region by ``SetIdentifier``.
"""

from __future__ import annotations

import http.client
import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sandbox.aws import client

log = logging.getLogger(__name__)
PROBE_TIMEOUT_SECONDS = 2.0


@dataclass
class CheckState:
    id: str
    region: str
    status: str = "healthy"
    inverted: bool = False
    disabled: bool = False
    consecutive_failures: int = 0
    consecutive_successes: int = 0
    last_checked: float | None = None

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "region": self.region, "status": self.status, "inverted": self.inverted,
                "disabled": self.disabled, "consecutive_failures": self.consecutive_failures,
                "last_checked": self.last_checked}


def probe(host: str, port: int, path: str, timeout: float = PROBE_TIMEOUT_SECONDS) -> bool:
    """One Route 53 HTTP probe: True on a 2xx/3xx answer."""
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        conn.request("GET", path, headers={"User-Agent": "Amazon-Route53-Health-Check-Service (sandbox)"})
        status = conn.getresponse().status
        return 200 <= status < 400
    except (OSError, http.client.HTTPException):
        return False
    finally:
        conn.close()


def apply_result(state: CheckState, success: bool, threshold: int) -> None:
    """Count one probe result and flip the status after ``threshold`` in a row."""
    if success:
        state.consecutive_successes += 1
        state.consecutive_failures = 0
        if state.status == "unhealthy" and state.consecutive_successes >= threshold:
            state.status = "healthy"
    else:
        state.consecutive_failures += 1
        state.consecutive_successes = 0
        if state.status == "healthy" and state.consecutive_failures >= threshold:
            state.status = "unhealthy"


def choose(records: Sequence[dict[str, Any]], healthy: dict[str, bool], region_order: Sequence[str]) -> str | None:
    """The region Route 53 answers with for one record name (see the module docstring)."""
    def ok(rec: dict[str, Any]) -> bool:
        hc = rec.get("HealthCheckId")
        return True if not hc else healthy.get(hc, True)

    failover = {r.get("Failover"): r for r in records if r.get("Failover")}
    if failover:
        primary, secondary = failover.get("PRIMARY"), failover.get("SECONDARY")
        for rec in (primary, secondary):
            if rec is not None and ok(rec):
                return rec.get("SetIdentifier")
        return (primary or secondary or {}).get("SetIdentifier")
    latency = [r for r in records if r.get("Region")]
    if latency:
        order = {region: i for i, region in enumerate(region_order)}
        latency.sort(key=lambda r: order.get(r["Region"], len(order)))
        for rec in latency:
            if ok(rec):
                return rec.get("SetIdentifier")
        return latency[0].get("SetIdentifier")
    return records[0].get("SetIdentifier") if records else None


class Route53Emulator:
    def __init__(self, endpoint: str, hosted_zone_id: str, record_name: str, checks: dict[str, str],
                 regions: Sequence[str], routing: str, interval_seconds: float, threshold: int) -> None:
        """``checks`` maps region -> health check id."""
        self.endpoint = endpoint
        self.hosted_zone_id = hosted_zone_id
        self.record_name = record_name.rstrip(".") + "."
        self.regions = tuple(regions)
        self.routing = routing
        self.interval = interval_seconds
        self.threshold = threshold
        self.states = {hc: CheckState(hc, region) for region, hc in checks.items()}
        self._r53 = client("route53", "us-east-1", endpoint)
        self._records: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> Route53Emulator:
        self.refresh_records()
        for hc in self.states:
            t = threading.Thread(target=self._loop, args=(hc,), name=f"r53-{self.states[hc].region}", daemon=True)
            self._threads.append(t)
        self._threads.append(threading.Thread(target=self._records_loop, name="r53-records", daemon=True))
        for t in self._threads:
            t.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(timeout=5)

    def refresh_records(self) -> None:
        records: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {"HostedZoneId": self.hosted_zone_id}
        while True:
            resp = self._r53.list_resource_record_sets(**kwargs)
            records += [r for r in resp["ResourceRecordSets"] if r["Name"] == self.record_name
                        and r["Type"] in ("A", "AAAA", "CNAME")]
            if not resp.get("IsTruncated"):
                break
            kwargs.update(StartRecordName=resp["NextRecordName"], StartRecordType=resp["NextRecordType"])
        with self._lock:
            self._records = records

    def _records_loop(self) -> None:
        while not self._stop.wait(max(1.0, self.interval)):
            try:
                self.refresh_records()
            except Exception as exc:
                log.debug("route53: reading records failed: %s", exc)

    def _loop(self, hc: str) -> None:
        next_at = time.monotonic()
        while not self._stop.is_set():
            try:
                self.check_once(hc)
            except Exception as exc:
                log.debug("route53: health check %s failed to run: %s", hc, exc)
            next_at += self.interval
            self._stop.wait(max(0.0, next_at - time.monotonic()))

    def check_once(self, hc: str) -> CheckState:
        config = self._r53.get_health_check(HealthCheckId=hc)["HealthCheck"]["HealthCheckConfig"]
        state = self.states[hc]
        inverted, disabled = bool(config.get("Inverted")), bool(config.get("Disabled"))
        if disabled:
            with self._lock:
                state.inverted, state.disabled = inverted, True
                state.status, state.consecutive_failures, state.consecutive_successes = "healthy", 0, 0
                state.last_checked = time.time()
            return state
        ok = probe(config.get("IPAddress") or "127.0.0.1", int(config["Port"]), config.get("ResourcePath") or "/")
        with self._lock:
            state.inverted, state.disabled = inverted, False
            apply_result(state, ok != inverted, self.threshold)
            state.last_checked = time.time()
        return state

    # ---------------------------------------------------------------- read side
    def health_checks(self) -> list[dict[str, Any]]:
        with self._lock:
            return [s.to_json() for s in self.states.values()]

    def answer(self) -> str | None:
        with self._lock:
            healthy = {hc: s.status == "healthy" for hc, s in self.states.items()}
            records = list(self._records)
        return choose(records, healthy, self.regions)

    def answer_json(self) -> dict[str, Any]:
        return {"name": self.record_name.rstrip("."), "routing": self.routing, "region": self.answer()}
