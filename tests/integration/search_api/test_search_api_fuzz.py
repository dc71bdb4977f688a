"""Fuzz the search API with generated API Gateway events: nothing a client sends gives a 5xx.

* ``test_fuzz_requests``: >= 5,000 requests mixing documented and junk parameter names,
  valid, junk, unicode and huge values, repeated and unknown parameters, every method and
  random paths. Zero 5xx; every answer valid per the OpenAPI document (errors in the
  ``Error`` shape).
* ``test_documented_values_are_accepted``: requests drawn from the documented parameter
  schemas answer 200 unless a documented cross-parameter rule applies (then 400 naming
  one of its parameters).
"""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from search_api.openapi import document
from tests.doubles.apigw import call, validate_reply

pytestmark = pytest.mark.slow

FUZZ_EXAMPLES = int(os.environ.get("SEARCH_API_FUZZ_EXAMPLES", "5000"))
ROUTES = ["/search", "/suggest", "/health", "/openapi.json", "/docs", "/products/p000001", "/products/p001999"]
DOCUMENTED = sorted({p["name"] for item in document()["paths"].values() for p in item["get"]["parameters"]
                     if p["in"] == "query"})
SETTINGS = settings(deadline=None, database=None, derandomize=False,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.function_scoped_fixture, HealthCheck.filter_too_much])

junk_text = st.text(st.characters(codec="utf-8"), max_size=20)
any_text = st.text(max_size=8)  # includes lone surrogates and control characters
numbers = st.one_of(st.integers(-10**30, 10**30).map(str), st.floats(allow_nan=True, allow_infinity=True).map(str),
                    st.decimals(allow_nan=False, allow_infinity=False).map(str),
                    st.sampled_from(["0", "1", "5", "20", "100", "101", "500", "10000", "1e3", "-0", "0x1F",
                                     "1_000", "\u0665", " 3", "3 ", "+1", ".5", "5.", "NaN", "Infinity"]))
choices = st.sampled_from(["true", "false", "relevance", "price_asc", "price_desc", "rating_desc", "newest",
                           "brand", "category,brand,price,rating", "brand,,price", "Sony", "sennheiser",
                           "Audio", "Audio > Headphones", "audio>headphones", "Computers > Laptops > Gaming",
                           "eyJvIjoyMCwiZiI6ImEifQ", "eyJ9", "", " ", "%", "%25", "*", "men's", "usb-c", "C++",
                           "50%", "😀", "سماعات", "\u202eevil", "a\x00b", "<script>", "' OR 1=1 --",
                           "\ud800", "ok\udfff", "\uff33\uff4f\uff4e\uff59", "ß", "İ", "\t\n", "headphones",
                           "tent", "4", "4.5", "25", "250"])
huge = st.integers(150, 6000).map(lambda n: "x" * n)
values = st.one_of(choices, choices, choices, numbers, junk_text, any_text, huge)
names = st.one_of(st.sampled_from(DOCUMENTED), st.sampled_from(DOCUMENTED), junk_text.filter(bool),
                  st.sampled_from(["Q", "q ", "brand[]", "size\x00", "limit", "from", "sort_by", ""]))
paths = st.one_of(st.sampled_from(ROUTES), st.sampled_from(ROUTES), st.sampled_from(ROUTES),
                  st.builds(lambda s: "/products/" + s, junk_text.filter(lambda s: "/" not in s and s)),
                  st.builds(lambda s: "/" + s, junk_text))
pairs = st.tuples(names, values)
queries = st.one_of(st.just([]), st.lists(pairs, max_size=2), st.lists(pairs, max_size=2), st.lists(pairs, max_size=6))
methods = st.sampled_from(["GET"] * 10 + ["POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"])
headers = st.one_of(st.just({}), st.fixed_dictionaries({"If-None-Match": st.one_of(junk_text, st.just("*"))}),
                    st.just({"Origin": "https://shop.example"}))


def check(api, method, path, query, hdrs):
    reply = call(api, method, path, query=query, headers=hdrs)
    assert reply.status < 500, (method, path, query, reply.text)
    validate_reply(reply, path, method)
    return reply


def test_fuzz_requests(api):
    seen = {"n": 0, "ok": 0, "statuses": set()}

    @settings(SETTINGS, max_examples=FUZZ_EXAMPLES)
    @given(method=methods, path=paths, query=queries, hdrs=headers)
    def run(method, path, query, hdrs):
        reply = check(api, method, path, query, hdrs)
        seen["n"] += 1
        seen["statuses"].add(reply.status)
        seen["ok"] += reply.status == 200

    run()
    print(f"fuzz: {seen['n']} requests, {seen['ok']} answered 200, statuses {sorted(seen['statuses'])}")
    assert seen["n"] >= FUZZ_EXAMPLES
    assert {200, 400, 404, 405} <= seen["statuses"]
    assert seen["ok"] > FUZZ_EXAMPLES // 20  # the fuzz reaches the engine, not only the validator


def _value(schema):
    """A strategy for one documented parameter value, as the query string carries it."""
    kind = schema["type"]
    if kind == "integer":
        return st.integers(schema.get("minimum", 0), schema.get("maximum", 10**6)).map(str)
    if kind == "number":
        return st.floats(schema.get("minimum", 0), schema.get("maximum", 10**6)).map(lambda f: f"{f:.2f}")
    if kind == "boolean":
        return st.sampled_from(["true", "false"])
    if kind == "array":
        items = schema["items"]
        if "enum" in items:
            return st.lists(st.sampled_from(items["enum"]), max_size=4).map(",".join)
        return st.lists(st.sampled_from(["Audio", "Sony", "Audio > Headphones", "Bose", "Home & Kitchen"]),
                        min_size=1, max_size=3)
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    return st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=schema.get("maxLength", 50))


def _query(path):
    params = [p for p in document()["paths"][path]["get"]["parameters"] if p["name"] != "cursor"]
    return st.fixed_dictionaries({}, optional={p["name"]: _value(p["schema"]) for p in params})


@settings(SETTINGS, max_examples=400)
@given(data=st.data())
def test_documented_values_are_accepted(api, data):
    path = data.draw(st.sampled_from(["/search", "/suggest"]))
    chosen = data.draw(_query(path))
    pairs = [(k, x) for k, v in chosen.items() for x in (v if isinstance(v, list) else [v])]
    reply = check(api, "GET", path, pairs, {})
    rules = []
    if "price_min" in chosen and "price_max" in chosen and float(chosen["price_min"]) > float(chosen["price_max"]):
        rules.append("price_min")
    if path == "/search" and int(chosen.get("page", 1)) * int(chosen.get("size", 20)) > 10_000:
        rules.append("page")
    if rules:
        assert reply.status == 400 and reply.json()["error"]["parameter"] in rules, reply.text
    else:
        assert reply.status == 200, (pairs, reply.text)
