"""THE index schema: one declarative field list, and every weight that shapes relevance.

Both engines derive their physical schema from :data:`FIELDS`:

* :func:`opensearch_index_body` here (plain dicts: the CDK bootstrap custom resource
  and the OpenSearch adapter both use it), and
* ``catalog.engine.embedded`` builds the tantivy schema from the same list.

No field is described anywhere else. To add a field: add it here and to the model
(:mod:`catalog.model`) and its conversion (:mod:`catalog.convert`).

Physical sub-fields follow one naming rule so that both engines agree:

* text ``f``: ``f`` (English, stemmed) and ``f.exact`` (folded, unstemmed: exact and
  typo matching); with ``autocomplete`` also ``f.prefix`` (edge n-grams).
* keyword ``f``: ``f`` keeps the label as written (display, facet values) and ``f.key``
  is the folded key that filters match; with ``searchable`` also ``f.text`` (stemmed) and
  its unstemmed copy (OpenSearch ``f.exact``: a multi-field cannot have multi-fields of
  its own; tantivy ``f__text__exact``).
* hierarchical keyword ``f``: additionally a multi-valued field ``f_path`` with every
  ancestor path label (facets) and ``f_path.key`` with their folded keys (a filter on
  one path matches it and all its descendants).

tantivy has no dotted sub-fields; it uses ``__`` instead of ``.`` (``title__exact``).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from catalog.analysis import AUTOCOMPLETE, FOLDED, STEMMED, opensearch_analysis


class Kind(StrEnum):
    TEXT = "text"
    KEYWORD = "keyword"
    FLOAT = "float"
    INTEGER = "integer"
    BOOL = "bool"
    DATE = "date"


class Source(StrEnum):
    ITEM = "item"  # DynamoDB item
    CONTENT = "content"  # S3 products/{id}.json
    SYSTEM = "system"  # bookkeeping written by the engine adapters


@dataclass(frozen=True)
class Field:
    name: str
    kind: Kind
    source: Source = Source.ITEM
    searchable: bool = False  # part of full-text matching, weighted by ``boost``
    boost: float = 0.0
    filterable: bool = False
    facetable: bool = False
    sortable: bool = False
    autocomplete: bool = False
    highlight: bool = False
    hierarchical: bool = False  # a " > " separated path; filters match descendants
    multi: bool = False  # a list of values
    indexed: bool = True  # False: kept in the stored source only


FIELDS: tuple[Field, ...] = (
    Field("id", Kind.KEYWORD, filterable=True, sortable=True),
    Field("title", Kind.TEXT, searchable=True, boost=6.0, autocomplete=True, highlight=True),
    Field("brand", Kind.KEYWORD, searchable=True, boost=3.0, filterable=True, facetable=True),
    Field("category", Kind.KEYWORD, searchable=True, boost=2.0, filterable=True, facetable=True,
          hierarchical=True),
    Field("tags", Kind.KEYWORD, searchable=True, boost=1.5, multi=True),
    Field("description", Kind.TEXT, searchable=True, boost=1.0, highlight=True),
    Field("price", Kind.FLOAT, filterable=True, facetable=True, sortable=True),
    Field("currency", Kind.KEYWORD, indexed=False),
    Field("rating", Kind.FLOAT, filterable=True, facetable=True, sortable=True),
    Field("review_count", Kind.INTEGER, sortable=True),
    Field("in_stock", Kind.BOOL, filterable=True),
    Field("image_url", Kind.KEYWORD, indexed=False),
    Field("created_at", Kind.DATE, sortable=True),
    Field("updated_at", Kind.DATE, indexed=False),
    # S3 rich content
    Field("long_description", Kind.TEXT, Source.CONTENT, searchable=True, boost=0.5),
    Field("specifications", Kind.TEXT, Source.CONTENT, searchable=True, boost=0.5),  # "key: value" lines
    Field("images", Kind.KEYWORD, Source.CONTENT, multi=True, indexed=False),
    # bookkeeping (the versioning and tombstone rules; see catalog.versioning)
    Field("item_version", Kind.INTEGER, Source.SYSTEM, filterable=True),
    Field("content_version", Kind.INTEGER, Source.SYSTEM, filterable=True),
    Field("has_item", Kind.BOOL, Source.SYSTEM, filterable=True),
    Field("deleted", Kind.BOOL, Source.SYSTEM, filterable=True),
    Field("tombstoned_at", Kind.DATE, Source.SYSTEM, filterable=True),
)

BY_NAME: dict[str, Field] = {f.name: f for f in FIELDS}
ITEM_FIELDS: tuple[Field, ...] = tuple(f for f in FIELDS if f.source is Source.ITEM)
CONTENT_FIELDS: tuple[Field, ...] = tuple(f for f in FIELDS if f.source is Source.CONTENT)
SEARCHABLE: tuple[Field, ...] = tuple(f for f in FIELDS if f.searchable)
HIGHLIGHTED: tuple[Field, ...] = tuple(f for f in FIELDS if f.highlight)


# ---------------------------------------------------------------- facets
@dataclass(frozen=True)
class Facet:
    """A facet the API offers. ``field`` is the schema field it counts.

    * ``terms``: values with counts (largest first, at most ``size``); ``value`` is what
      the matching filter parameter accepts.
    * ``hierarchy``: category paths: the top level, plus the children of each selected
      category (drill-down).
    * ``ranges``: fixed ``(from, to)`` buckets, ``to`` exclusive, ``None`` open.
    * ``minimum``: "at least x" buckets (``rating_min``).
    """

    name: str
    field: str
    kind: str
    size: int = 20
    ranges: tuple[tuple[float | None, float | None], ...] = ()
    minimums: tuple[float, ...] = ()


FACETS: tuple[Facet, ...] = (
    Facet("category", "category", "hierarchy", size=50),
    Facet("brand", "brand", "terms", size=25),
    Facet("price", "price", "ranges",
          ranges=((0, 25), (25, 50), (50, 100), (100, 250), (250, 500), (500, 1000), (1000, None))),
    Facet("rating", "rating", "minimum", minimums=(4.0, 3.0, 2.0, 1.0)),
)
FACET_NAMES: tuple[str, ...] = tuple(f.name for f in FACETS)
FACETS_BY_NAME: dict[str, Facet] = {f.name: f for f in FACETS}


# ---------------------------------------------------------------- relevance
@dataclass(frozen=True)
class Relevance:
    """Every weight of the ranking, in one place (field boosts are on :data:`FIELDS`).

    * an exact (unstemmed) match of a term scores ``exact_factor`` x the field boost,
      the stemmed match 1x, a typo (fuzzy) match ``fuzzy_factor`` x, and the last term
      as a prefix ``prefix_factor`` x: exact > stemmed > prefix > typo.
    * which terms match with typos or as a prefix: :data:`catalog.analysis.TYPO` and
      :data:`catalog.analysis.PREFIX` (matching rules, not weights).
    * in-stock products are multiplied by ``in_stock_boost``; rating adds
      ``rating_weight`` x rating / 5 as a multiplier (mild).
    """

    exact_factor: float = 1.5
    fuzzy_factor: float = 0.3
    prefix_factor: float = 0.6
    in_stock_boost: float = 1.15
    rating_weight: float = 0.1


RELEVANCE = Relevance()


# ---------------------------------------------------------------- limits
MAX_QUERY_CHARS = 200
MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 20
MAX_DEPTH = 10_000  # page x size; deeper paging uses the cursor
MAX_FILTER_VALUES = 20  # per repeatable filter
MAX_SUGGEST_SIZE = 20
HIGHLIGHT_PRE = "<em>"
HIGHLIGHT_POST = "</em>"


def subfield(name: str, sub: str, sep: str = ".") -> str:
    """The physical name of a derived sub-field (``sep`` is "__" for tantivy)."""
    return f"{name}{sep}{sub}"


# ---------------------------------------------------------------- OpenSearch
# the analyzers (tokens, folding, stemming, prefixes) are defined once in catalog.analysis
OPENSEARCH_ANALYSIS: dict[str, Any] = opensearch_analysis()

_OS_SCALARS = {
    # double, not scaled_float/half_float: a filter bound is compared with exactly the
    # value the writer sent (half_float stores 3.7 as 3.69921875, so rating >= 3.7 would
    # miss it; scaled_float rounds bounds after a binary multiplication)
    Kind.FLOAT: {"type": "double"},
    Kind.INTEGER: {"type": "long"},
    Kind.BOOL: {"type": "boolean"},
    Kind.DATE: {"type": "date", "format": "strict_date_optional_time||epoch_millis"},
}


def _opensearch_property(f: Field) -> dict[str, Any]:
    if not f.indexed:
        # kept in _source for display, not indexed
        return {"type": "keyword", "index": False, "doc_values": False}
    if f.kind is Kind.TEXT:
        prop: dict[str, Any] = {
            "type": "text",
            "analyzer": STEMMED,
            "fields": {"exact": {"type": "text", "analyzer": FOLDED}},
        }
        if f.autocomplete:
            prop["fields"]["prefix"] = {"type": "text", "analyzer": AUTOCOMPLETE, "search_analyzer": FOLDED}
        if f.highlight:
            prop["term_vector"] = "with_positions_offsets"
        return prop
    if f.kind is Kind.KEYWORD:
        prop = {"type": "keyword", "fields": {"key": {"type": "keyword", "normalizer": "folded"}}}
        if f.searchable:
            # siblings, not a multi-field inside a multi-field (deprecated since 7.3, gone later)
            prop["fields"]["text"] = {"type": "text", "analyzer": STEMMED}
            prop["fields"]["exact"] = {"type": "text", "analyzer": FOLDED}
        return prop
    return dict(_OS_SCALARS[f.kind])


def opensearch_mappings() -> dict[str, Any]:
    props: dict[str, Any] = {}
    for f in FIELDS:
        props[f.name] = _opensearch_property(f)
        if f.hierarchical:
            props[subfield(f.name, "path", "_")] = {
                "type": "keyword",
                "fields": {"key": {"type": "keyword", "normalizer": "folded"}},
            }
    return {"dynamic": "strict", "properties": props}


def opensearch_index_body(shards: int = 1, replicas: int = 1) -> dict[str, Any]:
    """The body of ``PUT /<physical index>``: settings, analysis and strict mappings.

    Hierarchical fields get an ``<name>_path`` keyword field with every ancestor path
    (``category_path``; ``category_path.key`` is the folded filter key).
    """
    return {
        "settings": {
            "index": {
                "number_of_shards": shards,
                "number_of_replicas": replicas,
                "max_result_window": MAX_DEPTH,
                # a tombstone is a document, so plain-delete GC does not matter for it
                "refresh_interval": "1s",
            },
            "analysis": OPENSEARCH_ANALYSIS,
        },
        "mappings": opensearch_mappings(),
    }
