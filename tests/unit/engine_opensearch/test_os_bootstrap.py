"""The contract suite's OpenSearch leg, without a cluster: a fresh engine creates its index
and alias on its first write when asked to (``create_missing``), never otherwise; the
documented ``OPENSEARCH_URL=http://user:password@127.0.0.1:9200`` builds an engine."""

from __future__ import annotations

import pytest

from catalog.engine import EngineConfigError
from catalog.engine.opensearch import OpenSearchEngine, settings_from_env
from catalog.engine.port import Outcome, UpsertItem
from tests.contract.builders import product

from . import os_shapes as shapes

NO_ALIAS = (404, shapes.error_body(404, "index_not_found_exception", "no such index [products]"))
ACK = (200, {"acknowledged": True})


def _bulk_no_alias(n: int):
    return 200, shapes.bulk_response(*[shapes.NO_ALIAS_404] * n)


def test_without_create_missing_a_missing_alias_stays_retryable(engine, http):
    http.answer(_bulk_no_alias(2))
    results = engine.apply([UpsertItem(product("p1")), UpsertItem(product("p2"))])
    assert [r.outcome for r in results] == [Outcome.RETRYABLE] * 2
    assert [(s.method, s.path) for s in http.sent] == [("POST", "/products/_bulk")]
    assert http.sent[0].params["require_alias"] == "true"


def test_create_missing_creates_index_and_alias_then_sends_the_batch_again(client, http):
    engine = OpenSearchEngine(client, "products", timeout=3.0, create_missing=True)
    created: list[str] = []

    def put(sent):
        created.append(sent.path.strip("/"))
        return 200, {"acknowledged": True, "shards_acknowledged": True, "index": created[-1]}

    http.answer(_bulk_no_alias(1), NO_ALIAS, put, ACK,
                lambda sent: (200, {created[0]: {"aliases": {"products": {}}}}),
                (200, shapes.bulk_response(shapes.CREATED)))
    results = engine.apply([UpsertItem(product("p1"))])
    assert [r.outcome for r in results] == [Outcome.APPLIED]
    assert [(s.method, s.path) for s in http.sent] == [
        ("POST", "/products/_bulk"), ("GET", "/_alias/products"), ("PUT", f"/{created[0]}"),
        ("POST", "/_aliases"), ("GET", "/_alias/products"), ("POST", "/products/_bulk")]
    assert created[0].startswith("products-") and "mappings" in http.sent[2].json()
    assert http.sent[3].json() == {"actions": [{"add": {"index": created[0], "alias": "products"}}]}
    assert http.sent[-1].params["require_alias"] == "true"


def test_create_missing_leaves_other_failures_alone(client, http):
    engine = OpenSearchEngine(client, "products", timeout=3.0, create_missing=True)
    http.answer((200, shapes.bulk_response(shapes.NO_ALIAS_404, shapes.MAPPER_400)))
    results = engine.apply([UpsertItem(product("p1")), UpsertItem(product("p2"))])
    assert [r.outcome for r in results] == [Outcome.RETRYABLE, Outcome.FAILED]
    assert len(http.sent) == 1


def test_ensure_alias_loser_of_a_race_removes_its_index(client, http):
    engine = OpenSearchEngine(client, "products", timeout=3.0, create_missing=True)
    winner = "products-20000101000000000000"  # older than any index created now
    mine: list[str] = []

    def put(sent):
        mine.append(sent.path.strip("/"))
        return 200, {"acknowledged": True, "index": mine[-1]}

    http.answer(NO_ALIAS, put, ACK,
                lambda sent: (200, {winner: {"aliases": {"products": {}}}, mine[0]: {"aliases": {"products": {}}}}),
                ACK, ACK)
    assert engine.ensure_alias() == winner
    assert http.sent[4].json() == {"actions": [{"remove": {"index": mine[0], "alias": "products"}}]}
    assert (http.sent[5].method, http.sent[5].path) == ("DELETE", f"/{mine[0]}")


def test_ensure_alias_keeps_an_existing_alias(engine, http):
    http.answer((200, {shapes.INDEX: {"aliases": {"products": {}}}}))
    assert engine.ensure_alias() == shapes.INDEX
    assert len(http.sent) == 1


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "[::1]"])
def test_basic_auth_over_http_is_accepted_on_this_machine_only(host):
    env = {"OPENSEARCH_ENDPOINT": f"http://{host}:9200", "OPENSEARCH_AUTH": "basic",
           "OPENSEARCH_USERNAME": "admin", "OPENSEARCH_PASSWORD": "pw"}
    assert settings_from_env(env).scheme == "http"
    with pytest.raises(EngineConfigError, match=r"^OPENSEARCH_ENDPOINT"):
        settings_from_env({**env, "OPENSEARCH_ENDPOINT": "http://search.example.com:9200"})


@pytest.mark.parametrize("url", ["http://127.0.0.1:9200", "http://admin:s%3Acret@127.0.0.1:9200"])
def test_the_documented_opensearch_url_builds_the_contract_engine(monkeypatch, url):
    from tests.contract.conftest import make_engine

    monkeypatch.setenv("OPENSEARCH_URL", url)
    engine = make_engine("opensearch", None, alias="contract-unit")
    assert isinstance(engine, OpenSearchEngine) and engine.create_missing and engine.alias == "contract-unit"
    connection = engine.client.transport.connection_pool.connections[0]
    assert connection.host == "http://127.0.0.1:9200"
