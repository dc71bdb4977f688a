"""``storefront drill``: rehearse losing a region, and measure it.

1. **Preflight**: every region healthy (as Route 53 sees it); replication latency and
   index lag (``IteratorAge``), their latest minute within the last two, under the
   thresholds; refuse if taking this region out would leave no healthy region to serve
   (with failover routing: the other record's region).
2. **Inject**: the region's maintenance switch ``on`` (its ``/health`` answers 503), its
   Route 53 health check ``Inverted`` (both take the region out of DNS while it still
   answers), or ``region-down``: the region's API itself fails (sandbox: its front answers
   503 to everything; AWS: its stage throttled to zero, so API Gateway answers 429), which
   shoppers see until detection and their resolvers' TTL move them.
3. **Observe**: poll the health check status and the DNS answer (through the target's
   :class:`~replication.routing.RoutingObserver`) and probe ``/search`` through the global
   name; record the time to detection (status unhealthy) and the RTO (first search served
   by another region; with no global URL, the DNS answer moving).
4. **Verify**: write canary products into the surviving region while it serves alone; see
   one searchable there; after the restore, every acknowledged canary must be in every
   region's table and index (``lost_writes`` counts those that are not).
5. **Restore** always (``finally``; Ctrl-C and SIGTERM included), then verify failback:
   the region healthy again and the answer back to what it was. Canaries are deleted.
With ``load_rps`` (``drill run --load N``), a steady open-loop load of the shopper mix
(:mod:`loadgen`) runs through the global name from before the injection until after the
failback, and the report adds what shoppers saw in each phase (before, failover, failed
over, failback, after): requests sent and failed (by kind), error rate, p99, the longest
run of failed requests, and the serving region second by second.

6. **Report**: markdown, or a JSON object (``passed``, ``detection_seconds``,
   ``rto_seconds``, ``lost_writes``, ``timeline``, ...) judged against
   ``thresholds.drill_detection_seconds`` (default: interval x threshold + 1 s of the
   health checks the target runs) and ``thresholds.drill_rto_seconds`` (default:
   detection + 30 s).
"""

from __future__ import annotations

import contextlib
import secrets
import signal
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from catalog.config import CANARY_KINDS
from catalog.convert import item_from_product, serialize_item
from catalog.engine import SearchRequest
from catalog.model import Product
from catalog.versioning import VersionClock
from replication.routing import HEALTHY, UNHEALTHY, find_health_checks, probe_search, set_inverted
from replication.sources import batch_get
from replication.status import Check, limit_check, metric_latest
from replication.targets import Target

METHODS = ("maintenance", "health-check", "region-down")
PHASES = ("before", "failover", "failed over", "failback", "after")
CANARY_PREFIX = "drill-canary-"
MAX_CANARIES = 30


class DrillError(Exception):
    """The drill cannot be set up (unknown region, missing health check...)."""


@dataclass
class Event:
    t: float  # seconds since the drill started
    at: str  # ISO-8601 UTC
    event: str


@dataclass
class DrillReport:
    region: str
    method: str
    target: str
    executed: bool
    survivor: str | None
    detection_target: float
    rto_target: float
    preflight: list[Check] = field(default_factory=list)
    passed: bool = False
    detection_seconds: float | None = None
    rto_seconds: float | None = None
    failback_seconds: float | None = None
    canary_searchable_seconds: float | None = None
    canaries_written: int = 0
    lost_writes: int = 0
    restored: bool = False
    interrupted: bool = False
    answer_before: str | None = None
    answer_during: str | None = None
    failures: list[str] = field(default_factory=list)
    watched: list[str] = field(default_factory=list)  # the health checks and canaries this drill read
    timeline: list[Event] = field(default_factory=list)
    started_at: str = ""
    shoppers: dict[str, Any] | None = None  # drill run --load: what shoppers saw (see shopper_figures)

    @property
    def preflight_ok(self) -> bool:
        return all(c.ok for c in self.preflight)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["preflight_ok"] = self.preflight_ok
        return d

    def render(self) -> str:
        return render_markdown(self)


class Timeline:
    def __init__(self, echo: Callable[[str], Any] | None = None) -> None:
        self.start = time.monotonic()
        self.events: list[Event] = []
        self._echo = echo

    def elapsed(self) -> float:
        return time.monotonic() - self.start

    def add(self, text: str) -> Event:
        ev = Event(round(self.elapsed(), 3), datetime.now(UTC).isoformat(timespec="milliseconds"), text)
        self.events.append(ev)
        if self._echo:
            self._echo(f"[{ev.t:7.2f}s] {text}")
        return ev


# ---------------------------------------------------------------- plan and preflight
def survivor_for(target: Target, region: str, healthy: set[str]) -> str | None:
    """The region that should serve while ``region`` is out (None: nobody would)."""
    cfg = target.config
    if cfg.routing == "failover":
        record_regions = [cfg.primary, cfg.secondaries[0]]
        candidates = [r for r in record_regions if r != region]
    else:
        candidates = [r for r in cfg.regions if r != region]
    for r in candidates:
        if r in healthy:
            return r
    return None


def preflight(target: Target, region: str, method: str, minutes: int = 2) -> tuple[list[Check], str | None]:
    """The checks before injecting; lag metrics are judged on their latest minute within
    ``minutes`` (no datapoint: nothing replicated or indexed lately, reported "no data")."""
    cfg = target.config
    th = cfg.thresholds
    checks: list[Check] = []
    healthy: set[str] = set()
    for r in cfg.regions:
        status = target.observer.health_status(r)
        if status == HEALTHY:
            healthy.add(r)
        checks.append(Check(r, "route 53 health", status == HEALTHY, status, HEALTHY, status))
    for src in cfg.regions:
        cw = target.client("cloudwatch", src)
        for dst in cfg.regions:
            if dst != src:
                v = metric_latest(cw, "AWS/DynamoDB", "ReplicationLatency",
                               {"TableName": cfg.table_name, "ReceivingRegion": dst}, minutes)
                checks.append(limit_check(src, f"replication latency -> {dst}", v, th.replication_latency_ms, "ms"))
        age = metric_latest(cw, "AWS/Lambda", "IteratorAge", {"FunctionName": cfg.indexer_function_name(src)}, minutes)
        checks.append(limit_check(src, "index lag (iterator age)", age, th.index_lag_seconds * 1000, "ms"))
    survivor = survivor_for(target, region, healthy)
    checks.append(Check(region, "a healthy region remains", survivor is not None, survivor, None,
                        f"{survivor} would serve" if survivor else
                        "taking this region out would leave no healthy region: refused"))
    if method == "health-check":
        hc = find_health_checks(target.client("route53", cfg.primary), cfg.regions).get(region)
        checks.append(Check(region, "health check found", hc is not None, hc["Id"] if hc else None, None,
                            f"health check {hc['Id']}" if hc else "no health check tagged storefront:region"))
        if hc and hc["HealthCheckConfig"].get("Inverted"):
            checks.append(Check(region, "health check not inverted", False, True, False,
                                "already inverted: restore it first"))
    else:
        ssm = target.client("ssm", region)
        name = cfg.maintenance_parameter(region)
        try:
            value = ssm.get_parameter(Name=name)["Parameter"]["Value"]
            checks.append(Check(region, "maintenance switch off", value != "on", value, "off",
                                f"{name} = {value}"))
        except ssm.exceptions.ParameterNotFound:
            checks.append(Check(region, "maintenance switch off", False, None, "off", f"{name} not found"))
    return checks, survivor


def watched(target: Target, minutes: int = 15) -> list[str]:
    """What judges the regions: each Route 53 health check (what it probes) and each
    shopper-path canary's latest ``SuccessPercent`` ("no data": not deployed there, or idle)."""
    cfg = target.config
    out = []
    checks = find_health_checks(target.client("route53", cfg.primary), cfg.regions)
    for r in cfg.regions:
        hc = checks.get(r)
        if hc is None:
            out.append(f"{r}: no Route 53 health check tagged storefront:region")
            continue
        c = hc["HealthCheckConfig"]
        out.append(f"{r}: Route 53 health check {hc['Id']} probes {c.get('Type', '').lower()}://"
                   f"{c.get('FullyQualifiedDomainName') or c.get('IPAddress')}{c.get('ResourcePath', '')}")
    for r in cfg.regions:
        cw = target.client("cloudwatch", r)
        for kind in CANARY_KINDS:
            name = cfg.canary_name(kind)
            v = metric_latest(cw, "CloudWatchSynthetics", "SuccessPercent", {"CanaryName": name}, minutes,
                              statistic="Average")
            out.append(f"{r}: canary {name} SuccessPercent " + ("no data" if v is None else f"{v:g} %"))
    return out


def plan_steps(target: Target, region: str, method: str, survivor: str | None) -> list[str]:
    cfg = target.config
    inject = {"maintenance": f"set SSM {cfg.maintenance_parameter(region)} = on",
              "health-check": f"invert the Route 53 health check of {region}",
              "region-down": f"take {region}'s API down (" + (
                  "its sandbox front answers 503" if target.kind == "sandbox" else
                  f"stage {cfg.aws.stage_name if cfg.aws else '?'} of {cfg.name_prefix}-search-{region} "
                  "throttled to 0 requests/s") + ")"}[method]
    return [
        f"preflight: all regions healthy, lag under thresholds, {survivor or 'NO REGION'} can serve",
        f"inject: {inject}",
        f"observe: health status and DNS answer every {target.poll_seconds:g}s, probe "
        f"{target.global_url or 'the DNS answer'}; detection target {target.detection_target:g}s, "
        f"RTO target {target.rto_target:g}s",
        f"verify: canary products written in {survivor}; searchable there; after restore in every region",
        "restore: undo the injection (always, also on Ctrl-C), verify failback, delete the canaries",
    ]


# ---------------------------------------------------------------- the drill
class Drill:
    def __init__(self, target: Target, region: str, method: str = "health-check", *,
                 echo: Callable[[str], Any] | None = None, canary_interval: float = 1.0,
                 verify_seconds: float | None = None, load_rps: float | None = None, load_seed: int = 0,
                 load_settle_seconds: float = 3.0) -> None:
        if method not in METHODS:
            raise DrillError(f"--method must be one of {', '.join(METHODS)}, got {method!r}")
        if load_rps is not None and load_rps <= 0:
            raise DrillError(f"--load must be above 0 requests/s, got {load_rps:g}")
        if load_rps and not target.global_url:
            raise DrillError("--load needs the target's global URL")
        self.load_rps = load_rps
        self.load_seed = load_seed
        self.load_settle = load_settle_seconds  # seconds of load before the injection and after the failback
        self._load: _BackgroundLoad | None = None
        self.marks: dict[str, float] = {}  # inject, moved, restore, failback: seconds on the timeline
        self.t = target
        self.cfg = target.config
        self.region = self.cfg.require_region(region)
        self.method = method
        self.echo = echo
        self.canary_interval = canary_interval
        th = self.cfg.thresholds
        # how long a canary may take to become searchable (there, then everywhere)
        self.verify_seconds = verify_seconds if verify_seconds is not None else (
            th.replication_latency_ms / 1000 + th.index_lag_seconds + 5.0)
        self.clock = VersionClock()
        self.run_id = secrets.token_hex(4)
        self.canaries: list[Product] = []
        self.report = DrillReport(region, method, target.kind, False, None, target.detection_target,
                                  target.rto_target, started_at=datetime.now(UTC).isoformat(timespec="seconds"))
        self._restore: Callable[[], None] | None = None
        self._first_canary_at = 0.0

    def plan(self) -> DrillReport:
        self.report.preflight, self.report.survivor = preflight(self.t, self.region, self.method)
        self.report.watched = watched(self.t)
        return self.report

    def run(self) -> DrillReport:
        """Preflight, inject, observe, verify, restore (always), report."""
        rep = self.report
        tl = Timeline(self.echo)
        self.plan()
        rep.executed = True
        if not rep.preflight_ok:
            rep.failures.append("preflight failed: nothing was injected")
            tl.add("preflight failed; drill not started")
            rep.timeline = tl.events
            return rep
        tl.add(f"preflight ok; {rep.survivor} will serve while {self.region} is out")
        rep.answer_before = self.t.observer.answer()
        tl.add(f"DNS answer before: {rep.answer_before}")
        with _interrupts_as_keyboard_interrupt():
            try:
                if self.load_rps:
                    self._load = _BackgroundLoad(self.t.global_url or "", self.load_rps, self.load_seed, tl).start()
                    time.sleep(self.load_settle)
                self._inject(tl)
                self._observe(tl)
                self._verify_survivor(tl)
            except KeyboardInterrupt:
                rep.interrupted = True
                rep.failures.append("interrupted")
                tl.add("interrupted: restoring")
            except Exception as exc:
                rep.failures.append(f"error: {type(exc).__name__}: {exc}")
                tl.add(f"error: {exc}; restoring")
            finally:
                self._restore_and_failback(tl)
        for step in ((self._verify_everywhere,) if not rep.interrupted else ()) + (self._cleanup,):
            try:
                step(tl)
            except Exception as exc:  # the region is restored; report what could not be verified
                rep.failures.append(f"error: {type(exc).__name__}: {exc}")
                tl.add(f"error: {exc}")
        if self._load is not None:
            if not rep.interrupted:
                time.sleep(self.load_settle)
            records = self._load.stop()
            if rep.detection_seconds is not None and "inject" in self.marks:
                self.marks["detected"] = round(self.marks["inject"] + rep.detection_seconds, 3)
            tl.add(f"load stopped: {len(records)} shopper requests")
            rep.shoppers = shopper_figures(records, self.marks, self.load_rps or 0, round(tl.elapsed(), 3))
            for phase in rep.shoppers["phases"]:
                if phase["name"] in ("before", "after") and phase["failed"]:
                    rep.failures.append(f"shoppers saw {phase['failed']} failed requests {phase['name']} the drill "
                                        f"({phase['errors']})")
        self._judge()
        tl.add("PASSED" if rep.passed else "FAILED: " + "; ".join(rep.failures))
        rep.timeline = tl.events
        return rep

    # -- inject / restore
    def _inject(self, tl: Timeline) -> None:
        # shoppers' phases start when the fault starts being applied: a request answered while
        # it was being applied already sees it (detection and RTO still count from its end)
        applying = time.monotonic()
        if self.method == "maintenance":
            ssm = self.t.client("ssm", self.region)
            name = self.cfg.maintenance_parameter(self.region)
            before = ssm.get_parameter(Name=name)["Parameter"]["Value"]

            def restore() -> None:
                ssm.put_parameter(Name=name, Value=before, Type="String", Overwrite=True)

            self._restore = restore
            ssm.put_parameter(Name=name, Value="on", Type="String", Overwrite=True)
            tl.add(f"inject: {name} = on")
        elif self.method == "region-down":
            self._restore = region_down(self.t, self.region)
            tl.add(f"inject: {self.region}'s API down")
        else:
            r53 = self.t.client("route53", self.cfg.primary)
            hc = find_health_checks(r53, self.cfg.regions)[self.region]
            self._restore = lambda: set_inverted(r53, hc["Id"], False)
            set_inverted(r53, hc["Id"], True)
            tl.add(f"inject: health check {hc['Id']} inverted")
        self._t_inject = time.monotonic()
        self.marks["inject"] = round(applying - tl.start, 3)

    def _restore_and_failback(self, tl: Timeline) -> None:
        rep = self.report
        if self._restore is None:
            return
        try:
            self._restore()
            rep.restored = True
            t_restore = time.monotonic()
            self.marks["restore"] = round(t_restore - tl.start, 3)
            tl.add("restore: injection undone")
        except Exception as exc:
            rep.failures.append(f"RESTORE FAILED: {exc}: undo it by hand")
            tl.add(f"RESTORE FAILED: {exc}")
            return
        try:
            self._await_failback(tl, t_restore)
        except Exception as exc:  # the restore itself is done; only its verification failed
            rep.failures.append(f"failback not verified: {type(exc).__name__}: {exc}")
            tl.add(f"failback not verified: {exc}")

    def _await_failback(self, tl: Timeline, t_restore: float) -> None:
        rep = self.report
        deadline = t_restore + self.t.rto_target + self.t.detection_target
        healthy_at = answer_at = None
        while time.monotonic() < deadline:
            if healthy_at is None and self.t.observer.health_status(self.region) == HEALTHY:
                healthy_at = time.monotonic()
                tl.add(f"failback: {self.region} healthy again")
            if answer_at is None and self.t.observer.answer() == rep.answer_before:
                answer_at = time.monotonic()
                tl.add(f"failback: DNS answer back to {rep.answer_before}")
            if healthy_at and answer_at:
                rep.failback_seconds = round(max(healthy_at, answer_at) - t_restore, 3)
                self.marks["failback"] = round(max(healthy_at, answer_at) - tl.start, 3)
                return
            time.sleep(self.t.poll_seconds)
        rep.failures.append(f"failback not seen within {deadline - t_restore:.0f}s")

    # -- observe
    def _observe(self, tl: Timeline) -> None:
        rep = self.report
        serving = rep.answer_before == self.region
        deadline = self._t_inject + self.t.rto_target + self.t.detection_target
        last_answer = rep.answer_before
        last_canary = 0.0
        while time.monotonic() < deadline:
            now = time.monotonic()
            if rep.detection_seconds is None and self.t.observer.health_status(self.region) == UNHEALTHY:
                rep.detection_seconds = round(now - self._t_inject, 3)
                tl.add(f"detected: Route 53 reports {self.region} unhealthy")
            answer = self.t.observer.answer()
            if answer != last_answer:
                tl.add(f"DNS answer: {last_answer} -> {answer}")
                last_answer = answer
                rep.answer_during = answer
            if rep.rto_seconds is None:
                if not serving:
                    if rep.detection_seconds is not None:
                        rep.rto_seconds = 0.0
                        self.marks["moved"] = self.marks["inject"]
                        tl.add(f"{self.region} was not serving: traffic did not need to move")
                elif self._traffic_moved(answer, tl):
                    rep.rto_seconds = round(time.monotonic() - self._t_inject, 3)
                    self.marks["moved"] = round(self._t_inject + rep.rto_seconds - tl.start, 3)
                    if rep.detection_seconds is None:
                        # Route 53 moves traffic only after the check turned unhealthy: the
                        # status poll above ran just before the flip, the search probe just after
                        rep.detection_seconds = rep.rto_seconds
                        tl.add(f"detected: traffic left {self.region} before the next status poll")
            if rep.rto_seconds is not None and now - last_canary >= self.canary_interval:
                self._write_canary(tl)
                last_canary = now
            if rep.detection_seconds is not None and rep.rto_seconds is not None and len(self.canaries) >= 3:
                return
            time.sleep(self.t.poll_seconds)
        if rep.detection_seconds is None:
            rep.failures.append(f"{self.region} was never reported unhealthy")
        if rep.rto_seconds is None:
            rep.failures.append("traffic never moved to another region")

    def _traffic_moved(self, answer: str | None, tl: Timeline) -> bool:
        if self.t.global_url:
            probe = probe_search(self.t.global_url, "", size=1)
            if probe.ok and probe.region and probe.region != self.region:
                tl.add(f"traffic moved: search through {self.t.global_url} served by {probe.region}")
                return True
            return False
        if answer is not None and answer != self.region:
            tl.add(f"traffic moved: DNS answers {answer}")
            return True
        return False

    # -- canaries
    def _write_canary(self, tl: Timeline) -> None:
        survivor = self.report.survivor
        if survivor is None or len(self.canaries) >= MAX_CANARIES:
            return
        n = len(self.canaries)
        product = Product(
            id=f"{CANARY_PREFIX}{self.run_id}-{n}", title=f"drillcanary{self.run_id} failover canary {n}",
            brand="Storefront Drill", category="Operations > Drill", price=1.0, currency="USD",
            in_stock=False, version=self.clock.next(), description="written by storefront drill; deleted after")
        self.t.client("dynamodb", survivor).put_item(TableName=self.cfg.table_name,
                                                     Item=serialize_item(item_from_product(product)))
        self.canaries.append(product)  # acknowledged: put_item returned
        self.report.canaries_written = len(self.canaries)
        if n == 0:
            self._first_canary_at = time.monotonic()
            tl.add(f"canary {product.id} written in {survivor}")

    def _verify_survivor(self, tl: Timeline) -> None:
        rep = self.report
        if not self.canaries or rep.survivor is None:
            return
        first = self.canaries[0]
        budget = self.verify_seconds
        start = time.monotonic()
        while time.monotonic() - start < budget:
            if self._searchable(rep.survivor, first, via_global=True):
                rep.canary_searchable_seconds = round(time.monotonic() - self._first_canary_at, 3)
                tl.add(f"canary searchable in {rep.survivor} after {rep.canary_searchable_seconds}s")
                return
            time.sleep(self.t.poll_seconds)
        rep.failures.append(f"canary not searchable in {rep.survivor} within {budget:g}s")

    def _searchable(self, region: str, product: Product, via_global: bool = False) -> bool:
        token = f"drillcanary{self.run_id}"
        url = self.t.global_url if via_global else self.t.region_urls.get(region)
        if url:
            probe = probe_search(url, token, size=50)
            return probe.ok and product.id in probe.ids and (probe.region in (None, region))
        result = self.t.engine(region).search(SearchRequest(text=token, size=50, facets=(), highlight=False))
        return product.id in {h.id for h in result.hits}

    def _verify_everywhere(self, tl: Timeline) -> None:
        rep = self.report
        if not self.canaries:
            return
        budget = self.verify_seconds
        start = time.monotonic()
        missing: set[tuple[str, str]] = set()
        while time.monotonic() - start < budget:
            missing = set(self._missing_canaries())
            if not missing:
                break
            time.sleep(max(self.t.poll_seconds, 0.5))
        rep.lost_writes = len({pid for _, pid in missing})
        if missing:
            sample = ", ".join(f"{pid} in {r}" for r, pid in sorted(missing)[:5])
            rep.failures.append(f"{rep.lost_writes} acknowledged canary writes missing after {budget:g}s: {sample}")
            tl.add(f"lost writes: {rep.lost_writes}")
        else:
            tl.add(f"all {len(self.canaries)} canaries in every region's table and index")

    def _missing_canaries(self) -> Iterator[tuple[str, str]]:
        ids = [p.id for p in self.canaries]
        want = {p.id: p.version for p in self.canaries}
        for region in self.cfg.regions:
            items = batch_get(self.t.client("dynamodb", region), self.cfg.table_name, ids, consistent=True)
            states = self.t.engine(region).states(ids)
            for pid in ids:
                item, state = items.get(pid), states.get(pid)
                in_table = item is not None and int(item["version"]) >= want[pid]
                in_index = state is not None and state.visible and (state.item_version or 0) >= want[pid]
                if not (in_table and in_index):
                    yield region, pid

    def _cleanup(self, tl: Timeline) -> None:
        survivor = self.report.survivor
        if not self.canaries or survivor is None:
            return
        ddb = self.t.client("dynamodb", survivor)
        for p in self.canaries:
            with contextlib.suppress(Exception):
                ddb.delete_item(TableName=self.cfg.table_name, Key={"id": {"S": p.id}})
        tl.add(f"{len(self.canaries)} canaries deleted")

    def _judge(self) -> None:
        rep = self.report
        if rep.detection_seconds is not None and rep.detection_seconds > rep.detection_target:
            rep.failures.append(f"detection took {rep.detection_seconds:.1f}s > target {rep.detection_target:g}s")
        if rep.rto_seconds is not None and rep.rto_seconds > rep.rto_target:
            rep.failures.append(f"RTO {rep.rto_seconds:.1f}s > target {rep.rto_target:g}s")
        if not rep.restored and "RESTORE FAILED" not in " ".join(rep.failures):
            rep.failures.append("not restored")
        if not self.canaries and not rep.interrupted and rep.rto_seconds is not None:
            rep.failures.append("no canary was written")
        rep.passed = not rep.failures and rep.preflight_ok


# ---------------------------------------------------------------- region-down
def region_down(target: Target, region: str) -> Callable[[], None]:
    """Make the region's API itself fail; returns the restore.

    * sandbox: the region's front answers 503 to every request, ``/health`` included
      (:func:`sandbox.faults.set_region_down`);
    * AWS: the API's stage throttled to 0 requests/s and a burst of 0 (``*/*`` method
      settings), so API Gateway answers 429 to everything, the health check's ``/health``
      included; the restore puts the previous rate and burst back.
    """
    cfg = target.config
    if target.kind == "sandbox":
        from sandbox.faults import set_region_down

        set_region_down(cfg, [region])

        def restore() -> None:
            set_region_down(cfg, [])

        return restore
    if cfg.aws is None:
        raise DrillError("region-down on AWS needs the [aws] section (stage name)")
    apigw = target.client("apigateway", region)
    name = f"{cfg.name_prefix}-search-{region}"
    api_id = next((a["id"] for page in apigw.get_paginator("get_rest_apis").paginate() for a in page["items"]
                   if a["name"] == name), None)
    if api_id is None:
        raise DrillError(f"no REST API named {name} in {region}")
    stage = cfg.aws.stage_name
    before = apigw.get_stage(restApiId=api_id, stageName=stage).get("methodSettings", {}).get("*/*", {})
    rate = before.get("throttlingRateLimit", cfg.aws.api_throttle_rate)
    burst = before.get("throttlingBurstLimit", cfg.aws.api_throttle_burst)

    def throttle(r: float, b: int) -> None:
        apigw.update_stage(restApiId=api_id, stageName=stage, patchOperations=[
            {"op": "replace", "path": "/*/*/throttling/rateLimit", "value": str(r)},
            {"op": "replace", "path": "/*/*/throttling/burstLimit", "value": str(b)}])

    throttle(0, 0)
    return lambda: throttle(rate, burst)


# ---------------------------------------------------------------- shoppers under load
class _BackgroundLoad:
    """The shopper mix at a constant rate through ``url`` in a thread, until :meth:`stop`;
    records are timed on the drill's timeline."""

    def __init__(self, url: str, rps: float, seed: int, tl: Timeline) -> None:
        from loadgen.mix import RequestMix, sample_catalog
        from loadgen.runner import HttpSender, Recorder, get_json_from

        self.mix = RequestMix(sample_catalog(get_json_from(url, 5.0)), None, seed)
        self.sender = HttpSender(url, timeout=5.0)
        self.rps = rps
        self.tl = tl
        self.recorder = Recorder()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._offset = 0.0

    def start(self) -> _BackgroundLoad:
        from loadgen.runner import run_open_loop

        begin = time.monotonic()
        self._offset = begin - self.tl.start
        self._thread = threading.Thread(
            target=run_open_loop, args=(self.sender, self.mix, self.rps),
            kwargs={"duration": None, "stop": self._stop, "recorder": self.recorder, "start": begin},
            name="drill-load", daemon=True)
        self._thread.start()
        self.tl.add(f"load: {self.rps:g} shopper requests/s through {self.sender.host}:{self.sender.port or ''}")
        return self

    def stop(self) -> list[Any]:
        from dataclasses import replace

        self._stop.set()
        if self._thread:
            self._thread.join(timeout=30)
        return [replace(r, t=round(r.t + self._offset, 3)) for r in self.recorder.snapshot()]


def phase_bounds(marks: dict[str, float], end: float) -> list[tuple[str, float, float]]:
    """(name, from, to) of the drill's phases on its timeline: before the injection,
    failover (until traffic moved), failed over (until the restore), failback (until the
    failback was seen), after. A moment never reached ends its phase at the next one known."""
    order = [("before", 0.0), ("failover", marks.get("inject")), ("failed over", marks.get("moved")),
             ("failback", marks.get("restore")), ("after", marks.get("failback"))]
    known = [(name, t) for name, t in order if t is not None]
    return [(name, t, known[i + 1][1] if i + 1 < len(known) else end) for i, (name, t) in enumerate(known)]


def shopper_figures(records: list[Any], marks: dict[str, float], rps: float, end: float) -> dict[str, Any]:
    """What shoppers saw: per phase (:func:`phase_bounds`) the figures of
    :class:`loadgen.runner.Figures`, the whole drill's, and second by second the requests,
    failures, p99 and the region that served most of them (``regions_over_time`` merges
    equal seconds into spans)."""
    from loadgen.runner import Figures

    def summary(name: str, a: float, b: float, recs: list[Any]) -> dict[str, Any]:
        f = Figures.of(recs)
        return {"name": name, "from": round(a, 3), "to": round(b, 3), "sent": f.sent, "failed": f.failed,
                "error_rate": f.error_rate, "errors": f.errors, "p99_ms": f.latency_ms["p99"],
                "longest_failure_run": f.longest_failure_run,
                "longest_failure_seconds": f.longest_failure_seconds, "regions": f.regions}

    inject = marks.get("inject")

    def when(r: Any) -> float:
        """A request's phase is that of its due time, except that one still in flight when the
        injection began could see the fault: "before" holds only requests answered before it."""
        return inject if inject is not None and r.t < inject <= r.t + r.latency else r.t

    phases = [summary(n, a, b, [r for r in records if a <= when(r) < b]) for n, a, b in phase_bounds(marks, end)]
    whole = summary("whole drill", 0.0, end, records)
    series: list[dict[str, Any]] = []
    by_second: dict[int, list[Any]] = {}
    for r in records:
        by_second.setdefault(int(r.t), []).append(r)
    for s in sorted(by_second):
        f = Figures.of(by_second[s])
        ok_regions = [r.region for r in by_second[s] if not r.error and r.region]
        region = max(set(ok_regions), key=ok_regions.count) if ok_regions else None
        series.append({"t": s, "sent": f.sent, "failed": f.failed, "p99_ms": f.latency_ms["p99"], "region": region})
    spans: list[dict[str, Any]] = []
    for point in series:
        if spans and spans[-1]["region"] == point["region"]:
            spans[-1]["to"] = point["t"] + 1
        else:
            spans.append({"from": point["t"], "to": point["t"] + 1, "region": point["region"]})
    return {"rps": rps, "marks": dict(marks), "phases": phases, "whole": whole, "series": series,
            "regions_over_time": spans}


@contextlib.contextmanager
def _interrupts_as_keyboard_interrupt() -> Iterator[None]:
    """SIGTERM (like Ctrl-C) unwinds into the drill's ``finally`` that restores the region."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


# ---------------------------------------------------------------- report
def _fmt(v: float | None) -> str:
    return "n/a" if v is None else f"{v:.2f} s"


def render_markdown(rep: DrillReport) -> str:
    verdict = ("PASSED" if rep.passed else "FAILED") if rep.executed else "PLAN (not executed)"
    lines = [f"# Failover drill: {rep.region} via {rep.method} ({rep.target}) - {verdict}", ""]
    if rep.executed and rep.preflight_ok:
        lines += [
            "| measure | value | target | ok |", "|---|---|---|---|",
            f"| detection | {_fmt(rep.detection_seconds)} | <= {rep.detection_target:g} s | "
            f"{_yes(rep.detection_seconds is not None and rep.detection_seconds <= rep.detection_target)} |",
            f"| RTO (traffic served elsewhere) | {_fmt(rep.rto_seconds)} | <= {rep.rto_target:g} s | "
            f"{_yes(rep.rto_seconds is not None and rep.rto_seconds <= rep.rto_target)} |",
            f"| failback after restore | {_fmt(rep.failback_seconds)} | seen | "
            f"{_yes(rep.failback_seconds is not None)} |",
            f"| canary searchable in {rep.survivor} | {_fmt(rep.canary_searchable_seconds)} | seen | "
            f"{_yes(rep.canary_searchable_seconds is not None)} |",
            f"| lost writes | {rep.lost_writes} of {rep.canaries_written} canaries | 0 | "
            f"{_yes(rep.lost_writes == 0)} |",
            f"| restored | {'yes' if rep.restored else 'NO'} | yes | {_yes(rep.restored)} |",
            "",
        ]
    lines += ["## Preflight", "", "| region | check | ok | detail |", "|---|---|---|---|"]
    lines += [f"| {c.region} | {c.name} | {_yes(c.ok)} | {c.detail} |" for c in rep.preflight]
    if rep.watched:
        lines += ["", "## Watched", ""] + [f"- {w}" for w in rep.watched]
    if rep.timeline:
        lines += ["", "## Timeline", "", "| t (s) | event |", "|---:|---|"]
        lines += [f"| {e.t:.2f} | {e.event} |" for e in rep.timeline]
    if rep.shoppers:
        lines += ["", *render_shoppers(rep.shoppers)]
    if rep.failures:
        lines += ["", "## Failures", ""] + [f"- {f}" for f in rep.failures]
    return "\n".join(lines)


def render_shoppers(sh: dict[str, Any]) -> list[str]:
    """The "What shoppers saw" section of the markdown report."""
    lines = [f"## What shoppers saw ({sh['rps']:g} requests/s through the global name)", "",
             "| phase | from (s) | to (s) | sent | failed | error rate | errors | p99 (ms) | longest failure run |",
             "|---|---:|---:|---:|---:|---:|---|---:|---|"]
    for p in [*sh["phases"], sh["whole"]]:
        errors = ", ".join(f"{k} {v}" for k, v in p["errors"].items()) or "-"
        p99 = "n/a" if p["p99_ms"] is None else f"{p['p99_ms']:,.1f}"
        run = f"{p['longest_failure_run']} over {p['longest_failure_seconds']:.2f} s" if p["longest_failure_run"] \
            else "-"
        lines.append(f"| {p['name']} | {p['from']:.2f} | {p['to']:.2f} | {p['sent']} | {p['failed']} | "
                     f"{p['error_rate']:.2%} | {errors} | {p99} | {run} |")
    lines += ["", "Serving region over time: " + "; ".join(
        f"{s['from']}-{s['to']} s {s['region'] or 'none (all failed)'}" for s in sh["regions_over_time"])]
    return lines


def _yes(ok: bool) -> str:
    return "yes" if ok else "**no**"


def plan(target: Target, region: str, method: str = "health-check") -> tuple[DrillReport, list[str]]:
    d = Drill(target, region, method)
    rep = d.plan()
    return rep, plan_steps(target, region, method, rep.survivor)


def run_drill(target: Target, region: str, method: str = "health-check", **kwargs: Any) -> DrillReport:
    return Drill(target, region, method, **kwargs).run()
