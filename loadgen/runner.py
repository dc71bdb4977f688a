"""Open-loop load at a constant arrival rate, and its report.

Request ``i`` is *due* at ``start + i / rps``; the scheduler hands it to a worker pool at
that moment whether or not earlier requests have returned, and its latency is measured
from the due time to the end of the response. A server that stalls therefore shows its
stall in every request that was due meanwhile (no coordinated omission): a request that
waited for a free worker, or was sent late because the client fell behind, is charged
for the wait. Latencies go into an HDR histogram (``hdrhistogram``: 3 significant
digits, 1 us to 1 h).

The clock, the sleep and the executor are injectable, so tests drive the scheduler with a
fake clock (no timed tests). :class:`HttpSender` is the real transport: one keep-alive
connection per worker thread, errors classified as ``http_<status>``, ``timeout``,
``connection`` (refused, reset, closed), ``protocol`` or ``other``.
"""

from __future__ import annotations

import functools
import http.client
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import urlsplit

from loadgen.mix import LoadRequest

PERCENTILES: tuple[float, ...] = (50.0, 90.0, 99.0, 99.9)
HIST_MAX_US = 3_600_000_000  # 1 h


@dataclass(frozen=True)
class Outcome:
    status: int | None  # the HTTP status; None when there was no response
    error: str | None  # None: success; else the kind (http_503, timeout, connection, ...)
    region: str | None  # X-Served-Region of the response


@dataclass(frozen=True)
class Record:
    t: float  # due time, seconds since the run started
    latency: float  # seconds from the due time to the end of the response
    kind: str  # the request kind (text, suggest, ...)
    status: int | None
    error: str | None
    region: str | None


class Recorder:
    """Thread-safe collector of :class:`Record`; ``on_record`` is called after each one."""

    def __init__(self, on_record: Callable[[Record], Any] | None = None) -> None:
        self.records: list[Record] = []
        self.sent = 0
        self.max_send_lag = 0.0  # how far behind schedule the scheduler ever was (s)
        self._lock = threading.Lock()
        self._on_record = on_record

    def add(self, record: Record) -> None:
        with self._lock:
            self.records.append(record)
        if self._on_record:
            self._on_record(record)

    def snapshot(self) -> list[Record]:
        with self._lock:
            return list(self.records)


def classify(exc: BaseException) -> str:
    """An exception from sending a request -> the error kind."""
    if isinstance(exc, TimeoutError | socket.timeout):
        return "timeout"
    if isinstance(exc, ConnectionError | http.client.RemoteDisconnected):
        return "connection"
    if isinstance(exc, http.client.HTTPException):
        return "protocol"
    if isinstance(exc, OSError):
        return "connection"
    return "other"


def run_open_loop(send: Callable[[LoadRequest], Outcome], requests: Iterable[LoadRequest], rps: float, *,
                  duration: float | None, stop: threading.Event | None = None,
                  clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], Any] = time.sleep,
                  submit: Callable[[Callable[[], None]], Any] | None = None, concurrency: int = 256,
                  recorder: Recorder | None = None, start: float | None = None) -> Recorder:
    """Send ``requests`` at ``rps`` for ``duration`` seconds (None: until ``stop`` is set);
    returns the recorder once every request sent has completed. ``start`` (a ``clock()``
    value) anchors the schedule and the records' ``t`` (default: now)."""
    if rps <= 0:
        raise ValueError(f"rps must be above 0, got {rps}")
    if duration is None and stop is None:
        raise ValueError("give a duration or a stop event")
    rec = recorder or Recorder()
    pool = None
    if submit is None:
        pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="load")
        submit = pool.submit
    t0 = clock() if start is None else start
    it: Iterator[LoadRequest] = iter(requests)

    def task(due: float, req: LoadRequest) -> None:
        try:
            out = send(req)
        except Exception as exc:  # a transport bug must not kill the run: count it
            out = Outcome(None, classify(exc), None)
        rec.add(Record(round(due - t0, 6), max(0.0, clock() - due), req.kind, out.status, out.error, out.region))

    try:
        i = 0
        while True:
            due = t0 + i / rps
            if (duration is not None and due - t0 >= duration) or (stop is not None and stop.is_set()):
                break
            now = clock()
            if due > now:
                sleep(due - now)
                if stop is not None and stop.is_set():
                    break
            else:
                rec.max_send_lag = max(rec.max_send_lag, now - due)
            req = next(it)
            rec.sent += 1
            submit(functools.partial(task, due, req))
            i += 1
    finally:
        if pool is not None:
            pool.shutdown(wait=True)
    return rec


class HttpSender:
    """GET ``base_url + request.path`` over a keep-alive connection per thread."""

    def __init__(self, base_url: str, timeout: float = 10.0, headers: Mapping[str, str] | None = None) -> None:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"--url: {base_url!r} is not an http(s) URL")
        self.https = parts.scheme == "https"
        self.host = parts.hostname
        self.port = parts.port
        self.prefix = parts.path.rstrip("/")
        self.timeout = timeout
        self.headers = {"Accept": "application/json", "User-Agent": "storefront-load", **(headers or {})}
        self._local = threading.local()

    def _conn(self) -> tuple[http.client.HTTPConnection, bool]:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            return conn, True
        cls = http.client.HTTPSConnection if self.https else http.client.HTTPConnection
        conn = cls(self.host, self.port, timeout=self.timeout)
        self._local.conn = conn
        return conn, False

    def _drop(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    def __call__(self, req: LoadRequest) -> Outcome:
        for attempt in (0, 1):
            conn, reused = self._conn()
            try:
                conn.request("GET", self.prefix + req.path, headers=self.headers)
                resp = conn.getresponse()
                resp.read()
                if resp.will_close:
                    self._drop()
                region = resp.getheader("X-Served-Region")
                return Outcome(resp.status, None if resp.status < 400 else f"http_{resp.status}", region)
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError) as exc:
                self._drop()
                if reused and attempt == 0:
                    continue  # the server closed an idle keep-alive connection: retry once, as browsers do
                return Outcome(None, classify(exc), None)
            except Exception as exc:
                self._drop()
                return Outcome(None, classify(exc), None)
        raise AssertionError("unreachable")  # pragma: no cover


# ---------------------------------------------------------------- statistics
def histogram(latencies: Iterable[float]) -> Any:
    from hdrh.histogram import HdrHistogram

    h = HdrHistogram(1, HIST_MAX_US, 3)
    for s in latencies:
        h.record_value(min(HIST_MAX_US, max(1, round(s * 1e6))))
    return h


def latency_ms(records: Sequence[Record]) -> dict[str, float | None]:
    """Percentiles (p50, p90, p99, p99.9), max and mean in ms over every completed request."""
    keys = [f"p{p:g}" for p in PERCENTILES] + ["max", "mean"]
    if not records:
        return dict.fromkeys(keys)
    h = histogram(r.latency for r in records)
    out: dict[str, float | None] = {f"p{p:g}": round(h.get_value_at_percentile(p) / 1000, 3) for p in PERCENTILES}
    out["max"] = round(h.get_max_value() / 1000, 3)
    out["mean"] = round(h.get_mean_value() / 1000, 3)
    return out


def longest_failure_run(records: Sequence[Record]) -> tuple[int, float]:
    """(requests, seconds from the first to the last due time) of the longest run of
    consecutive failed requests, in schedule order."""
    best = (0, 0.0)
    run: list[Record] = []
    for r in sorted(records, key=lambda r: r.t):
        if r.error:
            run.append(r)
            if len(run) > best[0]:
                best = (len(run), round(run[-1].t - run[0].t, 3))
        else:
            run = []
    return best


@dataclass
class Figures:
    """What shoppers saw over a set of requests."""

    sent: int
    ok: int
    failed: int
    error_rate: float
    latency_ms: dict[str, float | None]
    errors: dict[str, int]
    statuses: dict[str, int]
    regions: dict[str, int]
    by_kind: dict[str, dict[str, Any]]  # kind -> sent, failed, p99_ms
    longest_failure_run: int
    longest_failure_seconds: float

    @classmethod
    def of(cls, records: Sequence[Record]) -> Figures:
        failed = sum(1 for r in records if r.error)
        by_kind: dict[str, dict[str, Any]] = {}
        latencies: dict[str, list[Record]] = {}
        for r in records:
            k = by_kind.setdefault(r.kind, {"sent": 0, "failed": 0})
            k["sent"] += 1
            k["failed"] += bool(r.error)
            latencies.setdefault(r.kind, []).append(r)
        for kind, recs in latencies.items():
            by_kind[kind]["p99_ms"] = latency_ms(recs)["p99"]
        run, run_s = longest_failure_run(records)
        return cls(
            sent=len(records), ok=len(records) - failed, failed=failed,
            error_rate=round(failed / len(records), 6) if records else 0.0,
            latency_ms=latency_ms(records),
            errors=dict(Counter(r.error for r in records if r.error).most_common()),
            statuses={str(k): v for k, v in sorted(Counter(r.status for r in records if r.status).items())},
            regions=dict(Counter(r.region or "none" for r in records).most_common()),
            by_kind=dict(sorted(by_kind.items())), longest_failure_run=run, longest_failure_seconds=run_s)


@dataclass
class LoadReport:
    url: str
    rps: float
    duration: float
    seed: int
    mix: dict[str, int]
    elapsed: float
    figures: Figures
    max_send_lag_ms: float
    p99_ms_objective: float | None = None
    max_error_rate_objective: float | None = None
    failures: list[str] = field(default_factory=list)

    @property
    def throughput(self) -> float:
        return round(self.figures.sent / self.elapsed, 2) if self.elapsed > 0 else 0.0

    @property
    def passed(self) -> bool:
        return not self.failures

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d.update(d.pop("figures"))
        d["throughput_rps"] = self.throughput
        d["ok_throughput_rps"] = round(self.figures.ok / self.elapsed, 2) if self.elapsed > 0 else 0.0
        d["passed"] = self.passed
        return d

    def render(self) -> str:
        f = self.figures
        lat = f.latency_ms
        lines = [
            f"load: {self.url}  target {self.rps:g} req/s for {self.duration:g} s (seed {self.seed})",
            f"sent {f.sent:,} in {self.elapsed:.1f} s = {self.throughput:,.1f} req/s; ok {f.ok:,}, "
            f"failed {f.failed:,} (error rate {f.error_rate:.2%})",
            "latency ms (from the scheduled time): " + ", ".join(
                f"{k} {v:,.1f}" if v is not None else f"{k} n/a" for k, v in lat.items()),
            f"scheduler max lag: {self.max_send_lag_ms:,.1f} ms",
            "served by: " + (", ".join(f"{r} {n:,}" for r, n in f.regions.items()) or "none"),
            "statuses: " + (", ".join(f"{s} {n:,}" for s, n in f.statuses.items()) or "none"),
        ]
        if f.errors:
            lines.append("errors: " + ", ".join(f"{k} {n:,}" for k, n in f.errors.items())
                         + f"; longest failure run {f.longest_failure_run} requests over "
                           f"{f.longest_failure_seconds:.2f} s")
        lines.append("by kind (sent, p99 ms): " + ", ".join(
            f"{k} {v['sent']:,} {v['p99_ms']:,.1f}" + (f" ({v['failed']} failed)" if v["failed"] else "")
            for k, v in f.by_kind.items()))
        if self.failures:
            lines += [f"OBJECTIVE MISSED: {x}" for x in self.failures]
        elif self.p99_ms_objective is not None or self.max_error_rate_objective is not None:
            lines.append("objectives met")
        return "\n".join(lines)


def judge(report: LoadReport) -> LoadReport:
    """Fill ``failures`` from the objectives (p99 in ms, error rate as a fraction)."""
    f = report.figures
    p99 = f.latency_ms.get("p99")
    if report.p99_ms_objective is not None:
        if p99 is None:
            report.failures.append("--p99-ms: no request completed")
        elif p99 > report.p99_ms_objective:
            report.failures.append(f"--p99-ms: p99 latency {p99:,.1f} ms > {report.p99_ms_objective:g} ms")
    if report.max_error_rate_objective is not None and f.error_rate > report.max_error_rate_objective:
        report.failures.append(f"--max-error-rate: error rate {f.error_rate:.4f} ({f.failed} of {f.sent}) > "
                               f"{report.max_error_rate_objective:g}")
    return report


# ---------------------------------------------------------------- the whole run
def get_json_from(base_url: str, timeout: float = 10.0) -> Callable[[str], Mapping[str, Any]]:
    """``path -> body`` through ``base_url`` (for :func:`loadgen.mix.sample_catalog`)."""
    import json
    import urllib.request

    def get_json(path: str) -> Mapping[str, Any]:
        with urllib.request.urlopen(base_url.rstrip("/") + path, timeout=timeout) as resp:
            body: Mapping[str, Any] = json.loads(resp.read())
            return body

    return get_json


def load(base_url: str, rps: float, duration: float, *, seed: int = 0, weights: Mapping[str, int] | None = None,
         timeout: float = 10.0, concurrency: int = 256, p99_ms: float | None = None,
         max_error_rate: float | None = None, on_record: Callable[[Record], Any] | None = None,
         sample: Any = None) -> LoadReport:
    """Sample the catalog through ``base_url`` (unless ``sample`` is given), run the open
    loop, and judge the objectives."""
    from loadgen.mix import DEFAULT_WEIGHTS, RequestMix, sample_catalog

    if sample is None:
        sample = sample_catalog(get_json_from(base_url, timeout))
    mix = RequestMix(sample, weights, seed)
    sender = HttpSender(base_url, timeout)
    started = time.monotonic()
    rec = run_open_loop(sender, mix, rps, duration=duration, concurrency=concurrency, recorder=Recorder(on_record),
                        start=started)
    elapsed = time.monotonic() - started
    report = LoadReport(url=base_url, rps=rps, duration=duration, seed=seed, mix=dict(weights or DEFAULT_WEIGHTS),
                        elapsed=round(elapsed, 3), figures=Figures.of(rec.snapshot()),
                        max_send_lag_ms=round(rec.max_send_lag * 1000, 3), p99_ms_objective=p99_ms,
                        max_error_rate_objective=max_error_rate)
    return judge(report)
