"""A failover drill's report: what was measured, its timeline, and the markdown that shows it.

:class:`DrillReport` is the result of :mod:`replication.drill` (``to_dict`` for
``--json``, ``render`` for the markdown of :func:`render_markdown`, with the "What
shoppers saw" section of :func:`render_shoppers` when the drill ran under load);
:class:`Timeline` stamps its events in seconds since the drill started.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from replication.status import Check


@dataclass
class Event:
    t: float  # seconds since the drill started
    at: str  # ISO-8601 UTC
    event: str


@dataclass
class DrillReport:
    """What one drill (or its plan) found: the preflight, the measures against their
    targets, the failures, the timeline and, under load, what shoppers saw."""

    region: str
    method: str
    target: str
    executed: bool
    survivor: str | None
    detection_target: float
    rto_target: float
    preflight: list[Check] = field(default_factory=list)
    passed: bool = False
    detection_seconds: float | None = None
    rto_seconds: float | None = None
    failback_seconds: float | None = None
    canary_searchable_seconds: float | None = None
    canaries_written: int = 0
    lost_writes: int = 0
    restored: bool = False
    interrupted: bool = False
    answer_before: str | None = None
    answer_during: str | None = None
    failures: list[str] = field(default_factory=list)
    watched: list[str] = field(default_factory=list)  # the health checks and canaries this drill read
    timeline: list[Event] = field(default_factory=list)
    started_at: str = ""
    shoppers: dict[str, Any] | None = None  # drill run --load: what shoppers saw (see shopper_figures)

    @property
    def preflight_ok(self) -> bool:
        return all(c.ok for c in self.preflight)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["preflight_ok"] = self.preflight_ok
        return d

    def render(self) -> str:
        return render_markdown(self)


class Timeline:
    """The drill's clock (monotonic, from its start) and the events stamped on it, echoed
    as they happen when ``echo`` is given."""

    def __init__(self, echo: Callable[[str], Any] | None = None) -> None:
        self.start = time.monotonic()
        self.events: list[Event] = []
        self._echo = echo

    def elapsed(self) -> float:
        return time.monotonic() - self.start

    def add(self, text: str) -> Event:
        ev = Event(round(self.elapsed(), 3), datetime.now(UTC).isoformat(timespec="milliseconds"), text)
        self.events.append(ev)
        if self._echo:
            self._echo(f"[{ev.t:7.2f}s] {text}")
        return ev


def _fmt(v: float | None) -> str:
    return "n/a" if v is None else f"{v:.2f} s"


def render_markdown(rep: DrillReport) -> str:
    verdict = ("PASSED" if rep.passed else "FAILED") if rep.executed else "PLAN (not executed)"
    lines = [f"# Failover drill: {rep.region} via {rep.method} ({rep.target}) - {verdict}", ""]
    if rep.executed and rep.preflight_ok:
        lines += [
            "| measure | value | target | ok |", "|---|---|---|---|",
            f"| detection | {_fmt(rep.detection_seconds)} | <= {rep.detection_target:g} s | "
            f"{_yes(rep.detection_seconds is not None and rep.detection_seconds <= rep.detection_target)} |",
            f"| RTO (traffic served elsewhere) | {_fmt(rep.rto_seconds)} | <= {rep.rto_target:g} s | "
            f"{_yes(rep.rto_seconds is not None and rep.rto_seconds <= rep.rto_target)} |",
            f"| failback after restore | {_fmt(rep.failback_seconds)} | seen | "
            f"{_yes(rep.failback_seconds is not None)} |",
            f"| canary searchable in {rep.survivor} | {_fmt(rep.canary_searchable_seconds)} | seen | "
            f"{_yes(rep.canary_searchable_seconds is not None)} |",
            f"| lost writes | {rep.lost_writes} of {rep.canaries_written} canaries | 0 | "
            f"{_yes(rep.lost_writes == 0)} |",
            f"| restored | {'yes' if rep.restored else 'NO'} | yes | {_yes(rep.restored)} |",
            "",
        ]
    lines += ["## Preflight", "", "| region | check | ok | detail |", "|---|---|---|---|"]
    lines += [f"| {c.region} | {c.name} | {_yes(c.ok)} | {c.detail} |" for c in rep.preflight]
    if rep.watched:
        lines += ["", "## Watched", ""] + [f"- {w}" for w in rep.watched]
    if rep.timeline:
        lines += ["", "## Timeline", "", "| t (s) | event |", "|---:|---|"]
        lines += [f"| {e.t:.2f} | {e.event} |" for e in rep.timeline]
    if rep.shoppers:
        lines += ["", *render_shoppers(rep.shoppers)]
    if rep.failures:
        lines += ["", "## Failures", ""] + [f"- {f}" for f in rep.failures]
    return "\n".join(lines)


def render_shoppers(sh: dict[str, Any]) -> list[str]:
    """The "What shoppers saw" section of the markdown report."""
    lines = [f"## What shoppers saw ({sh['rps']:g} requests/s through the global name)", "",
             "| phase | from (s) | to (s) | sent | failed | error rate | errors | p99 (ms) | longest failure run |",
             "|---|---:|---:|---:|---:|---:|---|---:|---|"]
    for p in [*sh["phases"], sh["whole"]]:
        errors = ", ".join(f"{k} {v}" for k, v in p["errors"].items()) or "-"
        p99 = "n/a" if p["p99_ms"] is None else f"{p['p99_ms']:,.1f}"
        run = f"{p['longest_failure_run']} over {p['longest_failure_seconds']:.2f} s" if p["longest_failure_run"] \
            else "-"
        lines.append(f"| {p['name']} | {p['from']:.2f} | {p['to']:.2f} | {p['sent']} | {p['failed']} | "
                     f"{p['error_rate']:.2%} | {errors} | {p99} | {run} |")
    lines += ["", "Serving region over time: " + "; ".join(
        f"{s['from']}-{s['to']} s {s['region'] or 'none (all failed)'}" for s in sh["regions_over_time"])]
    return lines


def _yes(ok: bool) -> str:
    return "yes" if ok else "**no**"
