"""Ordinary shopper queries match the same products on both engines.

The embedded engine answers for real. OpenSearch cannot run here, so its answer is
computed from the request the adapter really builds (``catalog.engine.opensearch.search.search_body``),
evaluated over the index the index body really defines: every field's tokens come from
real Lucene running that field's analyzer (``search_analyzer`` for the query side), and
the DSL the builder emits (bool must/should, ``multi_match`` best_fields, fuzziness
``AUTO:m,n`` with prefix length 0 and transpositions) is evaluated as Lucene does it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

import pytest

from catalog.convert import content_fields, item_fields
from catalog.engine import SearchRequest, UpsertContent, UpsertItem
from catalog.engine.embedded import EmbeddedEngine
from catalog.engine.opensearch.search import search_body
from catalog.generator import generate
from catalog.model import Content, Product
from catalog.schema import opensearch_mappings

# one worker runs the module: its Lucene reference (a JVM over the whole corpus) is computed once
pytestmark = pytest.mark.xdist_group("parity-matching")

# the issue's examples first, then what shoppers ordinarily type (typos included)
QUERIES: tuple[str, ...] = (
    "3.5mm", "2.4GHz router", "usb_c", "v2.0", "1,000 piece", "u.s.a. flag", "sony w", "wireless m", "w",
    "3.5mm jack", "usb-c cable", "usb c hub", "men's jacket", "levis jeans", "levi's", "wireless headphones",
    "headphone", "noise cancelling", "bluetooth speaker", "running shoes", "runing shoes", "wireles mouse",
    "mechanical keyboard", "4k monitor", "gaming laptop", "espresso machine", "cast iron", "hiking boots",
    "gps watch", "dutch oven", "sony", "bose headphones", "kitchenaid", "cafe", "café", "jacket",
)
EXTRA: tuple[tuple[str, str, str], ...] = (  # (title, brand, description) the issue's examples name
    ("3.5mm Audio Cable", "Anker", "Stereo 3.5mm jack to jack cable."),
    ("Dual-band 2.4GHz Router", "TP-Link", "A 2.4GHz and 5GHz wireless router."),
    ("USB_C charging hub", "Anker", "usb_c ports for laptops."),
    ("Smart plug v2.0", "Kasa", "Firmware v2.0 with energy monitoring."),
    ("1,000 Piece Jigsaw Puzzle", "Ravensburger", "A 1,000 piece puzzle of the Alps."),
    ("U.S.A. Flag 3x5", "Annin", "Made in the U.S.A."),
    ("Sony WH-1000XM5 Wireless Headphones", "Sony", "Noise cancelling over-ear headphones."),
    ("Wireless Mouse M720", "Logitech", "Multi-device mouse."),
    ("Men's Trucker Jacket", "Levi's", "A denim jacket."),
    ("Café au lait bowl", "Le Creuset", "Stoneware bowl."),
)


def _catalog() -> list[tuple[Product, Content | None]]:
    out: list[tuple[Product, Content | None]] = [(g.product, g.content) for g in generate(400, seed=14)]
    for i, (title, brand, description) in enumerate(EXTRA):
        base = out[i][0]
        out.append((Product(id=f"x{i:02d}", title=title, brand=brand, category=base.category, price=10.0,
                            currency="USD", in_stock=True, version=1, description=description), None))
    return out


# ---------------------------------------------------------------- the OpenSearch side
def _field_analyzers() -> dict[str, tuple[str, str]]:
    """physical field -> (index analyzer, search analyzer), from the index body's mappings."""
    out: dict[str, tuple[str, str]] = {}

    def visit(name: str, spec: Mapping[str, Any]) -> None:
        if spec.get("type") == "text":
            out[name] = (spec["analyzer"], spec.get("search_analyzer", spec["analyzer"]))
        for sub, sub_spec in (spec.get("fields") or {}).items():
            visit(f"{name}.{sub}", sub_spec)

    for name, spec in opensearch_mappings()["properties"].items():
        visit(name, spec)
    return out


def _osa(a: str, b: str) -> int:
    """Optimal string alignment distance (Lucene's fuzzy distance with transpositions)."""
    d = [[i + j if i * j == 0 else 0 for j in range(len(b) + 1)] for i in range(len(a) + 1)]
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] != b[j - 1]))
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1)
    return d[-1][-1]


def _auto(fuzziness: str, token: str) -> int:
    low, high = (int(x) for x in fuzziness.removeprefix("AUTO:").split(","))
    n = len(token)
    return 0 if n < low else 1 if n < high else 2


class SimulatedOpenSearch:
    def __init__(self, lucene, docs: list[tuple[Product, Content | None]]) -> None:
        self.lucene = lucene
        self.analyzers = _field_analyzers()
        self.ids = [p.id for p, _ in docs]
        values: dict[str, list[tuple[int, str]]] = defaultdict(list)  # field -> (doc, text)
        for n, (product, content) in enumerate(docs):
            source = {**item_fields(product), **content_fields(content)}
            for field in self.analyzers:
                raw = source.get(field.split(".")[0])
                for text in raw if isinstance(raw, list) else [raw]:
                    if text:
                        values[field].append((n, text))
        self.tokens: dict[str, list[set[str]]] = {}
        for field, pairs in values.items():
            per_doc: list[set[str]] = [set() for _ in docs]
            for (n, _), toks in zip(pairs, lucene.analyze(self.analyzers[field][0], [t for _, t in pairs]),
                                    strict=True):
                per_doc[n].update(toks)
            self.tokens[field] = per_doc
        self.query_cache: dict[tuple[str, str], list[str]] = {}

    def prepare(self, bodies: Iterable[Mapping[str, Any]]) -> None:
        """Analyse every (search analyzer, query text) the bodies hold, in one JVM per analyzer."""
        wanted: dict[str, set[str]] = defaultdict(set)
        for body in bodies:
            for mm in _multi_matches(body["query"]):
                for field in mm["fields"]:
                    wanted[self.analyzers[field.split("^")[0]][1]].add(mm["query"])
        for analyzer, texts in wanted.items():
            ordered = sorted(texts)
            for text, toks in zip(ordered, self.lucene.analyze(analyzer, ordered), strict=True):
                self.query_cache[(analyzer, text)] = toks

    def _multi_match(self, mm: Mapping[str, Any], doc: int) -> bool:
        for field in (f.split("^")[0] for f in mm["fields"]):
            tokens = self.query_cache[(self.analyzers[field][1], mm["query"])]
            have = self.tokens.get(field, [set()] * len(self.ids))[doc]
            keep = mm.get("prefix_length", 0)
            for t in tokens:
                edits = _auto(mm["fuzziness"], t) if "fuzziness" in mm else 0
                if t in have or (edits and any(_osa(t, w) <= edits for w in have
                                               if abs(len(w) - len(t)) <= edits and w[:keep] == t[:keep])):
                    return True
        return False

    def _matches(self, query: Mapping[str, Any], doc: int) -> bool:
        if "function_score" in query:
            return self._matches(query["function_score"]["query"], doc)
        if "bool" in query:
            b = query["bool"]
            if not all(self._matches(q, doc) for q in b.get("must", [])):
                return False
            should = b.get("should", [])
            need = b.get("minimum_should_match", 0 if b.get("must") or b.get("filter") else 1)
            return sum(self._matches(q, doc) for q in should) >= need if should else True
        if "multi_match" in query:
            return self._multi_match(query["multi_match"], doc)
        if "match_all" in query or "term" in query:  # visibility filters: every document here is visible
            return True
        raise AssertionError(f"the simulation does not know {query}")

    def search(self, body: Mapping[str, Any]) -> set[str]:
        return {pid for n, pid in enumerate(self.ids) if self._matches(body["query"], n)}


def _multi_matches(node: Any) -> Iterable[Mapping[str, Any]]:
    if isinstance(node, Mapping):
        if "multi_match" in node:
            yield node["multi_match"]
        for v in node.values():
            yield from _multi_matches(v)
    elif isinstance(node, list):
        for v in node:
            yield from _multi_matches(v)


# ---------------------------------------------------------------- the embedded side
def _embedded_ids(engine: EmbeddedEngine, text: str) -> set[str]:
    out: set[str] = set()
    cursor = None
    while True:
        result = engine.search(SearchRequest(text=text, size=100, facets=(), highlight=False, cursor=cursor))
        out.update(h.id for h in result.hits)
        cursor = result.next_cursor
        if cursor is None:
            return out


@pytest.fixture(scope="module")
def engines(lucene, tmp_path_factory):
    docs = _catalog()
    engine = EmbeddedEngine(tmp_path_factory.mktemp("parity") / "idx")
    engine.apply([UpsertItem(p) for p, _ in docs] + [UpsertContent(c) for _, c in docs if c is not None])
    simulated = SimulatedOpenSearch(lucene, docs)
    return engine, simulated


def test_shopper_queries_match_the_same_products_on_both_engines(engines):
    engine, simulated = engines
    bodies = {q: search_body(SearchRequest(text=q, size=100, facets=())) for q in QUERIES}
    simulated.prepare(bodies.values())
    differ = {}
    for q in QUERIES:
        os_ids, emb_ids = simulated.search(bodies[q]), _embedded_ids(engine, q)
        if os_ids != emb_ids:
            differ[q] = (sorted(os_ids - emb_ids)[:5], sorted(emb_ids - os_ids)[:5])
    assert not differ, f"{len(differ)} of {len(QUERIES)} queries differ (only OpenSearch, only embedded): {differ}"


def test_the_issue_examples_find_their_products_on_both_engines(engines):
    engine, simulated = engines
    examples = [("3.5mm", "x00"), ("2.4GHz router", "x01"), ("usb_c", "x02"), ("v2.0", "x03"),
                ("1,000 piece", "x04"), ("u.s.a. flag", "x05"), ("sony w", "x06"), ("wireless m", "x07")]
    bodies = {text: search_body(SearchRequest(text=text, size=100, facets=())) for text, _ in examples}
    bodies["w"] = search_body(SearchRequest(text="w", size=100, facets=()))
    simulated.prepare(bodies.values())
    for text, pid in examples:
        assert pid in _embedded_ids(engine, text), f"embedded: {text}"
        assert pid in simulated.search(bodies[text]), f"OpenSearch: {text}"
    # one letter is a prefix too
    assert len(_embedded_ids(engine, "w")) > 10 and len(simulated.search(bodies["w"])) > 10
