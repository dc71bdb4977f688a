"""The engine behind the API: created once per process, every call bounded in time.

The engine is built by :func:`catalog.engine.engine_from_env` on first use (or eagerly
at init, see :mod:`search_api.handler`), so a transient failure to build it answers 503
and is retried on the next request instead of failing the Lambda's init for good.

With ``isolate`` (remote engines: OpenSearch) each call runs on a small worker pool and
waits at most ``timeout`` seconds: a slower engine answers :class:`EngineUnavailable`
(503 with ``Retry-After``) instead of holding the request until API Gateway gives up.
The in-process embedded engine runs inline (``isolate=False``): a thread cannot cut
tantivy's native work short anyway, and handing each call to another thread costs
0.1-0.7 ms on a busy CPU (measured), a large share of a 1 ms search; a call slower than
the timeout is logged. Anything that is not an engine error is a bug:
it is re-raised as :class:`EngineBug` (an ``Exception``, even for tantivy's
``PanicException``, which derives from ``BaseException``) so the API logs it and answers
500 rather than crashing the invocation.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from catalog.engine import EngineConfigError, EngineError, EngineUnavailable, SearchReader

T = TypeVar("T")
_log = logging.getLogger(__name__)


class EngineBug(RuntimeError):
    """The engine raised something that is not an :class:`EngineError`."""


class Backend:
    def __init__(self, factory: Callable[[], SearchReader], timeout_seconds: float = 2.0, *,
                 isolate: bool = True, workers: int = 4) -> None:
        self._factory = factory
        self._engine: SearchReader | None = None
        self._lock = threading.Lock()
        self.timeout_seconds = timeout_seconds
        self.isolate = isolate
        self._pool: ThreadPoolExecutor | None = None
        if isolate:  # imported only here: the inline (embedded) configuration does not pay for it
            from concurrent.futures import ThreadPoolExecutor

            self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="engine")
        self.slow_calls = 0  # inline calls that took longer than the timeout

    @classmethod
    def of(cls, engine: SearchReader, timeout_seconds: float = 2.0, *, isolate: bool = True) -> Backend:
        """A backend over an engine that already exists (tests, the sandbox)."""
        backend = cls(lambda: engine, timeout_seconds, isolate=isolate)
        backend._engine = engine
        return backend

    def engine(self) -> SearchReader:
        """The engine, built on first use. Config mistakes raise EngineConfigError."""
        engine = self._engine
        if engine is None:
            with self._lock:
                if self._engine is None:
                    try:
                        self._engine = self._factory()
                    except (EngineError, EngineConfigError):
                        raise
                    except Exception as exc:  # e.g. the index directory is not there yet
                        raise EngineUnavailable(f"search engine not ready: {type(exc).__name__}: {exc}") from exc
                engine = self._engine
        return engine

    def call(self, fn: Callable[[SearchReader], T]) -> T:
        """``fn(engine)`` within the timeout."""
        engine = self.engine()
        if self._pool is None:
            started = time.perf_counter()
            try:
                return _guarded(fn, engine)
            finally:
                elapsed = time.perf_counter() - started
                if elapsed > self.timeout_seconds:
                    self.slow_calls += 1
                    _log.warning("engine call took %.0f ms (timeout %.0f ms)", elapsed * 1000,
                                 self.timeout_seconds * 1000)
        future = self._pool.submit(_guarded, fn, engine)
        try:
            return future.result(timeout=self.timeout_seconds)
        except TimeoutError:  # concurrent.futures.TimeoutError is this builtin since 3.11
            future.cancel()
            raise EngineUnavailable(f"search engine did not answer within {self.timeout_seconds * 1000:g} ms") \
                from None

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
        if self._engine is not None:
            self._engine.close()


def _guarded(fn: Callable[[Any], T], engine: Any) -> T:
    try:
        return fn(engine)
    except EngineError:
        raise
    except Exception as exc:
        raise EngineBug(f"{type(exc).__name__}: {exc}") from exc
    except BaseException as exc:
        if isinstance(exc, KeyboardInterrupt | SystemExit):
            raise
        raise EngineBug(f"{type(exc).__name__}: {exc}") from exc  # tantivy's PanicException
