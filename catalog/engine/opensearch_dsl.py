"""Pure request/response code of the OpenSearch adapter: no client, no I/O, no opensearch-py.

Everything the adapter sends is built here from the one schema (:mod:`catalog.schema`)
and everything it receives is parsed here, so the unit tests check exact request bodies
and real response shapes without a cluster:

* write side: :func:`bulk_body` (NDJSON for ``_bulk``; scripted upserts that enforce the
  versioning rule of :mod:`catalog.versioning` on the server) and
  :func:`bulk_outcomes` (bulk response -> one :class:`OpResult` per operation);
* read side: :func:`search_body` (a :class:`SearchRequest` -> search DSL) and
  :func:`parse_search` (search response -> :class:`SearchResult`), the opaque cursor,
  :func:`suggest_body`, and :func:`doc_state` (stored ``_source`` -> :class:`DocState`);
* operations: :func:`aliases_body` (atomic alias swap), :func:`purge_queries`.

User text never becomes query syntax: it is tokenised with :func:`catalog.analysis.split`
(the index analyzers' own tokens) and each token is placed into ``multi_match``/``match``
queries built here (never ``query_string``).
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from catalog.analysis import (
    MAX_TERMS,
    PREFIX,
    SUGGEST_OVERFETCH,
    TOTAL_EXACT_UP_TO,
    TYPO,
    distinct_titles,
    split,
)
from catalog.convert import content_fields, item_fields, product_from_fields
from catalog.engine import cursor
from catalog.engine.port import (
    ClearContent,
    DocState,
    FacetValue,
    Hit,
    Operation,
    OpResult,
    Outcome,
    RangeBucket,
    SearchRequest,
    SearchResult,
    Sort,
    Suggestion,
    Tombstone,
    Total,
    UpsertContent,
    UpsertItem,
)
from catalog.model import CATEGORY_SEPARATOR, Content, split_category
from catalog.schema import (
    FACETS_BY_NAME,
    HIGHLIGHT_POST,
    HIGHLIGHT_PRE,
    HIGHLIGHTED,
    ITEM_FIELDS,
    MAX_SUGGEST_SIZE,
    RELEVANCE,
    SEARCHABLE,
    Kind,
    subfield,
)
from catalog.text import fold

# ---------------------------------------------------------------- write side
RETRY_ON_CONFLICT = 3
CATEGORY_PATH = subfield("category", "path", "_")

# Fields a tombstone removes: everything the item brought, except the id.
_ITEM_DOC_FIELDS: tuple[str, ...] = (*(f.name for f in ITEM_FIELDS if f.name != "id"), CATEGORY_PATH)


def _painless(source: str) -> str:
    """Collapse the readable script below into one line (the server caches it compiled)."""
    return " ".join(source.split())


# The versioning rule (catalog.versioning), enforced on the server. Each script is
# either a no-op (ctx.op = 'none' -> bulk result "noop" -> Outcome.STALE) or writes the
# whole source's fields plus the bookkeeping fields. ``scripted_upsert`` runs the same
# script on an empty document when the id is new, so "nothing stored" always applies.
#
# item upsert: applies only if its version is greater than the stored item version
# (at an equal version a stored upsert is a replay and a stored tombstone wins).
ITEM_UPSERT_SCRIPT = _painless("""
    def s = ctx._source;
    long v = ((Number) params.version).longValue();
    long sv = s.item_version == null ? -1L : ((Number) s.item_version).longValue();
    if (sv >= v) {
      ctx.op = 'none';
    } else {
      s.putAll(params.doc);
      s.item_version = v;
      s.has_item = true;
      s.deleted = false;
      s.tombstoned_at = null;
    }
""")

# tombstone: applies if its version is greater than the stored item version, or equal
# to it while the stored item is not deleted (a delete follows the write it deletes).
TOMBSTONE_SCRIPT = _painless("""
    def s = ctx._source;
    long v = ((Number) params.version).longValue();
    long sv = s.item_version == null ? -1L : ((Number) s.item_version).longValue();
    if (sv > v || (sv == v && s.deleted == true)) {
      ctx.op = 'none';
    } else {
      for (def f : ITEM_DOC_FIELDS) { s.remove(f); }
      s.id = params.id;
      s.item_version = v;
      s.has_item = false;
      s.deleted = true;
      s.tombstoned_at = params.at;
    }
""").replace("ITEM_DOC_FIELDS", json.dumps(list(_ITEM_DOC_FIELDS)).replace('"', "'"))

# content upsert or clear (params.doc carries nulls): applies only if its version is
# greater than the stored content version. A content-only document is not visible.
CONTENT_SCRIPT = _painless("""
    def s = ctx._source;
    long v = ((Number) params.version).longValue();
    long sv = s.content_version == null ? -1L : ((Number) s.content_version).longValue();
    if (sv >= v) {
      ctx.op = 'none';
    } else {
      s.putAll(params.doc);
      s.id = params.id;
      s.content_version = v;
      if (s.has_item == null) { s.has_item = false; s.deleted = false; }
    }
""")

# purge: a tombstone that also holds content keeps the content and forgets the item.
FORGET_ITEM_SCRIPT = _painless("""
    ctx._source.remove('item_version');
    ctx._source.remove('tombstoned_at');
    ctx._source.has_item = false;
    ctx._source.deleted = false;
""")

_DUMPS = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def _script_prefix(source: str) -> str:
    return '{"scripted_upsert":true,"upsert":{},"script":{"lang":"painless","source":' + _DUMPS(source) + ',"params":'


_ITEM_PREFIX = _script_prefix(ITEM_UPSERT_SCRIPT)
_TOMBSTONE_PREFIX = _script_prefix(TOMBSTONE_SCRIPT)
_CONTENT_PREFIX = _script_prefix(CONTENT_SCRIPT)


def op_script(op: Operation, *, now_ms: int) -> tuple[str, dict[str, Any]]:
    """The script source and params of one operation (what :func:`bulk_body` sends)."""
    if isinstance(op, UpsertItem):
        return ITEM_UPSERT_SCRIPT, {"version": op.version, "doc": item_fields(op.product)}
    if isinstance(op, Tombstone):
        return TOMBSTONE_SCRIPT, {"id": op.id, "version": op.version, "at": now_ms}
    if isinstance(op, UpsertContent):
        return CONTENT_SCRIPT, {"id": op.id, "version": op.version, "doc": content_fields(op.content)}
    if isinstance(op, ClearContent):
        return CONTENT_SCRIPT, {"id": op.id, "version": op.version, "doc": content_fields(None)}
    raise TypeError(f"not an engine operation: {type(op).__name__}")


_PREFIXES = {ITEM_UPSERT_SCRIPT: _ITEM_PREFIX, TOMBSTONE_SCRIPT: _TOMBSTONE_PREFIX, CONTENT_SCRIPT: _CONTENT_PREFIX}


def bulk_body(ops: Sequence[Operation], index: str | None = None, *, now_ms: int | None = None) -> bytes:
    """The NDJSON body of one ``_bulk`` request: an ``update`` action and a scripted
    upsert per operation, in order (one bulk item per operation).

    ``index`` is named in every action line; ``None`` leaves it out, for a request whose
    path names the index (``POST /<index>/_bulk``): what the engine sends, so that the
    domain can refuse indices named in bodies (``rest.action.multi.allow_explicit_index``
    false) and the IAM grant on the path is the whole truth.
    ``now_ms`` stamps tombstones (``tombstoned_at``, epoch milliseconds; default: now).
    """
    if now_ms is None:
        now_ms = time.time_ns() // 1_000_000
    target = '"_index":' + _DUMPS(index) + "," if index is not None else ""
    lines: list[str] = []
    for op in ops:
        source, params = op_script(op, now_ms=now_ms)
        lines.append('{"update":{' + target + '"_id":' + _DUMPS(op.id)
                     + ',"retry_on_conflict":' + str(RETRY_ON_CONFLICT) + "}}")
        lines.append(_PREFIXES[source] + _DUMPS(params) + "}}")
    lines.append("")
    return "\n".join(lines).encode()


# Item errors that succeed when sent again later.
RETRYABLE_STATUS = frozenset({409, 429, 500, 502, 503, 504})
RETRYABLE_TYPES = frozenset({
    "es_rejected_execution_exception", "rejected_execution_exception", "too_many_requests",
    "circuit_breaking_exception", "version_conflict_engine_exception", "unavailable_shards_exception",
    "no_shard_available_action_exception", "node_not_connected_exception", "process_cluster_event_timeout_exception",
    "cluster_block_exception", "index_not_found_exception",
})


def error_reason(error: Any) -> str:
    """``type: reason (caused by: type: reason)`` of an OpenSearch error object."""
    if not isinstance(error, Mapping):
        return str(error)
    text = f"{error.get('type', 'error')}: {error.get('reason', '')}".rstrip(": ")
    cause = error.get("caused_by")
    if isinstance(cause, Mapping):
        text += f" (caused by {error_reason(cause)})"
    return text


def item_outcome(item: Mapping[str, Any]) -> OpResult:
    """One bulk response item -> its :class:`OpResult`.

    ``noop`` (the script found the stored version newer or equal) is STALE. Errors: 429,
    rejected execution, 409 (still conflicting after ``retry_on_conflict``), 5xx and a
    missing index (bootstrap not done yet) are RETRYABLE; 400 and other 4xx are FAILED.
    """
    body = next(iter(item.values())) if len(item) == 1 else item
    status = body.get("status")
    error = body.get("error")
    if error is None and isinstance(status, int) and 200 <= status < 300:
        if body.get("result") == "noop":
            return OpResult(Outcome.STALE, status=status)
        return OpResult(Outcome.APPLIED, status=status)
    reason = error_reason(error) if error is not None else f"status {status}"
    etype = error.get("type") if isinstance(error, Mapping) else None
    if status in RETRYABLE_STATUS or etype in RETRYABLE_TYPES or (isinstance(status, int) and status >= 500):
        return OpResult(Outcome.RETRYABLE, reason=reason, status=status)
    return OpResult(Outcome.FAILED, reason=reason, status=status)


class BulkResponseError(ValueError):
    """The bulk response does not line up with the request (one item per operation)."""


def bulk_outcomes(response: Mapping[str, Any], count: int) -> list[OpResult]:
    """A ``_bulk`` response -> one :class:`OpResult` per operation, in request order."""
    items = response.get("items")
    if not isinstance(items, list) or len(items) != count:
        got = len(items) if isinstance(items, list) else "no"
        raise BulkResponseError(f"bulk response has {got} items for {count} operations")
    return [item_outcome(item) for item in items]


# ---------------------------------------------------------------- visibility
VISIBLE: tuple[dict[str, Any], ...] = (
    {"term": {"has_item": True}},
    {"term": {"deleted": False}},
)


def visible_query() -> dict[str, Any]:
    """Only products whose item is present and not tombstoned."""
    return {"bool": {"filter": list(VISIBLE)}}


# ---------------------------------------------------------------- text query
# The matching rules are catalog.analysis's (TYPO, PREFIX, MAX_TERMS); the index analyzers
# are its chain, and the query is split with its token pattern (catalog.analysis.split).
MAX_CLAUSES = 1024  # indices.query.bool.max_clause_count (2.x default), counted after rewriting


def _boost(value: float) -> str:
    return f"{value:g}"


def _stemmed_name(name: str, kind: Kind) -> str:
    return name if kind is Kind.TEXT else subfield(name, "text")


STEMMED_FIELDS: tuple[str, ...] = tuple(f"{_stemmed_name(f.name, f.kind)}^{_boost(f.boost)}" for f in SEARCHABLE)
# exact (unstemmed) matches score more on the field shoppers type into: the title
EXACT_FIELDS: tuple[str, ...] = tuple(
    f"{subfield(f.name, 'exact')}^{_boost(f.boost * RELEVANCE.exact_factor)}" for f in SEARCHABLE if f.autocomplete
)
# typo matching runs on the unstemmed copies of TYPO.fields at the plain field boost (x fuzzy_factor)
FUZZY_FIELDS: tuple[str, ...] = tuple(
    f"{subfield(f.name, 'exact')}^{_boost(f.boost)}" for f in SEARCHABLE if f.name in TYPO.fields
)
PREFIX_FIELDS: tuple[str, ...] = tuple(
    f"{subfield(f.name, 'prefix')}^{_boost(f.boost * RELEVANCE.prefix_factor)}" for f in SEARCHABLE
    if f.name in PREFIX.fields
)


def query_terms(text: str) -> list[str]:
    """The query's tokens as written: each one is a token of the index analyzers."""
    return split(text)[:MAX_TERMS]


def term_query(term: str, *, last: bool) -> dict[str, Any]:
    """Where one term may match: stemmed (1x), unstemmed (exact_factor x), with typos
    (fuzzy_factor x; ``AUTO`` gives the edits of :data:`TYPO` by the analysed token's
    length) and, for the last term, as a prefix of a title word (prefix_factor x; the
    edge n-grams hold prefixes up to ``PREFIX.max_chars``). exact > stemmed > prefix > typo."""
    should: list[dict[str, Any]] = [
        {"multi_match": {"query": term, "type": "best_fields", "fields": list(STEMMED_FIELDS)}},
    ]
    if EXACT_FIELDS:
        should.append({"multi_match": {"query": term, "type": "best_fields", "fields": list(EXACT_FIELDS)}})
    if FUZZY_FIELDS:
        should.append({"multi_match": {
            "query": term, "type": "best_fields", "fields": list(FUZZY_FIELDS), "fuzziness": TYPO.fuzziness,
            "prefix_length": TYPO.prefix_length, "max_expansions": TYPO.max_expansions,
            "fuzzy_transpositions": TYPO.transpositions, "boost": RELEVANCE.fuzzy_factor,
        }})
    if last and PREFIX_FIELDS:
        should.append({"multi_match": {"query": term, "type": "best_fields", "fields": list(PREFIX_FIELDS)}})
    return {"bool": {"should": should, "minimum_should_match": 1}}


def text_query(terms: Sequence[str]) -> list[dict[str, Any]]:
    """Every term must match somewhere (AND over terms, OR over ways and fields)."""
    return [term_query(t, last=i == len(terms) - 1) for i, t in enumerate(terms)]


def clause_count(query: Any) -> int:
    """Lucene clauses of a query after rewriting, as ``max_clause_count`` counts them: a
    ``multi_match`` is one clause per field (its token is one term), times
    ``max_expansions`` when fuzzy; a compound query adds its children."""
    if isinstance(query, list):
        return sum(clause_count(q) for q in query)
    if not isinstance(query, Mapping):
        return 0
    if "multi_match" in query:
        mm = query["multi_match"]
        per_field = mm.get("max_expansions", 50) if mm.get("fuzziness") not in (None, 0, "0") else 1
        return len(mm.get("fields") or [""]) * per_field
    if "bool" in query:
        b = query["bool"]
        return sum(clause_count(b.get(k) or []) for k in ("must", "should", "filter", "must_not"))
    if "function_score" in query:
        fs = query["function_score"]
        return clause_count(fs.get("query")) + sum(clause_count(f.get("filter")) for f in fs.get("functions", []))
    return 1  # a leaf: term, range, match_all, ...


def _ranked(query: dict[str, Any]) -> dict[str, Any]:
    """Mild business boosts on top of text relevance: in stock x in_stock_boost and
    x (1 + rating_weight x rating / 5), both as multipliers, no script."""
    with_rating = {"function_score": {
        "query": query,
        "functions": [{"weight": 1}, {"field_value_factor": {
            "field": "rating", "factor": RELEVANCE.rating_weight / 5, "missing": 0}}],
        "score_mode": "sum", "boost_mode": "multiply",
    }}
    return {"function_score": {
        "query": with_rating,
        "functions": [{"filter": {"term": {"in_stock": True}}, "weight": RELEVANCE.in_stock_boost}],
        "score_mode": "multiply", "boost_mode": "multiply",
    }}


# ---------------------------------------------------------------- filters and facets
def canonical_category(path: str) -> str:
    """``"audio>headphones "`` -> ``"audio > headphones"`` (the keyword normalizer folds case)."""
    return CATEGORY_SEPARATOR.join(split_category(path))


def facet_filters(request: SearchRequest) -> dict[str, dict[str, Any]]:
    """The user's filters that belong to a facet, by facet name (disjunctive faceting)."""
    out: dict[str, dict[str, Any]] = {}
    categories = [c for c in (canonical_category(c) for c in request.categories) if c]
    if categories:
        out["category"] = {"terms": {f"{CATEGORY_PATH}.key": categories}}
    if request.brands:
        out["brand"] = {"terms": {"brand.key": list(request.brands)}}
    if request.price_min is not None or request.price_max is not None:
        bounds: dict[str, float] = {}
        if request.price_min is not None:
            bounds["gte"] = request.price_min
        if request.price_max is not None:
            bounds["lte"] = request.price_max
        out["price"] = {"range": {"price": bounds}}
    if request.rating_min is not None:
        out["rating"] = {"range": {"rating": {"gte": request.rating_min}}}
    return out


def _all_of(filters: Sequence[dict[str, Any]]) -> dict[str, Any]:
    return {"bool": {"filter": list(filters)}} if filters else {"match_all": {}}


def _escape_regex(text: str) -> str:
    return re.sub(r'([.?+*|{}\[\]()"\\#@&<>~])', r"\\\1", text)


def _depth_regex(levels: int) -> str:
    """A Lucene regexp matching category path labels of exactly ``levels`` levels."""
    part = "[^\\>]+"
    sep = _escape_regex(CATEGORY_SEPARATOR)
    return part + (f"({sep}{part}){{{levels - 1}}}" if levels > 1 else "")


def facet_aggregation(name: str, request: SearchRequest) -> dict[str, Any]:
    """The aggregation of one facet, without its own filter."""
    facet = FACETS_BY_NAME[name]
    if facet.kind == "terms":
        return {"terms": {"field": facet.field, "size": facet.size}}
    if facet.kind == "ranges":
        ranges = []
        for lo, hi in facet.ranges:
            r: dict[str, float] = {}
            if lo is not None:
                r["from"] = lo
            if hi is not None:
                r["to"] = hi
            ranges.append(r)
        return {"range": {"field": facet.field, "ranges": ranges}}
    if facet.kind == "minimum":
        return {"range": {"field": facet.field, "ranges": [{"from": m} for m in facet.minimums]}}
    if facet.kind == "hierarchy":
        path = subfield(facet.field, "path", "_")
        aggs: dict[str, Any] = {
            "top": {"terms": {"field": path, "size": facet.size, "include": _depth_regex(1)}},
        }
        for i, selected in enumerate(dict.fromkeys(canonical_category(c) for c in request.categories)):
            if not selected:
                continue
            aggs[f"children_{i}"] = {
                "filter": {"term": {f"{path}.key": selected}},
                "aggs": {"values": {"terms": {
                    "field": path, "size": facet.size,
                    "include": _depth_regex(len(split_category(selected)) + 1)}}},
            }
        return {"filter": {"match_all": {}}, "aggs": aggs}
    raise ValueError(f"unknown facet kind {facet.kind!r}")


def aggregations(request: SearchRequest) -> dict[str, Any]:
    """One filter aggregation per requested facet, filtered by every *other* facet's filter."""
    filters = facet_filters(request)
    aggs: dict[str, Any] = {}
    for name in request.facets:
        others = [f for other, f in filters.items() if other != name]
        aggs[name] = {"filter": _all_of(others), "aggs": {"values": facet_aggregation(name, request)}}
    return aggs


# ---------------------------------------------------------------- sort and cursor
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


# ---------------------------------------------------------------- search body
SOURCE_FIELDS: tuple[str, ...] = (
    "id", "title", "brand", "category", "price", "currency", "rating", "review_count", "in_stock", "image_url",
)
TRACK_TOTAL_HITS = TOTAL_EXACT_UP_TO  # above it both engines report "at least" (gte)
DESCRIPTION_FRAGMENT = 160


def highlight_clause(terms: Sequence[str]) -> dict[str, Any]:
    """Highlights of the words whose stem is a query token's stem (the rule of
    :mod:`catalog.analysis`): a ``highlight_query`` of the stemmed tokens only, so the
    prefix and typo clauses of the search mark nothing, as on the embedded engine."""
    fields: dict[str, Any] = {}
    for f in HIGHLIGHTED:
        if f.name == "title":
            fields[f.name] = {"number_of_fragments": 0}
        else:
            fields[f.name] = {"fragment_size": DESCRIPTION_FRAGMENT, "number_of_fragments": 1}
    # no "type": unified is the default highlighter, and the API specification's oneOf of a
    # custom name or a built-in one cannot place "unified" (both match) and rejects it
    names = [_stemmed_name(f.name, f.kind) for f in HIGHLIGHTED]
    return {
        "encoder": "html", "pre_tags": [HIGHLIGHT_PRE], "post_tags": [HIGHLIGHT_POST],
        "require_field_match": True, "fields": fields,
        "highlight_query": {"bool": {"should": [
            {"multi_match": {"query": t, "type": "best_fields", "fields": names}} for t in terms
        ]}},
    }


def search_body(request: SearchRequest, *, timeout_ms: int | None = None) -> dict[str, Any]:
    """The search DSL for ``request``.

    ``query``: visible documents, the in-stock filter (no facet) and the text; user
    filters that belong to a facet go to ``post_filter`` so that each facet aggregation
    can count without its own filter. ``from``/``size`` up to MAX_DEPTH, then
    ``search_after`` from the cursor. Raises :class:`InvalidRequest` for a bad cursor.
    """
    terms = query_terms(request.text)
    filters: list[dict[str, Any]] = list(VISIBLE)
    if request.in_stock is not None:
        filters.append({"term": {"in_stock": request.in_stock}})
    query: dict[str, Any] = {"bool": {"filter": filters}}
    # match_all scores 1 so that the business boosts still rank a browse (no text)
    query["bool"]["must"] = text_query(terms) if terms else [{"match_all": {}}]
    if clause_count(query) > MAX_CLAUSES:  # MAX_TERMS x the clauses of a term fit: tested
        raise ValueError(f"query of {len(terms)} terms exceeds {MAX_CLAUSES} clauses")
    if request.sort is Sort.RELEVANCE:
        query = _ranked(query)
    body: dict[str, Any] = {
        "query": query,
        "size": request.size,
        "sort": sort_clause(request.sort),
        "track_total_hits": TRACK_TOTAL_HITS,
        "_source": list(SOURCE_FIELDS),
    }
    if request.cursor is not None:
        after, _ = decode_cursor(request)
        body["search_after"] = after
    else:
        cursor.check_depth(request.page, request.size)
        body["from"] = request.offset
    user = facet_filters(request)
    if user:
        body["post_filter"] = _all_of(list(user.values()))
    if request.facets:
        body["aggs"] = aggregations(request)
    if request.highlight and terms:
        body["highlight"] = highlight_clause(terms)
    if timeout_ms is not None:
        body["timeout"] = f"{timeout_ms}ms"
    return body


# ---------------------------------------------------------------- parse search
def _hit(raw: Mapping[str, Any], highlight: bool) -> Hit:
    src = raw.get("_source") or {}
    marks: dict[str, str | None] = {}
    if highlight:
        found = raw.get("highlight") or {}
        for f in HIGHLIGHTED:
            fragments = found.get(f.name)
            marks[f.name] = " … ".join(fragments) if fragments else None
    rating = src.get("rating")
    return Hit(
        id=src.get("id") or raw["_id"],  # every hit has an _id
        title=src.get("title") or "",
        brand=src.get("brand") or "",
        category=src.get("category") or "",
        price=float(src.get("price") or 0.0),
        currency=src.get("currency") or "",
        rating=None if rating is None else float(rating),
        review_count=int(src.get("review_count") or 0),
        in_stock=bool(src.get("in_stock")),
        image_url=src.get("image_url"),
        score=raw.get("_score"),
        highlight=marks,
    )


def _buckets(agg: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    buckets = agg.get("buckets") or []
    return list(buckets.values()) if isinstance(buckets, Mapping) else list(buckets)


def _f(value: float | None) -> float | None:
    return None if value is None else float(value)


def _range_counts(agg: Mapping[str, Any]) -> dict[tuple[float | None, float | None], int]:
    """Range buckets by their (from, to): the engine may return them in its own order."""
    return {(_f(b.get("from")), _f(b.get("to"))): int(b["doc_count"]) for b in _buckets(agg)}


def parse_facet(name: str, agg: Mapping[str, Any]) -> list[FacetValue] | list[RangeBucket]:
    """One facet's filter aggregation (``{"doc_count", "values": {...}}``) -> its entries."""
    facet = FACETS_BY_NAME[name]
    values = agg.get("values") or {}
    if facet.kind == "terms":
        return [FacetValue(b["key"], int(b["doc_count"])) for b in _buckets(values)]
    if facet.kind == "ranges":
        by_bounds = _range_counts(values)
        return [RangeBucket(_f(lo), _f(hi), by_bounds.get((_f(lo), _f(hi)), 0)) for lo, hi in facet.ranges]
    if facet.kind == "minimum":
        by_bounds = _range_counts(values)
        return [FacetValue(float(m), by_bounds.get((float(m), None), 0)) for m in facet.minimums]
    if facet.kind == "hierarchy":
        out: dict[str, int] = {}
        for b in _buckets(values.get("top") or {}):
            out.setdefault(b["key"], int(b["doc_count"]))
        for key in sorted(k for k in values if k.startswith("children_")):
            for b in _buckets((values[key] or {}).get("values") or {}):
                out.setdefault(b["key"], int(b["doc_count"]))
        return [FacetValue(k, n) for k, n in out.items() if n > 0]
    raise ValueError(f"unknown facet kind {facet.kind!r}")


def parse_search(response: Mapping[str, Any], request: SearchRequest) -> SearchResult:
    """A search response -> :class:`SearchResult` (hits, total, facets, next cursor)."""
    hits_block = response.get("hits") or {}
    raw_hits = hits_block.get("hits") or []
    with_marks = request.highlight and bool(query_terms(request.text))
    hits = [_hit(h, with_marks) for h in raw_hits]
    total_raw = hits_block.get("total") or {}
    if isinstance(total_raw, int):  # rest_total_hits_as_int
        total = Total(total_raw)
    else:
        total = Total(int(total_raw.get("value", 0)), "gte" if total_raw.get("relation") == "gte" else "eq")
    aggs = response.get("aggregations") or {}
    facets = {name: parse_facet(name, aggs[name]) for name in request.facets if name in aggs}
    position = decode_cursor(request)[1] if request.cursor is not None else request.offset
    position += len(hits)
    more = len(hits) == request.size and (total.relation == "gte" or position < total.value)
    next_cursor = encode_cursor(request, raw_hits[-1].get("sort") or [], position) if more and raw_hits else None
    return SearchResult(hits=hits, total=total, facets=facets, next_cursor=next_cursor,
                        took_ms=float(response.get("took") or 0))


# ---------------------------------------------------------------- suggest
def suggest_body(prefix: str, size: int) -> dict[str, Any] | None:
    """Titles completing ``prefix``, as the embedded engine's suggest: every word matches a
    title word (stemmed or exact), the last one also as a prefix (``title.prefix``, from
    one character). None if the prefix has no word. :func:`parse_suggest` keeps distinct
    titles, so more hits than ``size`` are asked for."""
    terms = query_terms(prefix)
    if not terms:
        return None
    title = next(f for f in SEARCHABLE if f.autocomplete)
    stemmed, exact, grams = (_stemmed_name(title.name, title.kind), subfield(title.name, "exact"),
                             subfield(title.name, "prefix"))
    must: list[dict[str, Any]] = []
    for i, term in enumerate(terms):
        fields = [stemmed, exact] + ([grams] if i == len(terms) - 1 else [])
        must.append({"multi_match": {"query": term, "type": "best_fields", "fields": fields}})
    size = max(1, min(size, MAX_SUGGEST_SIZE))
    return {
        "query": {"bool": {"filter": list(VISIBLE), "must": must}},
        "size": size * SUGGEST_OVERFETCH,
        "sort": [*SORTS[Sort.RELEVANCE], TIE_BREAK],
        "_source": ["id", "title"],
        "track_total_hits": False,
    }


def parse_suggest(response: Mapping[str, Any], size: int = MAX_SUGGEST_SIZE) -> list[Suggestion]:
    """The first ``size`` distinct titles (compared folded) of a suggest response."""
    out = []
    for h in (response.get("hits") or {}).get("hits") or []:
        src = h.get("_source") or {}
        out.append(Suggestion(text=src.get("title") or "", id=src.get("id") or h.get("_id")))
    return distinct_titles(out, lambda s: s.text, size, fold)


# ---------------------------------------------------------------- stored state
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


# ---------------------------------------------------------------- operations
def aliases_body(alias: str, new_index: str, old_indices: Sequence[str]) -> dict[str, Any]:
    """One ``_aliases`` request: remove the alias from every old index and add it to the
    new one, applied atomically by the cluster (no moment without a target)."""
    actions: list[dict[str, Any]] = [
        {"remove": {"index": old, "alias": alias}} for old in old_indices if old != new_index
    ]
    actions.append({"add": {"index": new_index, "alias": alias}})
    return {"actions": actions}


def purge_queries(cutoff_ms: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """Tombstones written before ``cutoff_ms``: (``_delete_by_query`` body for those
    without content, ``_update_by_query`` body that makes those with content
    content-only again, so a later item brings its content back)."""
    old = [{"term": {"deleted": True}}, {"range": {"tombstoned_at": {"lt": cutoff_ms}}}]
    no_content = {"query": {"bool": {"filter": old, "must_not": [{"exists": {"field": "content_version"}}]}}}
    with_content = {
        "query": {"bool": {"filter": [*old, {"exists": {"field": "content_version"}}]}},
        "script": {"lang": "painless", "source": FORGET_ITEM_SCRIPT},
    }
    return no_content, with_content


def iter_states_body(batch_size: int, after: str | None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "query": {"match_all": {}}, "size": batch_size, "sort": [TIE_BREAK], "track_total_hits": False,
    }
    if after is not None:
        body["search_after"] = [after]
    return body


__all__ = [
    "CONTENT_SCRIPT",
    "ITEM_UPSERT_SCRIPT",
    "RETRY_ON_CONFLICT",
    "TOMBSTONE_SCRIPT",
    "BulkResponseError",
    "aliases_body",
    "bulk_body",
    "bulk_outcomes",
    "decode_cursor",
    "doc_state",
    "encode_cursor",
    "item_outcome",
    "parse_search",
    "parse_suggest",
    "purge_queries",
    "search_body",
    "suggest_body",
]
