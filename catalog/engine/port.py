"""The search engine port: what the indexer, the search API and the operator tooling
need from a search engine, and nothing about how one engine does it.

By role: :class:`SearchReader` (the search API), :class:`IndexWriter` (the indexer),
:class:`IndexAdmin` (audit, reindex, sweep); :class:`SearchEngine` is all three, as each
adapter is. The paging rules (depth limit, cursor envelope) are :mod:`catalog.engine.cursor`.

Adapters: :mod:`catalog.engine.opensearch` (Amazon OpenSearch Service / a self-run
cluster, through opensearch-py) and :mod:`catalog.engine.embedded` (tantivy, one index
directory per region: the sandbox and the tests). Both pass one contract suite
(``tests/contract``).

Write side rules (see :mod:`catalog.versioning`):

* an operation whose version is not newer than the stored version *of its source*
  (item or content) is a no-op reported as :attr:`Outcome.STALE`;
* a tombstone hides the product from every read and blocks older item upserts (at an
  equal version the tombstone wins); a newer item upsert brings the product back;
* a product with content but no item (or a tombstoned item) is not visible.

Read side: only visible products are ever returned or counted.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol, runtime_checkable

from catalog.engine.cursor import check_depth
from catalog.engine.errors import EngineError as EngineError  # re-exported: the port names its errors
from catalog.engine.errors import EngineUnavailable as EngineUnavailable
from catalog.engine.errors import IndexNotFound as IndexNotFound
from catalog.engine.errors import InvalidRequest as InvalidRequest
from catalog.model import Content, Product
from catalog.schema import DEFAULT_PAGE_SIZE, FACET_NAMES, MAX_PAGE_SIZE


# ---------------------------------------------------------------- write side
@dataclass(frozen=True, slots=True)
class UpsertItem:
    """Set the item fields of ``product.id`` if ``product.version`` is newer."""

    product: Product

    @property
    def id(self) -> str:
        return self.product.id

    @property
    def version(self) -> int:
        return self.product.version


@dataclass(frozen=True, slots=True)
class UpsertContent:
    """Set the content fields of ``content.id`` if ``content.version`` is newer."""

    content: Content

    @property
    def id(self) -> str:
        return self.content.id

    @property
    def version(self) -> int:
        return self.content.version


@dataclass(frozen=True, slots=True)
class Tombstone:
    """The item was deleted (user delete or TTL); ``version`` is the deleted item's version."""

    id: str
    version: int


@dataclass(frozen=True, slots=True)
class ClearContent:
    """The content object is gone; ``version`` orders this against content upserts."""

    id: str
    version: int


Operation = UpsertItem | UpsertContent | Tombstone | ClearContent


class Outcome(StrEnum):
    APPLIED = "applied"
    STALE = "stale"  # not newer than what is stored: dropped, and that is success
    RETRYABLE = "retryable"  # try again later (throttled, node busy, timeout)
    FAILED = "failed"  # will never succeed as sent (mapping conflict, bad document)


@dataclass(frozen=True, slots=True)
class OpResult:
    outcome: Outcome
    reason: str | None = None
    status: int | None = None  # the engine's status code for the item, where it has one

    @property
    def ok(self) -> bool:
        return self.outcome in (Outcome.APPLIED, Outcome.STALE)


@dataclass(frozen=True, slots=True)
class DocState:
    """What the index holds for one id, visible or not (audit and tests)."""

    id: str
    item_version: int | None
    content_version: int | None
    deleted: bool
    visible: bool
    product: Product | None = None
    content: Content | None = None
    tombstoned_at: float | None = None  # epoch seconds


# ---------------------------------------------------------------- read side
class Sort(StrEnum):
    RELEVANCE = "relevance"
    PRICE_ASC = "price_asc"
    PRICE_DESC = "price_desc"
    RATING_DESC = "rating_desc"
    NEWEST = "newest"


@dataclass(frozen=True)
class SearchRequest:
    """A validated search. ``text`` is raw user text: adapters normalise and tokenise it.

    ``categories`` match the category and its descendants; ``brands`` is any-of; all
    filters are ANDed. ``facets`` names which facets to compute (see
    :data:`catalog.schema.FACETS`); each is counted without its own filter.
    """

    text: str = ""
    categories: tuple[str, ...] = ()
    brands: tuple[str, ...] = ()
    price_min: float | None = None
    price_max: float | None = None
    in_stock: bool | None = None
    rating_min: float | None = None
    sort: Sort = Sort.RELEVANCE
    size: int = DEFAULT_PAGE_SIZE
    page: int = 1
    cursor: str | None = None
    facets: tuple[str, ...] = FACET_NAMES
    highlight: bool = True

    def __post_init__(self) -> None:
        if not 1 <= self.size <= MAX_PAGE_SIZE:
            raise InvalidRequest("size", f"must be between 1 and {MAX_PAGE_SIZE}")
        if self.page < 1:
            raise InvalidRequest("page", "must be 1 or more")
        check_depth(self.page, self.size)
        if self.cursor is not None and self.page != 1:
            raise InvalidRequest("cursor", "cannot be combined with page")
        unknown = [f for f in self.facets if f not in FACET_NAMES]
        if unknown:
            raise InvalidRequest("facets", f"unknown facet {unknown[0]!r}")

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.size


@dataclass(frozen=True, slots=True)
class Hit:
    id: str
    title: str
    brand: str
    category: str
    price: float
    currency: str
    rating: float | None
    review_count: int
    in_stock: bool
    image_url: str | None
    score: float | None = None
    # field -> HTML fragment, matched terms in <em>..</em> and the rest escaped; None if no match
    highlight: dict[str, str | None] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Total:
    value: int
    relation: str = "eq"  # "eq" or "gte"


@dataclass(frozen=True, slots=True)
class FacetValue:
    """A terms/hierarchy/minimum facet entry; ``value`` is what the filter accepts."""

    value: str | float
    count: int


@dataclass(frozen=True, slots=True)
class RangeBucket:
    """A price range entry: ``from_`` inclusive, ``to`` exclusive, ``None`` open."""

    from_: float | None
    to: float | None
    count: int


@dataclass(frozen=True)
class SearchResult:
    hits: list[Hit]
    total: Total
    facets: dict[str, list[FacetValue] | list[RangeBucket]]
    next_cursor: str | None  # None when there is nothing after this page
    took_ms: float = 0.0


@dataclass(frozen=True, slots=True)
class Suggestion:
    text: str
    id: str


@dataclass(frozen=True)
class Health:
    reachable: bool
    alias_present: bool
    detail: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.reachable and self.alias_present


# ---------------------------------------------------------------- the port, by role
@runtime_checkable
class SearchReader(Protocol):
    """What the search API needs: read the visible products through the alias."""

    alias: str

    def search(self, request: SearchRequest) -> SearchResult: ...

    def suggest(self, prefix: str, size: int = 10) -> list[Suggestion]:
        """Titles of visible products that complete ``prefix`` (last word as a prefix)."""
        ...

    def get(self, product_id: str) -> tuple[Product, Content | None] | None:
        """The visible product and its content, or None."""
        ...

    def count(self, *, index: str | None = None) -> int:
        """Number of visible products."""
        ...

    def health(self) -> Health: ...

    def close(self) -> None: ...


@runtime_checkable
class IndexWriter(Protocol):
    """What the indexer needs: apply versioned operations."""

    alias: str

    def apply(self, ops: Sequence[Operation], *, index: str | None = None) -> list[OpResult]:
        """Apply ``ops`` in order (to the alias, or to a physical ``index``); one result per op.

        Raises :class:`EngineUnavailable` if the engine could not take the batch at all.
        Visible to readers once this returns (read-your-writes after the batch).
        """
        ...

    def close(self) -> None: ...


@runtime_checkable
class IndexAdmin(Protocol):
    """What operations need (audit, reindex, sweep): stored states, physical indices, the alias."""

    alias: str

    def states(self, ids: Sequence[str], *, index: str | None = None) -> dict[str, DocState]:
        """Stored state for each known id (tombstones and content-only docs included)."""
        ...

    def iter_states(self, *, index: str | None = None, batch_size: int = 1000) -> Iterator[DocState]:
        """Every stored document's state, in id order, with bounded memory."""
        ...

    def create_index(self, name: str | None = None) -> str:
        """Create a new empty physical index (name generated if None); returns its name."""
        ...

    def alias_target(self) -> str | None:
        """The physical index the alias points at, or None."""
        ...

    def swap_alias(self, new_index: str) -> str | None:
        """Point the alias at ``new_index`` atomically; returns the previous target."""
        ...

    def indices(self) -> list[str]:
        """Physical indices of this alias's family, oldest first."""
        ...

    def delete_index(self, name: str) -> None: ...

    def purge_tombstones(self, older_than_seconds: float) -> int:
        """Remove tombstones written more than ``older_than_seconds`` ago; returns how many."""
        ...

    def close(self) -> None: ...


@runtime_checkable
class SearchEngine(SearchReader, IndexWriter, IndexAdmin, Protocol):
    """One region's product index, addressed through its alias: every role (both adapters)."""
