"""The routes of the search API on Powertools' ``APIGatewayRestResolver``.

:func:`create_app` binds every route to its dependencies (:class:`Deps`), so tests and
the sandbox build their own; :mod:`search_api.handler` builds the Lambda's from the
environment. Each route collects the query string, calls the plain functions of this
package and returns their :class:`~search_api.responses.Answer`.

Routes: ``GET /search``, ``GET /suggest``, ``GET /products/{id}``, ``GET /health``,
``GET /openapi.json``, ``GET /docs``. Anything else: 404 (unknown route) or 405 (known
route, other method) as JSON. ``OPTIONS`` is the CORS preflight.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, CORSConfig, Response

from catalog.engine import EngineConfigError, EngineError, IndexNotFound, engine_from_env
from search_api import params
from search_api import responses as R
from search_api.backend import Backend
from search_api.health import health_body
from search_api.maintenance import MaintenanceSwitch
from search_api.settings import Settings, engine_client_env
from search_api.shaping import product_body, search_body, suggest_body

logger = Logger(service=os.environ.get("POWERTOOLS_SERVICE_NAME") or "storefront-search")

STATIC_ROUTES = ("/search", "/suggest", "/health", "/openapi.json", "/docs")
PRODUCT_ROUTE = re.compile(r"/products/[^/]+")
ALLOW = "GET, OPTIONS"


@dataclass
class Deps:
    """What the routes need: settings, the engine behind its timeout, the maintenance switch."""

    settings: Settings
    backend: Backend
    maintenance: MaintenanceSwitch


def create_app(deps: Deps) -> APIGatewayRestResolver:
    """The resolver with every route bound to ``deps`` (tests build their own)."""
    first, *extra = deps.settings.cors_allow_origins
    app = APIGatewayRestResolver(cors=CORSConfig(
        allow_origin=first, extra_origins=extra or None, allow_headers=["If-None-Match"], max_age=600,
        expose_headers=["ETag", "X-Served-Region", "Retry-After"]))
    region = deps.settings.region
    backend = deps.backend

    def raw_query() -> dict[str, list[str]]:
        event = app.current_event
        return params.collect(event.multi_value_query_string_parameters, event.query_string_parameters)

    def query(table: tuple[params.Param, ...]) -> dict[str, Any]:
        return params.parse(table, raw_query())

    def send(answer: R.Answer) -> Response[str]:
        return Response(answer.status, answer.content_type, answer.body, answer.headers)

    def if_none_match() -> str | None:
        # straight from the raw event: ``current_event.headers`` builds a new case-insensitive dict per access
        for name, value in (app.current_event.raw_event.get("headers") or {}).items():
            if name.lower() == "if-none-match":
                return str(value)
        return None

    @app.get("/search")
    def search() -> Response[str]:
        request = params.search_request(raw_query())
        started = time.perf_counter()
        result = backend.call(lambda engine: engine.search(request))
        took_ms = (time.perf_counter() - started) * 1000.0
        return send(R.cacheable(search_body(request, result, region), region=region, cache_control=R.CACHE_SEARCH,
                                if_none_match=if_none_match(), took_ms=took_ms))

    @app.get("/suggest")
    def suggest() -> Response[str]:
        prefix, size = params.suggest_request(raw_query())
        suggestions = backend.call(lambda engine: engine.suggest(prefix, size)) if prefix.strip() else []
        return send(R.cacheable(suggest_body(suggestions, region), region=region, cache_control=R.CACHE_SEARCH,
                                if_none_match=if_none_match()))

    @app.get("/products/<product_id>")
    def product(product_id: str) -> Response[str]:
        query(params.NO_PARAMS)
        pid = params.product_id(product_id)
        found = backend.call(lambda engine: engine.get(pid))
        if found is None:
            return send(R.error(404, R.NOT_FOUND, f"no product with id {pid!r}", region=region))
        return send(R.cacheable(product_body(found[0], found[1], region), region=region,
                                cache_control=R.CACHE_PRODUCT, if_none_match=if_none_match()))

    @app.get("/health")
    def health() -> Response[str]:
        query(params.NO_PARAMS)
        try:
            engine_health: Any = backend.call(lambda engine: engine.health())
        except Exception as exc:  # a failed check, reported, never a 500
            engine_health = exc
        status, body = health_body(engine_health, deps.maintenance.read(), region)
        if status != 200:
            logger.warning("health check failing", extra={"failing": body.get("failing")})
        return send(R.plain(status, body, region=region))

    @app.get("/openapi.json")
    def openapi() -> Response[str]:
        query(params.NO_PARAMS)
        from search_api.openapi import document_json  # only for this route: keeps the cold start lean

        return send(R.Answer(200, document_json(), R.JSON,
                             {"Cache-Control": R.CACHE_DOCUMENT, "X-Served-Region": region}))

    @app.get("/docs")
    def docs() -> Response[str]:
        query(params.NO_PARAMS)
        from search_api.openapi import DOCS_HTML

        return send(R.Answer(200, DOCS_HTML, R.HTML, {"Cache-Control": R.CACHE_DOCUMENT, "X-Served-Region": region}))

    @app.not_found
    def not_found(_exc: Exception) -> Response[str]:
        event = app.current_event
        path = event.path or ""
        known = path in STATIC_ROUTES or PRODUCT_ROUTE.fullmatch(path) is not None
        if known and event.http_method.upper() != "GET":
            return send(R.error(405, R.METHOD_NOT_ALLOWED, f"{event.http_method} is not allowed on {path}; use GET",
                                region=region, headers={"Allow": ALLOW}))
        return send(R.error(404, R.NOT_FOUND, f"no route {path!r}; see /openapi.json", region=region))

    @app.exception_handler(params.ParameterError)
    def invalid_parameter(exc: params.ParameterError) -> Response[str]:
        return send(R.invalid_parameter(exc.parameter, exc.message, region=region))

    @app.exception_handler(EngineError)
    def engine_error(exc: EngineError) -> Response[str]:
        parameter = getattr(exc, "parameter", None)
        if parameter is not None:  # InvalidRequest: a cursor the engine cannot use, a depth limit
            return send(R.invalid_parameter(parameter, getattr(exc, "message", str(exc)), region=region))
        if isinstance(exc, IndexNotFound):
            logger.error("search index not found", extra={"error": str(exc)})
            return send(R.unavailable("the search index is not available in this region", region=region))
        logger.warning("search engine unavailable", extra={"error": str(exc)})
        return send(R.unavailable("search is temporarily unavailable; retry shortly", region=region))

    @app.exception_handler(Exception)
    def bug(exc: Exception) -> Response[str]:
        request_id = _request_id(app)
        logger.exception("unhandled error (a bug)", extra={"request_id": request_id,
                                                           "path": app.current_event.path})
        return send(R.error(500, R.INTERNAL, "internal error; quote the request id if you report it",
                            region=region, request_id=request_id))

    return app


def _request_id(app: APIGatewayRestResolver) -> str:
    context = getattr(app, "lambda_context", None)
    rid = getattr(context, "aws_request_id", None)
    if not rid:
        rid = (app.current_event.raw_event.get("requestContext") or {}).get("requestId")
    return str(rid or "unknown")


def deps_from_env(env: Mapping[str, str]) -> Deps:
    """Settings, engine and switch from the environment (raises naming the variable)."""
    settings = Settings.from_env(env)
    # the embedded engine works in-process: run it inline (see search_api.backend)
    engine_env = {**env, **engine_client_env(settings.search_timeout_ms)}  # the client gives up first
    backend = Backend(lambda: engine_from_env(engine_env), settings.search_timeout_seconds,
                      isolate=env.get("SEARCH_ENGINE", "opensearch") != "embedded")
    try:
        backend.engine()  # validates the engine variables now; a config mistake fails the init
    except EngineConfigError:
        raise
    except EngineError as exc:  # e.g. the index is not there yet: retried on the first request
        logger.warning("search engine not ready at init; retrying on first request", extra={"error": str(exc)})
    maintenance = MaintenanceSwitch(settings.maintenance_parameter, settings.region,
                                    settings.maintenance_cache_seconds)
    return Deps(settings, backend, maintenance)

