"""Sandbox benchmark: cross-region visibility of a write, and sandbox start-up time.

* start-up: ``Sandbox.start()`` (moto, resources, emulators, both region processes ready,
  Route 53 and the global port) until the endpoints file is written, ``--starts`` times;
* write in the primary -> searchable in the secondary: ``--writes`` price updates of
  random products in the primary table (``UpdateItem`` with a newer version), each timed
  until a search in the secondary (``/search`` filtered on the new price) returns it;
  p50 and p95 at the configured replication lag (``sandbox.replication_lag_ms``, default
  200 ms). Budget (DESIGN.md): p50 <= 1.5 s.

Run: ``.venv/bin/python -m bench sandbox`` (or ``python -m bench.bench_sandbox --writes 50``).
"""

from __future__ import annotations

import argparse
import dataclasses
import platform
import random
import statistics
import tempfile
import time
from datetime import UTC, datetime

from bench.common import percentile
from catalog.config import load_config
from catalog.versioning import VersionClock
from sandbox.client import get, load_catalog, wait_for_count, wait_until
from sandbox.demo import change_price
from sandbox.state import free_port_block
from sandbox.supervisor import Sandbox

BUDGET_P50_SECONDS = 1.5


def _config(state_dir: str) -> object:
    cfg = load_config()
    base = free_port_block(2 + len(cfg.regions))
    sandbox = dataclasses.replace(cfg.sandbox, aws_port=base, global_port=base + 1, first_region_port=base + 2,
                                  state_dir=state_dir)
    return dataclasses.replace(cfg, sandbox=sandbox)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="bench_sandbox")
    parser.add_argument("--writes", type=int, default=200)
    parser.add_argument("--products", type=int, default=200)
    parser.add_argument("--starts", type=int, default=2)
    args = parser.parse_args(argv)

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
            load_catalog(cfg, ep.aws, args.products, progress=False, content=False)
            for url in ep.regions.values():
                if wait_for_count(url, args.products, timeout=300) is None:
                    raise SystemExit("the catalog did not reach every region")
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
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    machine = f"{platform.machine()}, {platform.python_implementation()} {platform.python_version()}"
    print(f"sandbox benchmark, {when}, {machine}")
    print(f"start-up: {', '.join(f'{s:.1f} s' for s in starts)} (median {statistics.median(starts):.1f} s)")
    print(f"write in {cfg.primary} -> searchable in {cfg.secondaries[0]} over {len(lags)} writes at "
          f"replication_lag_ms={cfg.sandbox.replication_lag_ms}: p50 {p50:.3f} s, p95 {p95:.3f} s, "
          f"min {min(lags):.3f} s, max {max(lags):.3f} s (budget p50 <= {BUDGET_P50_SECONDS} s: "
          f"{'met' if p50 <= BUDGET_P50_SECONDS else 'MISSED'})")
    return 0


if __name__ == "__main__":
    import sys

    sys.exit(main(sys.argv[1:]))
