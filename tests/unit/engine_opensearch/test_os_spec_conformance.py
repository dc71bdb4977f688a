"""Every request the OpenSearch adapter can send validates against OpenSearch's own API
specification (opensearch-project/opensearch-api-specification; see ``os_spec.py``).

Requests are captured below the real opensearch-py client (``os_cluster.py``), so what is
checked is the method, path, query string and body bytes as they would leave the
process: searches over every combination of text, filters, facets, sort, page, cursor
and highlight the search API allows, suggest, bulk writes of every operation kind
(text full of quotes, backslashes, control and non-ASCII characters), counts, ``mget``,
alias reads and swaps, index creation and deletion, the tombstone purge, a reindex
walk, and the index bootstrap custom resource's requests. Skips where the specification
folder is absent.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator

import pytest

from catalog.engine.opensearch.paging import encode_cursor
from catalog.engine.opensearch.search import search_body
from catalog.engine.port import (
    ClearContent,
    SearchRequest,
    Sort,
    Tombstone,
    UpsertContent,
    UpsertItem,
)
from catalog.model import Content, Product
from catalog.schema import FACET_NAMES, MAX_DEPTH, MAX_PAGE_SIZE, opensearch_index_body
from tests.unit.engine_opensearch.os_cluster import INDEX, captured_engine
from tests.unit.engine_opensearch.os_spec import Request, Spec, load_spec, spec_dir

pytestmark = pytest.mark.skipif(
    spec_dir() is None,
    reason="the OpenSearch API specification is absent: put the spec/ folder of "
           "opensearch-project/opensearch-api-specification at ../shared/opensearch-api-spec "
           "(or set OPENSEARCH_API_SPEC)")

NASTY = 'Say "hi" \\ back\\slash \t tab \n newline \x00\x1f\x7f ctrl \u2028 sep é ü 日本 🎧 </em>'


@pytest.fixture(scope="module")
def spec() -> Spec:
    loaded = load_spec()
    assert loaded is not None
    return loaded


def violations(spec: Spec, sent) -> list[str]:
    out = []
    for s in sent:
        problems = spec.check(Request.of(s.method, s.url, s.body, s.headers.get("content-type", "application/json")))
        out += [f"{s.method} {s.url}: {p}" for p in problems]
    return out


def product(pid: str, version: int = 1, **fields) -> Product:
    values = {"title": f"Wireless headphones {pid}", "brand": "Sony", "category": "Audio > Headphones > Over-ear",
              "price": 199.99, "currency": "USD", "in_stock": True, "description": "Closed-back.", "rating": 4.5,
              "review_count": 3, "tags": ("wireless", "bluetooth"), "created_at": "2026-01-01T00:00:00Z",
              "updated_at": "2026-01-02T00:00:00Z", "image_url": "https://img.example.com/x.jpg"}
    values.update(fields)
    return Product(id=pid, version=version, **values)


# ---------------------------------------------------------------- searches
TEXTS = ("", "wireless", "sony wh-1000xm5 3.5mm", NASTY, " ".join(f"w{i}" for i in range(40)))
FILTERS = (
    {},
    {"categories": ("Audio > Headphones",), "brands": ("Sony", "Bose")},
    {"price_min": 10.0, "price_max": 99.5, "rating_min": 4.0, "in_stock": True},
    {"categories": ("audio>headphones ", "Home"), "brands": ("B&O \"Play\"",), "price_min": 0.0,
     "in_stock": False, "rating_min": 1.0},
)
FACET_SETS = ((), FACET_NAMES, ("category",), ("price", "rating"))


def search_requests() -> Iterator[SearchRequest]:
    """Every text with every filter set, and every sort with every facet set and both
    highlight settings (the other axes cycle through their values), then paging."""
    shapes = list(itertools.product(Sort, FACET_SETS, (True, False)))
    for i, (text, filters) in enumerate(itertools.product(TEXTS, FILTERS)):
        sort, facets, highlight = shapes[i % len(shapes)]
        yield SearchRequest(text=text, sort=sort, facets=facets, highlight=highlight, **filters)
    for i, (sort, facets, highlight) in enumerate(shapes):
        filters = FILTERS[i % len(FILTERS)]
        yield SearchRequest(text=TEXTS[i % len(TEXTS)], sort=sort, facets=facets, highlight=highlight, **filters)
        yield SearchRequest(text="wireless", sort=sort, facets=facets, highlight=highlight, **filters)
    for sort in Sort:  # paging: the deepest page, the largest size, and cursors
        yield SearchRequest(text="wireless", sort=sort, size=MAX_PAGE_SIZE, page=MAX_DEPTH // MAX_PAGE_SIZE)
        yield SearchRequest(sort=sort, size=1, page=MAX_DEPTH)
        for after in ([4.5, "p9"], [None, "p\"9\\"], [1_700_000_000_000, "日本"]):
            base = SearchRequest(text="wireless", sort=sort, brands=("Sony",))
            yield SearchRequest(text="wireless", sort=sort, brands=("Sony",), cursor=encode_cursor(base, after, 40))


def test_every_search_the_adapter_can_send_is_valid(spec):
    engine, cluster = captured_engine()
    requests = list(search_requests())
    for request in requests:
        engine.search(request)
    assert len(requests) == len(cluster.sent) > 100
    assert {bool(r.cursor) for r in requests} == {True, False}
    assert violations(spec, cluster.sent) == []


def test_suggest_count_get_and_health_are_valid(spec):
    engine, cluster = captured_engine()
    for prefix in ("w", "sony wi", NASTY, "3.5mm ja", " ".join(["x"] * 40)):
        engine.suggest(prefix, size=10)
        engine.suggest(prefix, size=1000)
    engine.count()
    engine.count(index=INDEX)
    engine.get("p1")
    engine.states([f"p{i}" for i in range(2500)], index=INDEX)
    engine.health()
    assert len(cluster.sent) >= 15
    assert violations(spec, cluster.sent) == []


# ---------------------------------------------------------------- writes
def operations() -> list:
    return [
        UpsertItem(product("p1")),
        UpsertItem(product("p\"2\\", 2, title=NASTY, description=NASTY, brand=NASTY, tags=(NASTY, ""),
                           rating=None, image_url=None)),
        Tombstone("p1", 3),
        UpsertContent(Content(id="p1", version=4, long_description=NASTY, specifications={NASTY: NASTY, "a": ""},
                              images=("https://img.example.com/1.jpg",))),
        ClearContent("p1", 5),
    ]


@pytest.mark.parametrize("refresh", ["wait_for", True, False])
def test_bulk_writes_are_valid(spec, refresh):
    engine, cluster = captured_engine(refresh=refresh)
    engine.apply(operations())
    engine.apply(operations(), index=INDEX)
    assert [s.path for s in cluster.sent] == ["/products/_bulk", f"/{INDEX}/_bulk"]
    assert violations(spec, cluster.sent) == []


def test_index_lifecycle_reindex_and_purge_are_valid(spec):
    engine, cluster = captured_engine()
    new = engine.create_index()
    engine.apply(operations(), index=new)
    walked = list(engine.iter_states(index=INDEX, batch_size=3))  # a reindex reads the old index this way
    assert walked
    engine.swap_alias(new)
    engine.indices()
    engine.alias_target()
    engine.delete_index(INDEX)
    engine.purge_tombstones(86_400)
    methods = {(s.method, s.path.split("/")[-1]) for s in cluster.sent}
    assert {("PUT", new), ("POST", "_aliases"), ("DELETE", INDEX), ("POST", "_delete_by_query"),
            ("POST", "_update_by_query")} <= methods
    assert violations(spec, cluster.sent) == []


def test_the_index_bootstrap_custom_resource_sends_valid_requests(spec):
    from infra.runtime import index_bootstrap

    seen: list[str] = []
    statuses = iter([404, 404, 200, 200])

    def domain(method: str, url: str, body: bytes | None) -> tuple[int, bytes]:
        problems = spec.check(Request.of(method, url, body))
        seen.append(method)
        assert problems == []
        return next(statuses), b"{}"

    index_bootstrap.ensure_index("https://search.test", "products", "products-v1", opensearch_index_body(1, 1),
                                 request=domain)
    assert seen == ["GET", "HEAD", "PUT", "POST"]


# ---------------------------------------------------------------- the validator itself
def test_the_validator_catches_what_opensearch_would_reject(spec):
    body = search_body(SearchRequest(text="wireless"))
    ok = Request.of("POST", "/products/_search", json.dumps(body))
    assert spec.check(ok) == []
    broken = json.loads(json.dumps(body))
    broken["size"] = "twenty"
    assert any("size" in p for p in spec.check(Request.of("POST", "/products/_search", json.dumps(broken))))
    broken = json.loads(json.dumps(body))
    broken["sort"] = [{"price": {"order": "up"}}]
    assert spec.check(Request.of("POST", "/products/_search", json.dumps(broken)))
    broken = json.loads(json.dumps(body))
    broken["track_total_hits"] = "all"
    assert spec.check(Request.of("POST", "/products/_search", json.dumps(broken)))
    assert spec.check(Request.of("POST", "/products/_search?request_timeout=3", json.dumps(body)))
    assert spec.check(Request.of("POST", "/products/_search?timeout=soon", json.dumps(body)))
    assert spec.check(Request.of("POST", "/products/_serch", json.dumps(body)))
    line = '{"update":{"_index":"products","_id":"p1","retry_on_conflict":3}}\n{"scripted_upsert":"yes"}\n'
    assert spec.check(Request.of("POST", "/_bulk?refresh=wait_for", line, "application/x-ndjson"))
    bad_action = '{"update":{"_index":"products","_id":"p1"},"delete":{"_id":"p2"}}\n{}\n'
    assert spec.check(Request.of("POST", "/_bulk", bad_action, "application/x-ndjson"))
    assert spec.check(Request.of("POST", "/_bulk?refresh=soon", line.replace('"yes"', "true"),
                                 "application/x-ndjson"))
    assert spec.check(Request.of("POST", "/_bulk", line.rstrip("\n"), "application/x-ndjson"))


def test_each_patched_spec_defect_rejects_a_documented_request():
    """Without SPEC_DEFECTS the snapshot rejects OpenSearch's documented examples: a
    function_score function with a filter and a weight, and a field sort with an order."""
    raw = Spec(spec_dir(), defects=())
    patched = load_spec()
    documented = [
        {"query": {"function_score": {"query": {"match_all": {}},
                                      "functions": [{"filter": {"term": {"in_stock": True}}, "weight": 2}]}}},
        {"query": {"match_all": {}}, "sort": [{"price": {"order": "asc"}}]},
    ]
    for body in documented:
        request = Request.of("POST", "/products/_search", json.dumps(body))
        assert raw.check(request) and patched.check(request) == []
