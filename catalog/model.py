"""The product model: the DynamoDB item and the S3 rich content, each with its version.

Two sources feed one search document:

* the **item** in the DynamoDB global table ``products`` (partition key ``id``), and
* the **content** object ``products/{id}.json`` in the region's bucket.

Each carries its own integer ``version`` that grows on every write (see
:mod:`catalog.versioning`); the index orders writes of one source by that version only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

CATEGORY_SEPARATOR = " > "
CONTENT_PREFIX = "products/"
CONTENT_SUFFIX = ".json"


@dataclass(frozen=True, slots=True)
class Product:
    """A catalog item, as stored in DynamoDB (numbers as Python int/float here)."""

    id: str
    title: str
    brand: str
    category: str  # a path, e.g. "Audio > Headphones > Over-ear"
    price: float
    currency: str
    in_stock: bool
    version: int
    description: str = ""
    rating: float | None = None  # 0..5
    review_count: int = 0
    tags: tuple[str, ...] = ()
    image_url: str | None = None
    created_at: str | None = None  # ISO-8601, UTC
    updated_at: str | None = None  # ISO-8601, UTC

    @property
    def category_levels(self) -> tuple[str, ...]:
        return split_category(self.category)


@dataclass(frozen=True, slots=True)
class Content:
    """Rich per-product content from ``products/{id}.json``."""

    id: str
    version: int
    long_description: str = ""
    specifications: Mapping[str, str] = field(default_factory=dict)
    images: tuple[str, ...] = ()


def split_category(path: str) -> tuple[str, ...]:
    """``"Audio > Headphones"`` -> ``("Audio", "Headphones")``; tolerant of spacing."""
    return tuple(part.strip() for part in path.split(">") if part.strip())


def category_ancestors(path: str) -> tuple[str, ...]:
    """Every prefix path of a category, shortest first, in canonical spacing.

    ``"Audio > Headphones > Over-ear"`` -> ``("Audio", "Audio > Headphones",
    "Audio > Headphones > Over-ear")``. Indexing these makes a category filter match
    the category and all its descendants with one exact term.
    """
    levels = split_category(path)
    return tuple(CATEGORY_SEPARATOR.join(levels[: i + 1]) for i in range(len(levels)))


def content_key(product_id: str) -> str:
    return f"{CONTENT_PREFIX}{product_id}{CONTENT_SUFFIX}"


def product_id_from_key(key: str) -> str | None:
    """``products/{id}.json`` -> id; any other key -> None (not ours to index)."""
    if not (key.startswith(CONTENT_PREFIX) and key.endswith(CONTENT_SUFFIX)):
        return None
    pid = key[len(CONTENT_PREFIX) : -len(CONTENT_SUFFIX)]
    if not pid or "/" in pid:
        return None
    return pid
