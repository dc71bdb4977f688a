"""``storefront``: one console command; each area adds its subcommands.

An area exposes ``register(subparsers)`` in a module listed in :data:`COMMAND_MODULES`;
it adds its parsers and sets ``func`` (called with the parsed args, returning the exit
code). Registration must stay cheap: heavy imports belong inside the command functions.

Exit codes scripts can rely on: 0 ok, 1 findings or failed checks, 2 usage or
configuration error. A user never sees a traceback for a mistake of theirs: raise
:class:`~storefront_cli.errors.CLIError` with a message that says what to fix. Codes and
error live in :mod:`storefront_cli.errors`, which the command modules import instead of this one.
"""

from __future__ import annotations

import argparse
import importlib
import os
import subprocess
import sys
from collections.abc import Sequence

from storefront_cli.errors import EXIT_OK, EXIT_USAGE, CLIError

# area modules that add subcommands, in help order
COMMAND_MODULES: tuple[str, ...] = (
    "storefront_cli.config_cmd",
    "replication.cli",
    "sandbox.cli",
    "loadgen.cli",
)


def run_subprocess(config: str | os.PathLike[str], *args: str,
                   timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """``storefront --config CONFIG ARGS...`` in a fresh interpreter (this one's Python), its
    output captured as text; for scripts, tests and benchmarks that drive the real command."""
    return subprocess.run([sys.executable, "-m", "storefront_cli.main", "--config", os.fspath(config), *args],
                          capture_output=True, text=True, timeout=timeout, check=False)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="storefront",
        description="storefront-search: multi-region product search. Operate the sandbox, "
                    "the catalog, replication checks, reindexing and failover drills.",
    )
    parser.add_argument("--config", metavar="FILE",
                        help="configuration file (default: $STOREFRONT_CONFIG or ./storefront.toml)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    func = getattr(args, "func", None)
    if func is None:
        parser.print_help()
        return EXIT_USAGE if args.command is None and argv else EXIT_OK
    from catalog.config import ConfigError

    try:
        return int(func(args) or EXIT_OK)
    except CLIError as exc:
        print(f"storefront: error: {exc}", file=sys.stderr)
        return exc.code
    except ConfigError as exc:
        print(f"storefront: configuration error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("storefront: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
