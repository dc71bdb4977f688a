"""The paging rules of the port, one home for every adapter: the depth limit and the cursor.

* ``page`` x ``size`` is at most :data:`~catalog.schema.MAX_DEPTH` (:func:`check_depth`);
  deeper paging takes the cursor.
* A cursor is an envelope: base64url (unpadded) of compact JSON, an object whose ``"f"``
  is the :func:`fingerprint` of the request it continues; the adapter owns the other keys
  (its position). :func:`decode` refuses a cursor that is not such an envelope
  (:data:`MALFORMED`) or that was made for another query (:data:`FOREIGN`): text,
  filters and sort must stay the same while paging; size, facets and highlight may change.

Light on purpose: the search Lambda imports it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Mapping
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from catalog.engine.errors import InvalidRequest
from catalog.model import CATEGORY_SEPARATOR, split_category
from catalog.schema import MAX_DEPTH
from catalog.text import normalize

if TYPE_CHECKING:
    from catalog.engine.port import SearchRequest

DEPTH = f"page x size must be at most {MAX_DEPTH}; use the cursor to go deeper"
MALFORMED = "is not a cursor this service issued"
FOREIGN = "does not belong to this search, it was made for a different query: keep text, filters and sort when paging"
_DUMPS = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def check_depth(page: int, size: int) -> None:
    """Raise :class:`InvalidRequest` ("page") when ``page`` x ``size`` goes past the depth limit."""
    if page * size > MAX_DEPTH:
        raise InvalidRequest("page", DEPTH)


def malformed() -> InvalidRequest:
    """The error of a cursor this service did not issue (for adapters checking their keys)."""
    return InvalidRequest("cursor", MALFORMED)


def fingerprint(request: SearchRequest) -> str:
    """What a cursor is bound to: text, filters and sort (not size, facets or highlight)."""
    return _fingerprint(request.text, request.categories, request.brands, request.price_min, request.price_max,
                        request.in_stock, request.rating_min, str(request.sort))


@lru_cache(maxsize=4096)
def _fingerprint(text: str, categories: tuple[str, ...], brands: tuple[str, ...], *rest: Any) -> str:
    key = [normalize(text), sorted(normalize(CATEGORY_SEPARATOR.join(split_category(c))) for c in categories),
           sorted(normalize(b) for b in brands), *rest]
    return hashlib.sha256(_DUMPS(key).encode()).hexdigest()[:16]


def encode(request: SearchRequest, data: Mapping[str, Any]) -> str:
    """The cursor that continues ``request`` from the adapter's position ``data``."""
    raw = _DUMPS({**data, "f": fingerprint(request)})
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode(request: SearchRequest) -> dict[str, Any]:
    """The position data of ``request.cursor`` (the adapter checks its own keys)."""
    raw = request.cursor or ""
    try:
        data = json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
    except (ValueError, TypeError, binascii.Error):
        raise malformed() from None
    if not isinstance(data, dict):
        raise malformed()
    if data.pop("f", None) != fingerprint(request):
        raise InvalidRequest("cursor", FOREIGN)
    return data
