"""CloudWatch Synthetics canary: the path a shopper takes, through the names shoppers use.

Steps: a search with filters (in stock, a category taken from the first search's own
facet), then a product lookup of a hit. Each step must answer 200 with the documented
shape; the product must be the one asked for. The handler raises on the first failure,
which Synthetics counts as a failed run (``SuccessPercent``).

Environment (set by ``infra/constructs/canary.py``):

* ``SHOPPER_URL``: ``https://<aws.domain_name>`` (the name shoppers use)
* ``CONNECT_HOST``: optional; connect to this host instead of resolving ``SHOPPER_URL``'s
  name, while TLS (SNI) and ``Host`` still carry that name. With the region's custom
  domain target (``d-....execute-api.<region>.amazonaws.com``) this probes *this*
  region's custom domain, certificate and base path mapping, whatever Route 53 answers.

Standard library only (the Synthetics Python runtime adds nothing this needs).
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import ssl
from typing import Any
from urllib.parse import urlencode, urlsplit

TIMEOUT_SECONDS = 10.0


class CanaryFailure(AssertionError):
    """A step of the shopper path failed; the message names the step and what was wrong."""


class _PinnedHTTPS(http.client.HTTPSConnection):
    """HTTPS to ``connect_host`` with SNI, certificate check and ``Host`` for ``host``."""

    def __init__(self, host: str, port: int, connect_host: str, **kwargs: Any) -> None:
        super().__init__(host, port, **kwargs)
        self._connect_host = connect_host

    def connect(self) -> None:
        sock = socket.create_connection((self._connect_host, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)  # type: ignore[attr-defined]


class _PinnedHTTP(http.client.HTTPConnection):
    """Plain HTTP to ``connect_host`` with ``Host`` for ``host`` (local tests only)."""

    def __init__(self, host: str, port: int, connect_host: str, **kwargs: Any) -> None:
        super().__init__(host, port, **kwargs)
        self._connect_host = connect_host

    def connect(self) -> None:
        self.sock = socket.create_connection((self._connect_host, self.port), self.timeout)


def _get_json(base_url: str, path: str, params: dict[str, Any], connect_host: str | None, step: str
              ) -> dict[str, Any]:
    url = urlsplit(base_url)
    host = url.hostname or ""
    https = url.scheme == "https"
    port = url.port or (443 if https else 80)
    conn: http.client.HTTPConnection
    if connect_host:
        conn = (_PinnedHTTPS(host, port, connect_host, timeout=TIMEOUT_SECONDS, context=ssl.create_default_context())
                if https else _PinnedHTTP(host, port, connect_host, timeout=TIMEOUT_SECONDS))
    else:
        conn = (http.client.HTTPSConnection(host, port, timeout=TIMEOUT_SECONDS) if https
                else http.client.HTTPConnection(host, port, timeout=TIMEOUT_SECONDS))
    query = f"?{urlencode(params, doseq=True)}" if params else ""
    try:
        conn.request("GET", f"{url.path.rstrip('/')}{path}{query}", headers={"Accept": "application/json"})
        response = conn.getresponse()
        body = response.read()
    except OSError as exc:
        raise CanaryFailure(f"{step}: {base_url}{path}: {exc}") from exc
    finally:
        conn.close()
    if response.status != 200:
        raise CanaryFailure(f"{step}: {base_url}{path} answered {response.status}: {body[:200]!r}")
    try:
        answer: dict[str, Any] = json.loads(body)
    except ValueError as exc:
        raise CanaryFailure(f"{step}: {base_url}{path}: not JSON: {body[:200]!r}") from exc
    return answer


def shopper_path(base_url: str, connect_host: str | None = None) -> list[str]:
    """Run the steps against ``base_url``; returns what each step saw, raises :class:`CanaryFailure`."""
    seen = []
    first = _get_json(base_url, "/search", {"in_stock": "true", "size": 5, "facets": "category"},
                      connect_host, "search in stock")
    categories = first.get("facets", {}).get("category") or []
    if not isinstance(first.get("hits"), list) or not categories:
        raise CanaryFailure(f"search in stock: no hits or no category facet in {str(first)[:200]}")
    category = categories[0]["value"]
    seen.append(f"search in stock: {len(first['hits'])} hits")
    filtered = _get_json(base_url, "/search", {"in_stock": "true", "category": category, "size": 5,
                                               "facets": ""}, connect_host, "search with filters")
    hits = filtered.get("hits") or []
    if not hits:
        raise CanaryFailure(f"search with filters: no hit for category {category!r}, which the facet listed")
    seen.append(f"search in {category!r}: {len(hits)} hits")
    product_id = hits[0]["id"]
    product = _get_json(base_url, f"/products/{product_id}", {}, connect_host, "product lookup")
    if product.get("id") != product_id:
        raise CanaryFailure(f"product lookup: asked for {product_id!r}, got {product.get('id')!r}")
    seen.append(f"product {product_id} from {product.get('region')}")
    return seen


def handler(event: Any, context: Any) -> dict[str, Any]:
    """The Synthetics entry point: raises (a failed run) on the first failing step."""
    url = os.environ["SHOPPER_URL"]
    connect_host = os.environ.get("CONNECT_HOST") or None
    steps = shopper_path(url, connect_host)
    print(json.dumps({"url": url, "connect_host": connect_host, "steps": steps}))
    return {"steps": steps}
