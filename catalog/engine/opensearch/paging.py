"""Sorting and paging of the OpenSearch adapter: the sort clauses and the ``search_after`` cursor.

Every sort ends with the product id (:data:`TIE_BREAK`), so ``search_after`` continues a
page exactly. The cursor is the port's envelope (:mod:`catalog.engine.cursor`: fingerprint,
encoding, errors) around this adapter's position: the last hit's sort values and how many
hits were already returned. Pure.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from catalog.engine import cursor
from catalog.engine.port import SearchRequest, Sort

# Relevance is the bare "_score" (descending by default): the API specification's sort
# oneOf cannot tell {"_score": {"order": ...}} from a field sort and rejects it.
SORTS: dict[Sort, tuple[dict[str, Any] | str, ...]] = {
    Sort.RELEVANCE: ("_score",),
    Sort.PRICE_ASC: ({"price": {"order": "asc"}},),
    Sort.PRICE_DESC: ({"price": {"order": "desc"}},),
    Sort.RATING_DESC: ({"rating": {"order": "desc", "missing": "_last"}},),
    Sort.NEWEST: ({"created_at": {"order": "desc", "missing": "_last"}},),
}
TIE_BREAK = {"id": {"order": "asc"}}


def sort_clause(sort: Sort) -> list[dict[str, Any] | str]:
    """The sort of ``sort``, then the id: a total order, as ``search_after`` needs."""
    return [*SORTS[sort], TIE_BREAK]


def encode_cursor(request: SearchRequest, after: Sequence[Any], position: int) -> str:
    """Opaque cursor (:mod:`catalog.engine.cursor`): the ``search_after`` values and the
    number of hits already returned."""
    return cursor.encode(request, {"a": list(after), "n": position})


def decode_cursor(request: SearchRequest) -> tuple[list[Any], int]:
    """The ``search_after`` values and position of ``request.cursor``; raises
    :class:`InvalidRequest` ("cursor") if malformed or made for a different query."""
    data = cursor.decode(request)
    if (not isinstance(data.get("a"), list) or not isinstance(data.get("n"), int)
            or len(data["a"]) != len(sort_clause(request.sort))):
        raise cursor.malformed()
    return data["a"], data["n"]
