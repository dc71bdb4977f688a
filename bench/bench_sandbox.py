"""Sandbox benchmark: sandbox start-up, the demo's catalog load, and cross-region
visibility of a write.

* start-up: ``Sandbox.start()`` (moto, resources, emulators, both region processes ready,
  Route 53 and the global port) until the endpoints file is written, ``--starts`` times;
* catalog load: ``--products`` generated products (default 2,000, what the demo loads),
  items by batch writes and content objects into the primary, as ``storefront catalog
  load`` does; timed until written, and until every region has indexed them all
  (``wait_for_load``: items and content, the content queues drained);
* write in the primary -> searchable in the secondary: ``--writes`` price updates of
  random products in the primary table (``UpdateItem`` with a newer version), each timed
  until a search in the secondary (``/search`` filtered on the new price) returns it;
  p50 and p95 at the configured replication lag (``sandbox.replication_lag_ms``, default
  200 ms). Budget (DESIGN.md): p50 <= 1.5 s.

Run: ``.venv/bin/python -m bench sandbox`` (or ``python -m bench.bench_sandbox --writes 50``);
the figures go to the "sandbox" section of bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import random
import statistics
import tempfile
import time
from datetime import UTC, datetime

from bench.common import machine, percentile, write_section
from catalog.config import load_config
from catalog.versioning import VersionClock
from sandbox.client import get, load_catalog, wait_for_load, wait_until
from sandbox.demo import change_price
from sandbox.state import free_sandbox_ports
from sandbox.supervisor import Sandbox

BUDGET_P50_SECONDS = 1.5


def _config(state_dir: str) -> object:
    cfg = load_config()
    aws, glob, first = free_sandbox_ports(len(cfg.regions))
    sandbox = dataclasses.replace(cfg.sandbox, aws_port=aws, global_port=glob, first_region_port=first,
                                  state_dir=state_dir)
    return dataclasses.replace(cfg, sandbox=sandbox)


@dataclasses.dataclass(frozen=True)
class LoadRun:
    mode: str
    products: int
    written: float
    indexed: float
    requests: int
    cpu: float


def catalog_load(cfg: object, products: int, mode: str) -> LoadRun:
    """Start a sandbox with moto tuned per ``mode`` ("baseline" or ""), load ``products``, wait for
    every region's index; the sandbox is stopped again."""
    import resource

    from sandbox import moto_host

    os.environ[moto_host.TUNING_ENV] = mode
    sandbox = Sandbox(cfg)
    try:
        sandbox.start()
        moto_host.REQUESTS.clear()
        usage = resource.getrusage(resource.RUSAGE_SELF)
        t0 = time.perf_counter()
        load_catalog(cfg, sandbox.endpoints.aws, products)
        written = time.perf_counter() - t0
        if wait_for_load(cfg, sandbox.endpoints, products, timeout=1800) is None:
            raise SystemExit(f"the catalog did not reach every region's index ({mode or 'tuned'})")
        indexed = time.perf_counter() - t0
        after = resource.getrusage(resource.RUSAGE_SELF)
        requests = sum(moto_host.request_counts().values())
    finally:
        sandbox.stop()
        os.environ.pop(moto_host.TUNING_ENV, None)
    cpu = (after.ru_utime + after.ru_stime) - (usage.ru_utime + usage.ru_stime)
    return LoadRun(mode, products, written, indexed, requests, cpu)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="bench_sandbox")
    parser.add_argument("--writes", type=int, default=200)
    parser.add_argument("--products", type=int, default=2000, help="catalog load size (the demo's 2,000)")
    parser.add_argument("--starts", type=int, default=2)
    parser.add_argument("--compare", action="store_true",
                        help="first load the catalog with moto tuned as before issue 13 "
                             "(STOREFRONT_MOTO_TUNING=baseline), side by side with today's tuning")
    args = parser.parse_args(argv)
    started_at = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    host = machine()

    compared: list[LoadRun] = []
    if args.compare:
        for mode in ("baseline", ""):
            with tempfile.TemporaryDirectory(prefix="bench-sandbox-") as tmp:
                compared.append(catalog_load(_config(tmp), args.products, mode))
                print(compared[-1], flush=True)
    with tempfile.TemporaryDirectory(prefix="bench-sandbox-") as tmp:
        cfg = _config(tmp)
        starts: list[float] = []
        for i in range(args.starts):
            sandbox = Sandbox(cfg)
            t0 = time.perf_counter()
            sandbox.start()
            starts.append(time.perf_counter() - t0)
            if i < args.starts - 1:
                sandbox.stop()
        try:
            ep = sandbox.endpoints
            t0 = time.perf_counter()
            load_catalog(cfg, ep.aws, args.products)
            written = time.perf_counter() - t0
            if wait_for_load(cfg, ep, args.products, timeout=900) is None:
                raise SystemExit("the catalog did not reach every region's index")
            indexed = time.perf_counter() - t0
            secondary = ep.regions[cfg.secondaries[0]]
            clock = VersionClock()
            rng = random.Random(7)
            lags: list[float] = []
            for i in range(args.writes):
                pid = f"p{rng.randrange(args.products):06d}"
                price = round(5000 + i + rng.random(), 2)
                t0 = time.perf_counter()
                change_price(cfg, ep.aws, cfg.primary, pid, price, clock)

                def seen(price: float = price) -> bool:
                    answer = get(secondary, "/search", {"price_min": price, "price_max": price, "size": 1,
                                                        "facets": ""})
                    return answer.status == 200 and answer.body["total"]["value"] == 1

                if wait_until(seen, timeout=30, interval=0.01) is None:
                    raise SystemExit(f"write {i} ({pid}) never became searchable in the secondary")
                lags.append(time.perf_counter() - t0)
        finally:
            sandbox.stop()

    p50, p95 = statistics.median(lags), percentile(lags, 95)
    verdict = "met" if p50 <= BUDGET_P50_SECONDS else "**missed**"
    rows = "\n".join([
        f"| start-up (`Sandbox.start()`, {len(starts)} starts) | {', '.join(f'{s:.1f} s' for s in starts)} | |",
        f"| catalog load of {args.products:,} products (what the demo loads): items and content written "
        f"| {written:.1f} s ({args.products / written:.0f} products/s) | |",
        f"| the same, until every region has indexed all items and content | {indexed:.1f} s | |",
        f"| write in {cfg.primary} -> searchable in {cfg.secondaries[0]}, {len(lags)} price updates "
        f"| p50 {p50:.3f} s, p95 {p95:.3f} s (min {min(lags):.3f} s, max {max(lags):.3f} s) "
        f"| p50 <= {BUDGET_P50_SECONDS} s: {verdict} |",
    ])
    comparison = ""
    if compared:
        lines = "\n".join(
            f"| {'before issue 13 (baseline tuning)' if r.mode == 'baseline' else 'this tuning'} | "
            f"{r.written:.1f} s | {r.indexed:.1f} s | **{r.products / r.indexed:.0f}** | "
            f"{r.requests / r.products:.2f} | {r.cpu:.1f} s |" for r in compared)
        comparison = f"""
Side by side in one run (`--compare`), {args.products:,} products, each on a fresh sandbox, moto's
tuning as before issue 13 (`STOREFRONT_MOTO_TUNING=baseline`) and as now:

| moto tuning | written | indexed everywhere | products/s (indexed) | requests per product | CPU (supervisor + client) |
|---|---|---|---|---|---|
{lines}
"""
    body = f"""## Sandbox

`python -m bench sandbox` (`bench/bench_sandbox.py`, {started_at}; {host} at the start,
{os.getloadavg()[0]:.1f} at the end): the sandbox started in the benchmark's process on
free ports with the default `storefront.toml` settings (`replication_lag_ms =
{cfg.sandbox.replication_lag_ms}`).

| what | figure | budget |
|---|---|---|
{rows}
{comparison}
How: each write is an `UpdateItem` of a random product's price with a newer version in the
primary, timed until a `/search` in the secondary filtered on the new price returns it. The
floor is the configured lag plus the emulator's stream poll (100 ms), the event source
mapping's poll (200 ms, as Lambda polls a shard about four times a second), one indexer
invocation with its commit, and the searcher's reload.

Where the time goes (py-spy, `--gil`, on the supervisor during a 2,000-product `catalog load
--wait`, issue 13): before its tuning, moto's generic serializer answering the indexers'
Streams `GetRecords` (~18%), the `--wait` check listing both buckets every 1.2 s (~16%), SQS
queue scans reading the clock twice per message (~14%), S3 `PutObject` with its event (~8%),
the S3 replication emulator (~6%), and werkzeug's per-request work (thread per connection,
header parsing: ~25%). `sandbox/moto_host.py` now answers `GetRecords` and the queue scans as
moto does at a fraction of the cost, and `--wait` asks the queues before listing the buckets.
What is left bounds the content path from the other side: each region's indexer takes the
queue's events 10 at a time (the template's batch size), one invocation after another (one
warm instance: the embedded engine has one writer), and each invocation spends most of its
time in ten `GetObject` calls and a tantivy commit.
"""
    print(body)
    write_section("sandbox", body)
    return 0


if __name__ == "__main__":
    import sys

    sys.exit(main(sys.argv[1:]))
