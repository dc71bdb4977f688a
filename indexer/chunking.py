"""Split a batch's operations into ``_bulk`` chunks bounded by count and bytes.

The byte size of an operation is an upper bound of its ``_bulk`` lines (action line +
document) as :func:`catalog.engine.opensearch.writes.bulk_body` writes them, computed
without serialising: a string counts 1 byte per character when JSON writes it as is
(printable ASCII without quote or backslash), else 6 (the longest escape, ``\\u001f``;
a UTF-8 character is at most 4 bytes); each id twice (action line and document); the
category once per ancestor path; numbers by their digits or a fixed allowance; the
longest index name; and a fixed allowance for the script wrapper. The unit tests check
it against the bytes the real client sends, on text full of quotes, backslashes,
control and non-ASCII characters. Over-estimating only ends a chunk a little early; an
operation larger than the byte bound travels alone.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from catalog.convert import specifications_text
from catalog.engine.port import ClearContent, Operation, Tombstone, UpsertContent, UpsertItem
from catalog.model import Content, Product, category_ancestors

BASE_BYTES = 1024  # action line and scripted-upsert wrapper with its script: ~0.7 KB measured (unit-tested)
INDEX_BYTES = 255  # an "_index" in the action line (OpenSearch's longest name) where bulk_body is given one
FIELD_BYTES = 40  # "name": and punctuation, per field or list element
NUMBER_BYTES = 32  # a float, an epoch-ms stamp, null or a boolean in JSON (repr(-2.2250738585072014e-308) is 23)


def _string(value: str | None) -> int:
    """At most the bytes of ``value`` as a JSON string in the body: 1 per character when
    it is printable ASCII without quote or backslash, else 6 per character (``\\u001f``;
    a UTF-8 character is at most 4 bytes), plus quotes and field punctuation."""
    if not value:
        return FIELD_BYTES
    plain = value.isascii() and value.isprintable() and '"' not in value and "\\" not in value
    return FIELD_BYTES + (len(value) if plain else 6 * len(value))


def _int(value: int) -> int:
    return FIELD_BYTES + len(str(value))


def _product_bytes(p: Product) -> int:
    strings = (p.title, p.brand, p.category, p.description, p.currency, p.image_url, p.created_at, p.updated_at,
               *p.tags, *category_ancestors(p.category))
    return _string(p.id) + sum(map(_string, strings)) + _int(p.review_count) + 4 * (FIELD_BYTES + NUMBER_BYTES)


def _content_bytes(c: Content) -> int:
    strings = (c.long_description, specifications_text(c.specifications), *c.images)
    return _string(c.id) + sum(map(_string, strings)) + FIELD_BYTES


def op_bytes(op: Operation) -> int:
    """Upper bound of the operation's size in a ``_bulk`` body (action line included)."""
    fixed = BASE_BYTES + INDEX_BYTES + _string(op.id) + _int(op.version)
    if isinstance(op, UpsertItem):
        return fixed + _product_bytes(op.product)
    if isinstance(op, UpsertContent):
        return fixed + _content_bytes(op.content)
    if isinstance(op, Tombstone | ClearContent):
        return fixed + _string(op.id) + 4 * (FIELD_BYTES + NUMBER_BYTES)
    raise TypeError(f"not an operation: {type(op).__name__}")


def chunks(ops: Sequence[Operation], max_operations: int, max_bytes: int) -> Iterator[tuple[int, int]]:
    """``(start, end)`` slices of ``ops``, in order, each within both bounds (or a single op)."""
    if max_operations < 1 or max_bytes < 1:
        raise ValueError("max_operations and max_bytes must be positive")
    start = 0
    size = 0
    for i, op in enumerate(ops):
        n = op_bytes(op)
        if i > start and (i - start >= max_operations or size + n > max_bytes):
            yield start, i
            start, size = i, 0
        size += n
    if start < len(ops):
        yield start, len(ops)
