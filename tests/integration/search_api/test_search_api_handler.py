"""The search API through real API Gateway proxy events against the embedded engine
holding the generated catalog; every answer is checked against the OpenAPI document."""

from __future__ import annotations

import boto3
import pytest
from moto import mock_aws

from catalog.schema import FACETS_BY_NAME, MAX_SUGGEST_SIZE
from catalog.text import fold
from tests.doubles.apigw import call, validate_reply
from tests.integration.search_api.conftest import MAINTENANCE, REGION, make_api

WIDE_USB_C = "\uff35\uff33\uff22\uff0d\uff23"  # full-width "USB-C": NFKC folds it


def get(api, url, **kwargs):
    reply = call(api, "GET", url, **kwargs)
    validate_reply(reply, url.split("?")[0])
    return reply


def search(api, url="/search", **kwargs):
    reply = get(api, url, **kwargs)
    assert reply.status == 200, reply.text
    return reply.json()


def test_search_shape_and_headers(api):
    reply = get(api, "/search?q=headphones&size=5", headers={"Origin": "https://shop.example"})
    assert reply.status == 200
    body = reply.json()
    assert 0 < len(body["hits"]) <= 5 and body["total"]["value"] >= len(body["hits"])
    assert body["region"] == REGION and body["size"] == 5 and body["page"] == 1 and body["took_ms"] >= 0
    assert set(body["facets"]) == set(FACETS_BY_NAME)
    assert any(h["highlight"]["title"] and "<em>" in h["highlight"]["title"] for h in body["hits"])
    assert reply.headers["x-served-region"] == REGION
    assert reply.headers["access-control-allow-origin"] == "*"
    assert "stale-while-revalidate" in reply.headers["cache-control"]


def test_brand_filter_repeated_is_any_of(api):
    body = search(api, "/search", query=[("brand", "Sony"), ("brand", "bose"), ("size", "100")])
    assert body["hits"] and {h["brand"] for h in body["hits"]} <= {"Sony", "Bose"}
    assert {h["brand"] for h in body["hits"]} == {"Sony", "Bose"}
    # the brand facet is counted without its own filter: other brands still appear
    assert len(body["facets"]["brand"]) > 2


def test_category_matches_descendants(api):
    body = search(api, "/search?category=Audio&size=100")
    assert body["hits"] and all(h["category"].startswith("Audio > ") for h in body["hits"])
    leafs = {h["category"] for h in body["hits"]}
    assert len(leafs) > 1


def test_numeric_and_boolean_filters(api):
    body = search(api, "/search?price_min=50&price_max=100&in_stock=true&rating_min=4&size=100")
    assert body["hits"]
    for h in body["hits"]:
        assert 50 <= h["price"] <= 100 and h["in_stock"] and h["rating"] >= 4
    out = search(api, "/search?in_stock=false&size=100")
    assert out["hits"] and not any(h["in_stock"] for h in out["hits"])


@pytest.mark.parametrize(("facet", "parameter"), [("category", "category"), ("brand", "brand"),
                                                  ("rating", "rating_min")])
def test_a_facet_value_is_what_its_filter_accepts(api, facet, parameter):
    body = search(api, f"/search?q=wireless&facets={facet}")
    entries = body["facets"][facet]
    assert entries
    for entry in entries[:6]:
        value = entry["value"]
        filtered = search(api, "/search", query=[("q", "wireless"), (parameter, f"{value:g}" if isinstance(
            value, float) else str(value)), ("facets", "")])
        assert filtered["total"] == {"value": entry["count"], "relation": "eq"}, entry


def test_price_facet_buckets_hold_their_hits(api):
    body = search(api, "/search?facets=price&size=1")
    buckets = body["facets"]["price"]
    assert sum(b["count"] for b in buckets) == body["total"]["value"]
    for b in buckets:
        if b["count"] and b["from"] is not None:
            hits = search(api, f"/search?price_min={b['from']}&sort=price_asc&size=1&facets=")["hits"]
            assert hits[0]["price"] >= b["from"]


@pytest.mark.parametrize(("sort", "key", "reverse"), [("price_asc", "price", False), ("price_desc", "price", True),
                                                      ("rating_desc", "rating", True)])
def test_sort_orders(api, sort, key, reverse):
    hits = search(api, f"/search?q=speaker&sort={sort}&size=50")["hits"]
    values = [h[key] if h[key] is not None else -1 for h in hits]
    assert len(values) > 5 and values == sorted(values, reverse=reverse)


def test_newest_sort(api, generated_catalog):
    created = {g.product.id: g.product.created_at for g in generated_catalog}
    hits = search(api, "/search?sort=newest&size=20")["hits"]
    dates = [created[h["id"]] for h in hits]
    assert dates == sorted(dates, reverse=True)
    assert dates[0] == max(created.values())


def test_pages_do_not_overlap(api):
    first = search(api, "/search?q=keyboard&size=10&page=1")
    second = search(api, "/search?q=keyboard&size=10&page=2")
    assert first["total"]["value"] > 20
    assert not {h["id"] for h in first["hits"]} & {h["id"] for h in second["hits"]}
    assert second["page"] == 2


def test_cursor_walks_the_whole_result_once(api):
    seen: list[str] = []
    url = "/search?category=Computers%20%3E%20Accessories&sort=price_asc&size=50&facets="
    body = search(api, url)
    total = body["total"]["value"]
    prices = []
    while True:
        seen += [h["id"] for h in body["hits"]]
        prices += [h["price"] for h in body["hits"]]
        if body["next_cursor"] is None:
            break
        body = search(api, "/search", query=[("category", "Computers > Accessories"), ("sort", "price_asc"),
                                             ("size", "50"), ("facets", ""), ("cursor", body["next_cursor"])])
        assert body["page"] is None
    assert len(seen) == len(set(seen)) == total > 100
    assert prices == sorted(prices)


def test_bad_cursor_is_400(api):
    reply = get(api, "/search?cursor=not-a-cursor")
    assert reply.status == 400 and reply.json()["error"]["parameter"] == "cursor"


def test_etag_and_304(api):
    first = get(api, "/search?q=espresso&size=3")
    again = get(api, "/search?q=espresso&size=3")
    assert first.headers["etag"] == again.headers["etag"]
    assert first.json()["hits"] == again.json()["hits"]
    cached = get(api, "/search?q=espresso&size=3", headers={"If-None-Match": first.headers["etag"]})
    assert cached.status == 304 and cached.text == "" and cached.headers["etag"] == first.headers["etag"]
    other = get(api, "/search?q=espresso&size=4", headers={"If-None-Match": first.headers["etag"]})
    assert other.status == 200 and other.headers["etag"] != first.headers["etag"]


@pytest.mark.parametrize("text", ["men's", "usb-c", "C++", "50%", "😀", "سماعات لاسلكية", "AND (", "title:x OR *",
                                  "\"unbalanced", WIDE_USB_C, "-", "''"])
def test_any_text_is_answered(api, text):
    body = search(api, "/search", query=[("q", text)])
    assert body["total"]["value"] >= 0


def test_normalised_text_matches(api):
    plain = search(api, "/search?q=usb-c%20cable&size=5&facets=")
    wide = search(api, "/search", query=[("q", WIDE_USB_C + " CABLE"), ("size", "5"), ("facets", "")])
    assert plain["hits"] and [h["id"] for h in plain["hits"]] == [h["id"] for h in wide["hits"]]
    assert all("usb-c" in fold(h["title"]) or "usb" in fold(h["title"]) for h in plain["hits"])


def test_product(api, generated_catalog):
    g = generated_catalog[7]
    reply = get(api, f"/products/{g.product.id}")
    assert reply.status == 200 and "etag" in reply.headers
    body = reply.json()
    assert (body["id"], body["title"], body["price"], body["region"]) == \
        (g.product.id, g.product.title, g.product.price, REGION)
    assert body["content"]["specifications"] == dict(g.content.specifications)
    assert get(api, "/products/p999999").status == 404
    bad = get(api, "/products/not%20valid")
    assert bad.status == 400 and bad.json()["error"]["parameter"] == "id"
    assert get(api, f"/products/{g.product.id}?fields=all").json()["error"]["parameter"] == "fields"


def test_suggest(api):
    body = get(api, "/suggest?q=senn&size=5").json()
    assert 0 < len(body["suggestions"]) <= 5 and body["region"] == REGION
    assert all(fold(s["text"]).startswith("sennheiser") for s in body["suggestions"])
    assert get(api, "/suggest").json()["suggestions"] == []
    assert get(api, f"/suggest?q=a&size={MAX_SUGGEST_SIZE + 1}").status == 400


@pytest.mark.parametrize("url", ["/search?qq=x", "/suggest?limit=3", "/health?verbose=1", "/openapi.json?x=1",
                                 "/docs?theme=dark"])
def test_unknown_parameters_are_rejected_on_every_route(api, url):
    reply = get(api, url)
    assert reply.status == 400 and reply.json()["error"]["code"] == "invalid_parameter"


def test_openapi_and_docs_are_served(api):
    from search_api.openapi import document

    reply = get(api, "/openapi.json")
    assert reply.status == 200 and reply.json() == document()
    docs = get(api, "/docs")
    assert docs.status == 200 and docs.headers["content-type"].startswith("text/html") and "swagger" in docs.text


def test_health_with_the_maintenance_switch(catalog_engine):
    with mock_aws():
        ssm = boto3.client("ssm", region_name=REGION)
        api = make_api(catalog_engine)
        reply = get(api, "/health")
        assert reply.status == 200 and reply.json()["checks"]["maintenance"] == {"ok": True, "value": "off"}
        assert reply.json()["checks"]["alias"]["ok"] and reply.headers["cache-control"] == "no-store"
        ssm.put_parameter(Name=MAINTENANCE, Value="on", Type="String")
        reply = get(api, "/health")
        assert reply.status == 503 and reply.json()["failing"] == ["maintenance"]
        # search keeps answering in maintenance: only the health check takes the region out
        assert get(api, "/search?q=tent&size=1").status == 200
        ssm.put_parameter(Name=MAINTENANCE, Value="off", Type="String", Overwrite=True)
        assert get(api, "/health").status == 200


def test_health_without_ssm_still_passes(api):
    reply = get(api, "/health")
    body = reply.json()
    assert reply.status == 200 and body["checks"]["maintenance"]["ok"] and "error" in body["checks"]["maintenance"]


def test_missing_alias_fails_health_and_search_is_503(tmp_path):
    from catalog.engine.embedded import EmbeddedEngine

    api = make_api(EmbeddedEngine(tmp_path / "empty"), client_factory=lambda region: _raise())
    reply = get(api, "/health")
    assert reply.status == 503 and "alias" in reply.json()["failing"]
    down = get(api, "/search?q=x")
    assert down.status == 503 and "retry-after" in down.headers


def _raise():
    raise ConnectionError("no SSM here")


def test_lambda_handler_from_the_environment(monkeypatch, catalog_engine):
    import importlib
    import sys

    monkeypatch.setenv("AWS_REGION", REGION)
    monkeypatch.setenv("SEARCH_ENGINE", "embedded")
    monkeypatch.setenv("EMBEDDED_INDEX_DIR", str(catalog_engine.directory))
    monkeypatch.setenv("MAINTENANCE_PARAMETER", MAINTENANCE)
    monkeypatch.delitem(sys.modules, "search_api.handler", raising=False)
    with mock_aws():
        handler = importlib.import_module("search_api.handler")
        reply = call(handler.lambda_handler, "GET", "/search?q=tent&size=2")
        validate_reply(reply, "/search")
        assert reply.status == 200 and reply.json()["region"] == REGION and len(reply.json()["hits"]) == 2
        health = call(handler.lambda_handler, "GET", "/health")
        assert health.status == 200, health.text
    monkeypatch.delitem(sys.modules, "search_api.handler", raising=False)
