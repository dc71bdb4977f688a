"""Relevance through the API on a small hand-written catalog: expected orderings.

Title matches outrank description matches; exact matches outrank typo matches; in-stock
and better-rated products get a mild boost (it does not beat a better text match).
"""

from __future__ import annotations

import pytest

from catalog.model import Product
from tests.doubles.apigw import call, validate_reply
from tests.integration.search_api.conftest import make_api


def product(pid, title, description="", *, in_stock=True, rating=4.0, brand="Acme", category="Home > Misc"):
    return Product(id=pid, title=title, brand=brand, category=category, price=20.0, currency="USD",
                   in_stock=in_stock, version=1, description=description, rating=rating, review_count=10)


CATALOG = [
    product("title-hit", "Aurora wireless headphones", "Comfortable over-ear sound."),
    product("desc-hit", "Aurora studio stand", "Holds your wireless headphones when not in use."),
    product("exact", "Bose travel speaker"),
    product("typo", "Bise travel speaker"),
    product("kettle-in", "Granite kettle", in_stock=True),
    product("kettle-out", "Granite kettle", in_stock=False),
    product("board-top", "Maple cutting board", rating=4.9),
    product("board-low", "Maple cutting board", rating=2.0),
    product("umbrella", "Nimbus umbrella", "Compact.", in_stock=False, rating=2.0),
    product("cover", "Rain cover", "Fits any nimbus umbrella.", in_stock=True, rating=5.0),
]


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    from catalog.engine.embedded import EmbeddedEngine
    from tests.integration.search_api.conftest import load

    engine = EmbeddedEngine(tmp_path_factory.mktemp("relevance-index"))
    load(engine, CATALOG)
    yield make_api(engine, client_factory=lambda region: None)
    engine.close()


def ids(api, q):
    reply = call(api, "GET", "/search", query=[("q", q), ("facets", "")])
    validate_reply(reply, "/search")
    assert reply.status == 200, reply.text
    return [h["id"] for h in reply.json()["hits"]]


def before(order, a, b):
    assert a in order and b in order, order
    assert order.index(a) < order.index(b), order


def test_title_match_outranks_description_match(api):
    before(ids(api, "wireless headphones"), "title-hit", "desc-hit")


def test_exact_match_outranks_typo_match(api):
    order = ids(api, "bose")
    before(order, "exact", "typo")
    before(ids(api, "bise"), "typo", "exact")


def test_typo_still_finds_the_product(api):
    assert ids(api, "kettel")[:2] == ["kettle-in", "kettle-out"]


def test_in_stock_gets_a_boost(api):
    assert ids(api, "granite kettle")[:2] == ["kettle-in", "kettle-out"]


def test_better_rating_gets_a_boost(api):
    assert ids(api, "maple cutting board")[:2] == ["board-top", "board-low"]


def test_stemmed_match(api):
    assert set(ids(api, "kettles")) >= {"kettle-in", "kettle-out"}


def test_boosts_are_mild(api):
    # out of stock and poorly rated, but the words are its title: still first
    before(ids(api, "nimbus umbrella"), "umbrella", "cover")
