"""HTTP answers: JSON encoding, ETag and conditional requests, caching headers, errors.

Every body is JSON (``application/json``) except ``/docs``. Successful answers of
``/search``, ``/suggest`` and ``/products/{id}`` are publicly cacheable for a short time
with ``stale-while-revalidate`` and carry a weak ETag computed over the body *without*
``took_ms`` (timing is not content: two answers that differ only in it are the same
representation, so ``If-None-Match`` can still answer 304). ``/health``, ``/openapi.json``
and errors are handled explicitly below.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

try:  # the blake2 module alone: hashlib would also load OpenSSL (~3 ms of cold start)
    from _blake2 import blake2b
except ImportError:  # pragma: no cover - other interpreters
    from hashlib import blake2b

JSON = "application/json"
HTML = "text/html; charset=utf-8"

# Cache-Control per kind of answer (one place to tune them)
CACHE_SEARCH = "public, max-age=30, stale-while-revalidate=60"
CACHE_PRODUCT = "public, max-age=60, stale-while-revalidate=300"
CACHE_DOCUMENT = "public, max-age=300"
NO_STORE = "no-store"
RETRY_AFTER_SECONDS = 5

# error codes (the ``error.code`` values the OpenAPI document lists)
INVALID_PARAMETER = "invalid_parameter"
NOT_FOUND = "not_found"
METHOD_NOT_ALLOWED = "method_not_allowed"
UNAVAILABLE = "unavailable"
INTERNAL = "internal_error"
ERROR_CODES = (INVALID_PARAMETER, NOT_FOUND, METHOD_NOT_ALLOWED, UNAVAILABLE, INTERNAL)


@dataclass
class Answer:
    """A status, a serialized body and headers: what the resolver turns into a Response."""

    status: int
    body: str
    content_type: str | None = JSON
    headers: dict[str, str] = field(default_factory=dict)


def dumps(body: Any) -> str:
    """Compact JSON; ASCII-only so any text the index holds survives every hop."""
    return json.dumps(body, separators=(",", ":"), allow_nan=False)


def etag_of(serialized: str) -> str:
    return 'W/"' + blake2b(serialized.encode("utf-8", "surrogatepass"), digest_size=12).hexdigest() + '"'


def _tags(header: str) -> list[str]:
    return [t.strip().removeprefix("W/") for t in header.split(",") if t.strip()]


def not_modified(if_none_match: str | None, etag: str) -> bool:
    """Weak comparison as RFC 9110 prescribes for ``If-None-Match``."""
    if not if_none_match:
        return False
    tags = _tags(if_none_match)
    return "*" in tags or etag.removeprefix("W/") in tags


def cacheable(body: Mapping[str, Any], *, region: str, cache_control: str, if_none_match: str | None,
              took_ms: float | None = None) -> Answer:
    """A 200 with ETag and caching headers, or a bodiless 304 if the client's copy matches.

    ``took_ms`` is appended after hashing so that it does not change the ETag.
    """
    serialized = dumps(body)
    etag = etag_of(serialized)
    headers = {"ETag": etag, "Cache-Control": cache_control, "X-Served-Region": region, "Vary": "Origin"}
    if not_modified(if_none_match, etag):
        return Answer(304, "", None, headers)
    if took_ms is not None:
        serialized = serialized[:-1] + (',"took_ms":' if len(serialized) > 2 else '"took_ms":') + \
            repr(round(took_ms, 3)) + "}"
    return Answer(200, serialized, JSON, headers)


def plain(status: int, body: Mapping[str, Any], *, region: str, cache_control: str = NO_STORE,
          headers: Mapping[str, str] | None = None) -> Answer:
    """A JSON answer without ETag (health, errors)."""
    out = {"Cache-Control": cache_control, "X-Served-Region": region}
    if headers:
        out.update(headers)
    return Answer(status, dumps(body), JSON, out)


def error(status: int, code: str, message: str, *, region: str, parameter: str | None = None,
          request_id: str | None = None, headers: Mapping[str, str] | None = None) -> Answer:
    """``{"error": {"code", "message"[, "parameter"][, "request_id"]}}`` (never cached)."""
    err: dict[str, Any] = {"code": code, "message": message}
    if parameter is not None:
        err["parameter"] = parameter
    if request_id is not None:
        err["request_id"] = request_id
    return plain(status, {"error": err}, region=region, headers=headers)


def invalid_parameter(parameter: str, message: str, *, region: str) -> Answer:
    return error(400, INVALID_PARAMETER, message, parameter=parameter, region=region)


def unavailable(message: str, *, region: str) -> Answer:
    return error(503, UNAVAILABLE, message, region=region, headers={"Retry-After": str(RETRY_AFTER_SECONDS)})
