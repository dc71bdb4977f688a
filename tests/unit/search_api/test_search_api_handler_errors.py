"""How the handler answers engine failures, bugs and health problems (through API Gateway events).

Engine failures cannot be produced on cue by a real engine, so :class:`Failing` injects
them: it raises the port's own error types, exactly what the adapters raise.
"""

from __future__ import annotations

import logging
import time

import pytest

from catalog.engine.port import EngineUnavailable, Health, IndexNotFound, InvalidRequest
from search_api.app import Deps, create_app
from search_api.app import logger as app_logger
from search_api.backend import Backend
from search_api.maintenance import MaintenanceSwitch
from search_api.settings import Settings
from tests.doubles.apigw import call


class PanicLike(BaseException):
    """tantivy's PanicException derives from BaseException, like this."""


class Failing:
    """A SearchEngine whose read calls raise ``error`` (or sleep ``delay`` seconds first)."""

    alias = "products"

    def __init__(self, error: BaseException | None = None, delay: float = 0.0) -> None:
        self.error = error
        self.delay = delay

    def _run(self):
        if self.delay:
            time.sleep(self.delay)
        if self.error is not None:
            raise self.error

    def search(self, request):
        self._run()

    def suggest(self, prefix, size=10):
        self._run()

    def get(self, product_id):
        self._run()

    def health(self):
        self._run()
        return Health(reachable=True, alias_present=True)

    def close(self):
        pass


class Switch:
    """A maintenance switch client answering a fixed value (SSM itself is tested on moto)."""

    def __init__(self, value: str) -> None:
        self.value = value

    def get_parameter(self, Name):
        return {"Parameter": {"Name": Name, "Value": self.value}}


def handler(engine, *, timeout=2.0, maintenance="off", isolate=True):
    settings = Settings("eu-west-1", "/storefront/eu-west-1/maintenance")
    switch = MaintenanceSwitch(settings.maintenance_parameter, settings.region,
                               client_factory=lambda region: Switch(maintenance))
    return create_app(Deps(settings, Backend.of(engine, timeout, isolate=isolate), switch)).resolve


def error_of(reply, status, code):
    assert reply.status == status, reply.text
    body = reply.json()
    assert body["error"]["code"] == code
    assert reply.headers["x-served-region"] == "eu-west-1"
    return body["error"]


@pytest.mark.parametrize("isolate", [True, False])
@pytest.mark.parametrize("url", ["/search?q=x", "/suggest?q=x", "/products/p1"])
@pytest.mark.parametrize("error", [EngineUnavailable("cluster red"), IndexNotFound("products")])
def test_engine_outage_is_503_with_retry_after(url, error, isolate):
    reply = call(handler(Failing(error), isolate=isolate), "GET", url)
    error_of(reply, 503, "unavailable")
    assert int(reply.headers["retry-after"]) > 0
    assert reply.headers["cache-control"] == "no-store"


def test_slow_engine_times_out_as_503():
    started = time.perf_counter()
    reply = call(handler(Failing(delay=1.0), timeout=0.05), "GET", "/search?q=slow")
    assert time.perf_counter() - started < 0.8
    assert "50 ms" in error_of(reply, 503, "unavailable")["message"] or reply.json()
    assert "retry-after" in reply.headers


def test_inline_engine_slower_than_the_timeout_is_answered_and_counted():
    backend = Backend.of(Failing(delay=0.06), 0.01, isolate=False)
    settings = Settings("eu-west-1", "/p")
    switch = MaintenanceSwitch("/p", "eu-west-1", client_factory=lambda region: Switch("off"))
    reply = call(create_app(Deps(settings, backend, switch)).resolve, "GET", "/products/p1")
    assert reply.status == 404 and backend.slow_calls == 1


def test_engine_invalid_request_is_400_naming_the_parameter():
    reply = call(handler(Failing(InvalidRequest("cursor", "expired or malformed"))), "GET", "/search?cursor=zzz")
    err = error_of(reply, 400, "invalid_parameter")
    assert err["parameter"] == "cursor" and "malformed" in err["message"]


@pytest.mark.parametrize("isolate", [True, False])
@pytest.mark.parametrize("error", [RuntimeError("boom"), KeyError("x"), PanicLike("index out of bounds")])
def test_a_bug_is_500_json_with_the_request_id_and_logged(error, isolate):
    records: list[logging.LogRecord] = []
    sink = logging.Handler()
    sink.emit = records.append
    stdlib_logger = logging.getLogger(app_logger.name)
    stdlib_logger.addHandler(sink)
    try:
        reply = call(handler(Failing(error), isolate=isolate), "GET", "/search?q=x")
    finally:
        stdlib_logger.removeHandler(sink)
    err = error_of(reply, 500, "internal_error")
    assert err["request_id"] == "00000000-0000-4000-8000-000000000000"
    assert any(r.levelno == logging.ERROR and getattr(r, "request_id", None) == err["request_id"] and r.exc_info
               for r in records)


def test_engine_built_lazily_and_retried_after_a_failed_start():
    attempts = []

    def factory():
        attempts.append(1)
        if len(attempts) == 1:
            raise FileNotFoundError("index directory not there yet")
        return Failing()

    settings = Settings("eu-west-1", "/p")
    switch = MaintenanceSwitch("/p", "eu-west-1", client_factory=lambda region: Switch("off"))
    resolve = create_app(Deps(settings, Backend(factory, 1.0), switch)).resolve
    error_of(call(resolve, "GET", "/products/p1"), 503, "unavailable")
    error_of(call(resolve, "GET", "/products/p1"), 404, "not_found")  # Failing().get returns None
    assert len(attempts) == 2


def test_health_fails_when_the_engine_is_down():
    reply = call(handler(Failing(EngineUnavailable("no route to host"))), "GET", "/health")
    body = reply.json()
    assert reply.status == 503 and body["status"] == "fail"
    assert set(body["failing"]) == {"engine", "alias"} and "no route to host" in body["checks"]["engine"]["error"]
    assert reply.headers["cache-control"] == "no-store"


def test_health_fails_in_maintenance_and_recovers():
    reply = call(handler(Failing(), maintenance="on"), "GET", "/health")
    assert reply.status == 503 and reply.json()["failing"] == ["maintenance"]
    reply = call(handler(Failing(), maintenance="off"), "GET", "/health")
    assert reply.status == 200 and reply.json()["status"] == "ok" and reply.json()["region"] == "eu-west-1"


def test_health_reports_an_unhealthy_alias():
    class NoAlias(Failing):
        def health(self):
            return Health(reachable=True, alias_present=False, detail={"alias": "missing"})

    reply = call(handler(NoAlias()), "GET", "/health")
    assert reply.status == 503 and reply.json()["failing"] == ["alias"]
    assert reply.json()["checks"]["engine"]["detail"] == {"alias": "missing"}


@pytest.mark.parametrize(("method", "url", "status", "code"), [
    ("POST", "/search", 405, "method_not_allowed"), ("DELETE", "/products/p1", 405, "method_not_allowed"),
    ("PUT", "/health", 405, "method_not_allowed"), ("GET", "/nowhere", 404, "not_found"),
    ("GET", "/products", 404, "not_found"), ("POST", "/nowhere", 404, "not_found"),
    ("GET", "//[", 404, "not_found"),  # found by the fuzzer: a path, whatever urlsplit would make of it
])
def test_routes_and_methods(method, url, status, code):
    reply = call(handler(Failing()), method, url)
    error_of(reply, status, code)
    if status == 405:
        assert "GET" in reply.headers["allow"]


def test_cors_answers_only_the_configured_origin():
    settings = Settings("eu-west-1", "/storefront/eu-west-1/maintenance",
                        cors_allow_origins=("https://shop.example.com",))
    switch = MaintenanceSwitch(settings.maintenance_parameter, settings.region,
                               client_factory=lambda region: Switch("off"))
    resolve = create_app(Deps(settings, Backend.of(Failing(), 2.0), switch)).resolve
    mine = call(resolve, "GET", "/nowhere", headers={"Origin": "https://shop.example.com"})
    assert mine.headers["access-control-allow-origin"] == "https://shop.example.com"
    assert "X-Served-Region" in mine.headers["access-control-expose-headers"]
    other = call(resolve, "GET", "/nowhere", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in other.headers


def test_cors_preflight_and_headers():
    resolve = handler(Failing())
    pre = call(resolve, "OPTIONS", "/search", headers={"Origin": "https://shop.example",
                                                        "Access-Control-Request-Method": "GET"})
    assert pre.status == 204 and pre.headers["access-control-allow-origin"] == "*"
    assert "GET" in pre.headers["access-control-allow-methods"]
    reply = call(resolve, "GET", "/nowhere", headers={"Origin": "https://shop.example"})
    assert reply.headers["access-control-allow-origin"] == "*"
