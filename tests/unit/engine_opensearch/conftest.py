"""Fixtures for the OpenSearch adapter tests: the real opensearch-py client, transport and
``Urllib3HttpConnection`` run; only urllib3's connection pool underneath is replaced by
:class:`StubPool`, which records each HTTP request and answers with response bodies
shaped like OpenSearch 2.x's (see ``responses.py``). No cluster, no network.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import urllib3

from catalog.engine.opensearch import ClientSettings, OpenSearchEngine, build_client


@dataclass
class Sent:
    method: str
    url: str
    body: bytes | None
    headers: dict[str, str]
    timeout: Any

    @property
    def path(self) -> str:
        return urlsplit(self.url).path

    @property
    def params(self) -> dict[str, str]:
        return {k: v[0] for k, v in parse_qs(urlsplit(self.url).query).items()}

    def json(self) -> Any:
        return json.loads(self.body)

    def ndjson(self) -> list[Any]:
        return [json.loads(line) for line in self.body.decode().splitlines()]


Answer = tuple[int, Any] | BaseException | Callable[[Sent], "tuple[int, Any]"]


@dataclass
class StubPool:
    """Stands in for ``urllib3.HTTPConnectionPool`` (only ``urlopen``/``close``, the two
    calls the real connection makes): answers are popped in order; an exception is
    raised as urllib3 would raise it."""

    answers: list[Answer] = field(default_factory=list)
    sent: list[Sent] = field(default_factory=list)

    def answer(self, *answers: Answer) -> StubPool:
        self.answers.extend(answers)
        return self

    def urlopen(self, method: str, url: str, body: bytes | None = None, retries: Any = None,
                headers: Any = None, **kw: Any) -> urllib3.HTTPResponse:
        sent = Sent(method, url, body, dict(headers or {}), kw.get("timeout"))
        self.sent.append(sent)
        if not self.answers:
            raise AssertionError(f"unexpected request {method} {url}")
        answer = self.answers.pop(0)
        if isinstance(answer, BaseException):
            raise answer
        if callable(answer):
            answer = answer(sent)
        status, payload = answer
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        return urllib3.HTTPResponse(body=data, status=status, preload_content=True,
                                    headers={"content-type": "application/json; charset=UTF-8"})

    def close(self) -> None:
        pass


def stub_client(client: Any) -> StubPool:
    """Put a :class:`StubPool` under every connection of a real ``OpenSearch`` client."""
    pool = StubPool()
    for connection in client.transport.connection_pool.connections:
        connection.pool = pool
    return pool


@pytest.fixture
def client() -> Any:
    return build_client(ClientSettings(host="search.test", port=443, auth="none", timeout=3.0))


@pytest.fixture
def http(client) -> StubPool:
    return stub_client(client)


@pytest.fixture
def engine(client, http) -> OpenSearchEngine:
    return OpenSearchEngine(client, "products", timeout=3.0)
