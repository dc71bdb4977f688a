"""The OpenAPI document is valid and agrees with the validator it is generated beside."""

from __future__ import annotations

import json

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from openapi_spec_validator import validate

from search_api import params as P
from search_api.openapi import DOCS_HTML, document, document_json

ROUTE_TABLES = {"/search": P.SEARCH_PARAMS, "/suggest": P.SUGGEST_PARAMS, "/health": P.NO_PARAMS,
                "/openapi.json": P.NO_PARAMS, "/docs": P.NO_PARAMS}
PARSERS = {"/search": P.search_request, "/suggest": P.suggest_request}


def documented(path):
    return {p["name"]: p for p in document()["paths"][path]["get"]["parameters"] if p["in"] == "query"}


def accepts(path, query):
    try:
        (PARSERS.get(path) or (lambda q: P.parse(ROUTE_TABLES[path], q)))(query)
    except P.ParameterError:
        return False
    return True


def as_query(param, value):
    """A documented (JSON) value as the query string carries it."""
    if param["schema"]["type"] == "array":
        if param.get("explode"):
            return {param["name"]: [str(v) for v in value]}
        return {param["name"]: [",".join(value)]}
    if isinstance(value, bool):
        return {param["name"]: ["true" if value else "false"]}
    return {param["name"]: [str(value)]}


def test_document_is_valid_openapi_3_1():
    validate(document())
    assert json.loads(document_json()) == document()


def test_documented_parameters_are_exactly_the_tables():
    for path, table in ROUTE_TABLES.items():
        assert list(documented(path)) == [p.name for p in table], path
    path_params = [p for p in document()["paths"]["/products/{id}"]["get"]["parameters"] if p["in"] == "path"]
    assert [p["name"] for p in path_params] == ["id"]


@pytest.mark.parametrize("path", ["/search", "/suggest"])
def test_every_documented_parameter_is_accepted_with_its_example_and_default(path):
    for name, param in documented(path).items():
        if "example" in param:
            assert accepts(path, as_query(param, param["example"])), name
        if "default" in param["schema"]:
            assert accepts(path, as_query(param, param["schema"]["default"])), name


@pytest.mark.parametrize("path", list(ROUTE_TABLES))
@pytest.mark.parametrize("name", ["brnad", "Q", "q ", "limit", "from", "", "price"])
def test_undocumented_parameters_are_rejected(path, name):
    if name in documented(path):
        pytest.skip("documented here")
    assert not accepts(path, {name: ["1"]})


def boundary_cases(param):
    """(value, valid per the schema) pairs at each documented bound."""
    schema = param["schema"]
    if schema["type"] in ("integer", "number"):
        lo, hi = schema.get("minimum"), schema.get("maximum")
        step = 1 if schema["type"] == "integer" else 0.01
        if lo is not None:
            yield lo, True
            yield lo - step, False
        if hi is not None:
            yield hi, True
            yield hi + step, False
    elif schema["type"] == "string" and "enum" in schema:
        for choice in schema["enum"]:
            yield choice, True
        yield "zz-not-a-choice", False
    elif schema["type"] == "string" and "maxLength" in schema:
        yield "a" * schema["maxLength"], True
        yield "a" * (schema["maxLength"] + 1), False
    elif schema["type"] == "array":
        items = schema["items"]
        if "enum" in items:
            yield list(items["enum"]), True
            yield ["zz-not-a-choice"], False
        else:
            yield ["a" * items["maxLength"]], True
            yield ["a" * (items["maxLength"] + 1)], False
            yield ["a"] * schema["maxItems"], True
            yield [f"a{i}" for i in range(schema["maxItems"] + 1)], False
    elif schema["type"] == "boolean":
        yield True, True
        yield False, True
        yield "maybe", False


@pytest.mark.parametrize("path", ["/search", "/suggest"])
def test_documented_bounds_are_the_enforced_bounds(path):
    for name, param in documented(path).items():
        cases = list(boundary_cases(param))
        assert any(not valid for _, valid in cases), name
        for value, valid in cases:
            assert jsonschema.Draft202012Validator(param["schema"]).is_valid(value) == valid, (name, value)
            query = as_query(param, value)
            if name == "page" and valid:
                query["size"] = ["1"]  # page alone is also bounded by page x size
            assert accepts(path, query) == valid, (name, value)


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_numbers_schema_and_validator_agree(data):
    param = data.draw(st.sampled_from([p for p in documented("/search").values()
                                       if p["schema"]["type"] in ("integer", "number")]))
    if param["schema"]["type"] == "integer":
        value = data.draw(st.integers(min_value=-5, max_value=20_000))
    else:
        value = data.draw(st.floats(min_value=-10, max_value=2000, allow_nan=False).map(lambda f: round(f, 3)))
    query = as_query(param, value)
    if param["name"] == "page":
        query["size"] = ["1"]
    schema_ok = jsonschema.Draft202012Validator(param["schema"]).is_valid(value)
    assert accepts("/search", query) == schema_ok


def test_docs_page_loads_the_document_and_fetches_nothing_server_side():
    assert 'url: "openapi.json"' in DOCS_HTML
    assert "swagger-ui-bundle.js" in DOCS_HTML
