"""EMULATION of an API Gateway REST API with a Lambda proxy integration, on a local port.

Each HTTP request becomes the REST (v1) proxy event API Gateway sends to Lambda: method,
path (as on a custom domain: no stage prefix; a request whose ``Host`` is an execute-api
host, as Route 53's health checks send, names the stage first and it is taken off),
``headers`` and ``multiValueHeaders``,
``queryStringParameters`` and ``multiValueQueryStringParameters`` (URL-decoded, ``None``
when empty, the single-value map keeps the last value as API Gateway does),
``pathParameters`` for the ``/{proxy+}`` resource, ``requestContext`` (stage, request id,
source IP, request time) and the body (base64 when it is not UTF-8 text). The handler's
``statusCode``, ``headers``, ``multiValueHeaders``, ``body`` and ``isBase64Encoded`` become
the HTTP response. A handler that raises or returns something malformed gives 502
``{"message": "Internal server error"}``, as API Gateway does.
"""

from __future__ import annotations

import base64
import json
import logging
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

log = logging.getLogger(__name__)
STAGE = "prod"


def proxy_event(method: str, raw_path: str, headers: list[tuple[str, str]], body: bytes, source_ip: str,
                account: str = "123456789012", api_id: str = "sandbox") -> dict[str, Any]:
    """An HTTP request -> an API Gateway REST proxy event."""
    parts = urlsplit(raw_path)
    path = parts.path or "/"
    host = next((v for k, v in headers if k.lower() == "host"), "")
    if ".execute-api." in host.lower() and (path == f"/{STAGE}" or path.startswith(f"/{STAGE}/")):
        path = path[len(STAGE) + 1:] or "/"
    multi_q: dict[str, list[str]] = {}
    for k, v in parse_qsl(parts.query, keep_blank_values=True):
        multi_q.setdefault(k, []).append(v)
    multi_h: dict[str, list[str]] = {}
    for k, v in headers:
        multi_h.setdefault(k, []).append(v)
    text: str | None = None
    is_b64 = False
    if body:
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            text, is_b64 = base64.b64encode(body).decode(), True
    now = time.time()
    return {
        "resource": "/{proxy+}",
        "path": path,
        "httpMethod": method,
        "headers": {k: v[-1] for k, v in multi_h.items()} or None,
        "multiValueHeaders": multi_h or None,
        "queryStringParameters": {k: v[-1] for k, v in multi_q.items()} or None,
        "multiValueQueryStringParameters": multi_q or None,
        "pathParameters": {"proxy": path.lstrip("/")} if path != "/" else None,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": "/{proxy+}",
            "httpMethod": method,
            "path": f"/{STAGE}{path}",
            "stage": STAGE,
            "requestId": str(uuid.uuid4()),
            "extendedRequestId": uuid.uuid4().hex[:16],
            "accountId": account,
            "apiId": api_id,
            "protocol": "HTTP/1.1",
            "requestTime": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "requestTimeEpoch": int(now * 1000),
            "domainName": next((v[-1] for k, v in multi_h.items() if k.lower() == "host"), "localhost"),
            "identity": {
                "sourceIp": source_ip,
                "userAgent": next((v[-1] for k, v in multi_h.items() if k.lower() == "user-agent"), None),
            },
        },
        "body": text,
        "isBase64Encoded": is_b64,
    }


def response_parts(response: Any) -> tuple[int, list[tuple[str, str]], bytes]:
    """A proxy integration response -> (status, headers, body); ValueError when malformed."""
    if not isinstance(response, dict) or not isinstance(response.get("statusCode"), int):
        raise ValueError("the integration response has no integer statusCode")
    headers: list[tuple[str, str]] = []
    single = response.get("headers") or {}
    multi = response.get("multiValueHeaders") or {}
    for k, values in multi.items():
        headers.extend((k, str(v)) for v in values)
    for k, v in single.items():
        if k not in multi:
            headers.append((k, str(v)))
    body = response.get("body") or ""
    data = base64.b64decode(body) if response.get("isBase64Encoded") else str(body).encode("utf-8")
    return response["statusCode"], headers, data


class _Handler(BaseHTTPRequestHandler):
    server: ApiGatewayServer
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt: str, *args: Any) -> None:  # quiet: access logs are not needed
        pass

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        event = proxy_event(self.command, self.path, list(self.headers.items()), body, self.client_address[0],
                            self.server.account, self.server.api_id)
        try:
            status, headers, data = response_parts(self.server.invoke(event))
        except Exception:
            log.error("integration failed for %s %s:\n%s", self.command, self.path, traceback.format_exc())
            status, headers = 502, [("Content-Type", "application/json")]
            data = json.dumps({"message": "Internal server error"}).encode()
        self.send_response(status)
        for k, v in headers:
            if k.lower() not in ("content-length", "connection", "transfer-encoding"):
                self.send_header(k, v)
        self.send_header("Content-Length", str(0 if self.command == "HEAD" else len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _serve


class ApiGatewayServer(ThreadingHTTPServer):
    request_queue_size = 128  # not socketserver's 5: see sandbox.router.GlobalRouter
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, host: str, port: int, invoke: Callable[[dict[str, Any]], Any],
                 account: str = "123456789012", api_id: str = "sandbox") -> None:
        self.invoke = invoke
        self.account = account
        self.api_id = api_id
        super().__init__((host, port), _Handler)
        self._thread: threading.Thread | None = None

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hangs up (a probe, a timed-out poll) is not an error worth a traceback."""
        exc = sys.exc_info()[1]
        if isinstance(exc, ConnectionError | TimeoutError):
            return
        super().handle_error(request, client_address)

    def start(self) -> ApiGatewayServer:
        self._thread = threading.Thread(target=self.serve_forever, name=f"apigw-{self.server_address[1]}",
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.shutdown()
        self.server_close()
        if self._thread:
            self._thread.join(timeout=5)
