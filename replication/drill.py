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

The parts: :mod:`replication.drill_plan` (methods, preflight, steps),
:mod:`replication.drill_faults` (inject and restore), :mod:`replication.drill_shoppers`
(the load and what shoppers saw), :mod:`replication.drill_report` (the report and its
markdown); this module runs them in order.
"""

from __future__ import annotations

import contextlib
import secrets
import signal
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

from catalog.convert import item_from_product, serialize_item
from catalog.engine import SearchRequest
from catalog.model import Product
from catalog.versioning import VersionClock
from replication.drill_faults import inject
from replication.drill_plan import METHODS, DrillError, plan_steps, preflight, watched
from replication.drill_report import DrillReport, Timeline
from replication.drill_shoppers import BackgroundLoad, shopper_figures
from replication.routing import HEALTHY, UNHEALTHY, probe_search
from replication.sources import batch_get
from replication.targets import Target

CANARY_PREFIX = "drill-canary-"
MAX_CANARIES = 30


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
        self._load: BackgroundLoad | None = None
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
                    self._load = BackgroundLoad(self.t.global_url or "", self.load_rps, self.load_seed, tl).start()
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
        tl.add(inject(self.t, self.region, self.method, self._keep_restore))
        self._t_inject = time.monotonic()
        self.marks["inject"] = round(applying - tl.start, 3)

    def _keep_restore(self, restore: Callable[[], None]) -> None:
        self._restore = restore

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


def plan(target: Target, region: str, method: str = "health-check") -> tuple[DrillReport, list[str]]:
    d = Drill(target, region, method)
    rep = d.plan()
    return rep, plan_steps(target, region, method, rep.survivor)


def run_drill(target: Target, region: str, method: str = "health-check", **kwargs: Any) -> DrillReport:
    return Drill(target, region, method, **kwargs).run()
