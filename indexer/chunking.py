"""Split a batch's operations into ``_bulk`` chunks bounded by count and bytes.

The byte size of an operation is an upper-bound estimate of its ``_bulk`` lines (action
line + document), computed without serialising: every string counts its characters, x6
when it is not ASCII (a JSON ``\\uXXXX`` escape is the worst case), plus a fixed
allowance per field for names and quotes, and one per operation for the action line and
the scripted-upsert wrapper of :func:`catalog.engine.opensearch_dsl.bulk_body` (the unit
tests check the estimate against that function). Over-estimating only ends a
chunk a little early; an operation larger than the byte bound travels alone.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from catalog.engine.port import ClearContent, Operation, Tombstone, UpsertContent, UpsertItem
from catalog.model import Content, Product

ACTION_BYTES = 1024  # action line, the OpenSearch upsert script (~0.4 KB), bookkeeping fields
FIELD_BYTES = 40  # "name": and punctuation, per field or list element


def _text(value: str | None) -> int:
    if not value:
        return 8
    return (len(value) if value.isascii() else 6 * len(value)) + FIELD_BYTES


def _texts(values: tuple[str | None, ...]) -> int:
    size = FIELD_BYTES * len(values)
    for value in values:
        if value:
            size += len(value) if value.isascii() else 6 * len(value)
    return size


def _product_bytes(p: Product) -> int:
    # fixed fields and numbers, then every string (the category three times: label, path, keys)
    return 15 * FIELD_BYTES + 72 + _texts((p.title, p.brand, p.category, p.category, p.category, p.description,
                                            p.currency, p.image_url, p.created_at, p.updated_at, *p.tags))


def _content_bytes(c: Content) -> int:
    return 4 * FIELD_BYTES + _texts((c.long_description, *c.specifications.keys(), *c.specifications.values(),
                                     *c.images))


def op_bytes(op: Operation) -> int:
    """Upper-bound estimate of the operation's size in a ``_bulk`` body."""
    if isinstance(op, UpsertItem):
        return ACTION_BYTES + _product_bytes(op.product)
    if isinstance(op, UpsertContent):
        return ACTION_BYTES + _content_bytes(op.content)
    if isinstance(op, Tombstone | ClearContent):
        return ACTION_BYTES + _text(op.id) + 4 * FIELD_BYTES
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
