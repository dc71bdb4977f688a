"""``sandbox up`` from the synthesized app: the first build and warm starts, phase by phase.

* first build: with ``STOREFRONT_SANDBOX_CACHE`` pointing at an empty folder, the synth of
  the app (:func:`sandbox.deployed.cloud_assembly`) and both functions' assets for this host
  (:func:`sandbox.supervisor.function_paths`). Budget: <= 90 s on 2 cores. ``--no-first-build``
  skips it (the warm starts then use the default cache, built if missing);
* warm ``sandbox up``: ``--starts`` times, ``python -m sandbox.supervisor --config FILE`` (what
  ``storefront sandbox up --detach`` runs) from its launch until it prints ready, the
  interpreter's own start and imports included; then, in this process, one
  ``Sandbox.start()`` with its phases (:attr:`sandbox.supervisor.Sandbox.timings`). Budget: <= 10 s.

Run: ``.venv/bin/python -m bench sandbox_up [--starts 3] [--no-first-build] [--no-record]``;
the figures go to the "sandbox-up" section of bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from bench.common import machine, write_section
from catalog.config import load_config
from sandbox.state import private_sandbox_toml

BUDGET_WARM_SECONDS = 10.0
BUDGET_FIRST_BUILD_SECONDS = 90.0
ROOT = Path(__file__).resolve().parent.parent
READY_TIMEOUT_SECONDS = 300.0


def first_build(cfg_path: Path, cache: Path) -> dict[str, float]:
    """Synth and assets into an empty cache, in a child (the cache folder is read from the environment)."""
    code = ("import sys,time,json\n"
            "from catalog.config import load_config\n"
            "from sandbox.deployed import cloud_assembly\n"
            "from sandbox.supervisor import function_paths\n"
            "cfg=load_config(sys.argv[1]); t0=time.monotonic(); cloud_assembly(cfg, print); t1=time.monotonic()\n"
            "function_paths(['indexer.handler.lambda_handler','search_api.handler.lambda_handler'], print)\n"
            "print(json.dumps({'synth': t1-t0, 'assets': time.monotonic()-t1}))\n")
    env = {**os.environ, "STOREFRONT_SANDBOX_CACHE": str(cache)}
    proc = subprocess.run([sys.executable, "-c", code, str(cfg_path)], env=env, cwd=ROOT, capture_output=True,
                          text=True, check=True, timeout=900)
    import json

    return dict(json.loads(proc.stdout.strip().splitlines()[-1]))


def warm_up(cfg_path: Path) -> float:
    """Seconds from launching the supervisor until it prints ready (then it is stopped)."""
    t0 = time.monotonic()
    proc = subprocess.Popen([sys.executable, "-m", "sandbox.supervisor", "--config", str(cfg_path)], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.startswith("sandbox ready"):
                return time.monotonic() - t0
        raise RuntimeError(f"the sandbox exited with {proc.wait()} before it was ready")
    finally:
        proc.terminate()
        proc.wait(timeout=60)


def in_process_phases(cfg_path: Path) -> dict[str, float]:
    from sandbox.supervisor import Sandbox

    sandbox = Sandbox(load_config(cfg_path))
    try:
        sandbox.start()
        return {**sandbox.timings, "total": sandbox.started_seconds or 0.0}
    finally:
        sandbox.stop()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="bench_sandbox_up")
    parser.add_argument("--starts", type=int, default=3)
    parser.add_argument("--no-first-build", action="store_true")
    parser.add_argument("--no-record", action="store_true")
    args = parser.parse_args(argv)
    started_at = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    host = machine()
    with tempfile.TemporaryDirectory(prefix="bench-sandbox-up-") as tmp:
        cfg_path = Path(tmp) / "storefront.toml"
        cfg_path.write_text(private_sandbox_toml("storefront"))
        rows = []
        if not args.no_first_build:
            build = first_build(cfg_path, Path(tmp) / "cache")
            total = build["synth"] + build["assets"]
            rows += [f"| first build: synth of the app | {build['synth']:.1f} s | |",
                     f"| first build: both functions' assets for this host | {build['assets']:.1f} s | |",
                     f"| first build total | {total:.1f} s | <= {BUDGET_FIRST_BUILD_SECONDS:.0f} s |"]
            os.environ["STOREFRONT_SANDBOX_CACHE"] = str(Path(tmp) / "cache")
        warm = [warm_up(cfg_path) for _ in range(args.starts)]
        phases = in_process_phases(cfg_path)
    rows.append(f"| warm `sandbox up` (supervisor launch -> ready), {len(warm)} starts | "
                f"{', '.join(f'{w:.1f} s' for w in warm)} (median {statistics.median(warm):.1f} s) | "
                f"<= {BUDGET_WARM_SECONDS:.0f} s |")
    rows.append("| of one warm in-process `Sandbox.start()` | " + " / ".join(
        f"{k} {v:.2f} s" for k, v in phases.items()) + " | |")
    body = (f"## `sandbox up` (issue 12)\n\nMeasured {started_at} on {host} by `python -m bench sandbox_up`.\n\n"
            "| what | figure | budget |\n|---|---|---|\n" + "\n".join(rows) + "\n\n")
    print(body)
    if not args.no_record:
        write_section("sandbox-up", body)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
