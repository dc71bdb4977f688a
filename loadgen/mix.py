"""The shopper request mix: ONE definition used by ``storefront load``, ``drill run --load``
and the Locust file (``loadtest/locustfile.py``). Standard library only.

A :class:`CatalogSample` is drawn from the live catalog through the API itself
(:func:`sample_catalog`: a few browse pages with the category and brand facets, plus cursors
of a few queries), so every request names products, words, brands and categories that
exist. :class:`RequestMix` turns the sample, the weights and a seed into a reproducible
stream of :class:`LoadRequest` (same seed, same sample -> same requests):

========== ===========================================================================
kind       request
========== ===========================================================================
text       ``/search?q=...``: one word, two or three title words, a long query (5-8
           words), some with a typo (a letter dropped, doubled or swapped)
filter     ``/search`` with category / brand / price range / in-stock filters and facets
sort       ``/search?q=word&sort=...`` (price, rating, newest)
cursor     ``/search?cursor=...`` (a next page of a sampled query)
suggest    ``/suggest?q=<prefix>`` (2 to 5 letters of a title word)
product    ``/products/{id}``
========== ===========================================================================
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlencode

KINDS: tuple[str, ...] = ("text", "filter", "sort", "cursor", "suggest", "product")
DEFAULT_WEIGHTS: Mapping[str, int] = {"text": 40, "filter": 15, "sort": 10, "cursor": 5, "suggest": 20,
                                      "product": 10}
SORTS: tuple[str, ...] = ("price_asc", "price_desc", "rating_desc", "newest")
_WORD = re.compile(r"[^\W\d_]{3,}")


class MixError(ValueError):
    """A bad ``--mix`` specification or an empty catalog; the message names the problem."""


def parse_mix(spec: str | None) -> dict[str, int]:
    """``"text=40,suggest=20"`` -> weights (kinds not named get 0); None or "" -> the default."""
    if not spec:
        return dict(DEFAULT_WEIGHTS)
    weights = dict.fromkeys(KINDS, 0)
    for part in spec.split(","):
        name, sep, value = part.strip().partition("=")
        if not sep or name not in KINDS:
            raise MixError(f"--mix: {part.strip()!r} is not KIND=WEIGHT with KIND one of {', '.join(KINDS)}")
        try:
            weights[name] = int(value)
        except ValueError:
            raise MixError(f"--mix: weight of {name} must be a whole number, got {value!r}") from None
        if weights[name] < 0:
            raise MixError(f"--mix: weight of {name} must be 0 or more, got {value}")
    if not any(weights.values()):
        raise MixError("--mix: at least one weight must be above 0")
    return weights


@dataclass(frozen=True)
class LoadRequest:
    kind: str
    path: str  # path and query string, relative to the base URL


@dataclass
class CatalogSample:
    ids: list[str] = field(default_factory=list)
    words: list[str] = field(default_factory=list)
    titles: list[str] = field(default_factory=list)
    brands: list[str] = field(default_factory=list)
    categories: list[str] = field(default_factory=list)
    cursors: list[list[str]] = field(default_factory=list)  # [query, next_cursor] of size-5 pages
    max_price: float = 100.0

    def to_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in ("ids", "words", "titles", "brands", "categories", "cursors",
                                              "max_price")}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CatalogSample:
        return cls(**{k: data[k] for k in cls().to_dict() if k in data})


def sample_catalog(get_json: Callable[[str], Mapping[str, Any]], *, pages: int = 3, size: int = 50,
                   cursor_queries: int = 4) -> CatalogSample:
    """Draw a sample through the API: ``get_json(path)`` returns a response body (raises on
    failure). Raises :class:`MixError` when the catalog is empty."""
    s = CatalogSample()
    words: set[str] = set()
    for page in range(1, pages + 1):
        body = get_json("/search?" + urlencode({"q": "", "size": size, "page": page, "facets": "category,brand"}))
        hits = body.get("hits") or []
        for h in hits:
            s.ids.append(str(h["id"]))
            title = str(h.get("title") or "")
            s.titles.append(title)
            words.update(w.lower() for w in _WORD.findall(title))
            s.max_price = max(s.max_price, float(h.get("price") or 0))
        facets = body.get("facets") or {}
        s.brands = sorted({*s.brands, *(str(f["value"]) for f in facets.get("brand", []))})
        s.categories = sorted({*s.categories, *(str(f["value"]) for f in facets.get("category", []))})
        if len(hits) < size:
            break
    if not s.ids:
        raise MixError("the catalog is empty: load products first (no hits for an empty query)")
    s.words = sorted(words)
    rng = random.Random(0)
    for word in [*rng.sample(s.words, min(cursor_queries, len(s.words))), ""]:
        body = get_json("/search?" + urlencode({"q": word, "size": 5}))
        if body.get("next_cursor"):
            s.cursors.append([word, str(body["next_cursor"])])
    return s


def typo(word: str, rng: random.Random) -> str:
    """The word with one letter dropped, doubled or two neighbours swapped (len >= 4); the
    first letter stays, as in most real typos."""
    if len(word) < 4:
        return word
    i = rng.randrange(1, len(word) - 1)
    how = rng.randrange(3)
    if how == 0:
        return word[:i] + word[i + 1:]
    if how == 1:
        return word[:i] + word[i] + word[i:]
    return word[:i] + word[i + 1] + word[i] + word[i + 2:]


class RequestMix:
    """A reproducible stream of requests from a sample, weights and a seed."""

    def __init__(self, sample: CatalogSample, weights: Mapping[str, int] | None = None, seed: int = 0) -> None:
        if not sample.ids or not sample.words:
            raise MixError("the catalog sample is empty")
        self.sample = sample
        w = dict(weights or DEFAULT_WEIGHTS)
        if not sample.cursors:
            w["cursor"] = 0  # no query had a next page: nothing to follow
        self.kinds = [k for k in KINDS if w.get(k, 0) > 0]
        self.weights = [w[k] for k in self.kinds]
        if not self.kinds:
            raise MixError("the mix has no request kind left")
        self.rng = random.Random(seed)

    def __iter__(self) -> Iterator[LoadRequest]:
        while True:
            yield self.next()

    def next(self) -> LoadRequest:
        kind = self.rng.choices(self.kinds, self.weights)[0]
        return LoadRequest(kind, getattr(self, f"_{kind}")())

    def _words(self, n: int) -> list[str]:
        return [self.rng.choice(self.sample.words) for _ in range(n)]

    def _text(self) -> str:
        r = self.rng.random()
        if r < 0.35:
            q = self._words(1)
        elif r < 0.8:
            q = self._words(self.rng.randint(2, 3))
        else:
            q = self._words(self.rng.randint(5, 8))
        if self.rng.random() < 0.2:
            i = self.rng.randrange(len(q))
            q[i] = typo(q[i], self.rng)
        return "/search?" + urlencode({"q": " ".join(q)})

    def _filter(self) -> str:
        params: list[tuple[str, str]] = []
        if self.rng.random() < 0.5:
            params.append(("q", self._words(1)[0]))
        if self.sample.categories and self.rng.random() < 0.6:
            params.append(("category", self.rng.choice(self.sample.categories)))
        if self.sample.brands and self.rng.random() < 0.5:
            params += [("brand", b) for b in self.rng.sample(self.sample.brands, min(len(self.sample.brands),
                                                                                        self.rng.randint(1, 2)))]
        if self.rng.random() < 0.4:
            lo = round(self.rng.uniform(0, self.sample.max_price / 2), 2)
            params += [("price_min", f"{lo:g}"), ("price_max", f"{lo + self.sample.max_price / 2:.2f}")]
        if self.rng.random() < 0.3:
            params.append(("in_stock", "true"))
        params.append(("facets", "category,brand,price,rating"))
        return "/search?" + urlencode(params)

    def _sort(self) -> str:
        return "/search?" + urlencode({"q": self._words(1)[0], "sort": self.rng.choice(SORTS)})

    def _cursor(self) -> str:
        q, cursor = self.rng.choice(self.sample.cursors)
        return "/search?" + urlencode({"q": q, "cursor": cursor, "size": 5})

    def _suggest(self) -> str:
        word = self._words(1)[0]
        return "/suggest?" + urlencode({"q": word[:self.rng.randint(2, min(5, len(word)))]})

    def _product(self) -> str:
        return "/products/" + quote(self.rng.choice(self.sample.ids), safe="")
