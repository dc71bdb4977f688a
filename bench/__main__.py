"""Run benchmarks: ``python -m bench`` runs every ``bench/bench_*.py``;
``python -m bench NAME [options ...]`` runs one and passes it the options
(e.g. ``python -m bench search_api --products 300 --no-record``)."""

from __future__ import annotations

import importlib
import pkgutil
import sys
from pathlib import Path


def main(argv: list[str]) -> int:
    names = sorted(m.name for m in pkgutil.iter_modules([str(Path(__file__).parent)]) if m.name.startswith("bench_"))
    if argv:
        wanted, options = [argv[0] if argv[0].startswith("bench_") else f"bench_{argv[0]}"], argv[1:]
    else:
        wanted, options = names, []
    for name in wanted:
        if name not in names:
            print(f"unknown benchmark {name!r}; known: {', '.join(n[6:] for n in names)}", file=sys.stderr)
            return 2
        print(f"== {name}", flush=True)
        code = importlib.import_module(f"bench.{name}").main(options)
        if code:
            return int(code)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
