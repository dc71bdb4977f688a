"""Transport errors of opensearch-py -> the port's errors, for every call the adapter makes.

:func:`call` runs one client call and raises :class:`~catalog.engine.port.EngineUnavailable`
(unreachable, timed out, throttled, 5xx, credentials refused),
:class:`~catalog.engine.port.IndexNotFound`, :class:`~catalog.engine.port.InvalidRequest`
(a cursor the index cannot continue) or :class:`~catalog.engine.port.EngineError` (the
engine's reason) in place of the client's own. opensearch-py is imported only once an
error is mapped.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from catalog.engine.opensearch.writes import error_reason
from catalog.engine.port import EngineError, EngineUnavailable, IndexNotFound, InvalidRequest

T = TypeVar("T")


def map_error(what: str, exc: Exception, *, cursor: bool = False) -> EngineError | None:
    """An opensearch-py error -> the port's error (None if ``exc`` is not one of its errors).

    Connection errors, timeouts, 429, 5xx and refused credentials:
    :class:`EngineUnavailable`; a missing index or alias: :class:`IndexNotFound`; a 400
    caused by a cursor: :class:`InvalidRequest`; any other error: :class:`EngineError`
    (a bug or a misconfiguration, with the engine's reason).
    """
    from opensearchpy.exceptions import ConnectionError as OSConnectionError
    from opensearchpy.exceptions import TransportError

    if isinstance(exc, OSConnectionError):  # also ConnectionTimeout and SSLError
        return EngineUnavailable(f"{what}: cannot reach OpenSearch: {exc.error}")
    if not isinstance(exc, TransportError):
        return None
    status = exc.status_code
    reason = _reason(exc)
    if not isinstance(status, int) or status == 429 or status >= 500:
        return EngineUnavailable(f"{what}: OpenSearch answered {status}: {reason}")
    if status in (401, 403):
        return EngineUnavailable(f"{what}: OpenSearch refused the request ({status}): {reason}")
    if status == 404:
        return IndexNotFound(f"{what}: {reason}")
    if cursor and status == 400:
        return InvalidRequest("cursor", "cannot be used with this index any more; start again without it")
    return EngineError(f"{what}: OpenSearch answered {status}: {reason}")


def call(what: str, fn: Callable[[], T], *, cursor: bool = False) -> T:
    """Run one client call; errors of the client become the port's (see :func:`map_error`)."""
    try:
        return fn()
    except Exception as exc:
        mapped = map_error(what, exc, cursor=cursor)
        if mapped is None:
            raise
        raise mapped from exc


def _reason(exc: Any) -> str:
    info = exc.info if isinstance(exc.info, Mapping) else {}
    error = info.get("error")
    if isinstance(error, Mapping):
        return error_reason(error)
    return str(exc.error)
