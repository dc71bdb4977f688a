"""Replication operations in the sandbox: audit and reindex throughput, and drill RTO.

``python -m bench replication`` (or ``python -m bench.bench_replication --products 20000``):

1. starts a private sandbox (free ports, a temporary state dir; health checks every 1 s,
   threshold 3), loads N generated products (items and content) through the sandbox's
   own loader, waits until the secondary's table has them all and every region indexed them
   (content included), so the figures below are not shared with the load's indexing;
2. ``reindex`` of each region (parallel scan + bucket -> new index -> catch-up -> verify
   -> swap): items/s of the build;
3. ``audit --full`` of all regions (table vs index vs bucket vs the other region):
   items/s;
4. a health-check drill of the primary: detection, RTO, failback (targets: detection
   <= 1 x 3 + 1 s, RTO <= detection target + 30 s); skipped with ``--no-drill``;
5. stops the sandbox. Prints one table; the figures go to bench/RESULTS.md by hand.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import machine

THRESHOLDS = """
[thresholds]
replication_latency_ms = 5000
index_lag_seconds = 10.0
"""


def _storefront(config: Path, *args: str, timeout: float = 1800) -> subprocess.CompletedProcess[str]:
    from storefront_cli.main import run_subprocess

    return run_subprocess(config, *args, timeout=timeout)


def _py_spy(pid: int, prefix: str | None, phase: str) -> list[subprocess.Popen[bytes]]:
    """py-spy on the supervisor (``PREFIX-phase.raw``) and on this process (``PREFIX-phase-client.raw``)."""
    if not prefix:
        return []
    exe = Path(sys.executable).with_name("py-spy")
    return [subprocess.Popen([str(exe), "record", "-p", str(p), "--gil", "--format", "raw",
                              "-o", f"{prefix}-{phase}{suffix}.raw", "--nonblocking"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            for p, suffix in ((pid, ""), (os.getpid(), "-client"))]


def _stop(spies: list[subprocess.Popen[bytes]]) -> None:
    for spy in spies:
        spy.send_signal(signal.SIGINT)  # py-spy writes its file on SIGINT
    for spy in spies:
        spy.wait(timeout=60)


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="bench_replication")
    ap.add_argument("--products", type=int, default=20_000)
    ap.add_argument("--segments", type=int, default=4)
    ap.add_argument("--no-drill", action="store_true", help="skip the health-check drill (step 4)")
    ap.add_argument("--profile", metavar="PREFIX",
                    help="record the supervisor and this process with py-spy (raw, --gil) during reindex "
                         "and audit: PREFIX-reindex.raw, PREFIX-audit.raw, PREFIX-*-client.raw")
    args = ap.parse_args(argv)

    from catalog.config import load_config
    from catalog.sandbox_endpoints import Endpoints
    from replication.audit import audit
    from replication.drill import run_drill
    from replication.reindex import reindex
    from replication.targets import resolve_target
    from sandbox.client import load_catalog, wait_for_load

    root = Path(tempfile.mkdtemp(prefix="bench-replication-"))
    from sandbox.state import private_sandbox_toml

    config = root / "storefront.toml"
    config.write_text(private_sandbox_toml("benchrep", head=THRESHOLDS, replication_lag_ms=200))
    t0 = time.monotonic()
    up = _storefront(config, "sandbox", "up", "--detach", "--json", timeout=300)
    if up.returncode != 0:
        print(up.stderr, file=sys.stderr)
        return 1
    rows: list[tuple[str, str]] = [("sandbox start", f"{time.monotonic() - t0:.1f} s")]
    endpoints = Endpoints.from_json(json.loads(up.stdout.strip().splitlines()[-1]))
    cfg = load_config(config)
    target = resolve_target(cfg, "sandbox")
    try:
        t = time.monotonic()
        load_catalog(cfg, target.client("s3", cfg.primary).meta.endpoint_url, args.products)
        rows.append((f"load {args.products:,} products (primary)", f"{time.monotonic() - t:.1f} s"))
        t = time.monotonic()
        secondary = target.client("dynamodb", cfg.secondaries[0])
        while secondary.describe_table(TableName=cfg.table_name)["Table"]["ItemCount"] < args.products:
            if time.monotonic() - t > 1800:
                raise RuntimeError("replication did not finish in 30 min")
            time.sleep(1)
        rows.append(("replicated to the secondary", f"{time.monotonic() - t:.1f} s"))
        t = time.monotonic()
        # reindex and audit are measured on a settled sandbox, not while the indexers still
        # drain the load's S3 events (their polling shares the supervisor with the reads)
        if wait_for_load(cfg, endpoints, args.products, timeout=1800) is None:
            raise RuntimeError("the load was not indexed everywhere in 30 min")
        rows.append(("indexed everywhere, content included", f"{time.monotonic() - t:.1f} s"))
        spy = _py_spy(endpoints.pid, args.profile, "reindex")
        for region in cfg.regions:
            r = reindex(target, region, segments=args.segments)
            rows.append((f"reindex {region}", f"{r.items_per_second:,.0f} items/s ({r.items_scanned:,} items, "
                                              f"{r.contents_applied:,} objects, {r.build_seconds:.1f} s build, "
                                              f"{r.seconds:.1f} s total, ok={r.ok})"))
        _stop(spy)
        spy = _py_spy(endpoints.pid, args.profile, "audit")
        a = audit(target, segments=args.segments)
        _stop(spy)
        findings = ", ".join(f"{k} {v}" for k, v in sorted(a.counts.items())) or "none"
        rows.append(("audit --full (2 regions)", f"{a.items_per_second():,.0f} items/s "
                                                 f"({sum(a.items_checked.values()):,} items, "
                                                 f"{sum(a.objects_checked.values()):,} objects vs index, "
                                                 f"{a.objects_compared:,} across buckets, {a.seconds:.1f} s; "
                                                 f"findings: {findings}; in flight {a.in_flight})"))
        if not args.no_drill:
            d = run_drill(target, cfg.primary, "health-check")
            rows.append(("drill detection", f"{d.detection_seconds} s (target {d.detection_target:g} s)"))
            rows.append(("drill RTO", f"{d.rto_seconds} s (target {d.rto_target:g} s)"))
            rows.append(("drill failback", f"{d.failback_seconds} s; lost writes {d.lost_writes}; passed {d.passed}"))
            if not d.passed:
                rows.append(("drill failures", "; ".join(d.failures)))
    finally:
        target.close()
        _storefront(config, "sandbox", "down", timeout=120)
    print(f"bench_replication, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {machine()}")
    width = max(len(k) for k, _ in rows)
    for k, v in rows:
        print(f"  {k:<{width}}  {v}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
