"""The sandbox's "global" port: what a shopper's resolver plus the regional endpoint do.

Admin routes (answered here, not proxied):

* ``GET /_sandbox/route53/health-checks`` -> ``{"health_checks": [{"id", "region", "status",
  "inverted", "disabled", "consecutive_failures", "last_checked"}]}``
* ``GET /_sandbox/route53/answer`` -> ``{"name", "routing", "region"}``

The storefront search page (:func:`catalog.site.build_site`, API base: this origin) is
served at ``/`` with its hashed ``/assets/...`` and the page's security headers, as S3 and
CloudFront serve it in AWS.

Every other request is forwarded to the region the emulated Route 53 answers and the
response carries ``X-Served-Region``. Like a caching resolver, the router keeps an answer
for ``dns_ttl_seconds`` (``sandbox.dns_ttl_seconds``; 0, the default: asks every time), so
a failover reaches shoppers only once their cached answer expires. The admin route
``/_sandbox/route53/answer`` always gives Route 53's current answer. No answer -> 503; the
region unreachable -> 502 (both JSON).
"""

from __future__ import annotations

import http.client
import json
import sys
import threading
import time
from collections.abc import Callable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from catalog.site import SiteFile, build_site, security_headers

HOP_BY_HOP = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailers",
              "transfer-encoding", "upgrade", "content-length"}
ADMIN_PREFIX = "/_sandbox/"


class _Handler(BaseHTTPRequestHandler):
    server: GlobalRouter
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt: str, *args: Any) -> None:
        pass

    def _json(self, status: int, body: Any, extra: Mapping[str, str] | None = None) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        path = urlsplit(self.path).path
        if path.startswith(ADMIN_PREFIX):
            self._admin(path)
            return
        page = self.server.site.get("index.html" if path == "/" else path.lstrip("/"))
        if page is not None and self.command in ("GET", "HEAD"):
            self._page(page)
            return
        region = self.server.answer()
        if region is None or region not in self.server.regions:
            self._json(503, {"error": {"code": "no_region", "message": "Route 53 has no answer for the search name"}},
                       {"Retry-After": "1"})
            return
        host, port = self.server.targets[region]
        conn = http.client.HTTPConnection(host, port, timeout=self.server.timeout_seconds)
        try:
            headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
            conn.request(self.command, self.path, body=body or None, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
            self.send_response(resp.status)
            for k, v in resp.getheaders():
                if k.lower() not in HOP_BY_HOP and k.lower() != "x-served-region":
                    self.send_header(k, v)
            self.send_header("X-Served-Region", region)
            self.send_header("Content-Length", str(0 if self.command == "HEAD" else len(data)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)
        except (OSError, http.client.HTTPException) as exc:
            self._json(502, {"error": {"code": "region_unreachable", "message": f"{region}: {exc}"}},
                       {"X-Served-Region": region})
        finally:
            conn.close()

    def _page(self, page: SiteFile) -> None:
        self.send_response(200)
        for k, v in {"Content-Type": page.content_type, "Cache-Control": page.cache_control,
                     **self.server.page_headers, "Content-Length": str(len(page.body))}.items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(page.body)

    def _admin(self, path: str) -> None:
        if self.command not in ("GET", "HEAD"):
            self._json(405, {"error": {"code": "method_not_allowed", "message": "admin routes are GET only"}})
        elif path == "/_sandbox/route53/health-checks":
            self._json(200, {"health_checks": self.server.health_checks()})
        elif path == "/_sandbox/route53/answer":
            self._json(200, self.server.answer_json())
        else:
            self._json(404, {"error": {"code": "not_found", "message": f"no admin route {path}"}})

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _serve


class GlobalRouter(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    # socketserver's default listen backlog of 5 drops SYNs under load, and each dropped one
    # costs the client a 1 s retransmission (seen as a 1.0-1.2 s latency tail in `storefront load`)
    request_queue_size = 128

    def __init__(self, host: str, port: int, regions: Mapping[str, str], answer_json: Callable[[], dict[str, Any]],
                 health_checks: Callable[[], list[dict[str, Any]]], timeout_seconds: float = 30.0,
                 site: Mapping[str, SiteFile] | None = None, dns_ttl_seconds: float = 0.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        """``regions`` maps region -> base URL; the callables come from the Route 53 emulator;
        ``site`` defaults to the search page built to call this origin; ``dns_ttl_seconds``:
        how long an answer is cached (``clock`` measures it)."""
        self.regions = dict(regions)
        self.targets = {region: _host_port(url) for region, url in self.regions.items()}
        self.site = dict(site) if site is not None else build_site("")
        self.page_headers = security_headers("")
        self.answer_json = answer_json
        self.health_checks = health_checks
        self.timeout_seconds = timeout_seconds
        self.dns_ttl_seconds = dns_ttl_seconds
        self._clock = clock
        self._cached: tuple[str | None, float] | None = None  # (answer, expiry)
        self._cache_lock = threading.Lock()
        super().__init__((host, port), _Handler)
        self._thread: threading.Thread | None = None

    def answer(self) -> str | None:
        """The region to forward to: Route 53's answer, cached for ``dns_ttl_seconds``."""
        if self.dns_ttl_seconds <= 0:
            return self.answer_json().get("region")
        with self._cache_lock:
            now = self._clock()
            if self._cached is None or now >= self._cached[1]:
                self._cached = (self.answer_json().get("region"), now + self.dns_ttl_seconds)
            return self._cached[0]

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hangs up (a probe, a timed-out poll) is not an error worth a traceback."""
        exc = sys.exc_info()[1]
        if isinstance(exc, ConnectionError | TimeoutError):
            return
        super().handle_error(request, client_address)

    def start(self) -> GlobalRouter:
        self._thread = threading.Thread(target=self.serve_forever, name="global-router", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.shutdown()
        self.server_close()
        if self._thread:
            self._thread.join(timeout=5)


def _host_port(url: str) -> tuple[str, int | None]:
    """``(host, port)`` of a region's base URL; a URL without a host is refused when the router is built."""
    parts = urlsplit(url)
    if not parts.hostname:
        raise ValueError(f"region URL {url!r} has no host")
    return parts.hostname, parts.port
