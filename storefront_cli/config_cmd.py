"""``storefront config check|show``: validate the configuration file and show what it derives."""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("config", help="check or show the deployment configuration")
    csub = p.add_subparsers(dest="config_command", metavar="ACTION", required=True)
    check = csub.add_parser("check", help="validate the configuration file (exit 2 with the field on error)")
    check.set_defaults(func=_check)
    show = csub.add_parser("show", help="print the validated configuration and derived resource names")
    show.add_argument("--json", action="store_true", help="machine-readable output")
    show.set_defaults(func=_show)


def _check(args: argparse.Namespace) -> int:
    from catalog.config import load_config

    cfg = load_config(args.config)
    print(f"{cfg.source}: ok ({len(cfg.regions)} regions, primary {cfg.primary}, routing {cfg.routing})")
    return 0


def _show(args: argparse.Namespace) -> int:
    from catalog.config import load_config

    cfg = load_config(args.config)
    regions: dict[str, dict[str, str]] = {
        r: {
            "bucket": cfg.bucket_name(r),
            "content_queue": cfg.queue_name(r),
            "dlq": cfg.dlq_name(r),
            "maintenance_parameter": cfg.maintenance_parameter(r),
        }
        for r in cfg.regions
    }
    derived = {"table": cfg.table_name, "regions": regions}
    if args.json:
        print(json.dumps({"config": asdict(cfg), "derived": derived}, indent=2, default=str))
    else:
        print(f"configuration: {cfg.source}")
        print(f"regions: {', '.join(cfg.regions)} (primary {cfg.primary}); routing: {cfg.routing}")
        print(f"table: {cfg.table_name}")
        for r, names in regions.items():
            print(f"  {r}: " + ", ".join(f"{k}={v}" for k, v in names.items()))
    return 0
