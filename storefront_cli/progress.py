"""A tiny dependency-free progress bar for long CLI work, drawn on stderr.

Shared by the ``storefront`` commands (audit, reindex, catalog load, ...)::

    with Progress("scan us-east-1", total=n) as bar:
        for batch in batches:
            ...
            bar.advance(len(batch))

It redraws at most ten times a second, only when stderr is a terminal (or ``force``),
so piping a command's output or running it in CI prints nothing extra; ``enabled=False``
(e.g. under ``--json``) silences it entirely. ``total`` may be None (a counter with a rate).
Thread-safe: workers may call :meth:`advance` concurrently.
"""

from __future__ import annotations

import sys
import threading
import time
from types import TracebackType
from typing import TextIO

from catalog.progress import ProgressFactory

_WIDTH = 28


class Progress:
    def __init__(self, label: str, total: int | None = None, *, stream: TextIO | None = None,
                 enabled: bool = True, force: bool = False, min_interval: float = 0.1) -> None:
        self.label = label
        self.total = total
        self.done = 0
        self._stream = stream or sys.stderr
        self._on = enabled and (force or bool(getattr(self._stream, "isatty", lambda: False)()))
        self._interval = min_interval
        self._last_draw = 0.0
        self._start = time.monotonic()
        self._lock = threading.Lock()

    def __enter__(self) -> Progress:
        self._start = time.monotonic()
        self._draw(force=True)
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def advance(self, n: int = 1) -> None:
        with self._lock:
            self.done += n
            self._draw()

    def set_total(self, total: int | None) -> None:
        with self._lock:
            self.total = total
            self._draw(force=True)

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self._start

    @property
    def rate(self) -> float:
        """Items per second so far."""
        return self.done / self.elapsed if self.elapsed > 0 else 0.0

    def render(self) -> str:
        """The current line (without carriage return); public for tests."""
        rate = f"{self.rate:,.0f}/s"
        if self.total:
            frac = min(1.0, self.done / self.total)
            filled = int(frac * _WIDTH)
            bar = "#" * filled + "-" * (_WIDTH - filled)
            return f"{self.label} [{bar}] {self.done:,}/{self.total:,} {frac:4.0%} {rate} {self.elapsed:5.1f}s"
        return f"{self.label} {self.done:,} {rate} {self.elapsed:5.1f}s"

    def _draw(self, force: bool = False) -> None:
        if not self._on:
            return
        now = time.monotonic()
        if not force and now - self._last_draw < self._interval:
            return
        self._last_draw = now
        self._stream.write("\r" + self.render() + "\x1b[K")
        self._stream.flush()

    def close(self) -> None:
        with self._lock:
            if self._on:
                self._draw(force=True)
                self._stream.write("\n")
                self._stream.flush()
                self._on = False


def terminal_progress(enabled: bool = True) -> ProgressFactory | None:
    """What a command hands domain code: this bar (drawn when stderr is a terminal), or
    None (silent) when ``enabled`` is false, e.g. under ``--json``."""
    return Progress if enabled else None
