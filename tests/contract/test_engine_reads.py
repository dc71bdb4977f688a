"""Contract: search, facets, sorting, paging and cursors, suggest, get, count, health."""

from __future__ import annotations

import pytest

from catalog.engine.port import (
    IndexNotFound,
    InvalidRequest,
    SearchRequest,
    Sort,
    UpsertContent,
    UpsertItem,
)
from tests.contract.builders import content, ids, product, walk

CATALOG = [
    product("a1", title="Sony WH-1000XM5 wireless headphones", brand="Sony", category="Audio > Headphones > Over-ear",
            price=349.99, rating=4.7, created_at="2024-05-01T00:00:00Z",
            description="Industry-leading noise cancelling over-ear headphones."),
    product("a2", title="Bose QuietComfort headphones", brand="Bose", category="Audio > Headphones > Over-ear",
            price=299.0, rating=4.5, created_at="2024-03-01T00:00:00Z", description="Quiet and comfortable."),
    product("a3", title="Sony WF-1000XM4 earbuds", brand="Sony", category="Audio > Headphones > In-ear",
            price=199.0, rating=4.2, in_stock=False, created_at="2023-11-01T00:00:00Z"),
    product("a4", title="JBL Flip portable speaker", brand="JBL", category="Audio > Speakers > Portable",
            price=99.0, rating=4.0, created_at="2024-06-01T00:00:00Z", tags=("waterproof",)),
    product("a5", title="Bose SoundLink speaker", brand="Bose", category="Audio > Speakers > Portable",
            price=149.0, rating=None, created_at="2024-01-15T00:00:00Z"),
    product("c1", title="Logitech MX mechanical keyboard", brand="Logitech",
            category="Computers > Accessories > Keyboards", price=149.0, rating=4.6,
            created_at="2024-02-01T00:00:00Z"),
    product("c2", title="Dell UltraSharp 4K monitor", brand="Dell", category="Computers > Monitors > 4K",
            price=599.0, rating=4.4, created_at="2024-05-01T00:00:00Z"),
    product("k1", title="Breville espresso machine", brand="Breville",
            category="Home & Kitchen > Coffee > Espresso Machines", price=699.0, rating=4.8, in_stock=False,
            created_at="2022-01-01T00:00:00Z"),
    product("k2", title="Men's rain jacket", brand="Patagonia", category="Clothing > Men's > Jackets",
            price=199.0, rating=3.5, created_at="2024-04-01T00:00:00Z"),
    product("d1", title="Travel pouch", brand="Acme", category="Home & Kitchen > Storage > Bags", price=12.0,
            rating=3.0, created_at="2024-04-01T00:00:00Z", description="Fits your headphones and cables."),
]
BY_ID = {p.id: p for p in CATALOG}


@pytest.fixture
def shop(engine):
    engine.apply([UpsertItem(p) for p in CATALOG] + [UpsertContent(content("c2", 1, "IPS panel, USB-C hub"))])
    return engine


def facet(result, name):
    return {v.value: v.count for v in result.facets[name]}


# ---------------------------------------------------------------- text
def test_stemmed_matching_across_weighted_fields(shop):
    got = ids(shop, text="headphone")
    assert set(got) == {"a1", "a2", "a3", "d1"}
    assert set(got[:2]) == {"a1", "a2"}  # title matches first, then category or description


def test_all_terms_must_match(shop):
    assert ids(shop, text="sony headphones") == ["a1", "a3"]
    assert ids(shop, text="bose speaker") == ["a5"]


def test_content_fields_are_searchable(shop):
    assert ids(shop, text="ips panel") == ["c2"]


def test_typo_tolerance_finds_the_intended_word(shop):
    assert set(ids(shop, text="hedphones")) >= {"a1", "a2"}
    assert ids(shop, text="expresso") == ["k1"]


def test_exact_match_ranks_above_typo(engine):
    engine.apply([UpsertItem(product("t1", title="Acme lamb figure")),
                  UpsertItem(product("t2", title="Acme lamp shade")),
                  UpsertItem(product("t3", title="Acme lamps pair"))])
    got = ids(engine, text="lamp")
    assert got[0] == "t2"
    assert "t1" in got  # one edit away


def test_prefix_on_the_last_term(shop):
    assert ids(shop, text="espres") == ["k1"]
    assert ids(shop, text="sony headph") == ["a1"]
    assert ids(shop, text="mechanical keyb") == ["c1"]


def test_case_accents_and_possessives(shop):
    assert ids(shop, text="MEN'S JACKET") == ["k2"]
    assert ids(shop, text="men jacket") == ["k2"]
    assert ids(shop, text="Bréville") == ["k1"]


@pytest.mark.parametrize("text", ['sony AND (', '"', "title:sony", "*", "-", "a" * 200, "\u0000\u200b", "🎧"])
def test_any_text_is_safe(shop, text):
    result = shop.search(SearchRequest(text=text))
    assert result.total.value >= len(result.hits)
    assert result.total.relation in ("eq", "gte")


# ---------------------------------------------------------------- filters
@pytest.mark.parametrize(("request_args", "expected"), [
    ({"categories": ("Audio",)}, {"a1", "a2", "a3", "a4", "a5"}),
    ({"categories": ("audio > HEADPHONES",)}, {"a1", "a2", "a3"}),
    ({"categories": ("Audio > Headphones > In-ear",)}, {"a3"}),
    ({"categories": ("Audio > Speakers", "Computers")}, {"a4", "a5", "c1", "c2"}),
    ({"categories": ("Audio > Head",)}, set()),  # a path, not a prefix
    ({"brands": ("sony", "BOSE")}, {"a1", "a2", "a3", "a5"}),
    ({"price_min": 149, "price_max": 299}, {"a2", "a3", "a5", "c1", "k2"}),
    ({"price_min": 600}, {"k1"}),
    ({"price_max": 99}, {"a4", "d1"}),
    ({"in_stock": False}, {"a3", "k1"}),
    ({"rating_min": 4.5}, {"a1", "a2", "c1", "k1"}),
    ({"categories": ("Audio",), "brands": ("Bose",), "in_stock": True, "price_max": 200}, {"a5"}),
    ({"text": "headphones", "brands": ("sony",), "in_stock": True}, {"a1"}),
])
def test_filters(shop, request_args, expected):
    assert set(ids(shop, **request_args)) == expected


# ---------------------------------------------------------------- sorting
def _expected(sort: Sort) -> list[str]:
    def created(p):
        return p.created_at or ""

    match sort:
        case Sort.PRICE_ASC:
            return [p.id for p in sorted(CATALOG, key=lambda p: (p.price, p.id))]
        case Sort.PRICE_DESC:
            return [p.id for p in sorted(CATALOG, key=lambda p: (-p.price, p.id))]
        case Sort.RATING_DESC:
            return [p.id for p in sorted(CATALOG, key=lambda p: (p.rating is None, -(p.rating or 0), p.id))]
        case Sort.NEWEST:
            ordered = sorted(CATALOG, key=lambda p: p.id)
            return [p.id for p in sorted(ordered, key=created, reverse=True)]
    raise AssertionError(sort)


@pytest.mark.parametrize("sort", [Sort.PRICE_ASC, Sort.PRICE_DESC, Sort.RATING_DESC, Sort.NEWEST])
def test_sorts_with_ties_broken_by_id(shop, sort):
    assert ids(shop, sort=sort) == _expected(sort)


def test_relevance_ties_are_broken_by_id(engine):
    engine.apply([UpsertItem(product(pid, title="Twin kettle")) for pid in ("t3", "t1", "t4", "t2")])
    assert ids(engine, text="twin kettle") == ["t1", "t2", "t3", "t4"]
    assert ids(engine) == ["t1", "t2", "t3", "t4"]
    assert [ids(engine, text="kettle", size=1, page=n)[0] for n in (1, 2, 3, 4)] == ["t1", "t2", "t3", "t4"]


def test_in_stock_and_rating_boost_mildly(engine):
    engine.apply([UpsertItem(product("x1", title="Steel kettle", in_stock=False, rating=1.0)),
                  UpsertItem(product("x2", title="Steel kettle", in_stock=True, rating=5.0))])
    assert ids(engine, text="steel kettle") == ["x2", "x1"]


# ---------------------------------------------------------------- paging and cursors
def test_pages_continue_without_overlap(shop):
    full = ids(shop, sort=Sort.PRICE_ASC)
    paged = [i for n in range(1, 5) for i in ids(shop, sort=Sort.PRICE_ASC, size=3, page=n)]
    assert paged == full


def test_depth_is_limited_and_the_cursor_goes_beyond():
    with pytest.raises(InvalidRequest) as err:
        SearchRequest(page=101, size=100)
    assert err.value.parameter == "page"
    SearchRequest(page=100, size=100)  # exactly 10,000 is allowed
    with pytest.raises(InvalidRequest):
        SearchRequest(page=2, cursor="abc")


@pytest.mark.parametrize("sort", list(Sort))
def test_cursor_walk_returns_every_product_once_in_order(engine, catalog_1k, sort):
    engine.apply([UpsertItem(g.product) for g in catalog_1k[:60]])
    expected = ids(engine, sort=sort, size=100)
    assert len(expected) == 60
    assert walk(engine, size=7, sort=sort) == expected
    text = "wireless"
    expected_text = ids(engine, text=text, sort=sort, size=100)
    assert walk(engine, size=7, text=text, sort=sort) == expected_text


def test_cursor_walk_with_filters_and_ties(engine):
    engine.apply([UpsertItem(product(f"t{i:02d}", price=float(i % 3), brand="Tie" if i % 2 else "Other"))
                  for i in range(40)])
    expected = [f"t{i:02d}" for i in sorted((i for i in range(40) if i % 2), key=lambda i: (i % 3, i))]
    assert walk(engine, size=7, sort=Sort.PRICE_ASC, brands=("tie",)) == expected
    assert ids(engine, sort=Sort.PRICE_ASC, brands=("tie",)) == expected


def test_last_page_has_no_cursor(shop):
    result = shop.search(SearchRequest(size=100, facets=()))
    assert result.next_cursor is None and len(result.hits) == len(CATALOG)
    first = shop.search(SearchRequest(size=4, facets=()))
    assert first.next_cursor is not None


@pytest.mark.parametrize("cursor", ["not-a-cursor", "eyJ4IjoxfQ", "!!!"])
def test_a_bad_cursor_is_an_invalid_request(shop, cursor):
    with pytest.raises(InvalidRequest) as err:
        shop.search(SearchRequest(cursor=cursor))
    assert err.value.parameter == "cursor"


@pytest.mark.slow
def test_cursor_continues_beyond_the_depth_limit(engine):
    from catalog.generator import generate

    n = 10_050
    batch = []
    for g in generate(n, seed=3):
        batch.append(UpsertItem(g.product))
        if len(batch) == 2000:
            engine.apply(batch)
            batch = []
    engine.apply(batch)
    seen = walk(engine, size=100, sort=Sort.PRICE_ASC)
    assert len(seen) == n and len(set(seen)) == n


# ---------------------------------------------------------------- facets
def test_facets_without_filters(shop):
    result = shop.search(SearchRequest())
    assert result.total.value == len(CATALOG) and result.total.relation == "eq"
    assert facet(result, "brand")["Sony"] == 2 and facet(result, "brand")["Bose"] == 2
    assert facet(result, "category") == {"Audio": 5, "Computers": 2, "Home & Kitchen": 2, "Clothing": 1}
    prices = {(b.from_, b.to): b.count for b in result.facets["price"]}
    assert prices[(0.0, 25.0)] == 1 and prices[(250.0, 500.0)] == 2 and prices[(500.0, 1000.0)] == 2
    assert prices[(100.0, 250.0)] == 4 and prices.get((1000.0, None), 0) == 0
    ratings = facet(result, "rating")
    assert ratings[4.0] == 7 and ratings[3.0] == 9


def test_facets_are_disjunctive(shop):
    result = shop.search(SearchRequest(brands=("Sony",), categories=("Audio",)))
    assert {h.id for h in result.hits} == {"a1", "a3"}
    brands = facet(result, "brand")  # counted without the brand filter, with the category filter
    assert brands == {"Sony": 2, "Bose": 2, "JBL": 1}
    categories = facet(result, "category")  # counted without the category filter, with the brand filter
    assert categories["Audio"] == 2
    assert categories["Audio > Headphones"] == 2
    assert "Computers" not in categories
    prices = {(b.from_, b.to): b.count for b in result.facets["price"]}  # all filters apply
    assert prices[(100.0, 250.0)] == 1 and prices[(250.0, 500.0)] == 1


def test_hierarchy_facet_drills_down(shop):
    result = shop.search(SearchRequest(categories=("audio",), facets=("category",)))
    values = [v.value for v in result.facets["category"]]
    counts = facet(result, "category")
    assert {"Audio", "Computers", "Home & Kitchen", "Clothing"} <= set(values)
    assert counts["Audio > Headphones"] == 3 and counts["Audio > Speakers"] == 2
    assert not any(v.count(">") == 2 for v in values)  # only the children of the selection
    # the facet value is what the filter accepts
    assert set(ids(shop, categories=("Audio > Speakers",))) == {"a4", "a5"}


def test_price_and_rating_facets_ignore_their_own_filter(shop):
    result = shop.search(SearchRequest(price_min=500, rating_min=4.7, facets=("price", "rating")))
    assert {h.id for h in result.hits} == {"k1"}
    prices = {(b.from_, b.to): b.count for b in result.facets["price"]}  # with rating_min, without price
    assert prices[(250.0, 500.0)] == 1 and prices[(500.0, 1000.0)] == 1
    ratings = facet(result, "rating")  # with price_min, without rating_min
    assert ratings[4.0] == 2 and ratings[1.0] == 2


def test_only_requested_facets_are_computed(shop):
    result = shop.search(SearchRequest(facets=("brand",)))
    assert set(result.facets) == {"brand"}
    assert shop.search(SearchRequest(facets=())).facets == {}


# ---------------------------------------------------------------- highlights, suggest, get, count
def test_highlights_mark_matches_and_escape_html(engine):
    engine.apply([UpsertItem(product("h1", title="Tom & Jerry <b>mug</b>", description="A mug for tea."))])
    hit = engine.search(SearchRequest(text="mug")).hits[0]
    title = hit.highlight["title"]
    assert "<em>mug</em>" in title and "&amp;" in title and "&lt;b&gt;" in title and "<b>" not in title
    assert "<em>mug</em>" in hit.highlight["description"]
    hit = engine.search(SearchRequest(text="jerry")).hits[0]
    assert "<em>Jerry</em>" in hit.highlight["title"]
    assert hit.highlight.get("description") is None


def test_highlight_of_a_stemmed_match(shop):
    hit = shop.search(SearchRequest(text="headphone", brands=("bose",))).hits[0]
    assert "<em>headphones</em>" in hit.highlight["title"]


def test_hits_carry_display_fields(shop):
    hit = shop.search(SearchRequest(text="espresso")).hits[0]
    assert (hit.id, hit.title, hit.brand, hit.price, hit.currency, hit.in_stock) == (
        "k1", "Breville espresso machine", "Breville", 699.0, "USD", False)
    assert hit.category == "Home & Kitchen > Coffee > Espresso Machines" and hit.rating == 4.8


def test_suggest_completes_titles(shop):
    assert [s.id for s in shop.suggest("sony wi")] == ["a1"]
    assert [s.text for s in shop.suggest("espre")] == ["Breville espresso machine"]
    assert len(shop.suggest("bose", size=1)) == 1
    assert {s.id for s in shop.suggest("bose")} == {"a2", "a5"}
    assert shop.suggest("") == [] and shop.suggest("zzzq") == []


def test_get_and_count(shop):
    prod, cont = shop.get("c2")
    assert prod == BY_ID["c2"] and cont is not None and cont.long_description == "IPS panel, USB-C hub"
    prod, cont = shop.get("a1")
    assert prod == BY_ID["a1"] and cont is None
    assert shop.get("missing") is None
    assert shop.count() == len(CATALOG)


def test_health_and_a_missing_alias(engine):
    health = engine.health()
    assert health.reachable and not health.alias_present and not health.ok
    with pytest.raises(IndexNotFound):
        engine.search(SearchRequest())
    engine.apply([UpsertItem(product("p1"))])  # a fresh engine creates its index and alias
    health = engine.health()
    assert health.ok and engine.alias_target() is not None


def test_reindex_into_a_new_index_and_swap_without_an_empty_moment(engine):
    engine.apply([UpsertItem(product("p1", title="Old kettle")), UpsertItem(product("p2", title="Old jug"))])
    old = engine.alias_target()
    new = engine.create_index()
    assert new != old and engine.indices() == [old, new]
    assert engine.count(index=new) == 0
    engine.apply([UpsertItem(product("p1", title="New kettle")), UpsertItem(product("p3", title="New cup"))],
                 index=new)
    assert engine.count(index=new) == 2 and set(engine.states(["p1", "p3"], index=new)) == {"p1", "p3"}
    assert set(ids(engine, text="old")) == {"p1", "p2"}  # the alias still serves the old index
    assert engine.swap_alias(new) == old
    assert engine.alias_target() == new
    assert set(ids(engine, text="new")) == {"p1", "p3"} and ids(engine, text="old") == []
    engine.delete_index(old)
    assert engine.indices() == [new]
    assert engine.count() == 2


def test_readers_never_see_an_empty_alias_during_a_swap(engine):
    import threading

    engine.apply([UpsertItem(product(f"p{i}", title="Old kettle")) for i in range(5)])
    new = engine.create_index()
    engine.apply([UpsertItem(product(f"q{i}", title="New kettle")) for i in range(3)], index=new)
    seen: list[int] = []
    stop = threading.Event()

    def reader():
        while not stop.is_set():
            seen.append(engine.search(SearchRequest(text="kettle", facets=())).total.value)

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        while len(seen) < 3:
            stop.wait(0.01)
        engine.swap_alias(new)
        mark = len(seen)
        while len(seen) < mark + 3:
            stop.wait(0.01)
    finally:
        stop.set()
        thread.join(timeout=30)
    assert seen and set(seen) <= {5, 3} and seen[-1] == 3


@pytest.mark.parametrize("sort", [Sort.PRICE_ASC, Sort.RATING_DESC, Sort.RELEVANCE])
def test_large_tie_groups_page_in_id_order(engine, sort):
    engine.apply([UpsertItem(product(f"t{i:03d}", title="Same kettle", price=5.0 if i < 150 else 9.0))
                  for i in range(160)])
    expected = [f"t{i:03d}" for i in range(160)]  # equal scores and ratings; prices 5 then 9
    text = "kettle" if sort is Sort.RELEVANCE else ""
    assert ids(engine, sort=sort, text=text) + ids(engine, sort=sort, text=text, page=2) == expected
    assert walk(engine, size=7, sort=sort, text=text) == expected


@pytest.mark.parametrize("sort", [Sort.PRICE_ASC, Sort.RELEVANCE])
def test_ties_follow_the_whole_id_not_a_prefix(engine, sort):
    pids = [f"sku-000000-{i:03d}" for i in range(70)] + ["sku-0000", "sku-00000", "sku-0000000000-z"]
    engine.apply([UpsertItem(product(pid, title="Same mug", price=3.0)) for pid in reversed(pids)])
    expected = sorted(pids)
    text = "mug" if sort is Sort.RELEVANCE else ""
    assert ids(engine, sort=sort, text=text) == expected
    assert walk(engine, size=7, sort=sort, text=text) == expected
