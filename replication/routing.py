"""Where Route 53 sends shoppers, and whether it thinks a region is healthy.

:class:`RoutingObserver` hides the one thing that differs between AWS and the sandbox:

* AWS (:class:`AwsRoutingObserver`): ``GetHealthCheckStatus`` across Route 53's
  health checkers (a check is healthy when more than 18 % of checkers report success,
  as Route 53 decides; a disabled check counts as healthy) and ``TestDNSAnswer`` for
  the domain, mapped back to a region through the record sets' alias targets.
* sandbox (:class:`SandboxRoutingObserver`): the emulated Route 53's admin routes on
  the global port (moto's own health status is always healthy and it does not emulate
  ``TestDNSAnswer``).

Also here: :func:`probe_search`, one GET ``/search`` through a base URL that reports the
region that served it (``X-Served-Region`` header, else the body's ``region``).
"""

from __future__ import annotations

import json
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

HEALTHY = "healthy"
UNHEALTHY = "unhealthy"
UNKNOWN = "unknown"

# Route 53 considers an endpoint healthy when more than this share of its checkers do.
HEALTHY_CHECKER_SHARE = 0.18


@runtime_checkable
class RoutingObserver(Protocol):
    def health_status(self, region: str) -> str:
        """``healthy``, ``unhealthy`` or ``unknown`` for the region's health check."""
        ...

    def answer(self) -> str | None:
        """The region the domain's DNS answer points at now (None: no answer)."""
        ...


# ---------------------------------------------------------------- health check lookup
def find_health_checks(route53: Any, regions: tuple[str, ...] | list[str]) -> dict[str, dict[str, Any]]:
    """Region -> Route 53 health check (with its ``HealthCheckConfig``), found by the
    ``storefront:region`` tag the CDK app and the sandbox put on each check."""
    checks: dict[str, dict[str, Any]] = {}
    by_id: dict[str, dict[str, Any]] = {}
    for page in route53.get_paginator("list_health_checks").paginate():
        for hc in page.get("HealthChecks", []):
            by_id[hc["Id"]] = hc
    ids = list(by_id)
    for i in range(0, len(ids), 10):  # ListTagsForResources takes at most 10 ids
        resp = route53.list_tags_for_resources(ResourceType="healthcheck", ResourceIds=ids[i:i + 10])
        for rts in resp.get("ResourceTagSets", []):
            tags = {t["Key"]: t["Value"] for t in rts.get("Tags", [])}
            region = tags.get("storefront:region")
            if region is not None and region in regions:
                checks[region] = by_id[rts["ResourceId"]]
    return checks


def set_inverted(route53: Any, health_check_id: str, inverted: bool) -> None:
    route53.update_health_check(HealthCheckId=health_check_id, Inverted=inverted)


# ---------------------------------------------------------------- AWS
class AwsRoutingObserver:
    """Route 53 as AWS reports it (see the module docstring)."""

    def __init__(self, route53: Any, regions: tuple[str, ...], hosted_zone_id: str, domain_name: str,
                 resolve: Callable[[str], set[str]] | None = None) -> None:
        self._r53 = route53
        self._regions = regions
        self._zone = hosted_zone_id
        self._domain = domain_name.rstrip(".")
        self._resolve = resolve or _resolve
        self._checks: dict[str, dict[str, Any]] | None = None

    def _check(self, region: str) -> dict[str, Any] | None:
        if self._checks is None:
            self._checks = find_health_checks(self._r53, self._regions)
        return self._checks.get(region)

    def health_status(self, region: str) -> str:
        hc = self._check(region)
        if hc is None:
            return UNKNOWN
        config = self._r53.get_health_check(HealthCheckId=hc["Id"])["HealthCheck"]["HealthCheckConfig"]
        if config.get("Disabled"):
            return HEALTHY  # Route 53 treats a disabled check as healthy
        observations = self._r53.get_health_check_status(HealthCheckId=hc["Id"]).get("HealthCheckObservations", [])
        return status_from_observations(observations)

    def answer(self) -> str | None:
        resp = self._r53.test_dns_answer(HostedZoneId=self._zone, RecordName=self._domain, RecordType="A")
        data = set(resp.get("RecordData", []))
        if not data:
            return None
        for region, target in self._alias_targets().items():
            if target.rstrip(".") in data or data & self._resolve(target):
                return region
        return None

    def _alias_targets(self) -> dict[str, str]:
        targets: dict[str, str] = {}
        self._check(self._regions[0])  # loads self._checks
        checks = {hc["Id"]: r for r, hc in (self._checks or {}).items()}
        pages = self._r53.get_paginator("list_resource_record_sets").paginate(HostedZoneId=self._zone)
        for page in pages:
            for rrs in page.get("ResourceRecordSets", []):
                if rrs["Name"].rstrip(".") != self._domain or "AliasTarget" not in rrs:
                    continue
                region = rrs.get("Region") or checks.get(rrs.get("HealthCheckId", ""))
                if region:
                    targets[region] = rrs["AliasTarget"]["DNSName"]
        return targets


def status_from_observations(observations: list[Mapping[str, Any]]) -> str:
    """Route 53's verdict from its checkers' reports: healthy if > 18 % report success."""
    if not observations:
        return UNKNOWN
    ok = sum(1 for o in observations if str(o.get("StatusReport", {}).get("Status", "")).startswith("Success"))
    return HEALTHY if ok / len(observations) > HEALTHY_CHECKER_SHARE else UNHEALTHY


def _resolve(name: str) -> set[str]:
    try:
        return {str(info[4][0]) for info in socket.getaddrinfo(name.rstrip("."), 443, proto=socket.IPPROTO_TCP)}
    except OSError:
        return set()


# ---------------------------------------------------------------- sandbox
class SandboxRoutingObserver:
    """The sandbox's emulated Route 53, read through its admin routes on the global port."""

    def __init__(self, global_url: str, timeout: float = 2.0) -> None:
        self._base = global_url.rstrip("/")
        self._timeout = timeout

    def health_checks(self) -> list[dict[str, Any]]:
        checks: list[dict[str, Any]] = get_json(f"{self._base}/_sandbox/route53/health-checks",
                                                self._timeout)["health_checks"]
        return checks

    def health_status(self, region: str) -> str:
        for hc in self.health_checks():
            if hc.get("region") == region:
                return HEALTHY if hc.get("status") == HEALTHY else UNHEALTHY
        return UNKNOWN

    def answer(self) -> str | None:
        region: str | None = get_json(f"{self._base}/_sandbox/route53/answer", self._timeout).get("region")
        return region


# ---------------------------------------------------------------- HTTP
def get_json(url: str, timeout: float = 2.0) -> Any:
    with urllib.request.urlopen(url, timeout=timeout) as resp:
        return json.loads(resp.read())


@dataclass
class ProbeResult:
    """One search request through a base URL."""

    ok: bool
    status: int | None
    region: str | None
    ids: list[str] = field(default_factory=list)
    error: str | None = None
    seconds: float = 0.0


def probe_search(base_url: str, query: str = "", *, size: int = 20, timeout: float = 2.0) -> ProbeResult:
    """GET ``{base_url}/search?q=query&size=size``; never raises for HTTP or network errors."""
    url = f"{base_url.rstrip('/')}/search?" + urllib.parse.urlencode({"q": query, "size": size})
    start = time.monotonic()
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            body = json.loads(resp.read())
            region = resp.headers.get("X-Served-Region") or body.get("region")
            ids = [h.get("id") for h in body.get("hits", [])]
            return ProbeResult(True, resp.status, region, ids, None, time.monotonic() - start)
    except urllib.error.HTTPError as exc:
        region = exc.headers.get("X-Served-Region") if exc.headers else None
        return ProbeResult(False, exc.code, region, [], f"HTTP {exc.code}", time.monotonic() - start)
    except (OSError, ValueError) as exc:
        return ProbeResult(False, None, None, [], f"{type(exc).__name__}: {exc}", time.monotonic() - start)
