"""THE text analysis and matching rules: one definition both engines derive from.

What a *token* is, how it is normalised, how it is stemmed and how a query matches are
defined here once; OpenSearch (Lucene) gets them as index settings
(:func:`opensearch_analysis`), the embedded engine (tantivy) builds the same chain
(``catalog.engine.embedded.schema``), and the query builders split query text with the
same token pattern (:func:`split`). ``tests/parity`` checks the OpenSearch chain with the
real Lucene analyzers against tantivy's, token for token.

A token (:func:`token_pattern`, one regular expression rendered for Java, Rust and Python):

* a run of letters, digits and combining marks (any script: ``हिन्दी`` is one token),
* joined by ``.`` or ``_`` between two of them (``3.5mm``, ``2.4ghz``, ``v2.0``,
  ``u.s.a``, ``usb_c``) and by ``,`` between two digits (``1,000``),
* at most :data:`MAX_TOKEN_UNITS` units (a character; ``1,0`` counts one): a longer run is
  cut into pieces (nothing is silently dropped, and both engines measure it the same way);
* everything else separates tokens: space, ``-`` (``usb-c`` is ``usb`` ``c``), ``'``
  (``men's`` is ``men`` ``s``; the lone ``s`` left by a possessive is a stop word).

Then, in this order: lowercase, ASCII folding (``Café`` -> ``cafe``), the stop word ``s``,
and for the stemmed fields the Snowball English stemmer (``porter2``: Lucene's
``SnowballFilter(EnglishStemmer)`` and tantivy's ``Language::English`` are the same
algorithm; OpenSearch's ``english`` would be the older Porter).

Matching rules (both engines; see ``README.md``, "Search"):

* every query token must match some searchable field (AND over tokens), stemmed;
* the last token also matches as a prefix of a title word (:data:`PREFIX`: from one
  character up to ``max_chars``);
* typos (:data:`TYPO`): on the title only, by the token's folded length: ``min_len_1``+
  characters one edit, ``min_len_2``+ two, no exact prefix required, a transposition is
  one edit;
* totals are exact up to :data:`TOTAL_EXACT_UP_TO`, above it "at least" that many
  (:func:`total`);
* suggestions are distinct titles (:func:`distinct_titles`);
* highlights mark words whose stem is a query token's stem; words matched only as a
  prefix or with a typo are not marked (on neither engine).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal, TypeVar

Dialect = Literal["java", "rust", "python"]

MAX_TERMS = 16  # query tokens that take part in matching (the rest are ignored, on both engines)
MAX_TOKEN_UNITS = 40  # characters (a "1,0" digit group counts one) in one token
STOPWORDS: tuple[str, ...] = ("s",)  # left by a possessive ("men's"): never a token
SUGGEST_OVERFETCH = 4  # suggest asks for this many x size hits: titles repeat, distinct ones are kept
TOTAL_EXACT_UP_TO = 10_000  # both engines: exact below, "at least" (gte) above


@dataclass(frozen=True)
class Typo:
    """Typo tolerance (fuzzy matching), the same on both engines."""

    min_len_1: int = 4  # folded characters for one edit (OpenSearch fuzziness AUTO:4,8)
    min_len_2: int = 8  # ... for two edits
    prefix_length: int = 0  # characters that must match exactly (tantivy has no other)
    transpositions: bool = True  # "ab" <-> "ba" is one edit
    fields: tuple[str, ...] = ("title",)  # schema fields matched with typos
    # OpenSearch expands a fuzzy term into at most this many index terms (tantivy: all);
    # bounded by the clause limit, see catalog.engine.opensearch.query.clause_count
    max_expansions: int = 50

    @property
    def fuzziness(self) -> str:
        return f"AUTO:{self.min_len_1},{self.min_len_2}"

    def distance(self, token: str) -> int:
        """Edits allowed for an analysed (folded, unstemmed) token."""
        n = len(token)
        return 2 if n >= self.min_len_2 else 1 if n >= self.min_len_1 else 0


@dataclass(frozen=True)
class Prefix:
    """The last query token also matches as a prefix of a title word."""

    min_chars: int = 1  # "sony w" finds "Sony WH-1000XM5"
    max_chars: int = 40  # OpenSearch indexes edge n-grams up to this length
    fields: tuple[str, ...] = ("title",)


TYPO = Typo()
PREFIX = Prefix()

# ---------------------------------------------------------------- the token pattern
_ALNUM = {"java": r"[\p{L}\p{N}]", "rust": r"[\p{L}\p{N}]", "python": r"[^\W_]"}
_MARK = {"java": r"\p{M}", "rust": r"\p{M}"}


@lru_cache(maxsize=1)
def _python_marks() -> str:
    """Python's ``re`` has no ``\\p{M}``: the combining marks as a character class."""
    ranges: list[list[int]] = []
    for cp in (*range(0x20000), *range(0xE0100, 0xE01F0)):
        if unicodedata.category(chr(cp))[0] == "M":
            if ranges and ranges[-1][1] == cp - 1:
                ranges[-1][1] = cp
            else:
                ranges.append([cp, cp])
    return "[" + "".join(f"\\U{a:08x}-\\U{b:08x}" for a, b in ranges) + "]"


@lru_cache(maxsize=3)
def token_pattern(dialect: Dialect) -> str:
    """The token regular expression for Java (Lucene's pattern tokenizer), Rust (tantivy's
    regex tokenizer) or Python (:func:`split`): the same language in each.

    Only constructs the three engines read alike: classes, ``?``, ``*``, ``{m,n}``, and
    leftmost-first alternation (no look-around: Rust's regex has none).
    """
    if dialect == "python":
        char = f"(?:{_ALNUM[dialect]}|{_python_marks()})"
    else:
        char = f"[{_ALNUM[dialect][1:-1]}{_MARK[dialect]}]"
    # one flat class per unit: ~40% cheaper in tantivy than a letter followed by marks
    unit = f"(?:[0-9],[0-9]|{char})"
    return f"{unit}(?:[._]?{unit}){{0,{MAX_TOKEN_UNITS - 1}}}"


@lru_cache(maxsize=1)
def _python_regex() -> re.Pattern[str]:
    return re.compile(token_pattern("python"))


# ASCII text (nearly all of it) takes a shortcut with the same result: a token lies inside a
# run of letters, digits and joiners, and a run of letters and digits only is one token
# (cut every MAX_TOKEN_UNITS characters); only runs with a joiner inside need the pattern.
_ASCII_RUN = re.compile(r"[A-Za-z0-9._,]+")


def _is_stopword(token: str) -> bool:
    return len(token) == 1 and unicodedata.normalize("NFKC", token).casefold() in STOPWORDS


def spans(text: str) -> list[tuple[str, int, int]]:
    """Every token of ``text`` (stop words included) with its start and end (characters)."""
    if not text.isascii():
        return [(m.group(0), m.start(), m.end()) for m in _python_regex().finditer(text)]
    out: list[tuple[str, int, int]] = []
    for run in _ASCII_RUN.finditer(text):
        word = run.group(0).lstrip("._,")  # a token starts and ends with a letter or digit
        start = run.end() - len(word)
        word = word.rstrip("._,")
        if word.isalnum():
            for i in range(0, len(word), MAX_TOKEN_UNITS):
                piece = word[i:i + MAX_TOKEN_UNITS]
                out.append((piece, start + i, start + i + len(piece)))
        else:
            out.extend((m.group(0), start + m.start(), start + m.end()) for m in _python_regex().finditer(word))
    return out


def split(text: str) -> list[str]:
    """The tokens of ``text`` as written (not yet lowercased or folded), stop words left out.

    Each one is exactly a token the index analyzer produces for the same text, so the
    OpenSearch query builder can hand them to ``match`` queries one by one.
    """
    return [t for t, _, _ in spans(text) if not _is_stopword(t)]


# ---------------------------------------------------------------- OpenSearch / Lucene
# analyzer names (the index body and tests/parity use them)
STEMMED = "stemmed"  # the main text fields: "headphone" matches "headphones"
FOLDED = "folded"  # the .exact copies: exact and typo matching
AUTOCOMPLETE = "autocomplete"  # index side of .prefix (search side: folded)


def opensearch_analysis() -> dict[str, Any]:
    """``settings.analysis`` of the index body: the chain above as Lucene components."""
    base = ["lowercase", "asciifolding", "possessive_stop"]
    return {
        "tokenizer": {"product_tokens": {"type": "pattern", "pattern": token_pattern("java"), "group": 0}},
        "filter": {
            "possessive_stop": {"type": "stop", "stopwords": list(STOPWORDS), "ignore_case": False},
            "english_porter2": {"type": "stemmer", "language": "porter2"},
            "edge_prefix": {"type": "edge_ngram", "min_gram": PREFIX.min_chars, "max_gram": PREFIX.max_chars},
        },
        "analyzer": {
            STEMMED: {"type": "custom", "tokenizer": "product_tokens", "filter": [*base, "english_porter2"]},
            FOLDED: {"type": "custom", "tokenizer": "product_tokens", "filter": list(base)},
            AUTOCOMPLETE: {"type": "custom", "tokenizer": "product_tokens", "filter": [*base, "edge_prefix"]},
        },
        "normalizer": {"folded": {"type": "custom", "filter": ["lowercase", "asciifolding"]}},
    }


# ---------------------------------------------------------------- results
def total(count: int) -> tuple[int, str]:
    """(value, relation) of a hit count: exact up to :data:`TOTAL_EXACT_UP_TO`, else "gte"."""
    if count > TOTAL_EXACT_UP_TO:
        return TOTAL_EXACT_UP_TO, "gte"
    return count, "eq"


T = TypeVar("T")


def distinct_titles(items: Iterable[T], title: Callable[[T], str], size: int,
                    key: Callable[[str], str]) -> list[T]:
    """The first ``size`` items with a non-empty title not seen before (compared by ``key``)."""
    out: list[T] = []
    seen: set[str] = set()
    for item in items:
        text = title(item)
        k = key(text)
        if text and k not in seen:
            seen.add(k)
            out.append(item)
            if len(out) >= size:
                break
    return out
