"""Sandbox benchmark: sandbox start-up, the demo's catalog load with the CPU each process
spent on it, and cross-region visibility of a write.

The sandbox runs as ``storefront demo`` and ``storefront sandbox up`` run it: the supervisor
(moto, the emulators) in a child process (:mod:`sandbox.child`), on free ports with the default
settings (``replication_lag_ms = 200``), the benchmark a client beside it.

* start-up: until the child's endpoints file names it, ``--starts`` times;
* catalog load: ``--products`` generated products (default 2,000, what the demo loads),
  items by batch writes and content objects into the primary, as ``storefront catalog
  load`` does; timed until written, and until every region has indexed them all
  (``wait_for_load``: items and content, the content queues drained); the CPU seconds of every
  process of the sandbox (supervisor, region processes, indexer and search functions, read from
  ``/proc``) and of the loading client, per product: the floor on 2 cores is
  2 / (CPU seconds per product) products/s however the work is spread;
* write in the primary -> searchable in the secondary: ``--writes`` price updates of
  random products in the primary table (``UpdateItem`` with a newer version), each timed
  until a search in the secondary (``/search`` filtered on the new price) returns it;
  p50 and p95 at the configured replication lag. Budget (DESIGN.md): p50 <= 1.5 s.

``--compare`` first loads the catalog with moto as before issue 13
(``STOREFRONT_MOTO_TUNING=baseline``: the first three tunings, moto's own server), each on a
fresh sandbox. Run: ``.venv/bin/python -m bench sandbox`` (or ``python -m bench.bench_sandbox
--writes 50``); the figures go to the "sandbox" section of bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import random
import resource
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from bench.common import cmdline, machine, percentile, tree_cpu, write_section
from catalog.config import load_config
from catalog.versioning import VersionClock
from sandbox.child import SupervisorChild, start_supervisor
from sandbox.client import get, load_catalog, wait_for_load, wait_until
from sandbox.demo import change_price
from sandbox.state import private_sandbox_toml

BUDGET_P50_SECONDS = 1.5
PROCESSES = ("supervisor (moto, emulators)", "region processes (event sources, API Gateway)",
             "indexer functions", "search functions", "client (loader, --wait)")


@contextmanager
def sandbox_child(mode: str = "") -> Iterator[SupervisorChild]:
    """A sandbox with the default settings on free ports, its supervisor a child process,
    moto tuned per ``mode`` ("baseline" or ""); stopped on exit."""
    with tempfile.TemporaryDirectory(prefix="bench-sandbox-") as tmp:
        config = Path(tmp) / "storefront.toml"
        state = str(Path(tmp) / "state")
        config.write_text(private_sandbox_toml("storefront", replication_lag_ms=200, state_dir=state))
        previous = os.environ.get("STOREFRONT_MOTO_TUNING")
        os.environ["STOREFRONT_MOTO_TUNING"] = mode
        try:
            child = start_supervisor(load_config(str(config)), detach=False)
        finally:
            if previous is None:
                os.environ.pop("STOREFRONT_MOTO_TUNING")
            else:
                os.environ["STOREFRONT_MOTO_TUNING"] = previous
        try:
            yield child
        finally:
            child.stop()


def process_kind(supervisor: int) -> Callable[[int], str]:
    """pid -> which of :data:`PROCESSES` it is (by its command line)."""

    def label(pid: int) -> str:
        if pid == supervisor:
            return PROCESSES[0]
        line = cmdline(pid)
        if "sandbox.region" in line:
            return PROCESSES[1]
        if "indexer.handler" in line:
            return PROCESSES[2]
        if "search_api.handler" in line:
            return PROCESSES[3]
        return f"other ({line[:40]})"

    return label


def _client_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


@dataclasses.dataclass(frozen=True)
class LoadRun:
    mode: str
    products: int
    written: float
    indexed: float
    cpu: dict[str, float]  # process kind -> CPU seconds during the load and the wait

    @property
    def total_cpu(self) -> float:
        return sum(self.cpu.values())

    @property
    def busy_cores(self) -> float:
        return self.total_cpu / self.indexed


def catalog_load(child: SupervisorChild, products: int, mode: str = "") -> LoadRun:
    """Load ``products`` into the running sandbox and wait until every region indexed them."""
    label = process_kind(child.pid)
    cpu0, client0 = tree_cpu(child.pid, label), _client_cpu()
    t0 = time.perf_counter()
    load_catalog(child.cfg, child.endpoints.aws, products)
    written = time.perf_counter() - t0
    if wait_for_load(child.cfg, child.endpoints, products, timeout=1800) is None:
        raise SystemExit(f"the catalog did not reach every region's index ({mode or 'tuned'})")
    indexed = time.perf_counter() - t0
    cpu1 = tree_cpu(child.pid, label)
    cpu = {k: cpu1.get(k, 0.0) - cpu0.get(k, 0.0) for k in cpu1}
    cpu[PROCESSES[4]] = _client_cpu() - client0
    return LoadRun(mode, products, written, indexed, cpu)


def load_table(runs: list[LoadRun]) -> str:
    """The load figures side by side: wall times, products/s, CPU per product by process."""
    kinds = [k for k in PROCESSES if any(k in r.cpu for r in runs)]
    kinds += sorted({k for r in runs for k in r.cpu} - set(kinds))

    def name(r: LoadRun) -> str:
        return "moto as before issue 13 (`baseline`)" if r.mode == "baseline" else "now"

    head = "| | " + " | ".join(name(r) for r in runs) + " |\n|---|" + "---|" * len(runs)
    rows = [
        ("items and content written", [f"{r.written:.1f} s" for r in runs]),
        ("indexed everywhere", [f"{r.indexed:.1f} s" for r in runs]),
        ("**products/s** (indexed everywhere)", [f"**{r.products / r.indexed:.0f}**" for r in runs]),
        *[(f"CPU ms per product: {k}", [f"{1000 * r.cpu.get(k, 0.0) / r.products:.1f}" for r in runs]) for k in kinds],
        ("**CPU ms per product, all processes**", [f"**{1000 * r.total_cpu / r.products:.1f}**" for r in runs]),
        ("cores busy on average (of 2)", [f"{r.busy_cores:.2f}" for r in runs]),
        ("ceiling on 2 cores: 2 / CPU per product", [f"{2 * r.products / r.total_cpu:.0f} products/s" for r in runs]),
    ]
    return head + "\n" + "\n".join(f"| {what} | " + " | ".join(cells) + " |" for what, cells in rows)


def cross_region_lags(child: SupervisorChild, products: int, writes: int) -> list[float]:
    """Seconds from each price update in the primary until the secondary's search shows it."""
    cfg, ep = child.cfg, child.endpoints
    secondary = ep.regions[cfg.secondaries[0]]
    clock = VersionClock()
    rng = random.Random(7)
    lags: list[float] = []
    for i in range(writes):
        pid = f"p{rng.randrange(products):06d}"
        price = round(5000 + i + rng.random(), 2)
        t0 = time.perf_counter()
        change_price(cfg, ep.aws, cfg.primary, pid, price, clock)

        def seen(price: float = price) -> bool:
            answer = get(secondary, "/search", {"price_min": price, "price_max": price, "size": 1, "facets": ""})
            return answer.status == 200 and answer.body["total"]["value"] == 1

        if wait_until(seen, timeout=30, interval=0.01) is None:
            raise SystemExit(f"write {i} ({pid}) never became searchable in the secondary")
        lags.append(time.perf_counter() - t0)
    return lags


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="bench_sandbox")
    parser.add_argument("--writes", type=int, default=200)
    parser.add_argument("--products", type=int, default=2000, help="catalog load size (the demo's 2,000)")
    parser.add_argument("--starts", type=int, default=2)
    parser.add_argument("--compare", action="store_true",
                        help="first load the catalog with moto tuned as before issue 13 "
                             "(STOREFRONT_MOTO_TUNING=baseline), side by side with today's")
    args = parser.parse_args(argv)
    started_at = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    host = machine()

    runs: list[LoadRun] = []
    if args.compare:
        with sandbox_child("baseline") as child:
            runs.append(catalog_load(child, args.products, "baseline"))
            print(runs[-1], flush=True)
    starts: list[float] = []
    for _ in range(args.starts - 1):
        with sandbox_child() as child:
            starts.append(child.started_seconds)
    with sandbox_child() as child:
        starts.append(child.started_seconds)
        runs.append(catalog_load(child, args.products))
        print(runs[-1], flush=True)
        lags = cross_region_lags(child, args.products, args.writes)
        cfg = child.cfg

    now = runs[-1]
    p50, p95 = statistics.median(lags), percentile(lags, 95)
    verdict = "met" if p50 <= BUDGET_P50_SECONDS else "**missed**"
    rows = "\n".join([
        f"| start-up (supervisor child until its endpoints are written, {len(starts)} starts) "
        f"| {', '.join(f'{s:.1f} s' for s in starts)} | |",
        f"| catalog load of {args.products:,} products (what the demo loads): items and content written "
        f"| {now.written:.1f} s | |",
        f"| the same, until every region has indexed all items and content | {now.indexed:.1f} s "
        f"(**{now.products / now.indexed:.0f} products/s**) | >= 250 products/s: "
        f"{'met' if now.products / now.indexed >= 250 else '**missed**'} |",
        f"| write in {cfg.primary} -> searchable in {cfg.secondaries[0]}, {len(lags)} price updates "
        f"| p50 {p50:.3f} s, p95 {p95:.3f} s (min {min(lags):.3f} s, max {max(lags):.3f} s) "
        f"| p50 <= {BUDGET_P50_SECONDS} s: {verdict} |",
    ])
    body = f"""## Sandbox

`python -m bench sandbox{' --compare' if args.compare else ''}` (`bench/bench_sandbox.py`, {started_at}; {host} at the
start, {os.getloadavg()[0]:.1f} at the end): the supervisor in a child process as `storefront demo` runs
it, on free ports with the default settings (`replication_lag_ms = {cfg.sandbox.replication_lag_ms}`).

| what | figure | target |
|---|---|---|
{rows}

The catalog load, CPU seconds of each process of the sandbox (from `/proc`) and of the loading
client, per product{', each run on a fresh sandbox' if len(runs) > 1 else ''}:

{load_table(runs)}

The last rows are the floor: the load is CPU-bound on 2 cores, so however the work is spread
over processes, products/s cannot exceed 2 / (CPU seconds per product).

How the write is timed: an `UpdateItem` of a random product's price with a newer version in the
primary, until a `/search` in the secondary filtered on the new price returns it. The floor is
the configured lag, the emulator's stream poll, the event source mapping's batching window
(`aws.stream_batching_window_seconds = 1`, as deployed), one indexer invocation with its
commit, and the searcher's reload.
"""
    print(body)
    write_section("sandbox", body)
    return 0


if __name__ == "__main__":
    import sys

    raise SystemExit(main(sys.argv[1:]))
