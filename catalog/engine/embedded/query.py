"""Queries of the embedded adapter, built from tokens (never ``parse_query`` on user text).

User text is analysed as typed by the same
tantivy analyzers the index uses, and every term becomes a group of clauses over the
weighted fields of :data:`catalog.schema.FIELDS` with the factors of
:data:`catalog.schema.RELEVANCE`:

* the stemmed term (``f``) at the field boost on every searchable field;
* on the autocomplete field (the title: what shoppers type) also the exact term
  (``f__exact``) at ``exact_factor`` x boost, the typo clause (fuzzy on ``f__exact``,
  distance by term length, :data:`catalog.analysis.TYPO`) at
  ``fuzzy_factor`` x boost and, for the last term, a prefix
  on ``f__exact`` at ``prefix_factor`` x boost. Exact and typo matching are limited to
  that field on purpose: every fuzzy clause builds a Levenshtein automaton at search time
  (~0.5 ms for distance 2) and every extra clause over common words costs each search,
  so one set per term keeps a search within budget;
* every term must match somewhere (AND of the groups); filters never score.

Also here: highlighting (HTML-escaped, matches in ``<em>``).
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import tantivy

from catalog.analysis import MAX_TERMS, PREFIX, TYPO, spans
from catalog.engine.embedded.schema import FOLDED, STEMMED, VISIBLE, analyzers, physical_schema
from catalog.engine.port import InvalidRequest, SearchRequest
from catalog.schema import HIGHLIGHT_POST, HIGHLIGHT_PRE, RELEVANCE
from catalog.text import fold

MAX_VERDICTS = 20_000
SNIPPET_CHARS = 240
Must = tantivy.Occur.Must
Should = tantivy.Occur.Should
MustNot = tantivy.Occur.MustNot


@dataclass(frozen=True)
class Terms:
    """The analysed query: per term its stemmed and exact (folded) form."""

    stemmed: tuple[str, ...]
    exact: tuple[str, ...]

    def __bool__(self) -> bool:
        return bool(self.exact)


@lru_cache(maxsize=4096)
def analyse(text: str) -> Terms:
    """The query's tokens: the index analyzers' own, on the text as typed (no extra
    normalisation: ``tests/parity`` checks that they are the index tokens)."""
    if not text:
        return Terms((), ())
    a = analyzers()
    exact = a[FOLDED].analyze(text)[:MAX_TERMS]
    stemmed = a[STEMMED].analyze(text)[:MAX_TERMS]
    if len(stemmed) != len(exact):  # the analyzers differ only by the stemmer: never happens
        stemmed = [a[STEMMED].analyze(t)[0] if a[STEMMED].analyze(t) else t for t in exact]
    return Terms(tuple(stemmed), tuple(exact))


def fuzzy_distance(term: str) -> int:
    return TYPO.distance(term)


def const(q: tantivy.Query) -> tantivy.Query:
    """A filter: matches like ``q`` and adds nothing to the score."""
    return tantivy.Query.const_score_query(q, 0.0)


def all_of(queries: Sequence[tantivy.Query]) -> tantivy.Query:
    if len(queries) == 1:
        return queries[0]
    return tantivy.Query.boolean_query([(Must, q) for q in queries])


@lru_cache(maxsize=1)
def visible_filter() -> tantivy.Query:
    return const(tantivy.Query.term_query(physical_schema().schema, VISIBLE, True))


@lru_cache(maxsize=2048)
def text_query(terms: Terms) -> tantivy.Query:
    """The query of the analysed ``terms``: the matching rules of :mod:`catalog.analysis`
    (every term somewhere, stemmed; typos by ``TYPO``; the last term as a prefix by
    ``PREFIX``), as the OpenSearch builder states them."""
    ps = physical_schema()
    schema = ps.schema
    Q = tantivy.Query
    groups = []
    last = len(terms.exact) - 1
    for i, (stem, exact) in enumerate(zip(terms.stemmed, terms.exact, strict=True)):
        clauses = []
        dist = fuzzy_distance(exact)
        for sf in ps.search_fields:
            clauses.append(Q.boost_query(Q.term_query(schema, sf.stemmed, stem), sf.boost))
            if sf.exact is None:
                continue
            clauses.append(Q.boost_query(Q.term_query(schema, sf.exact, exact), sf.boost * RELEVANCE.exact_factor))
            if dist and sf.name in TYPO.fields:
                clauses.append(Q.boost_query(
                    Q.fuzzy_term_query(schema, sf.exact, exact, distance=dist,
                                       transposition_cost_one=TYPO.transpositions),
                    sf.boost * RELEVANCE.fuzzy_factor))
            if i == last and sf.name in PREFIX.fields and len(exact) <= PREFIX.max_chars:
                clauses.append(Q.boost_query(Q.fuzzy_term_query(schema, sf.exact, exact, distance=0, prefix=True),
                                             sf.boost * RELEVANCE.prefix_factor))
        groups.append(Q.boolean_query([(Should, c) for c in clauses]))
    return all_of(groups)


@lru_cache(maxsize=1024)
def keys_filter(field: str, keys: tuple[str, ...]) -> tantivy.Query:
    schema = physical_schema().schema
    if len(keys) == 1:
        return const(tantivy.Query.term_query(schema, field, keys[0]))
    return const(tantivy.Query.term_set_query(schema, field, list(keys)))


def range_filter(field: str, field_type: tantivy.FieldType, lo: Any = None, hi: Any = None,
                 include_lower: bool = True, include_upper: bool = True) -> tantivy.Query:
    return const(tantivy.Query.range_query(physical_schema().schema, field, field_type, lo, hi,
                                           include_lower=include_lower if lo is not None else True,
                                           include_upper=include_upper if hi is not None else True))


@lru_cache(maxsize=64)
def bool_filter(field: str, value: bool) -> tantivy.Query:
    return const(tantivy.Query.term_query(physical_schema().schema, field, value))


def request_filters(req: SearchRequest) -> dict[str, tantivy.Query]:
    """Filters by facet name they belong to (``in_stock`` has no facet)."""
    return dict(_filters(req.categories, req.brands, req.price_min, req.price_max, req.rating_min, req.in_stock))


@lru_cache(maxsize=2048)
def _filters(categories: tuple[str, ...], brands: tuple[str, ...], price_min: float | None,
             price_max: float | None, rating_min: float | None,
             in_stock: bool | None) -> tuple[tuple[str, tantivy.Query], ...]:
    ps = physical_schema()
    out: dict[str, tantivy.Query] = {}
    if categories:
        keys = tuple(sorted({fold(" > ".join(p.strip() for p in c.split(">") if p.strip())) for c in categories}))
        out["category"] = keys_filter(ps.path_key_field["category"], keys)
    if brands:
        out["brand"] = keys_filter(ps.key_field["brand"], tuple(sorted({fold(b) for b in brands})))
    if price_min is not None or price_max is not None:
        lo = None if price_min is None else float(price_min)
        hi = None if price_max is None else float(price_max)
        if lo is not None and hi is not None and lo > hi:
            raise InvalidRequest("price_min", "must not be greater than price_max")
        out["price"] = range_filter("price", tantivy.FieldType.Float, lo, hi)
    if rating_min is not None:
        out["rating"] = range_filter("rating", tantivy.FieldType.Float, float(rating_min), None)
    if in_stock is not None:
        out["in_stock"] = bool_filter("in_stock", bool(in_stock))
    return tuple(out.items())


# ---------------------------------------------------------------- highlighting
@lru_cache(maxsize=65536)
def _stem(token: str) -> str:
    out = analyzers()[STEMMED].analyze(token)
    return out[0] if out else token


_SPECIAL = re.compile(r"[&<>\"']")


def _same(text: str) -> str:
    return text


@lru_cache(maxsize=256)
def highlighter(terms: Terms) -> Highlighter:
    """One highlighter per analysed query: its word verdicts carry over to repeated searches."""
    return Highlighter(terms)


class Highlighter:
    """Marks the words of a text whose stem is a query token's stem (the rule of
    :mod:`catalog.analysis`, as OpenSearch's highlight query; words that matched only as a
    prefix or with a typo are not marked).

    Words are found with the token pattern of :mod:`catalog.analysis` in Python
(:func:`catalog.analysis.spans`: the index's tokens, ``tests/parity`` checks it; ~10x
cheaper per text than a tantivy tokenizer, which rebuilds its regex cache per call);
    each distinct word is judged once (the verdicts are kept, up to ``MAX_VERDICTS``).
    """

    def __init__(self, terms: Terms) -> None:
        self.stems = frozenset(terms.stemmed)
        self.exact = frozenset(terms.exact)
        self._seen: dict[str, bool] = {}

    def _hit(self, word: str) -> bool:
        hit = self._seen.get(word)
        if hit is None:
            hit = _stem(word) in self.stems
            if len(self._seen) >= MAX_VERDICTS:
                self._seen.clear()
            self._seen[word] = hit
        return hit

    def __call__(self, text: str | None) -> str | None:
        if not text or not self.exact:
            return None
        seen = self._seen
        marks = []
        for word, a, b in spans(text):
            hit = seen.get(word)
            if hit is None:
                hit = self._hit(word)
            if hit:
                marks.append((a, b))
        if not marks:
            return None
        start, end = 0, len(text)
        if len(text) > SNIPPET_CHARS:
            # a window around the first match, cut at white space
            first = marks[0][0]
            start = max(0, first - SNIPPET_CHARS // 4)
            if start:
                sp = text.rfind(" ", 0, start + 1)
                start = sp + 1 if sp >= 0 else start
            end = min(len(text), start + SNIPPET_CHARS)
            if end < len(text):
                sp = text.rfind(" ", start, end)
                end = sp if sp > start else end
        esc = html.escape if _SPECIAL.search(text) else _same
        out = []
        pos = start
        for a, b in marks:
            if a < start or b > end:
                continue
            out.append(esc(text[pos:a]))
            out.append(HIGHLIGHT_PRE + esc(text[a:b]) + HIGHLIGHT_POST)
            pos = b
        out.append(esc(text[pos:end]))
        prefix = "\u2026" if start > 0 else ""
        suffix = "\u2026" if end < len(text) else ""
        return prefix + "".join(out) + suffix
