"""Whole-app CDK synth time: a fresh process each run, CDK's CloudFormation validator off and on.

Each run is ``python -c`` building the app from ./storefront.toml (bundling skipped,
cdk-nag on, as ``npx aws-cdk@2 synth -c skip_bundling=true`` does) into a temp dir, so
the time includes the interpreter, jsii/Node start-up and the imports.
Run: ``.venv/bin/python -m bench infra`` (``--runs N``, default 3).
"""

from __future__ import annotations

import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SNIPPET = """
import sys
from infra.app import create_app, new_app
from infra.settings import load_deployment
app = new_app(outdir=sys.argv[1], context={"skip_bundling": True}, validation=sys.argv[2] == "on")
create_app(load_deployment(), app)
app.synth()
"""


def synth_once(validation: str) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the process and its children: Node for jsii)."""
    env = {**os.environ, "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20"}
    env.pop("CDK_VALIDATION", None)
    with tempfile.TemporaryDirectory() as out:
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", SNIPPET, out, validation], cwd=ROOT, env=env, check=True,
                       capture_output=True)
        wall = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main(argv: list[str]) -> None:
    runs = int(argv[argv.index("--runs") + 1]) if "--runs" in argv else 3
    results: dict[str, list[tuple[float, float]]] = {"off": [], "on": []}
    for _ in range(runs):  # interleaved, so both see the same machine load
        for mode in results:
            results[mode].append(synth_once(mode))
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}")
    for i, what in enumerate(("wall", "CPU")):
        off = statistics.median(r[i] for r in results["off"])
        on = statistics.median(r[i] for r in results["on"])
        print(f"whole-app synth, fresh process, median of {runs}, {what}: validator off {off:.2f} s, "
              f"on {on:.2f} s (validator +{on - off:.2f} s, x{on / off:.2f})")


if __name__ == "__main__":
    main(sys.argv[1:])
