"""``storefront replication status``, ``storefront audit``, ``storefront reindex``,
``storefront drill`` and ``storefront dlq``: thin glue from arguments to :mod:`replication` and back to text,
JSON and exit codes (0 ok, 1 findings or failed checks, 2 usage or configuration error).
Heavy imports (boto3, engines) happen inside the commands, not at registration.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from storefront_cli.errors import EXIT_FINDINGS, EXIT_OK, CLIError
from storefront_cli.progress import terminal_progress

TARGET_HELP = ("target: --sandbox needs a running sandbox; --aws uses boto3's defaults; "
               "default: the sandbox if <sandbox.state_dir>/endpoints.json names a running one, else AWS")


def _target_args(p: argparse.ArgumentParser) -> None:
    g = p.add_mutually_exclusive_group()
    g.add_argument("--sandbox", dest="target_mode", action="store_const", const="sandbox", help=TARGET_HELP)
    g.add_argument("--aws", dest="target_mode", action="store_const", const="aws", help="operate on AWS")
    p.add_argument("--json", action="store_true", help="machine-readable output on stdout")


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    rep = sub.add_parser("replication", help="replication status across regions")
    rsub = rep.add_subparsers(dest="replication_command", metavar="ACTION", required=True)
    st = rsub.add_parser("status", help="table replicas and latency, bucket replication, indexer lag and DLQ depth; "
                                        "exit 1 if anything is past its threshold")
    st.add_argument("--minutes", type=int, default=15, help="CloudWatch window (default 15)")
    st.add_argument("--region", action="append", help="only this region (repeatable)")
    _target_args(st)
    st.set_defaults(func=_status)

    au = sub.add_parser("audit", help="compare tables, indexes and buckets across regions; exit 1 on discrepancies")
    au.add_argument("--region", help="audit this region only (default: all)")
    mode = au.add_mutually_exclusive_group()
    mode.add_argument("--sample", type=int, metavar="N", help="check about N random items (random scan segments)")
    mode.add_argument("--full", action="store_true", help="check every item and index document (default)")
    au.add_argument("--repair", action="store_true", help="re-apply the table's current state for each discrepancy")
    au.add_argument("--segments", type=int, default=4, help="parallel scan segments (default 4)")
    _target_args(au)
    au.set_defaults(func=_audit)

    ri = sub.add_parser("reindex", help="rebuild a region's index into a new physical index and swap the alias")
    ri.add_argument("--region", action="append", help="region to reindex (repeatable; default: all)")
    ri.add_argument("--rollback", action="store_true", help="swap the alias back to the previous index")
    ri.add_argument("--segments", type=int, default=4, help="parallel scan segments (default 4)")
    _target_args(ri)
    ri.set_defaults(func=_reindex)

    dr = sub.add_parser("drill", help="failover drill: plan, or run with --execute")
    dsub = dr.add_subparsers(dest="drill_command", metavar="ACTION", required=True)
    for name, text in (("plan", "print the plan and the preflight (exit 1 if the preflight fails)"),
                       ("run", "run the drill with --execute (exit 1 if it fails); without, same as plan")):
        p = dsub.add_parser(name, help=text)
        p.add_argument("--region", required=True, help="the region to take out")
        p.add_argument("--method", choices=("maintenance", "health-check", "region-down"), default="health-check",
                       help="maintenance switch on, invert the Route 53 health check (default), or make the "
                            "region's API itself fail (sandbox: its front answers 503; AWS: stage throttled to 0)")
        if name == "run":
            p.add_argument("--execute", action="store_true", help="really inject the failure (restored afterwards)")
            p.add_argument("--load", type=float, metavar="N",
                           help="keep N shopper requests/s through the global name during the whole drill and "
                                "report what shoppers saw in each phase")
            p.add_argument("--load-seed", type=int, default=0, help="seed of the load's request mix (default 0)")
            p.add_argument("--chart", metavar="FILE.svg",
                           help="with --load: write an SVG timeline of what shoppers saw (rate, errors, p99, "
                                "region; inject, detection, restore marked)")
        _target_args(p)
        p.set_defaults(func=_drill)

    dl = sub.add_parser("dlq", help="the indexer's dead-letter queues: list, show, redrive or delete messages")
    dsub = dl.add_subparsers(dest="dlq_command", metavar="ACTION", required=True)
    for name, text in (("list", "summarise every message (exit 1 if there are any)"),
                       ("show", "one message in full"),
                       ("redrive", "re-apply the sources' current state for messages (default: all) and delete "
                                   "those that succeeded; exit 1 if any failed"),
                       ("delete", "delete messages without redriving them")):
        p = dsub.add_parser(name, help=text)
        if name in ("show",):
            p.add_argument("id", help="the message id (as `dlq list` shows it)")
        elif name == "redrive":
            p.add_argument("id", nargs="*", help="message ids (default: every message)")
        elif name == "delete":
            p.add_argument("id", nargs="+", help="message ids")
        p.add_argument("--region", action="append", help="only this region's queue (repeatable; default: all)")
        _target_args(p)
        p.set_defaults(func=_dlq)


# ---------------------------------------------------------------- helpers
@contextmanager
def target_from_args(args: argparse.Namespace) -> Iterator[Any]:
    """The target named by ``--config`` and ``--sandbox``/``--aws``, closed on exit; its errors as
    one-line CLI errors (also used by ``storefront load``)."""
    from catalog.config import load_config
    from catalog.engine import EngineConfigError, EngineError
    from replication.targets import TargetError, resolve_target

    cfg = load_config(args.config)
    try:
        target = resolve_target(cfg, args.target_mode)
    except TargetError as exc:
        raise CLIError(str(exc)) from None
    try:
        yield target
    except (TargetError, EngineConfigError) as exc:
        raise CLIError(str(exc)) from None
    except EngineError as exc:
        raise CLIError(f"search engine: {exc}", EXIT_FINDINGS) from None
    except Exception as exc:
        _aws_error(exc, target.kind)
        raise
    finally:
        target.close()


def _aws_error(exc: Exception, kind: str) -> None:
    """botocore's connection and credential errors as one-line messages (exit 2)."""
    import botocore.exceptions as be

    if isinstance(exc, be.NoCredentialsError | be.PartialCredentialsError):
        raise CLIError("no AWS credentials: configure them (aws configure / AWS_PROFILE), or use --sandbox") from None
    if isinstance(exc, be.EndpointConnectionError):
        hint = "is the sandbox still running?" if kind == "sandbox" else "check the network and region"
        raise CLIError(f"cannot reach {exc.kwargs.get('endpoint_url', 'AWS')}: {hint}") from None
    if isinstance(exc, be.ClientError):
        err = exc.response.get("Error", {})
        raise CLIError(f"AWS error {err.get('Code')}: {err.get('Message')}", EXIT_FINDINGS) from None


def _emit(args: argparse.Namespace, data: dict[str, Any], text: Callable[[], str]) -> None:
    if args.json:
        json.dump(data, sys.stdout, indent=2, default=str)
        sys.stdout.write("\n")
    else:
        print(text())


def _positive(name: str, value: int | None) -> None:
    if value is not None and value < 1:
        raise CLIError(f"{name} must be 1 or more, got {value}")


# ---------------------------------------------------------------- commands
def _status(args: argparse.Namespace) -> int:
    from replication.status import replication_status

    _positive("--minutes", args.minutes)
    with target_from_args(args) as target:
        for r in args.region or []:
            _require_region(target, r)
        report = replication_status(target, minutes=args.minutes, regions=args.region)
    _emit(args, report.to_dict(), report.render)
    return EXIT_OK if report.ok else EXIT_FINDINGS


def _require_region(target: Any, region: str) -> str:
    if region not in target.config.regions:
        raise CLIError(f"--region: {region!r} is not one of the configured regions {list(target.config.regions)}")
    return region


def _audit(args: argparse.Namespace) -> int:
    from replication.audit import audit

    _positive("--sample", args.sample)
    _positive("--segments", args.segments)
    with target_from_args(args) as target:
        regions = [_require_region(target, args.region)] if args.region else None
        report = audit(target, regions=regions, sample=args.sample, repair=args.repair,
                       segments=args.segments, progress=terminal_progress(not args.json))
    _emit(args, report.to_dict(), report.render)
    return EXIT_OK if report.ok or (args.repair and report.unrepaired == 0) else EXIT_FINDINGS


def _reindex(args: argparse.Namespace) -> int:
    from replication.reindex import ReindexError, reindex, rollback

    _positive("--segments", args.segments)
    reports = []
    with target_from_args(args) as target:
        regions = [_require_region(target, r) for r in args.region] if args.region else list(target.config.regions)
        for region in regions:
            try:
                if args.rollback:
                    reports.append(rollback(target, region))
                else:
                    reports.append(reindex(target, region, segments=args.segments,
                                           progress=terminal_progress(not args.json)))
            except ReindexError as exc:
                raise CLIError(str(exc), EXIT_FINDINGS) from None
    ok = all(r.ok for r in reports)
    _emit(args, {"ok": ok, "regions": [r.to_dict() for r in reports]},
          lambda: "\n".join(r.render() for r in reports))
    return EXIT_OK if ok else EXIT_FINDINGS


def _drill(args: argparse.Namespace) -> int:
    from replication.drill import Drill
    from replication.drill_plan import DrillError, plan_steps

    if getattr(args, "chart", None) and not getattr(args, "load", None):
        raise CLIError("--chart needs --load (the chart shows what shoppers saw)")
    with target_from_args(args) as target:
        region = _require_region(target, args.region)
        try:
            drill = Drill(target, region, args.method, echo=None if args.json else _stderr,
                          load_rps=getattr(args, "load", None), load_seed=getattr(args, "load_seed", 0))
        except DrillError as exc:
            raise CLIError(str(exc)) from None
        if args.drill_command == "run" and args.execute:
            report = drill.run()
            _emit(args, report.to_dict(), report.render)
            if getattr(args, "chart", None) and report.shoppers:
                from pathlib import Path

                from replication.drill_chart import timeline_svg

                Path(args.chart).write_text(timeline_svg(
                    report.shoppers, f"drill: {report.region} via {report.method} ({report.target}), "
                                     f"{report.shoppers['rps']:g} req/s"))
                _stderr(f"chart: {args.chart}")
            return EXIT_OK if report.passed else EXIT_FINDINGS
        report = drill.plan()
        steps = plan_steps(target, region, args.method, report.survivor)
    data = report.to_dict()
    data["plan"] = steps
    _emit(args, data, lambda: "\n".join(["## Plan", "", *[f"{i}. {s}" for i, s in enumerate(steps, 1)], "",
                                          report.render(), "", "(nothing was changed: add --execute to `drill run`)"]))
    return EXIT_OK if report.preflight_ok else EXIT_FINDINGS


def _stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def _dlq(args: argparse.Namespace) -> int:
    from replication.dlq import DlqError, delete_messages, list_messages, redrive, render_list, show_message

    with target_from_args(args) as target:
        regions = [_require_region(target, r) for r in args.region] if args.region else list(target.config.regions)
        try:
            if args.dlq_command == "list":
                messages = list_messages(target, regions)
                _emit(args, {"messages": [m.summary() for m in messages]}, lambda: render_list(messages))
                return EXIT_FINDINGS if messages else EXIT_OK
            if args.dlq_command == "show":
                msg = show_message(target, regions, args.id)
                _emit(args, msg.detail(), lambda: json.dumps(msg.detail(), indent=2, default=str))
                return EXIT_OK
            if args.dlq_command == "delete":
                gone = delete_messages(target, regions, args.id)
                _emit(args, {"deleted": [m.id for m in gone]},
                      lambda: "\n".join(f"deleted {m.region} {m.id} ({m.kind})" for m in gone))
                return EXIT_OK
            results = redrive(target, regions, args.id or None)
        except DlqError as exc:
            raise CLIError(str(exc)) from None
    ok = all(r.ok for r in results)
    _emit(args, {"ok": ok, "results": [r.to_dict() for r in results]},
          lambda: "\n".join([f"redrive: {sum(r.ok for r in results)} of {len(results)} message(s) redriven"]
                            + [r.render() for r in results]))
    return EXIT_OK if ok else EXIT_FINDINGS
