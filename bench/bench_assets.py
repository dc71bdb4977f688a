"""Lambda assets: size (what ``cdk synth`` zips) and cold init from the deployed asset.

* **size**: each asset built by :func:`infra.bundling.build` for the Lambda platform
  (arm64, Python 3.13 wheels from ``requirements/lambda.txt``): files, bytes unzipped and
  zipped (deflate, as the CDK zips it). Budget: <= 15 MB unzipped (issue 10).
* **cold init**: the same asset built for this host; a fresh ``python -I -S`` whose path is
  only the asset plus boto3/botocore/s3transfer (as in Lambda) imports the handler module
  (its whole init: settings, Powertools, the OpenSearch client, the X-Ray tracer with
  tracing on, as deployed) against importing its bare dependencies from the same asset.

Run: ``.venv/bin/python -m bench assets`` (``--runs N``, default 9; ``--no-record``).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import zipfile
from datetime import UTC, datetime
from pathlib import Path

from bench.common import machine, write_section

BUDGET_BYTES = 15 * 1024 * 1024
BUDGET_INIT = 1.3  # x bare dependencies (DESIGN.md's cold-import budget)
ENV = {
    "AWS_REGION": "us-east-1", "AWS_DEFAULT_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "x",
    "AWS_SECRET_ACCESS_KEY": "x", "AWS_SESSION_TOKEN": "x", "LAMBDA_TASK_ROOT": "/var/task",
    "AWS_LAMBDA_FUNCTION_NAME": "bench", "AWS_EXECUTION_ENV": "AWS_Lambda_python3.13",
    "_X_AMZN_TRACE_ID": "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1",
    "AWS_XRAY_DAEMON_ADDRESS": "127.0.0.1:2000", "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR",
    "SEARCH_ENGINE": "opensearch", "OPENSEARCH_ENDPOINT": "http://127.0.0.1:9", "OPENSEARCH_AUTH": "none",
    "INDEX_ALIAS": "products", "POWERTOOLS_SERVICE_NAME": "bench", "POWERTOOLS_METRICS_NAMESPACE": "Bench",
    "DLQ_URL": "https://sqs.us-east-1.amazonaws.com/123456789012/dlq", "CONTENT_BUCKET": "bucket",
}
ENGINE = "import os; from catalog.engine import engine_from_env; engine_from_env(os.environ)"
BARE = {
    "indexer.handler.lambda_handler":
        "from aws_lambda_powertools import Logger, Metrics, Tracer; Tracer(service='x'); " + ENGINE,
    "search_api.handler.lambda_handler":
        "import aws_lambda_powertools.event_handler; from aws_lambda_powertools import Logger; " + ENGINE,
}
TIMER = ("import sys, time; sys.path[:0] = sys.argv[1:3]; t, c = time.perf_counter(), time.process_time()\n"
         "{body}\nprint((time.perf_counter() - t) * 1000, (time.process_time() - c) * 1000)")


def tree(root: Path) -> tuple[int, int, int]:
    """(files, bytes unzipped, bytes zipped with deflate)."""
    files = [p for p in sorted(root.rglob("*")) if p.is_file()]
    with tempfile.TemporaryDirectory() as tmp:
        archive = Path(tmp) / "asset.zip"
        with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
            for p in files:
                zf.write(p, p.relative_to(root))
        zipped = archive.stat().st_size
    return len(files), sum(p.stat().st_size for p in files), zipped


def runtime_dir(root: Path) -> Path:
    import boto3
    import botocore
    import s3transfer

    for module in (boto3, botocore, s3transfer):
        package = Path(module.__file__).parent
        (root / package.name).symlink_to(package, target_is_directory=True)
    return root


def timed(body: str, asset: Path, runtime: Path, *, bytecode: bool = False) -> tuple[float, float]:
    """(wall ms, CPU ms) of ``body`` in a fresh isolated interpreter on the asset's path.

    Without ``bytecode`` (``-B``) nothing is cached, so every run compiles as a Lambda cold
    start does (/var/task is read-only and the asset carries no bytecode for 3.13); with it,
    the ``__pycache__`` written by earlier runs is used (what shipping 3.13 .pyc would give).
    """
    flags = ["-I", "-S"] if bytecode else ["-I", "-S", "-B"]
    out = subprocess.run([sys.executable, *flags, "-c", TIMER.format(body=body), str(asset), str(runtime)],
                         env=ENV, capture_output=True, text=True, check=True)
    wall, cpu = out.stdout.strip().splitlines()[-1].split()
    return float(wall), float(cpu)


def main(argv: list[str]) -> int:
    from infra.bundling import ASSETS, build

    parser = argparse.ArgumentParser(prog="bench assets")
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--no-record", action="store_true")
    args = parser.parse_args(argv)
    sizes: dict[str, tuple[int, int, int]] = {}
    init: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "runtime").mkdir()
        runtime = runtime_dir(root / "runtime")
        for handler, spec in ASSETS.items():
            sizes[handler] = tree(build(spec, root / "lambda" / spec.name, "lambda"))
            print(f"{handler}: {sizes[handler][1] / 2**20:.1f} MB unzipped", flush=True)
        for handler, bare in BARE.items():
            asset = build(ASSETS[handler], root / "host" / ASSETS[handler].name, "host")
            module = handler.rsplit(".", 1)[0]
            own = f"import {module}"
            timed(own, asset, runtime)  # warm the file cache
            timed(bare, asset, runtime)
            mine, base = [], []
            for _ in range(args.runs):  # interleaved: both see the same load
                mine.append(timed(own, asset, runtime))
                base.append(timed(bare, asset, runtime))
            timed(own, asset, runtime, bytecode=True)  # writes the __pycache__ the next runs read
            cached = [timed(own, asset, runtime, bytecode=True) for _ in range(args.runs)]
            init[handler] = {f"{what}_{clock}": statistics.median(x[i] for x in runs)
                             for what, runs in (("handler", mine), ("bare", base), ("cached", cached))
                             for i, clock in enumerate(("wall", "cpu"))}
            print(f"{handler}: init {init[handler]}", flush=True)
    body = report(sizes, init, args.runs)
    print(body)
    if not args.no_record:
        write_section("assets", body)
    return 0


def report(sizes: dict[str, tuple[int, int, int]], init: dict[str, dict[str, float]], runs: int) -> str:
    today = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    def mb(n: int) -> str:
        return f"{n / 2**20:.1f} MB" if n >= 2**20 else f"{n / 1024:.0f} KB"

    rows = [f"| `{h}` | {n:,} | {mb(u)} | {mb(z)} | "
            f"{'ok' if u <= BUDGET_BYTES else '**over**'} |" for h, (n, u, z) in sizes.items()]
    init_rows = []
    for h, f in init.items():
        ratio_cpu = f["handler_cpu"] / f["bare_cpu"]
        init_rows.append(f"| `{h.rsplit('.', 1)[0]}` | {f['handler_wall']:.0f} / {f['handler_cpu']:.0f} ms | "
                         f"{f['bare_wall']:.0f} / {f['bare_cpu']:.0f} ms | {f['handler_wall'] / f['bare_wall']:.2f}x / "
                         f"{ratio_cpu:.2f}x | {'ok' if ratio_cpu <= BUDGET_INIT else '**over**'} | "
                         f"{f['cached_wall']:.0f} / {f['cached_cpu']:.0f} ms |")
    return "\n".join([
        "## Lambda assets: size and cold init",
        "",
        f"`python -m bench assets` ({today}; {machine()}).",
        "",
        "Each asset as `cdk synth` builds it (`infra.bundling.build`, arm64 / Python 3.13 wheels from "
        "`requirements/lambda.txt`):",
        "",
        "| handler | files | unzipped | zipped | budget <= 15 MB unzipped |",
        "|---|---|---|---|---|",
        *rows,
        "",
        "Before the lock (opensearch-py 3.x with `opensearch-protobufs`: grpcio + protobuf) each function "
        "asset was about 43 MB unzipped, and the indexer's could not start under active tracing "
        "(no `aws_xray_sdk`).",
        "",
        f"Cold init (import + init of the handler module, tracing on as deployed) in a fresh `python -I -S -B` "
        f"whose path is only the host-built asset plus boto3/botocore/s3transfer, median of {runs}, "
        "wall / CPU; bare = the same third-party imports and engine construction from the same asset. "
        "No `.pyc` is written or shipped, so both sides compile their modules, as a cold start in Lambda does:",
        "",
        "| module | handler init | bare dependencies | ratio (wall / CPU) | budget <= 1.3x CPU | "
        "handler init with bytecode |",
        "|---|---|---|---|---|---|",
        *init_rows,
        "",
        "The last column is the handler's init with its modules' bytecode already compiled: what the "
        "asset would start in if it carried `.pyc` files for Python 3.13 (building them needs a 3.13 "
        "interpreter at bundling time; not done).",
        "",
    ])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
