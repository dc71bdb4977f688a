"""The OpenAPI 3.1 document (``GET /openapi.json``) and the Swagger UI page (``GET /docs``).

Query parameters are generated from the same tables the validator runs on
(:mod:`search_api.params`); the response schemas below describe what
:mod:`search_api.shaping`, :mod:`search_api.health` and :mod:`search_api.responses`
produce. ``tests/unit/search_api`` checks both against the real behaviour.
"""

from __future__ import annotations

import functools
from typing import Any

from catalog.convert import ID_PATTERN
from catalog.schema import FACET_NAMES
from search_api import params as P
from search_api.responses import ERROR_CODES, dumps
from search_api.shaping import HIGHLIGHT_FIELDS

TITLE = "storefront-search API"
VERSION = "1.0.0"
SWAGGER_UI = "https://unpkg.com/swagger-ui-dist@5"

NULLABLE_STRING = {"type": ["string", "null"]}
NULLABLE_NUMBER = {"type": ["number", "null"]}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _obj(props: dict[str, Any], required: list[str] | None = None, extra: bool = False) -> dict[str, Any]:
    return {"type": "object", "properties": props,
            "required": list(props) if required is None else required, "additionalProperties": extra}


def parameter_schema(param: P.Param) -> dict[str, Any]:
    """The JSON schema of one parameter, from its table entry."""
    if param.kind in ("string", "string[]"):
        schema: dict[str, Any] = {"type": "string"}
        if param.max_length is not None:
            schema["maxLength"] = param.max_length
        if param.repeatable:
            schema["minLength"] = 1
            schema = {"type": "array", "items": schema}
            if param.max_items is not None:
                schema["maxItems"] = param.max_items
    elif param.kind in ("integer", "number"):
        schema = {"type": param.kind}
        if param.minimum is not None:
            schema["minimum"] = param.minimum
        if param.maximum is not None:
            schema["maximum"] = param.maximum
    elif param.kind == "boolean":
        schema = {"type": "boolean"}
    elif param.kind == "enum":
        schema = {"type": "string", "enum": list(param.choices)}
    elif param.kind == "list":
        schema = {"type": "array", "items": {"type": "string", "enum": list(param.choices)}}
    else:  # pragma: no cover - a new kind must be described here
        raise ValueError(f"parameter kind {param.kind!r} has no schema")
    if param.default is not None:
        schema["default"] = list(param.default.split(",")) if param.kind == "list" else param.default
    return schema


def _parameter(param: P.Param) -> dict[str, Any]:
    spec: dict[str, Any] = {"name": param.name, "in": "query", "required": False,
                            "description": param.description, "schema": parameter_schema(param)}
    if param.repeatable:
        spec.update(style="form", explode=True)
    elif param.kind == "list":
        spec.update(style="form", explode=False)
    if param.example is not None:
        spec["example"] = (param.example.split(",") if param.kind == "list"
                           else [param.example] if param.repeatable else param.example)
    return spec


HEADERS = {
    "X-Served-Region": {"description": "The region that answered.", "schema": {"type": "string"}},
    "ETag": {"description": "Weak validator of the body (without `took_ms`).", "schema": {"type": "string"}},
    "Cache-Control": {"description": "Public, short max-age with stale-while-revalidate.",
                      "schema": {"type": "string"}},
}


def _json(schema: dict[str, Any], description: str, headers: tuple[str, ...] = ("X-Served-Region",),
          ) -> dict[str, Any]:
    return {"description": description, "headers": {h: HEADERS[h] for h in headers},
            "content": {"application/json": {"schema": schema}}}


ERRORS = {
    "400": _json(_ref("Error"), "Invalid parameter (`error.parameter` names it)."),
    "404": _json(_ref("Error"), "Unknown route or product."),
    "405": _json(_ref("Error"), "Method not allowed (only GET)."),
    "503": {**_json(_ref("Error"), "Search engine unavailable or too slow; retry later."),
            "headers": {"Retry-After": {"schema": {"type": "integer"}}, "X-Served-Region": HEADERS["X-Served-Region"]}},
}
NOT_MODIFIED = {"304": {"description": "Not modified (the `If-None-Match` ETag matches)."}}
CACHED = ("X-Served-Region", "ETag", "Cache-Control")


def schemas() -> dict[str, Any]:
    facet_value = _obj({"value": {"type": ["string", "number"]}, "count": {"type": "integer", "minimum": 0}})
    price_bucket = _obj({"from": NULLABLE_NUMBER, "to": NULLABLE_NUMBER, "count": {"type": "integer", "minimum": 0}})
    facet_kinds = {"category": facet_value, "brand": facet_value, "price": price_bucket, "rating": facet_value}
    return {
        "Error": _obj({"error": _obj({
            "code": {"type": "string", "enum": list(ERROR_CODES)},
            "message": {"type": "string"},
            "parameter": {"type": "string", "description": "the invalid parameter (invalid_parameter only)"},
            "request_id": {"type": "string", "description": "quote it when reporting an internal error"},
        }, required=["code", "message"])}),
        "Hit": _obj({
            "id": {"type": "string"}, "title": {"type": "string"}, "brand": {"type": "string"},
            "category": {"type": "string"}, "price": {"type": "number"}, "currency": {"type": "string"},
            "rating": NULLABLE_NUMBER, "review_count": {"type": "integer"}, "in_stock": {"type": "boolean"},
            "image_url": NULLABLE_STRING,
            "highlight": _obj({name: {**NULLABLE_STRING, "description": "HTML: matches in <em>, the rest escaped"}
                               for name in HIGHLIGHT_FIELDS}),
        }),
        "SearchResponse": _obj({
            "hits": {"type": "array", "items": _ref("Hit")},
            "total": _obj({"value": {"type": "integer", "minimum": 0}, "relation": {"enum": ["eq", "gte"]}}),
            "facets": _obj({name: {"type": "array", "items": facet_kinds[name]} for name in FACET_NAMES},
                           required=[]),
            "page": {"type": ["integer", "null"], "description": "null when paging by cursor"},
            "size": {"type": "integer"},
            "next_cursor": NULLABLE_STRING,
            "region": {"type": "string"},
            "took_ms": {"type": "number"},
        }),
        "SuggestResponse": _obj({
            "suggestions": {"type": "array", "items": _obj({"text": {"type": "string"}, "id": {"type": "string"}})},
            "region": {"type": "string"},
        }),
        "Product": _obj({
            "id": {"type": "string"}, "title": {"type": "string"}, "brand": {"type": "string"},
            "category": {"type": "string"}, "price": {"type": "number"}, "currency": {"type": "string"},
            "rating": NULLABLE_NUMBER, "review_count": {"type": "integer"}, "in_stock": {"type": "boolean"},
            "image_url": NULLABLE_STRING, "description": {"type": "string"},
            "tags": {"type": "array", "items": {"type": "string"}},
            "created_at": NULLABLE_STRING, "updated_at": NULLABLE_STRING, "version": {"type": "integer"},
            "content": {"oneOf": [{"type": "null"}, _obj({
                "long_description": {"type": "string"},
                "specifications": {"type": "object", "additionalProperties": {"type": "string"}},
                "images": {"type": "array", "items": {"type": "string"}},
                "version": {"type": "integer"},
            })]},
            "region": {"type": "string"},
        }),
        "Health": _obj({
            "status": {"enum": ["ok", "fail"]},
            "region": {"type": "string"},
            "checks": _obj({name: {"type": "object", "required": ["ok"],
                                   "properties": {"ok": {"type": "boolean"}}}
                            for name in ("engine", "alias", "maintenance")}),
            "failing": {"type": "array", "items": {"type": "string"}},
        }, required=["status", "region", "checks"]),
    }


def _get(summary: str, parameters: list[dict[str, Any]], responses: dict[str, Any]) -> dict[str, Any]:
    return {"get": {"summary": summary, "parameters": parameters,
                    "responses": {**responses, "400": ERRORS["400"], "405": ERRORS["405"]}}}


@functools.cache
def document() -> dict[str, Any]:
    """The OpenAPI 3.1 document (built once per process)."""
    id_schema = {"type": "string", "maxLength": P.ID_PARAM.max_length, "pattern": ID_PATTERN.pattern}
    return {
        "openapi": "3.1.0",
        "info": {"title": TITLE, "version": VERSION,
                 "description": "Anonymous, read-only product search, served by every region. "
                                "Unknown query parameters are rejected with 400."},
        "paths": {
            "/search": _get("Search products", [_parameter(p) for p in P.SEARCH_PARAMS], {
                "200": _json(_ref("SearchResponse"), "A page of hits with facets.", CACHED),
                **NOT_MODIFIED, "503": ERRORS["503"]}),
            "/suggest": _get("Complete a prefix into product titles", [_parameter(p) for p in P.SUGGEST_PARAMS], {
                "200": _json(_ref("SuggestResponse"), "Suggestions.", CACHED),
                **NOT_MODIFIED, "503": ERRORS["503"]}),
            "/products/{id}": _get("One product", [
                {"name": "id", "in": "path", "required": True, "description": P.ID_PARAM.description,
                 "schema": id_schema, "example": P.ID_PARAM.example}], {
                "200": _json(_ref("Product"), "The product.", CACHED),
                **NOT_MODIFIED, "404": ERRORS["404"], "503": ERRORS["503"]}),
            "/health": _get("Region health (Route 53 checks this)", [], {
                "200": _json(_ref("Health"), "Healthy."),
                "503": _json(_ref("Health"), "A check failed (engine, alias, or maintenance switch on).")}),
            "/openapi.json": _get("This document", [], {
                "200": {"description": "OpenAPI 3.1",
                        "content": {"application/json": {"schema": {"type": "object"}}}}}),
            "/docs": _get("Swagger UI for this document", [], {
                "200": {"description": "HTML page", "content": {"text/html": {"schema": {"type": "string"}}}}}),
        },
        "components": {"schemas": schemas()},
    }


@functools.cache
def document_json() -> str:
    return dumps(document())


DOCS_HTML = f"""<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>{TITLE}</title>
  <link rel="stylesheet" href="{SWAGGER_UI}/swagger-ui.css">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="{SWAGGER_UI}/swagger-ui-bundle.js" crossorigin></script>
  <script>
    window.onload = () => {{ window.ui = SwaggerUIBundle({{ url: "openapi.json", dom_id: "#swagger-ui" }}); }};
  </script>
</body>
</html>
"""
