"""Price and rating facets counted from the derived ``_bands`` field, and the one-pass
brand/category matrix combined with a price or rating filter: the same answers as counting
each facet from its definition."""

from __future__ import annotations

import pytest

from catalog.engine.embedded import EmbeddedEngine
from catalog.engine.embedded import facets as embedded_facets
from catalog.engine.port import SearchRequest, Tombstone, UpsertItem
from catalog.schema import FACETS_BY_NAME
from tests.contract.builders import product

# values on and next to every bucket edge of the price and rating facets
PRICES = [0.0, 0.01, 24.99, 25.0, 49.999, 50.0, 99.99, 100.0, 250.0, 499.99, 500.0, 999.99, 1000.0, 123456.0]
RATINGS = [None, 0.0, 0.5, 0.99, 1.0, 1.5, 2.0, 2.99, 3.0, 3.5, 3.99, 4.0, 4.5, 5.0]


@pytest.fixture
def engine(tmp_path):
    eng = EmbeddedEngine(tmp_path / "idx")
    yield eng
    eng.close()


def _expected(products, req_price_min=None):
    price = FACETS_BY_NAME["price"]
    rating = FACETS_BY_NAME["rating"]
    chosen = [p for p in products if req_price_min is None or p.price >= req_price_min]
    prices = [sum(1 for p in products if (lo is None or p.price >= lo) and (hi is None or p.price < hi))
              for lo, hi in price.ranges]
    ratings = [sum(1 for p in chosen if p.rating is not None and p.rating >= m) for m in rating.minimums]
    return prices, ratings


def test_price_and_rating_buckets_on_their_edges(engine):
    products = [product(f"p{i:03d}", price=pr, rating=RATINGS[(i * 5) % len(RATINGS)], brand=("Acme", "Bolt")[i % 2])
                for i, pr in enumerate(PRICES * 3)]
    engine.apply([UpsertItem(p) for p in products] + [Tombstone("p000", 2)])  # a tombstone is never counted
    live = [p for p in products if p.id != "p000"]
    for req, price_min in ((SearchRequest(), None), (SearchRequest(price_min=50), 50),
                           (SearchRequest(brands=("acme",), price_min=50), 50)):
        result = engine.search(req)
        pool = [p for p in live if not req.brands or p.brand == "Acme"]
        prices, ratings = _expected(pool, price_min)
        assert [b.count for b in result.facets["price"]] == prices
        assert [v.count for v in result.facets["rating"]] == ratings
        assert [(b.from_, b.to) for b in result.facets["price"]] == [
            (None if lo is None else float(lo), None if hi is None else float(hi))
            for lo, hi in FACETS_BY_NAME["price"].ranges]


def test_matrix_with_range_filters_equals_one_pass_per_facet(engine, catalog_1k, monkeypatch):
    engine.apply([UpsertItem(g.product) for g in catalog_1k[:500]] + [UpsertItem(product("nobrand", brand=""))])
    requests = [
        SearchRequest(brands=("Sony", "bose"), price_min=50, price_max=400),
        SearchRequest(categories=("Audio",), rating_min=4.0),
        SearchRequest(text="wireless", brands=("Sony",), categories=("Audio",), price_max=300, rating_min=3.0),
        SearchRequest(categories=("Computers",), price_min=100, facets=("price", "brand")),
        SearchRequest(brands=("Anker",), rating_min=4.5, facets=("rating", "category")),
    ]
    fast = [engine.search(r) for r in requests]
    monkeypatch.setattr(embedded_facets, "_MATRIX", {})  # one aggregation pass per filtered facet
    slow = [engine.search(r) for r in requests]
    for a, b in zip(fast, slow, strict=True):
        assert a.total == b.total and a.facets == b.facets
        assert [h.id for h in a.hits] == [h.id for h in b.hits]
    assert any(f.total.value for f in fast)
