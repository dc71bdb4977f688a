"""The index bootstrap custom resource handler (infra/runtime/index_bootstrap.py).

No OpenSearch can run here, so :class:`FakeDomain` stands in for the few endpoints the
handler calls, keeping OpenSearch's semantics for them: ``GET /_alias/<a>`` answers 404
when no index carries the alias and ``{index: {aliases: {a: {}}}}`` otherwise; ``HEAD
/<index>`` 200 or 404; ``PUT /<index>`` 400 ``resource_already_exists_exception`` when it
exists; ``POST /_aliases`` adds the alias. The CloudFormation response goes to a real
HTTP server on 127.0.0.1.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from infra.runtime import index_bootstrap

pytestmark = pytest.mark.xdist_group("cdk")
BASE = "https://search-domain.example"
BODY = {"settings": {"index": {"number_of_shards": 1}}, "mappings": {"dynamic": "strict", "properties": {}}}


class FakeDomain:
    def __init__(self, fail_first: int = 0) -> None:
        self.indices: dict[str, set[str]] = {}
        self.calls: list[tuple[str, str]] = []
        self.fail_first = fail_first

    def __call__(self, method: str, url: str, body: bytes | None) -> tuple[int, bytes]:
        path = url.removeprefix(BASE)
        self.calls.append((method, path))
        if self.fail_first:
            self.fail_first -= 1
            return 503, b'{"error": "cluster starting"}'
        if method == "GET" and path.startswith("/_alias/"):
            alias = path.split("/")[2]
            hits = {i: {"aliases": {alias: {}}} for i, a in self.indices.items() if alias in a}
            return (200, json.dumps(hits).encode()) if hits else (404, b"{}")
        if method == "HEAD":
            return (200 if path[1:] in self.indices else 404), b""
        if method == "PUT":
            if path[1:] in self.indices:
                return 400, b'{"error": {"type": "resource_already_exists_exception"}}'
            assert json.loads(body) == BODY
            self.indices[path[1:]] = set()
            return 200, b'{"acknowledged": true}'
        if method == "POST" and path == "/_aliases":
            for action in json.loads(body)["actions"]:
                self.indices[action["add"]["index"]].add(action["add"]["alias"])
            return 200, b'{"acknowledged": true}'
        return 405, b""


def test_creates_the_physical_index_and_alias_when_missing():
    domain = FakeDomain()
    data = index_bootstrap.ensure_index(BASE, "products", "products-v1", BODY, request=domain)
    assert data == {"AliasTarget": "products-v1", "Created": "true"}
    assert domain.indices == {"products-v1": {"products"}}


def test_leaves_an_existing_alias_alone_and_is_idempotent():
    domain = FakeDomain()
    domain.indices = {"products-v7": {"products"}}  # a reindex moved the alias
    data = index_bootstrap.ensure_index(BASE, "products", "products-v1", BODY, request=domain)
    assert data == {"AliasTarget": "products-v7", "Created": "false"}
    assert [m for m, _ in domain.calls] == ["GET"]
    assert domain.indices == {"products-v7": {"products"}}


def test_an_index_without_alias_gets_the_alias_without_being_recreated():
    domain = FakeDomain()
    domain.indices = {"products-v1": set()}
    data = index_bootstrap.ensure_index(BASE, "products", "products-v1", BODY, request=domain)
    assert data == {"AliasTarget": "products-v1", "Created": "false"}
    assert ("PUT", "/products-v1") not in domain.calls


def test_retries_while_the_domain_answers_5xx(monkeypatch):
    monkeypatch.setattr(index_bootstrap.time, "sleep", lambda _s: None)
    domain = FakeDomain(fail_first=2)
    data = index_bootstrap.ensure_index(BASE, "products", "products-v1", BODY, request=domain,
                                        deadline=time.monotonic() + 60)
    assert data["Created"] == "true"
    assert domain.calls[:3] == [("GET", "/_alias/products")] * 3


def test_gives_up_at_the_deadline_with_the_reason(monkeypatch):
    monkeypatch.setattr(index_bootstrap.time, "sleep", lambda _s: None)
    with pytest.raises(RuntimeError, match="503"):
        index_bootstrap.ensure_index(BASE, "products", "products-v1", BODY, request=FakeDomain(fail_first=10**6),
                                     deadline=time.monotonic() - 1)


class _Recorder(BaseHTTPRequestHandler):
    received: list[dict] = []

    def do_PUT(self) -> None:
        length = int(self.headers["Content-Length"])
        type(self).received.append(json.loads(self.rfile.read(length)))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *_args) -> None:
        pass


@pytest.fixture
def response_url():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    _Recorder.received = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/response", _Recorder.received
    server.shutdown()
    server.server_close()


def _event(kind, url, **props):
    return {"RequestType": kind, "ResponseURL": url, "StackId": "stack", "RequestId": "r1",
            "LogicalResourceId": "Index", "PhysicalResourceId": "existing-id",
            "ResourceProperties": {"Endpoint": BASE, "Alias": "products", "PhysicalIndex": "products-v1",
                                   "IndexBody": json.dumps(BODY), **props}}


def test_delete_never_touches_the_index_and_reports_success(response_url, monkeypatch):
    url, received = response_url
    monkeypatch.setattr(index_bootstrap, "signed_request", lambda *a: pytest.fail("Delete called OpenSearch"))
    index_bootstrap.lambda_handler(_event("Delete", url), None)
    assert received[0]["Status"] == "SUCCESS"
    assert received[0]["PhysicalResourceId"] == "existing-id"


def test_failure_is_reported_to_cloudformation_with_its_reason(response_url):
    url, received = response_url

    class Context:
        def get_remaining_time_in_millis(self) -> int:
            return 40_000

    index_bootstrap.lambda_handler(_event("Create", url, IndexBody="{not json"), Context())
    assert received[0]["Status"] == "FAILED"
    assert "JSONDecodeError" in received[0]["Reason"]
