"""Operations of the OpenSearch adapter through the real client: index creation from the
schema, the atomic alias swap, listing and deleting indices, purging tombstones, health,
stored states (mget, search_after over id), get and count."""

from __future__ import annotations

import re
import time

import pytest
import urllib3

from catalog.engine import EngineError, Health, IndexNotFound, InvalidRequest
from catalog.engine.opensearch import OpenSearchEngine
from catalog.engine.opensearch.admin import aliases_body
from catalog.engine.opensearch.writes import FORGET_ITEM_SCRIPT
from catalog.model import Content
from catalog.schema import opensearch_index_body

from . import os_shapes as shapes

ALIAS_MISSING = (404, {"error": "alias [products] missing", "status": 404})


def alias_answer(*indices):
    return (200, {name: {"aliases": {"products": {}}} for name in indices})


# ---------------------------------------------------------------- indices and the alias
def test_create_index_puts_the_schema_body_under_a_timestamped_name(client, http):
    engine = OpenSearchEngine(client, shards=3, replicas=2)
    http.answer((200, {"acknowledged": True, "shards_acknowledged": True, "index": "x"}))
    name = engine.create_index()
    assert re.fullmatch(r"products-\d{20}", name)
    (sent,) = http.sent
    assert (sent.method, sent.path) == ("PUT", f"/{name}")
    assert sent.json() == opensearch_index_body(3, 2)


def test_create_index_with_a_name_and_its_errors(engine, http):
    http.answer((200, {"acknowledged": True}))
    assert engine.create_index("products-v2") == "products-v2"
    with pytest.raises(ValueError, match="alias"):
        engine.create_index("products")
    with pytest.raises(ValueError, match="index"):
        engine.create_index("Products V2")
    http.answer((400, shapes.error_body(400, "resource_already_exists_exception",
                                        "index [products-v2/abc] already exists", index="products-v2")))
    with pytest.raises(EngineError, match="resource_already_exists_exception"):
        engine.create_index("products-v2")


def test_swap_alias_removes_and_adds_in_one_request(engine, http):
    http.answer(alias_answer("products-old"), (200, {"acknowledged": True}))
    assert engine.swap_alias("products-new") == "products-old"
    get, post = http.sent
    assert (get.method, get.path) == ("GET", "/_alias/products")
    assert (post.method, post.path) == ("POST", "/_aliases")
    assert post.json() == {"actions": [{"remove": {"index": "products-old", "alias": "products"}},
                                       {"add": {"index": "products-new", "alias": "products"}}]}


def test_first_swap_only_adds_and_a_missing_index_is_reported(engine, http):
    http.answer(ALIAS_MISSING, (200, {"acknowledged": True}))
    assert engine.swap_alias("products-1") is None
    assert http.sent[1].json() == {"actions": [{"add": {"index": "products-1", "alias": "products"}}]}
    http.answer(alias_answer("products-1"), (404, shapes.error_body(
        404, "index_not_found_exception", "no such index [products-9]", index="products-9")))
    with pytest.raises(IndexNotFound, match="products-9"):
        engine.swap_alias("products-9")


def test_aliases_body_clears_every_old_target():
    assert aliases_body("products", "p-3", ["p-1", "p-2", "p-3"]) == {"actions": [
        {"remove": {"index": "p-1", "alias": "products"}}, {"remove": {"index": "p-2", "alias": "products"}},
        {"add": {"index": "p-3", "alias": "products"}}]}


def test_alias_target(engine, http):
    http.answer(alias_answer("products-20260101000000000000"), ALIAS_MISSING)
    assert engine.alias_target() == "products-20260101000000000000"
    assert engine.alias_target() is None


def test_indices_oldest_first(engine, http):
    http.answer((200, [
        {"index": "products-b", "creation.date": "1763800000300"},
        {"index": "products-a", "creation.date": "1763800000100"},
        {"index": "products-c", "creation.date": "1763800000200"},
    ]))
    assert engine.indices() == ["products-a", "products-c", "products-b"]
    (sent,) = http.sent
    assert sent.path == "/_cat/indices/products-*"
    assert sent.params["format"] == "json" and sent.params["h"] == "index,creation.date"


def test_delete_index_never_deletes_the_alias_target(engine, http):
    http.answer(alias_answer("products-new"))
    with pytest.raises(EngineError, match="swap the alias first"):
        engine.delete_index("products-new")
    assert [s.method for s in http.sent] == ["GET"]
    http.answer(alias_answer("products-new"), (200, {"acknowledged": True}))
    engine.delete_index("products-old")
    assert (http.sent[-1].method, http.sent[-1].path) == ("DELETE", "/products-old")
    with pytest.raises(ValueError, match="index"):
        engine.delete_index("products-*")
    with pytest.raises(ValueError, match="alias"):
        engine.delete_index("products")


# ---------------------------------------------------------------- purge
def test_purge_deletes_old_tombstones_and_keeps_content_of_those_that_have_it(engine, http):
    http.answer((200, {"took": 40, "timed_out": False, "total": 7, "deleted": 7, "batches": 1,
                       "version_conflicts": 0, "noops": 0, "failures": []}),
                (200, {"took": 12, "timed_out": False, "total": 2, "updated": 2, "batches": 1,
                       "version_conflicts": 0, "noops": 0, "failures": []}))
    before = int(time.time() * 1000)
    assert engine.purge_tombstones(86_400) == 9
    after = int(time.time() * 1000)
    delete, update = http.sent
    assert (delete.method, delete.path) == ("POST", "/products/_delete_by_query")
    assert (update.method, update.path) == ("POST", "/products/_update_by_query")
    for sent in (delete, update):
        assert sent.params["conflicts"] == "proceed" and sent.params["refresh"] == "true"
    cutoff = delete.json()["query"]["bool"]["filter"][1]["range"]["tombstoned_at"]["lt"]
    assert before - 86_400_000 <= cutoff <= after - 86_400_000
    assert delete.json()["query"]["bool"]["filter"][0] == {"term": {"deleted": True}}
    assert delete.json()["query"]["bool"]["must_not"] == [{"exists": {"field": "content_version"}}]
    assert update.json()["query"]["bool"]["filter"][2] == {"exists": {"field": "content_version"}}
    assert update.json()["script"] == {"lang": "painless", "source": FORGET_ITEM_SCRIPT}
    assert "remove('item_version')" in FORGET_ITEM_SCRIPT and "has_item = false" in FORGET_ITEM_SCRIPT


# ---------------------------------------------------------------- health
def test_health_is_one_light_call(engine, http):
    http.answer(alias_answer("products-1"))
    assert engine.health() == Health(True, True, {"index": "products-1"})
    http.answer(ALIAS_MISSING)
    health = engine.health()
    assert (health.reachable, health.alias_present, health.ok) == (True, False, False)
    assert len(http.sent) == 2


def test_health_reports_an_unreachable_cluster_without_raising(engine, http):
    refused = urllib3.exceptions.NewConnectionError(None, "Connection refused")
    http.answer(refused, refused, refused)
    health = engine.health()
    assert (health.reachable, health.alias_present) == (False, False)
    assert "cannot reach OpenSearch" in health.detail["error"]
    http.answer((500, shapes.error_body(500, "exception", "boom")))  # 500 is not retried
    assert engine.health().reachable is False


# ---------------------------------------------------------------- states, get, count
TOMBSTONE = {"id": "p2", "item_version": 9, "has_item": False, "deleted": True, "tombstoned_at": 1_763_800_000_000}
CONTENT_ONLY = {"id": "p3", "content_version": 4, "has_item": False, "deleted": False,
                "long_description": "Long.", "specifications": "Weight: 1 kg\nColour: red", "images": ["i.jpg"]}


def mget_answer(*docs):
    out = []
    for pid, src in docs:
        if src is None:
            out.append({"_index": shapes.INDEX, "_id": pid, "found": False})
        else:
            out.append({"_index": shapes.INDEX, "_id": pid, "_version": 3, "_seq_no": 2, "_primary_term": 1,
                        "found": True, "_source": src})
    return (200, {"docs": out})


def test_states_reads_visible_tombstoned_and_content_only_docs(engine, http):
    visible = shapes.source("p1", content_version=2, long_description="", specifications="", images=[])
    http.answer(mget_answer(("p1", visible), ("p2", TOMBSTONE), ("p3", CONTENT_ONLY), ("p4", None)))
    states = engine.states(["p1", "p2", "p3", "p4", "p1"])
    (sent,) = http.sent
    assert (sent.path, sent.json()) == ("/products/_mget", {"ids": ["p1", "p2", "p3", "p4"]})
    assert set(states) == {"p1", "p2", "p3"}
    p1, p2, p3 = states["p1"], states["p2"], states["p3"]
    assert p1.visible and p1.item_version == 1_700_000_000_000_001 and p1.product.price == 199.99
    assert p1.product.tags == ("wireless",) and p1.content == Content("p1", 2)
    assert (p2.visible, p2.deleted, p2.product, p2.item_version, p2.tombstoned_at) == (
        False, True, None, 9, 1_763_800_000.0)
    assert (p3.visible, p3.item_version, p3.product) == (False, None, None)
    assert p3.content == Content("p3", 4, "Long.", {"Weight": "1 kg", "Colour": "red"}, ("i.jpg",))


def test_states_of_a_physical_index(engine, http):
    http.answer(mget_answer(("p1", None)))
    assert engine.states(["p1"], index="products-2") == {}
    assert http.sent[0].path == "/products-2/_mget"


def test_get_returns_only_visible_products(engine, http):
    cleared = shapes.source("p1", content_version=5, long_description=None, specifications=None, images=[])
    http.answer(mget_answer(("p1", cleared)), mget_answer(("p2", TOMBSTONE)), mget_answer(("p3", CONTENT_ONLY)),
                mget_answer(("p4", None)))
    product, content = engine.get("p1")
    assert product.id == "p1" and product.version == 1_700_000_000_000_001 and content is None
    assert engine.get("p2") is None and engine.get("p3") is None and engine.get("p4") is None


def test_count_counts_visible_products(engine, http):
    http.answer((200, {"count": 42, "_shards": {"total": 1, "successful": 1, "skipped": 0, "failed": 0}}))
    assert engine.count(index="products-7") == 42
    (sent,) = http.sent
    assert sent.path == "/products-7/_count"
    assert sent.json() == {"query": {"bool": {"filter": [{"term": {"has_item": True}},
                                                         {"term": {"deleted": False}}]}}}


def test_iter_states_pages_by_id_with_search_after(engine, http):
    def page(*ids):
        return (200, {"took": 1, "timed_out": False, "hits": {"total": {"value": 0, "relation": "eq"}, "hits": [
            {"_index": shapes.INDEX, "_id": i, "_score": None, "_source": {**TOMBSTONE, "id": i}, "sort": [i]}
            for i in ids]}})

    http.answer(page("a", "b"), page("c"))
    states = list(engine.iter_states(batch_size=2))
    assert [s.id for s in states] == ["a", "b", "c"] and all(s.deleted for s in states)
    first, second = (s.json() for s in http.sent)
    assert first == {"query": {"match_all": {}}, "size": 2, "sort": [{"id": {"order": "asc"}}],
                     "track_total_hits": False}
    assert second["search_after"] == ["b"]
    with pytest.raises(ValueError, match="batch_size"):
        list(engine.iter_states(batch_size=0))


def test_purge_without_an_index_purges_nothing_and_rejects_a_negative_age(engine, http):
    http.answer((404, shapes.error_body(404, "index_not_found_exception", "no such index [products]",
                                        index="products")))
    assert engine.purge_tombstones(60) == 0
    assert len(http.sent) == 1
    with pytest.raises(InvalidRequest) as err:
        engine.purge_tombstones(-1)
    assert err.value.parameter == "older_than_seconds"


def test_tombstone_time_read_back_as_epoch_millis_or_iso_date():
    from catalog.engine.opensearch.states import doc_state

    assert doc_state("p", TOMBSTONE).tombstoned_at == 1_763_800_000.0
    assert doc_state("p", {**TOMBSTONE, "tombstoned_at": "2025-11-22T08:26:40Z"}).tombstoned_at == 1_763_800_000.0
