"""``storefront sandbox up|down|status``, ``storefront catalog load``, ``storefront search``
and ``storefront demo``. Registration is cheap; the work is imported inside each command."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import sys
import threading
import time
from typing import Any

from sandbox.render import describe, format_results
from storefront_cli.errors import EXIT_FINDINGS, EXIT_OK, CLIError
from storefront_cli.progress import terminal_progress


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    sb = sub.add_parser("sandbox", help="run the local two-region sandbox (moto + embedded engine)",
                        description="The local two-region sandbox: AWS emulated on moto, an embedded search "
                                    "engine per region, the real handlers, Route 53 routing on a global port.")
    ssub = sb.add_subparsers(dest="sandbox_command", metavar="ACTION", required=True)
    up = ssub.add_parser("up", help="start the sandbox (stays up until Ctrl-C, or --detach)")
    up.add_argument("--detach", action="store_true", help="run in the background; stop with `storefront sandbox down`")
    up.add_argument("--json", action="store_true", help="print the endpoints as JSON for scripts")
    up.set_defaults(func=_up)
    down = ssub.add_parser("down", help="stop the sandbox started with --detach")
    down.set_defaults(func=_down)
    status = ssub.add_parser("status", help="show the running sandbox: endpoints, health checks, DNS answer")
    status.add_argument("--json", action="store_true", help="machine-readable output")
    status.set_defaults(func=_status)

    cat = sub.add_parser("catalog", help="write a generated catalog into the running sandbox")
    csub = cat.add_subparsers(dest="catalog_command", metavar="ACTION", required=True)
    load = csub.add_parser("load", help="batch-write N generated products into the primary table and their "
                                        "content objects into the primary bucket")
    load.add_argument("--products", type=_positive, required=True, metavar="N", help="how many products")
    load.add_argument("--seed", type=int, default=42, help="generator seed (default 42): same seed, same catalog")
    load.add_argument("--no-content", action="store_true", help="items only, no S3 content objects")
    load.add_argument("--wait", action="store_true",
                      help="wait until every region's index has them, content included")
    load.set_defaults(func=_catalog_load)

    search = sub.add_parser("search", help="search the running sandbox (through the global port by default)")
    search.add_argument("query", nargs="?", default="", help="search text (empty: browse)")
    search.add_argument("--region", help="ask this region directly instead of the global port")
    search.add_argument("--category", action="append", default=[], help="category path (repeatable)")
    search.add_argument("--brand", action="append", default=[], help="brand (repeatable)")
    search.add_argument("--sort", help="relevance, price_asc, price_desc, rating_desc or newest")
    search.add_argument("--size", type=_positive, default=10, help="results per page (default 10)")
    search.add_argument("--json", action="store_true", help="print the API's JSON answer")
    search.set_defaults(func=_search)

    demo = sub.add_parser("demo", help="start the sandbox, load a catalog, search both regions, "
                                       "show cross-region replication lag, stop")
    demo.add_argument("--products", type=_positive, default=2000, help="catalog size (default 2000)")
    demo.set_defaults(func=_demo)


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, got {value}")
    return value


def _config(args: argparse.Namespace) -> Any:
    from catalog.config import load_config

    return load_config(args.config)


def _running(cfg: Any) -> Any:
    from sandbox.state import SandboxError, require_running

    try:
        return require_running(cfg)
    except SandboxError as exc:
        raise CLIError(str(exc)) from None


# ---------------------------------------------------------------- sandbox up/down/status
def _ready_to_start(cfg: Any, starter: str) -> None:
    """Refuse (one line, exit 2) when a sandbox already runs or a configured port is taken."""
    from sandbox.state import SandboxError, check_ports, read_endpoints

    running = read_endpoints(cfg)
    if running is not None:
        raise CLIError(f"a sandbox is already running (pid {running.pid}, {running.global_url}); {starter}"
                       "stop it with `storefront sandbox down`")
    try:
        check_ports(cfg)
    except SandboxError as exc:
        raise CLIError(str(exc)) from None


def _up(args: argparse.Namespace) -> int:
    cfg = _config(args)
    _ready_to_start(cfg, "")
    if args.detach:
        return _up_detached(cfg, args)
    return _up_foreground(cfg, args)


def _up_foreground(cfg: Any, args: argparse.Namespace) -> int:
    from sandbox.state import SandboxError
    from sandbox.supervisor import serve

    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)}

    def ready(sandbox: Any) -> None:
        if args.json:
            print(json.dumps(sandbox.endpoints.to_json()), flush=True)
        else:
            print(describe(cfg, sandbox.endpoints, sandbox.started_seconds))
            print("Ctrl-C stops it.", flush=True)

    try:
        serve(cfg, stop, ready, progress=_sandbox_progress)
    except SandboxError as exc:
        raise CLIError(str(exc)) from None
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if not args.json:
        print("sandbox stopped")
    return EXIT_OK


def _sandbox_progress(message: str) -> None:
    """The supervisor's progress (the first synthesis of the app), on stderr."""
    print(f"sandbox: {message}", file=sys.stderr, flush=True)


def _up_detached(cfg: Any, args: argparse.Namespace) -> int:
    from sandbox.child import start_supervisor
    from sandbox.state import SandboxError

    try:
        child = start_supervisor(cfg, detach=True, progress=_sandbox_progress)
    except SandboxError as exc:
        raise CLIError(str(exc)) from None
    if args.json:
        print(json.dumps(child.endpoints.to_json()))
    else:
        print(describe(cfg, child.endpoints, child.started_seconds))
        print(f"running in the background (pid {child.pid}, log {child.log_path}); "
              "stop it with `storefront sandbox down`")
    return EXIT_OK


def _down(args: argparse.Namespace) -> int:
    from sandbox.state import pid_alive

    cfg = _config(args)
    endpoints = _running(cfg)
    with contextlib.suppress(ProcessLookupError):
        os.kill(endpoints.pid, signal.SIGTERM)
    deadline = time.monotonic() + 60
    while pid_alive(endpoints.pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    if pid_alive(endpoints.pid):
        os.kill(endpoints.pid, signal.SIGKILL)
    print(f"sandbox stopped (pid {endpoints.pid})")
    return EXIT_OK


def _status(args: argparse.Namespace) -> int:
    from sandbox.client import get

    cfg = _config(args)
    endpoints = _running(cfg)
    try:
        checks = get(endpoints.global_url, "/_sandbox/route53/health-checks").body
        answer = get(endpoints.global_url, "/_sandbox/route53/answer").body
        health = {r: get(url, cfg.health_check.path).status for r, url in endpoints.regions.items()}
    except OSError as exc:
        raise CLIError(f"the sandbox (pid {endpoints.pid}) does not answer: {exc}; "
                       "restart it with `storefront sandbox down` and `storefront sandbox up --detach`",
                       EXIT_FINDINGS) from None
    if args.json:
        print(json.dumps({"endpoints": endpoints.to_json(), "health_checks": checks["health_checks"],
                          "answer": answer, "health": health}, indent=2))
        return EXIT_OK
    print(describe(cfg, endpoints))
    print(f"  pid {endpoints.pid}; {answer['name']} ({answer['routing']}) answers {answer['region']}")
    for hc in checks["health_checks"]:
        flags = ", ".join(f for f in ("inverted" if hc["inverted"] else "", "disabled" if hc["disabled"] else "") if f)
        print(f"  health check {hc['region']}: {hc['status']}"
              f" (consecutive failures {hc['consecutive_failures']}{'; ' + flags if flags else ''}); "
              f"GET {cfg.health_check.path} -> {health.get(hc['region'])}")
    return EXIT_OK


# ---------------------------------------------------------------- catalog load
def _catalog_load(args: argparse.Namespace) -> int:
    from sandbox.client import load_catalog, wait_for_load

    cfg = _config(args)
    endpoints = _running(cfg)
    started = time.monotonic()
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        n = load_catalog(cfg, endpoints.aws, args.products, seed=args.seed, content=not args.no_content,
                         progress=terminal_progress())
    except (BotoCoreError, ClientError) as exc:
        raise CLIError(f"writing to the sandbox's AWS endpoint {endpoints.aws} failed: {exc}; "
                       "check it with `storefront sandbox status`", EXIT_FINDINGS) from None
    print(f"loaded {n} products (seed {args.seed}) into {cfg.table_name} and s3://{cfg.bucket_name(cfg.primary)}/"
          f"products/ in {cfg.primary} in {time.monotonic() - started:.1f} s")
    if args.wait:
        took = wait_for_load(cfg, endpoints, n, timeout=600)
        if took is None:
            raise CLIError(f"the regions' indexes did not reach {n} products with their content within 600 s",
                           EXIT_FINDINGS)
        print(f"  every region ({', '.join(endpoints.regions)}) has the {n} products and their content indexed, "
              f"{took:.1f} s after the load")
    return EXIT_OK


# ---------------------------------------------------------------- search
def _search(args: argparse.Namespace) -> int:
    from sandbox.client import get

    cfg = _config(args)
    endpoints = _running(cfg)
    if args.region is not None and args.region not in endpoints.regions:
        raise CLIError(f"unknown region {args.region!r}; the sandbox serves {', '.join(endpoints.regions)}")
    base = endpoints.regions[args.region] if args.region else endpoints.global_url
    params = {"q": args.query, "category": args.category, "brand": args.brand, "sort": args.sort,
              "size": args.size}
    try:
        answer = get(base, "/search", params)
    except OSError as exc:
        raise CLIError(f"cannot reach {base}: {exc}; is the sandbox running? (`storefront sandbox status`)") from None
    if answer.status == 400 and isinstance(answer.body, dict):
        err = answer.body.get("error", {})
        raise CLIError(f"{err.get('parameter', 'request')}: {err.get('message', answer.body)}")
    if answer.status != 200:
        raise CLIError(f"the search API answered {answer.status}: {json.dumps(answer.body)[:300]}", EXIT_FINDINGS)
    if args.json:
        print(json.dumps(answer.body, indent=2))
        return EXIT_OK
    print(format_results(answer.body, answer.region, args.query))
    return EXIT_OK


# ---------------------------------------------------------------- demo
def _demo(args: argparse.Namespace) -> int:
    from sandbox.demo import run_demo
    from sandbox.state import SandboxError

    cfg = _config(args)
    _ready_to_start(cfg, "the demo starts its own: ")
    try:
        return run_demo(cfg, args.products, progress=terminal_progress())
    except SandboxError as exc:
        raise CLIError(str(exc)) from None
