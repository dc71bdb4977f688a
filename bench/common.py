"""Helpers every benchmark shares: percentiles and a one-line description of the machine."""

from __future__ import annotations

import os
import platform
import re
from collections.abc import Callable, Sequence
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


def _stat(pid: int) -> tuple[int, float] | None:
    """(parent pid, user + system CPU seconds) of a live process, from ``/proc/PID/stat``."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = raw[raw.rindex(")") + 2:].split()  # after "pid (comm) ": state, ppid, ...
    ticks = os.sysconf("SC_CLK_TCK")
    return int(fields[1]), (int(fields[11]) + int(fields[12])) / ticks


def tree_cpu(root: int, label: Callable[[int], str]) -> dict[str, float]:
    """CPU seconds (user + system) of ``root`` and every live descendant, summed by ``label(pid)``.
    Linux only (``/proc``); a process that has exited is not counted, so read it before stopping."""
    parents: dict[int, int] = {}
    cpu: dict[int, float] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (st := _stat(int(entry.name))) is not None:
            parents[int(entry.name)], cpu[int(entry.name)] = st
    members = {root}
    grew = True
    while grew:
        new = {pid for pid, ppid in parents.items() if ppid in members and pid not in members}
        members |= new
        grew = bool(new)
    out: dict[str, float] = {}
    for pid in members:
        if pid in cpu:
            out[label(pid)] = out.get(label(pid), 0.0) + cpu[pid]
    return out


def cmdline(pid: int) -> str:
    """The process's command line, arguments separated by spaces ('' once it has exited)."""
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return ""
