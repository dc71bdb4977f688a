"""``storefront load``: thin glue from arguments to :func:`loadgen.runner.load` and back to
text, JSON and exit codes (0 objectives met, 1 an objective missed, 2 usage error)."""

from __future__ import annotations

import argparse
import json
import sys

from storefront_cli.errors import EXIT_FINDINGS, EXIT_OK, CLIError


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("load", help="open-loop load at a constant request rate with the shopper mix; "
                                    "exit 1 if --p99-ms or --max-error-rate is missed")
    p.add_argument("--rps", type=float, required=True, help="requests per second (constant arrival rate)")
    p.add_argument("--duration", type=float, required=True, help="seconds of load")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--region", help="one region's endpoint instead of the global name (sandbox)")
    where.add_argument("--url", help="any base URL of the search API")
    tg = p.add_mutually_exclusive_group()
    tg.add_argument("--sandbox", dest="target_mode", action="store_const", const="sandbox",
                    help="the running sandbox (default when one is running)")
    tg.add_argument("--aws", dest="target_mode", action="store_const", const="aws",
                    help="the deployed global name (https://<aws.domain_name>)")
    p.add_argument("--seed", type=int, default=0, help="seed of the request mix (default 0)")
    p.add_argument("--mix", help="weights KIND=N,... of text, filter, sort, cursor, suggest, product "
                                 "(default text=40,filter=15,sort=10,cursor=5,suggest=20,product=10)")
    p.add_argument("--p99-ms", type=float, help="objective: p99 latency at most this many ms")
    p.add_argument("--max-error-rate", type=float, help="objective: failed requests at most this fraction (0-1)")
    p.add_argument("--timeout", type=float, default=10.0, help="per-request timeout in seconds (default 10)")
    p.add_argument("--concurrency", type=int, default=256, help="most requests in flight (default 256)")
    p.add_argument("--json", action="store_true", help="machine-readable output on stdout")
    p.set_defaults(func=_load)


def base_url(args: argparse.Namespace) -> str:
    """--url, else the target's global name or (--region) the region's endpoint."""
    if args.url:
        return str(args.url)
    from replication.cli import target_from_args

    with target_from_args(args) as target:
        if args.region:
            if args.region not in target.config.regions:
                raise CLIError(f"--region: {args.region!r} is not one of the configured regions "
                               f"{list(target.config.regions)}")
            url = target.region_urls.get(args.region)
            if not url:
                raise CLIError(f"--region: no endpoint known for {args.region} on {target.kind}; give --url")
            return str(url)
        if not target.global_url:
            raise CLIError("no global URL known for the target; give --url")
        return str(target.global_url)


def _check(args: argparse.Namespace) -> None:
    if args.rps <= 0:
        raise CLIError(f"--rps must be above 0, got {args.rps:g}")
    if args.duration <= 0:
        raise CLIError(f"--duration must be above 0, got {args.duration:g}")
    if args.timeout <= 0:
        raise CLIError(f"--timeout must be above 0, got {args.timeout:g}")
    if args.concurrency < 1:
        raise CLIError(f"--concurrency must be 1 or more, got {args.concurrency}")
    if args.p99_ms is not None and args.p99_ms <= 0:
        raise CLIError(f"--p99-ms must be above 0, got {args.p99_ms:g}")
    if args.max_error_rate is not None and not 0 <= args.max_error_rate <= 1:
        raise CLIError(f"--max-error-rate must be between 0 and 1, got {args.max_error_rate:g}")


def _load(args: argparse.Namespace) -> int:
    import urllib.error

    from loadgen.mix import MixError, parse_mix
    from loadgen.runner import load
    from storefront_cli.progress import Progress

    _check(args)
    try:
        weights = parse_mix(args.mix)
    except MixError as exc:
        raise CLIError(str(exc)) from None
    url = base_url(args)
    total = int(args.rps * args.duration + 0.999999)
    with Progress(f"load {url}", total=total, enabled=not args.json) as bar:
        try:
            report = load(url, args.rps, args.duration, seed=args.seed, weights=weights, timeout=args.timeout,
                          concurrency=args.concurrency, p99_ms=args.p99_ms, max_error_rate=args.max_error_rate,
                          on_record=lambda r: bar.advance())
        except MixError as exc:
            raise CLIError(str(exc), EXIT_FINDINGS) from None
        except (urllib.error.URLError, OSError, ValueError) as exc:
            raise CLIError(f"cannot sample the catalog through {url}: {exc}", EXIT_FINDINGS) from None
    if args.json:
        json.dump(report.to_dict(), sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        print(report.render())
    for failure in report.failures:
        print(f"storefront load: objective missed: {failure}", file=sys.stderr)
    return EXIT_OK if report.passed else EXIT_FINDINGS
