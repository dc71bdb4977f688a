"""The audit's rules, pure: how a table item, a bucket object and the index's state compare.

:func:`classify_item` and :func:`classify_content` name the discrepancy between a source
and the index (or None when they agree); :func:`young` tells a write still in flight by
the time its version encodes (:mod:`catalog.versioning`); :func:`same_content` trusts an
ETag instead of reading the object; :func:`merge_listings` walks two buckets' listings
side by side. No I/O: :mod:`replication.audit` reads the sources and applies these.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping
from typing import Any

from catalog.convert import TransformError, content_to_json, product_from_item, version_of
from catalog.engine import DocState
from catalog.model import content_key
from replication.sources import ContentRead


def classify_item(item: Mapping[str, Any] | None, state: DocState | None) -> tuple[str, str] | None:
    """(kind, detail) of the table item vs the index state, or None if they agree."""
    if item is None:
        if state is not None and state.visible:
            return "extra", f"index shows version {state.item_version}; the table has no item"
        return None
    try:
        product = product_from_item(item)
    except TransformError as exc:
        return "invalid", str(exc)
    v = product.version
    if state is None or (state.item_version is None and not state.deleted):
        return "missing", f"table version {v}; not in the index"
    iv = state.item_version or 0
    if state.deleted:
        if v > iv:
            return "stale", f"index holds a tombstone of version {iv}; table has {v}"
        return "resurrected", f"index tombstoned version {iv}; the table holds version {v}"
    if iv < v:
        return "stale", f"index version {iv} < table version {v}"
    if iv > v:
        return "ahead", f"index version {iv} > table version {v}"
    return None


def classify_content(read: ContentRead, state: DocState | None) -> tuple[str, str] | None:
    if read.error:
        return "content_invalid", read.error
    stored = state.content_version if state is not None else None
    has_content = state is not None and state.content is not None
    if read.content is None:
        if has_content:
            return "content_extra", f"index holds content version {stored}; the object is gone"
        return None
    if stored is None:
        return "content_missing", f"object version {read.content.version}; no content in the index"
    if stored < read.content.version:
        return "content_stale", f"index content version {stored} < object version {read.content.version}"
    if stored > read.content.version:
        return "content_stale", f"index content version {stored} > object version {read.content.version}"
    return None


def young(version: int | None, seconds: float, now_ms: int) -> bool:
    """Whether a write of ``version`` (epoch ms x 1000 + n) happened in the last ``seconds``."""
    return version is not None and version // 1000 >= now_ms - seconds * 1000


def same_content(state: DocState | None, etag: str) -> bool:
    """Whether the index's content is byte for byte the object (a single-part ETag is the
    MD5 of the body, and writers put :func:`content_to_json`): no need to read it."""
    if state is None or state.content is None:
        return False
    return hashlib.md5(content_to_json(state.content), usedforsecurity=False).hexdigest() == etag.strip('"')


def version_or_none(item: Mapping[str, Any] | None) -> int | None:
    """The version of a table item; None when there is no item or it has no valid version."""
    if item is None:
        return None
    try:
        return version_of(item)
    except TransformError:
        return None


def merge_listings(a: Iterator[tuple[str, str]], b: Iterator[tuple[str, str]]
                   ) -> Iterator[tuple[str, str | None, str | None]]:
    """Merge two key-ordered listings: (id, etag in a or None, etag in b or None)."""
    xa, xb = next(a, None), next(b, None)
    while xa is not None or xb is not None:
        ka = content_key(xa[0]) if xa is not None else None
        kb = content_key(xb[0]) if xb is not None else None
        if xa is not None and (kb is None or (ka is not None and ka < kb)):
            yield xa[0], xa[1], None
            xa = next(a, None)
        elif xb is not None and (ka is None or (kb is not None and kb < ka)):
            yield xb[0], None, xb[1]
            xb = next(b, None)
        elif xa is not None and xb is not None:  # the same key in both
            yield xa[0], xa[1], xb[1]
            xa, xb = next(a, None), next(b, None)
