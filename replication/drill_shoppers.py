"""What shoppers saw during a failover drill: a steady load through the global name, and its figures.

``drill run --load N`` runs :class:`BackgroundLoad` (the :mod:`loadgen` shopper mix, open
loop, in a thread) from before the injection until after the failback;
:func:`shopper_figures` cuts its records into the drill's phases (:func:`phase_bounds`)
and seconds: requests sent and failed (by kind), error rate, p99, the longest run of
failed requests, and the serving region over time.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from replication.drill_report import Timeline

PHASES = ("before", "failover", "failed over", "failback", "after")


class BackgroundLoad:
    """The shopper mix at a constant rate through ``url`` in a thread, until :meth:`stop`;
    records are timed on the drill's timeline."""

    def __init__(self, url: str, rps: float, seed: int, tl: Timeline) -> None:
        from loadgen.mix import RequestMix, sample_catalog
        from loadgen.runner import HttpSender, Recorder, get_json_from

        self.mix = RequestMix(sample_catalog(get_json_from(url, 5.0)), None, seed)
        self.sender = HttpSender(url, timeout=5.0)
        self.rps = rps
        self.tl = tl
        self.recorder = Recorder()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._offset = 0.0

    def start(self) -> BackgroundLoad:
        from loadgen.runner import run_open_loop

        begin = time.monotonic()
        self._offset = begin - self.tl.start
        self._thread = threading.Thread(
            target=run_open_loop, args=(self.sender, self.mix, self.rps),
            kwargs={"duration": None, "stop": self._stop, "recorder": self.recorder, "start": begin},
            name="drill-load", daemon=True)
        self._thread.start()
        self.tl.add(f"load: {self.rps:g} shopper requests/s through {self.sender.host}:{self.sender.port or ''}")
        return self

    def stop(self) -> list[Any]:
        from dataclasses import replace

        self._stop.set()
        if self._thread:
            self._thread.join(timeout=30)
        return [replace(r, t=round(r.t + self._offset, 3)) for r in self.recorder.snapshot()]


def phase_bounds(marks: dict[str, float], end: float) -> list[tuple[str, float, float]]:
    """(name, from, to) of the drill's phases on its timeline: before the injection,
    failover (until traffic moved), failed over (until the restore), failback (until the
    failback was seen), after. A moment never reached ends its phase at the next one known."""
    order = [("before", 0.0), ("failover", marks.get("inject")), ("failed over", marks.get("moved")),
             ("failback", marks.get("restore")), ("after", marks.get("failback"))]
    known = [(name, t) for name, t in order if t is not None]
    return [(name, t, known[i + 1][1] if i + 1 < len(known) else end) for i, (name, t) in enumerate(known)]


def shopper_figures(records: list[Any], marks: dict[str, float], rps: float, end: float) -> dict[str, Any]:
    """What shoppers saw: per phase (:func:`phase_bounds`) the figures of
    :class:`loadgen.runner.Figures`, the whole drill's, and second by second the requests,
    failures, p99 and the region that served most of them (``regions_over_time`` merges
    equal seconds into spans)."""
    from loadgen.runner import Figures

    def summary(name: str, a: float, b: float, recs: list[Any]) -> dict[str, Any]:
        f = Figures.of(recs)
        return {"name": name, "from": round(a, 3), "to": round(b, 3), "sent": f.sent, "failed": f.failed,
                "error_rate": f.error_rate, "errors": f.errors, "p99_ms": f.latency_ms["p99"],
                "longest_failure_run": f.longest_failure_run,
                "longest_failure_seconds": f.longest_failure_seconds, "regions": f.regions}

    inject = marks.get("inject")

    def when(r: Any) -> float:
        """A request's phase is that of its due time, except that one still in flight when the
        injection began could see the fault: "before" holds only requests answered before it."""
        return inject if inject is not None and r.t < inject <= r.t + r.latency else r.t

    phases = [summary(n, a, b, [r for r in records if a <= when(r) < b]) for n, a, b in phase_bounds(marks, end)]
    whole = summary("whole drill", 0.0, end, records)
    series: list[dict[str, Any]] = []
    by_second: dict[int, list[Any]] = {}
    for r in records:
        by_second.setdefault(int(r.t), []).append(r)
    for s in sorted(by_second):
        f = Figures.of(by_second[s])
        ok_regions = [r.region for r in by_second[s] if not r.error and r.region]
        region = max(set(ok_regions), key=ok_regions.count) if ok_regions else None
        series.append({"t": s, "sent": f.sent, "failed": f.failed, "p99_ms": f.latency_ms["p99"], "region": region})
    spans: list[dict[str, Any]] = []
    for point in series:
        if spans and spans[-1]["region"] == point["region"]:
            spans[-1]["to"] = point["t"] + 1
        else:
            spans.append({"from": point["t"], "to": point["t"] + 1, "region": point["region"]})
    return {"rps": rps, "marks": dict(marks), "phases": phases, "whole": whole, "series": series,
            "regions_over_time": spans}
