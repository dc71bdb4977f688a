"""Stored documents of the OpenSearch adapter: ``_source`` -> :class:`~catalog.engine.port.DocState`.

:func:`doc_state` reads what a document holds (the item and its version, a tombstone, the
content and its version, whether shoppers see it), for the operator tooling (audit,
redrive, drills) and :meth:`get`; :func:`iter_states_body` pages through every document
of an index in id order. Pure.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from catalog.convert import product_from_fields
from catalog.engine.opensearch.paging import TIE_BREAK
from catalog.engine.port import DocState
from catalog.model import Content


def _specifications(text: str | None) -> dict[str, str]:
    """The inverse of :func:`catalog.convert.specifications_text` ("key: value" lines)."""
    out = {}
    for line in (text or "").splitlines():
        key, sep, value = line.partition(": ")
        if sep:
            out[key] = value
    return out


def content_from_source(src: Mapping[str, Any]) -> Content | None:
    """The stored content, or None if there is none (never written, or cleared)."""
    version = src.get("content_version")
    if version is None or src.get("long_description") is None:
        return None
    return Content(id=src["id"], version=int(version), long_description=src.get("long_description") or "",
                   specifications=_specifications(src.get("specifications")),
                   images=tuple(src.get("images") or ()))


def is_visible(src: Mapping[str, Any]) -> bool:
    """Whether shoppers see the document: it holds an item that is not tombstoned."""
    return src.get("has_item") is True and src.get("deleted") is not True


def _epoch_seconds(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, int | float):
        return float(value) / 1000.0
    return datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp()


def doc_state(doc_id: str, src: Mapping[str, Any]) -> DocState:
    """A stored ``_source`` -> :class:`DocState` (tombstones and content-only docs too)."""
    item_version = src.get("item_version")
    content_version = src.get("content_version")
    product = None
    if src.get("has_item") is True and item_version is not None:
        product = product_from_fields({**src, "id": src.get("id") or doc_id}, int(item_version))
    return DocState(
        id=doc_id,
        item_version=None if item_version is None else int(item_version),
        content_version=None if content_version is None else int(content_version),
        deleted=src.get("deleted") is True,
        visible=is_visible(src),
        product=product,
        content=content_from_source({**src, "id": src.get("id") or doc_id}),
        tombstoned_at=_epoch_seconds(src.get("tombstoned_at")),
    )


def iter_states_body(batch_size: int, after: str | None) -> dict[str, Any]:
    """One page of every document in id order, after the id ``after`` (None: the first page)."""
    body: dict[str, Any] = {
        "query": {"match_all": {}}, "size": batch_size, "sort": [TIE_BREAK], "track_total_hits": False,
    }
    if after is not None:
        body["search_after"] = [after]
    return body
