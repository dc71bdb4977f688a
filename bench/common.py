"""Helpers every benchmark shares: percentiles and a one-line description of the machine."""

from __future__ import annotations

import os
import platform
import re
from collections.abc import Sequence
from pathlib import Path


def percentile(values: Sequence[float], p: float) -> float:
    """The nearest-rank ``p``-th percentile (``p`` in 0..100) of ``values``."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def machine(*, load: bool = True) -> str:
    """Cores, CPU model, Python version and (optionally) the 1-minute load average."""
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    text = f"{os.cpu_count()} cores (nproc), {cpu}, Python {platform.python_version()}"
    if load:
        try:
            text += f", load avg {os.getloadavg()[0]:.1f}"
        except OSError:
            text += ", load n/a"
    return text


RESULTS = Path(__file__).with_name("RESULTS.md")


def write_section(name: str, body: str, results: Path = RESULTS) -> None:
    """Replace the text under ``<!-- section:NAME -->`` in bench/RESULTS.md (appended if absent)."""
    content = results.read_text()
    pattern = re.compile(rf"(<!-- section:{re.escape(name)} -->\n)(.*?)(?=<!-- section:|\Z)", re.S)
    if not pattern.search(content):
        content += f"\n<!-- section:{name} -->\n"
    results.write_text(pattern.sub(lambda m: m.group(1) + body, content, count=1))
