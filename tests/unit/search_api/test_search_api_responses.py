"""ETag, conditional requests, caching headers and the error shape."""

from __future__ import annotations

import json

from search_api import responses as R


def test_etag_ignores_took_ms_and_follows_content():
    a = R.cacheable({"hits": [1]}, region="r", cache_control=R.CACHE_SEARCH, if_none_match=None, took_ms=1.25)
    b = R.cacheable({"hits": [1]}, region="r", cache_control=R.CACHE_SEARCH, if_none_match=None, took_ms=9.5)
    c = R.cacheable({"hits": [2]}, region="r", cache_control=R.CACHE_SEARCH, if_none_match=None, took_ms=1.25)
    assert a.headers["ETag"] == b.headers["ETag"] != c.headers["ETag"]
    assert a.headers["ETag"].startswith('W/"')
    assert json.loads(a.body) == {"hits": [1], "took_ms": 1.25}
    assert json.loads(b.body)["took_ms"] == 9.5


def test_if_none_match_answers_304_without_body():
    first = R.cacheable({"x": 1}, region="r", cache_control=R.CACHE_PRODUCT, if_none_match=None)
    etag = first.headers["ETag"]
    for header in (etag, etag.removeprefix("W/"), f'"nope", {etag}', "*"):
        again = R.cacheable({"x": 1}, region="r", cache_control=R.CACHE_PRODUCT, if_none_match=header)
        assert again.status == 304 and again.body == "" and again.headers["ETag"] == etag
    other = R.cacheable({"x": 1}, region="r", cache_control=R.CACHE_PRODUCT, if_none_match='W/"other"')
    assert other.status == 200 and json.loads(other.body) == {"x": 1}


def test_cacheable_headers():
    answer = R.cacheable({"x": 1}, region="eu-west-1", cache_control=R.CACHE_SEARCH, if_none_match=None)
    assert answer.headers["Cache-Control"].startswith("public, max-age=")
    assert "stale-while-revalidate=" in answer.headers["Cache-Control"]
    assert answer.headers["X-Served-Region"] == "eu-west-1"
    assert answer.content_type == "application/json"


def test_error_shape_and_retry_after():
    bad = R.invalid_parameter("size", "too big", region="r")
    assert bad.status == 400 and bad.headers["Cache-Control"] == "no-store"
    assert json.loads(bad.body) == {"error": {"code": "invalid_parameter", "message": "too big", "parameter": "size"}}
    down = R.unavailable("later", region="r")
    assert down.status == 503 and int(down.headers["Retry-After"]) > 0
    assert json.loads(down.body)["error"]["code"] == "unavailable"


def test_any_text_survives_encoding():
    answer = R.cacheable({"t": "😀 سماعات \ud800"}, region="r", cache_control=R.CACHE_SEARCH, if_none_match=None)
    assert answer.body.isascii()
    assert json.loads(answer.body)["t"] == "😀 سماعات \ud800"
