"""The tantivy side of the one declarative field list (:data:`catalog.schema.FIELDS`).

Nothing here describes a field again: every physical tantivy field is derived from the
schema's kinds and flags, following the sub-field naming rule in :mod:`catalog.schema`
(``__`` for ``.``):

* text ``f``: ``f`` (stemmed) and, for the autocomplete field, ``f__exact`` (folded,
  unstemmed: exact and typo matching; see :func:`_has_exact`).
  Autocomplete (``f.prefix`` in OpenSearch) needs no extra field here: the prefix query
  walks the term dictionary of ``f__exact``, which is what edge n-grams buy OpenSearch.
* keyword ``f``: ``f`` (the label as written; a fast field when facetable or sortable),
  ``f__key`` (folded, for filters) when filterable, ``f__text`` (stemmed) when
  searchable; hierarchical also ``f_path__key`` (the folded key of every ancestor path:
  a filter matches the category and its descendants with one term; the facet needs no
  ancestor labels, it adds the single-valued leaf counts up).
* float/integer/bool: indexed and fast; date: epoch milliseconds as an integer (exact
  equality for cursors, no time zone round trips).

Engine bookkeeping, not catalog fields: ``_source`` (stored JSON of the whole document
state: the read-modify-write base of ``apply``), ``_hit`` (stored JSON of the display
fields: a search hit decodes only these), ``_idkey`` (an integer that sorts like the id:
ties are ordered by id without sorting on a text field), ``_visible`` (has an item and is not
tombstoned: every read filters on it), ``_rank`` (the in-stock and rating multiplier
of :data:`catalog.schema.RELEVANCE`, applied with ``weight_by_field``) and ``_bands`` (a
keyword fast field: the bucket of every ``ranges``/``minimum`` facet in one short code, see
:func:`band_facets`: a terms aggregation over it counts the price and rating facets ~5x
cheaper than range aggregations over the float columns).

This module imports tantivy: only the embedded adapter imports it, never a Lambda.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

import tantivy

from catalog.analysis import STOPWORDS, token_pattern
from catalog.convert import content_fields, item_fields
from catalog.model import Content
from catalog.schema import FACETS, FIELDS, RELEVANCE, SEARCHABLE, Field, Kind, subfield
from catalog.text import fold

SEP = "__"
STEMMED = "sf_stemmed"
FOLDED = "sf_folded"
RAW = "raw"
SOURCE = "_source"
IDKEY = "_idkey"  # u64: the id's first 8 bytes, big-endian: sorts like the id up to that prefix
HIT = "_hit"  # stored: the display fields of a visible product (what a search hit needs)
HIT_FIELDS = ("id", "title", "brand", "category", "price", "currency", "rating", "review_count", "in_stock",
              "image_url", "description")
VISIBLE = "_visible"
RANK = "_rank"
CELL = "_cell"  # keyword fast field: JSON [brand, category] (null when missing): one flat terms aggregation
CELL_FIELDS = ("brand", "category")  # counts every (brand, leaf category) cell for the filtered facets
BANDS = "_bands"  # keyword fast field: one character per band facet (its bucket index, "-" for none)
BAND_DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"
ID = "id"
ANALYZER_VERSION = "regex+lowercase+ascii_fold+stop[+english]/2"  # bump when _analyzer changes


def tantivy_name(name: str, *subs: str) -> str:
    for sub in subs:
        name = subfield(name, sub, SEP)
    return name


def path_name(name: str) -> str:
    """The ancestor-path field of a hierarchical keyword (``category_path``)."""
    return subfield(name, "path", "_")


# ---------------------------------------------------------------- analyzers
def _analyzer(stem: bool) -> tantivy.TextAnalyzer:
    # the chain of catalog.analysis: its token pattern, lowercase, ASCII folding, the
    # possessive stop word, and (stemmed fields) Snowball English = OpenSearch's porter2
    builder = (tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.regex(token_pattern("rust")))
               .filter(tantivy.Filter.lowercase())
               .filter(tantivy.Filter.ascii_fold())
               .filter(tantivy.Filter.custom_stopword(list(STOPWORDS))))
    if stem:
        builder = builder.filter(tantivy.Filter.stemmer("english"))
    return builder.build()


@lru_cache(maxsize=1)
def analyzers() -> dict[str, tantivy.TextAnalyzer]:
    """The custom analyzers by tokenizer name (register them after every open)."""
    return {STEMMED: _analyzer(True), FOLDED: _analyzer(False)}


def register_tokenizers(index: tantivy.Index) -> None:
    for name, analyzer in analyzers().items():
        index.register_tokenizer(name, analyzer)


# ---------------------------------------------------------------- facet bands
@dataclass(frozen=True, slots=True)
class BandFacet:
    """A ``ranges``/``minimum`` facet counted from ``_bands``: its position in the code and its
    disjoint buckets ``[lo, hi)`` (``None`` open) in the order the facet reports them."""

    name: str
    field: str
    position: int
    edges: tuple[tuple[float | None, float | None], ...]


def minimum_edges(minimums: tuple[float, ...]) -> tuple[tuple[float, float | None], ...]:
    """Disjoint ``[m_i, m_i+1)`` buckets of a ``minimum`` facet, ascending (summed into "at least")."""
    asc = sorted(set(float(m) for m in minimums))
    return tuple((m, asc[i + 1] if i + 1 < len(asc) else None) for i, m in enumerate(asc))


def _disjoint(edges: tuple[tuple[float | None, float | None], ...]) -> bool:
    lo_of = [(-math.inf if lo is None else lo, math.inf if hi is None else hi) for lo, hi in edges]
    ordered = sorted(lo_of)
    return all(a[1] <= b[0] for a, b in itertools.pairwise(ordered)) and all(lo < hi for lo, hi in lo_of)


@lru_cache(maxsize=1)
def band_facets() -> dict[str, BandFacet]:
    """The range-like facets whose buckets are disjoint (each value is in at most one bucket), by name."""
    out: dict[str, BandFacet] = {}
    for facet in FACETS:
        if facet.kind == "ranges":
            edges = tuple((None if lo is None else float(lo), None if hi is None else float(hi))
                          for lo, hi in facet.ranges)
        elif facet.kind == "minimum":
            edges = minimum_edges(facet.minimums)
        else:
            continue
        if edges and len(edges) <= len(BAND_DIGITS) and _disjoint(edges):
            out[facet.name] = BandFacet(facet.name, facet.field, len(out), edges)
    return out


def band_code(item: Mapping[str, Any]) -> str:
    """The ``_bands`` value of an item: per band facet the index of the bucket holding its value
    (the same test as a range aggregation: ``lo <= v < hi`` on the stored float), ``-`` for none."""
    chars = []
    for bf in band_facets().values():
        raw = item.get(bf.field)
        char = "-"
        if raw is not None:
            v = float(raw)
            for i, (lo, hi) in enumerate(bf.edges):
                if (lo is None or v >= lo) and (hi is None or v < hi):
                    char = BAND_DIGITS[i]
                    break
        chars.append(char)
    return "".join(chars)


# ---------------------------------------------------------------- physical fields
def _date_ms(value: Any) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, int | float):
        return int(value)
    return int(datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp() * 1000)


@lru_cache(maxsize=65536)
def _fold(value: str) -> str:
    return fold(value)  # keyword values repeat (brands, categories): fold each once


_CONVERT: dict[str, Callable[[Any], Any]] = {
    "text": lambda v: v or None,
    "raw": lambda v: v or None,
    "fold": lambda v: _fold(v) if v else None,
    "float": lambda v: None if v is None else float(v),
    "int": lambda v: None if v is None else int(v),
    "bool": lambda v: None if v is None else bool(v),
    "date": _date_ms,
}


@dataclass(frozen=True, slots=True)
class PhysicalField:
    name: str  # tantivy field name
    source: str  # key in the document fields (convert.item_fields / content_fields)
    conv: str  # key of _CONVERT
    multi: bool = False


@dataclass(frozen=True, slots=True)
class SearchField:
    """One searchable schema field as two tantivy fields, with its boost."""

    name: str
    stemmed: str
    exact: str | None  # None: matched stemmed only (see _has_exact)
    boost: float
    autocomplete: bool


def _has_exact(f: Field) -> bool:
    """Whether a searchable field gets its unstemmed copy (``f__exact``, ``f__text__exact``).

    Only the autocomplete field (the title: what shoppers type) is matched exactly and
    with typos; every other searchable field is matched stemmed. An exact copy of the
    long fields would double their indexing work and, as a scoring clause, the cost of
    every search over common words, for a nudge that the title already gives.
    """
    return f.autocomplete


def _text_field(name: str, **options: Any) -> Callable[[tantivy.SchemaBuilder], Any]:
    """Declares text field ``name`` with ``options`` on a schema builder."""
    return lambda b: b.add_text_field(name, **options)


def _fast_field(add: str, name: str) -> Callable[[tantivy.SchemaBuilder], Any]:
    """Declares indexed fast field ``name`` with the builder's method ``add`` (add_float_field, ...)."""
    return lambda b: getattr(b, add)(name, indexed=True, fast=True)


def _physical(f: Field) -> tuple[list[PhysicalField], Callable[[tantivy.SchemaBuilder], None]]:
    """The physical fields of one schema field, and how to declare them."""
    out: list[PhysicalField] = []
    decl: list[Callable[[tantivy.SchemaBuilder], Any]] = []
    multi = f.multi
    if not f.indexed:
        return out, lambda b: None
    if f.kind is Kind.TEXT:
        subs = ((f.name, STEMMED), (tantivy_name(f.name, "exact"), FOLDED)) if _has_exact(f) else ((f.name, STEMMED),)
        for name, tok in subs:
            out.append(PhysicalField(name, f.name, "text", multi))
            decl.append(_text_field(name, tokenizer_name=tok, index_option="freq"))
    elif f.kind is Kind.KEYWORD:
        fast = f.facetable or f.sortable
        out.append(PhysicalField(f.name, f.name, "raw", multi))
        decl.append(_text_field(f.name, stored=(f.name == ID), fast=fast, tokenizer_name=RAW, index_option="basic"))
        if f.filterable and f.name != ID:  # ids are case-sensitive: no folded key
            key = tantivy_name(f.name, "key")
            out.append(PhysicalField(key, f.name, "fold", multi))
            decl.append(_text_field(key, tokenizer_name=RAW, index_option="basic"))
        if f.searchable:
            subs = ((tantivy_name(f.name, "text"), STEMMED),)
            if _has_exact(f):
                subs += ((tantivy_name(f.name, "text", "exact"), FOLDED),)
            for name, tok in subs:
                out.append(PhysicalField(name, f.name, "text", multi))
                decl.append(_text_field(name, tokenizer_name=tok, index_option="freq"))
        if f.hierarchical:
            # only the folded ancestor keys: filters match descendants with one term; the
            # facet counts the single-valued leaf field and adds leaves up into ancestors
            path = path_name(f.name)
            key = tantivy_name(path, "key")
            out.append(PhysicalField(key, path, "fold", True))
            decl.append(_text_field(key, tokenizer_name=RAW, index_option="basic"))
    else:
        conv, add = {
            Kind.FLOAT: ("float", "add_float_field"),
            Kind.INTEGER: ("int", "add_integer_field"),
            Kind.BOOL: ("bool", "add_boolean_field"),
            Kind.DATE: ("date", "add_integer_field"),
        }[f.kind]
        out.append(PhysicalField(f.name, f.name, conv, multi))
        decl.append(_fast_field(add, f.name))

    def declare(builder: tantivy.SchemaBuilder) -> None:
        for d in decl:
            d(builder)

    return out, declare


@dataclass(frozen=True)
class PhysicalSchema:
    schema: tantivy.Schema
    fingerprint: str  # changes whenever the derived fields or analyzers change
    fields: tuple[PhysicalField, ...]
    search_fields: tuple[SearchField, ...]
    # logical field -> tantivy field for filters/facets/sorts
    key_field: Mapping[str, str]
    path_key_field: Mapping[str, str]


@lru_cache(maxsize=1)
def physical_schema() -> PhysicalSchema:
    builder = tantivy.SchemaBuilder()
    fields: list[PhysicalField] = []
    key_field: dict[str, str] = {}
    path_key_field: dict[str, str] = {}
    for f in FIELDS:
        phys, declare = _physical(f)
        declare(builder)
        fields.extend(phys)
        if f.kind is Kind.KEYWORD and f.filterable and f.name != ID:
            key_field[f.name] = tantivy_name(f.name, "key")
        if f.hierarchical:
            path_key_field[f.name] = tantivy_name(path_name(f.name), "key")
    builder.add_bytes_field(SOURCE, stored=True)
    builder.add_bytes_field(HIT, stored=True)
    builder.add_boolean_field(VISIBLE, indexed=True, fast=True)
    builder.add_float_field(RANK, fast=True)
    builder.add_unsigned_field(IDKEY, fast=True)
    builder.add_text_field(BANDS, fast=True, tokenizer_name=RAW, index_option="basic")
    builder.add_text_field(CELL, fast=True, tokenizer_name=RAW, index_option="basic")
    search_fields = []
    for f in SEARCHABLE:
        if f.kind is Kind.TEXT:
            stemmed, exact = f.name, (tantivy_name(f.name, "exact") if _has_exact(f) else None)
        else:
            stemmed = tantivy_name(f.name, "text")
            exact = tantivy_name(f.name, "text", "exact") if _has_exact(f) else None
        search_fields.append(SearchField(f.name, stemmed, exact, f.boost, f.autocomplete))
    layout = json.dumps([[pf.name, pf.conv, pf.multi] for pf in fields]
                         + [SOURCE, HIT, VISIBLE, RANK, IDKEY, ANALYZER_VERSION, token_pattern("rust"), list(STOPWORDS)]
                         + [[BANDS, bf.name, bf.field, bf.edges] for bf in band_facets().values()]
                         + [[CELL, *CELL_FIELDS]],
                         separators=(",", ":"))
    fingerprint = hashlib.blake2b(layout.encode(), digest_size=8).hexdigest()
    return PhysicalSchema(builder.build(), fingerprint, tuple(fields), tuple(search_fields), key_field,
                          path_key_field)


# ---------------------------------------------------------------- document state
def id_key(pid: str) -> int:
    """An integer that orders like the id for ids that differ in their first 8 bytes (ties
    are resolved from the stored id): ordering by a text fast field is ~10x slower."""
    return int.from_bytes(pid.encode()[:8].ljust(8, b"\0"), "big")


def rank_multiplier(in_stock: bool, rating: float | None) -> float:
    """The mild in-stock and rating multiplier of :data:`RELEVANCE`."""
    m = RELEVANCE.in_stock_boost if in_stock else 1.0
    return m * (1.0 + RELEVANCE.rating_weight * (rating or 0.0) / 5.0)


def rank_weight(in_stock: bool, rating: float | None) -> float:
    # tantivy's weight_by_field multiplies the score by log2(2 + value)
    return math.pow(2.0, rank_multiplier(in_stock, rating)) - 2.0


def hit_count(result: tantivy.SearchResult) -> int:
    """The count of a ``search(..., count=True)``."""
    count: int = result.count  # type: ignore[attr-defined]  # tantivy 0.27's .pyi omits it; it is there at run time
    return count


def content_to_source(content: Content) -> dict[str, Any]:
    return {"long_description": content.long_description, "specifications": dict(content.specifications),
            "images": list(content.images)}


def content_from_source(pid: str, version: int, data: Mapping[str, Any]) -> Content:
    return Content(id=pid, version=version, long_description=data.get("long_description") or "",
                   specifications=dict(data.get("specifications") or {}), images=tuple(data.get("images") or ()))


@lru_cache(maxsize=1)
def _plan() -> tuple[tuple[str, str, Callable[[Any], Any] | None, bool], ...]:
    """(tantivy field, source key, converter, multi) per physical field; ``None`` for the text
    and raw conversions (``v or None``), which ``build_document`` inlines."""
    return tuple((pf.name, pf.source, None if pf.conv in ("text", "raw") else _CONVERT[pf.conv], pf.multi)
                 for pf in physical_schema().fields)


def _no_default(o: Any) -> Any:
    raise TypeError(f"Object of type {type(o).__name__} is not JSON serializable")


try:  # json.dumps(..., separators=(",", ":"), ensure_ascii=False) without building an encoder per call
    from json.encoder import c_make_encoder as _c_make_encoder  # type: ignore[attr-defined]  # private, not in typeshed
    from json.encoder import encode_basestring as _encode_basestring
except ImportError:  # pragma: no cover - CPython always has the C encoder
    _c_make_encoder = None
_C_ENCODE = (None if _c_make_encoder is None else
             _c_make_encoder(None, _no_default, _encode_basestring, None, ":", ",", False, False, True))


def compact_json(value: Any) -> bytes:
    """``json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()``, ~25% cheaper."""
    if _C_ENCODE is None:  # pragma: no cover
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()
    return "".join(_C_ENCODE(value, 0)).encode()


def build_document(state: Mapping[str, Any]) -> tantivy.Document:
    """The tantivy document for a stored state (see ``EmbeddedEngine`` for its keys)."""
    ps = physical_schema()
    item = state.get("item")
    content = state.get("content")
    values: dict[str, Any] = {}
    if item is not None:
        values.update(item)
    if content is not None:
        values.update(content_fields(content_from_source(state["id"], state["content_version"], content)))
    values["id"] = state["id"]
    values["item_version"] = state.get("item_version")
    values["content_version"] = state.get("content_version")
    values["has_item"] = item is not None
    values["deleted"] = bool(state.get("deleted"))
    ts = state.get("tombstoned_at")
    values["tombstoned_at"] = None if ts is None else int(ts * 1000)
    doc: dict[str, Any] = {}
    for name, source, conv, multi in _plan():
        raw = values.get(source)
        if raw is None:
            continue
        if multi:
            seq = raw if isinstance(raw, list | tuple) else (raw,)
            converted = [c for c in seq if c] if conv is None else [c for c in map(conv, seq) if c is not None]
            if converted:
                doc[name] = converted
        elif conv is None:
            if raw:
                doc[name] = raw
        else:
            c = conv(raw)
            if c is not None:
                doc[name] = c
    visible = item is not None and not state.get("deleted")
    doc[VISIBLE] = visible
    doc[IDKEY] = id_key(state["id"])
    if item is not None:
        doc[RANK] = rank_weight(bool(item.get("in_stock")), item.get("rating"))
        if band_facets():
            doc[BANDS] = band_code(item)
        # the same values as the single-valued fast fields hold (text/raw: empty is missing)
        doc[CELL] = compact_json([item.get(f) or None for f in CELL_FIELDS]).decode()
        doc[HIT] = compact_json({k: item.get(k) for k in HIT_FIELDS})
    doc[SOURCE] = compact_json(state)
    return tantivy.Document.from_dict(doc, ps.schema)


def product_state_item(product: Any) -> dict[str, Any]:
    """The item part of a stored state: the document fields from ``convert.item_fields``."""
    fields = item_fields(product)
    price = fields.get("price")
    if price is not None and not math.isfinite(float(price)):
        raise ValueError("price: not a finite number")
    return fields
