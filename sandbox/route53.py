"""EMULATION of Route 53 health checking and DNS answers (moto reports every check healthy
and does not implement ``TestDNSAnswer``).

The checks are the synthesized template's (:mod:`sandbox.resources` creates them in moto
from it); their settings are read back from moto's Route 53 on every evaluation, so
``UpdateHealthCheck`` takes effect as on AWS. Documented behaviour, at sandbox speed:

* **Endpoint checks** (``HTTP``, ``HTTPS``, ``*_STR_MATCH``, ``TCP``): every
  :func:`sandbox.deployed.probe_interval_seconds` (the one compression; AWS: the template's
  ``RequestInterval``, 10 or 30 s) each check sends ``GET <ResourcePath>`` to
  ``<IPAddress>:<Port>`` with ``Host: <FullyQualifiedDomainName>`` (TCP: connects only); a 2xx
  or 3xx answer within the timeout (2 s, as Route 53 allows) is a success (``*_STR_MATCH``:
  and ``SearchString`` in the first 5,120 bytes of the body), anything else a failure. A
  healthy check becomes unhealthy after ``FailureThreshold`` consecutive failures, an
  unhealthy one healthy after as many successes (new checks start healthy).
* **CloudWatch alarm checks** (``CLOUDWATCH_METRIC``): healthy when the alarm (named in the
  template's ``AlarmIdentifier``) is ``OK``, unhealthy in ``ALARM``; with insufficient data
  (or no such alarm in the sandbox: it creates no alarms) as ``InsufficientDataHealthStatus``
  says (``Healthy``, ``Unhealthy``, or ``LastKnownStatus``: healthy until known).
* **Calculated checks** (``CALCULATED``): healthy when at least ``HealthThreshold`` of the
  ``ChildHealthChecks`` are healthy (evaluated whenever read, from the children's status).
* Every type: ``Inverted`` swaps healthy and unhealthy; ``Disabled`` makes the check healthy.

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
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sandbox.aws import client
from sandbox.resources import HealthCheck

log = logging.getLogger(__name__)
PROBE_TIMEOUT_SECONDS = 2.0
STR_MATCH_BYTES = 5120
ENDPOINT_TYPES = ("HTTP", "HTTPS", "HTTP_STR_MATCH", "HTTPS_STR_MATCH", "TCP")


@dataclass
class CheckState:
    id: str
    region: str
    name: str = ""
    type: str = "HTTP"
    status: str = "healthy"
    inverted: bool = False
    disabled: bool = False
    consecutive_failures: int = 0
    consecutive_successes: int = 0
    last_checked: float | None = None

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "region": self.region, "name": self.name, "type": self.type,
                "status": self.status, "inverted": self.inverted,
                "disabled": self.disabled, "consecutive_failures": self.consecutive_failures,
                "last_checked": self.last_checked}


def probe(host: str, port: int, path: str, timeout: float = PROBE_TIMEOUT_SECONDS, *,
          host_header: str | None = None, search: str | None = None, tcp: bool = False) -> bool:
    """One Route 53 endpoint probe: True on a 2xx/3xx answer (and ``search`` in the body's first
    5,120 bytes), or for ``tcp`` on a connection."""
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        if tcp:
            conn.connect()
            return True
        headers = {"User-Agent": "Amazon-Route53-Health-Check-Service (sandbox)"}
        if host_header:
            headers["Host"] = host_header
        conn.request("GET", path, headers=headers)
        resp = conn.getresponse()
        if not 200 <= resp.status < 400:
            return False
        return search is None or search in resp.read(STR_MATCH_BYTES).decode("utf-8", "replace")
    except (OSError, http.client.HTTPException):
        return False
    finally:
        conn.close()


def alarm_health(state: str | None, insufficient_data: str, last: str) -> str:
    """A CLOUDWATCH_METRIC check's status from its alarm's state (None: no such alarm)."""
    if state == "OK":
        return "healthy"
    if state == "ALARM":
        return "unhealthy"
    if insufficient_data == "Healthy":
        return "healthy"
    if insufficient_data == "Unhealthy":
        return "unhealthy"
    return last  # LastKnownStatus


def calculated_health(children: Sequence[bool], threshold: int) -> bool:
    """A CALCULATED check: at least ``threshold`` healthy children."""
    return sum(1 for c in children if c) >= threshold


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
    def __init__(self, endpoint: str, hosted_zone_id: str, record_name: str, checks: Sequence[HealthCheck],
                 regions: Sequence[str], routing: str, interval_seconds: float,
                 clock: Callable[[], float] = time.time) -> None:
        """``checks``: the health checks created from the template; ``interval_seconds``: how often
        endpoints are probed (:func:`sandbox.deployed.probe_interval_seconds`)."""
        self.endpoint = endpoint
        self.hosted_zone_id = hosted_zone_id
        self.record_name = record_name.rstrip(".") + "."
        self.regions = tuple(regions)
        self.routing = routing
        self.interval = interval_seconds
        self.clock = clock
        self.checks = {hc.id: hc for hc in checks}
        self.states = {hc.id: CheckState(hc.id, hc.region, hc.name, hc.type) for hc in checks}
        self._configs: dict[str, dict[str, Any]] = {}
        self._r53 = client("route53", "us-east-1", endpoint)
        self._cloudwatch: dict[str, Any] = {}
        self._records: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> Route53Emulator:
        self.refresh_records()
        for hc in self.states:
            t = threading.Thread(target=self._loop, args=(hc,), name=f"r53-{self.checks[hc].name}", daemon=True)
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
        """Read the check's configuration from moto and evaluate it once (a probe, the alarm, or the children)."""
        config = self._r53.get_health_check(HealthCheckId=hc)["HealthCheck"]["HealthCheckConfig"]
        state, spec = self.states[hc], self.checks[hc]
        inverted, disabled = bool(config.get("Inverted")), bool(config.get("Disabled"))
        kind = config.get("Type", spec.type)
        if disabled or kind == "CALCULATED":
            with self._lock:
                self._configs[hc] = config
                state.inverted, state.disabled = inverted, disabled
                if disabled:
                    state.status, state.consecutive_failures, state.consecutive_successes = "healthy", 0, 0
                state.last_checked = self.clock()
            if kind == "CALCULATED":
                with self._lock:
                    state.status = self._calculated(hc, set())
            return state
        if kind == "CLOUDWATCH_METRIC":
            alarm = self._alarm_state(spec)
            with self._lock:
                self._configs[hc] = config
                state.inverted, state.disabled = inverted, False
                raw = alarm_health(alarm, spec.insufficient_data,
                                   _flip(state.status) if inverted else state.status)
                state.status = _flip(raw) if inverted else raw
                state.last_checked = self.clock()
            return state
        if kind not in ENDPOINT_TYPES:
            raise ValueError(f"health check {hc}: type {kind} is not emulated")
        ok = probe(config.get("IPAddress") or "127.0.0.1", int(config["Port"]), config.get("ResourcePath") or "/",
                   host_header=config.get("FullyQualifiedDomainName"),
                   search=config.get("SearchString") if kind.endswith("_STR_MATCH") else None, tcp=kind == "TCP")
        with self._lock:
            self._configs[hc] = config
            state.inverted, state.disabled = inverted, False
            apply_result(state, ok != inverted, int(config.get("FailureThreshold") or 3))
            state.last_checked = self.clock()
        return state

    def _alarm_state(self, spec: HealthCheck) -> str | None:
        region = spec.alarm_region or "us-east-1"
        if region not in self._cloudwatch:
            self._cloudwatch[region] = client("cloudwatch", region, self.endpoint)
        alarms = self._cloudwatch[region].describe_alarms(AlarmNames=[spec.alarm_name or ""]).get("MetricAlarms", [])
        return alarms[0]["StateValue"] if alarms else None

    def _calculated(self, hc: str, seen: set[str]) -> str:
        """A calculated check's status from its children's (lock held)."""
        if hc not in self._configs:
            self._configs[hc] = self._r53.get_health_check(HealthCheckId=hc)["HealthCheck"]["HealthCheckConfig"]
        config = self._configs[hc]
        if config.get("Disabled"):
            return "healthy"
        if hc in seen:
            return self.states[hc].status
        children = config.get("ChildHealthChecks") or []
        healthy = [self._status(c, seen | {hc}) == "healthy" for c in children]
        ok = calculated_health(healthy, int(config.get("HealthThreshold") or 0))
        return "healthy" if ok != bool(config.get("Inverted")) else "unhealthy"

    def _status(self, hc: str, seen: set[str]) -> str:
        state = self.states.get(hc)
        if state is None:
            return "healthy"  # not a check the sandbox knows: Route 53 would not accept it
        if state.type == "CALCULATED":
            return self._calculated(hc, seen)
        return state.status

    # ---------------------------------------------------------------- read side
    def health_checks(self) -> list[dict[str, Any]]:
        """The checks tagged with a region (the CDK app's ``storefront:region``), as the drill watches them."""
        with self._lock:
            return [{**s.to_json(), "status": self._status(s.id, set())} for s in self.states.values() if s.region]

    def all_health_checks(self) -> list[dict[str, Any]]:
        with self._lock:
            return [{**s.to_json(), "status": self._status(s.id, set())} for s in self.states.values()]

    def answer(self) -> str | None:
        with self._lock:
            healthy = {hc: self._status(hc, set()) == "healthy" for hc in self.states}
            records = list(self._records)
        return choose(records, healthy, self.regions)

    def answer_json(self) -> dict[str, Any]:
        return {"name": self.record_name.rstrip("."), "routing": self.routing, "region": self.answer()}


def _flip(status: str) -> str:
    return "unhealthy" if status == "healthy" else "healthy"
