"""EMULATION of an API Gateway REST API with a Lambda proxy integration, on a local port.

Each HTTP request becomes the REST (v1) proxy event API Gateway sends to Lambda: method,
path (as on a custom domain: no stage prefix; a request whose ``Host`` is an execute-api
host, as Route 53's health checks send, names the stage first and it is taken off),
``headers`` and ``multiValueHeaders``,
``queryStringParameters`` and ``multiValueQueryStringParameters`` (URL-decoded, ``None``
when empty, the single-value map keeps the last value as API Gateway does),
``resource`` ``/`` for the root, else ``/{proxy+}`` with its ``pathParameters``,
``requestContext`` with the keys API Gateway sends (the template's stage and custom domain,
a stable resource id, request ids, the request time from an injectable clock, and an
``identity`` with the caller's address and ``User-Agent``, its other fields null as for an
unauthenticated method) and the body (base64 when it is not UTF-8 text). The handler's
``statusCode``, ``headers``, ``multiValueHeaders``, ``body`` and ``isBase64Encoded`` become
the HTTP response. A handler that raises or returns something malformed gives 502
``{"message": "Internal server error"}``, as API Gateway does.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import os
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
STAGE = "prod"  # the stage when no template gives one (standalone servers in tests and benchmarks)
ROOT, PROXY = "/", "/{proxy+}"  # the API's two resources, each with a GET method (LambdaRestApi's shape)
IDENTITY_KEYS = ("cognitoIdentityPoolId", "accountId", "cognitoIdentityId", "caller", "principalOrgId", "accessKey",
                 "cognitoAuthenticationType", "cognitoAuthenticationProvider", "userArn", "user")  # null: no auth


def resource_id(api_id: str, resource: str) -> str:
    """A stable id for one of the API's resources (API Gateway assigns a random one at creation)."""
    return hashlib.sha1(f"{api_id}{resource}".encode()).hexdigest()[:6]


def proxy_event(method: str, raw_path: str, headers: list[tuple[str, str]], body: bytes, source_ip: str,
                account: str = "123456789012", api_id: str = "sandbox", *, stage: str = STAGE,
                domain_name: str = "", clock: Callable[[], float] = time.time) -> dict[str, Any]:
    """An HTTP request -> an API Gateway REST proxy event.

    ``domain_name`` is the API's custom domain (the template's ``AWS::ApiGateway::DomainName``): a
    request to it has no stage in its path. A request whose ``Host`` is an execute-api host names
    ``stage`` first, and that host is its ``domainName``. Without a custom domain the ``Host``'s name
    stands in. ``clock`` gives the request time (epoch seconds)."""
    parts = urlsplit(raw_path)
    path = parts.path or "/"
    host = next((v for k, v in headers if k.lower() == "host"), "")
    host_name = (urlsplit(f"//{host}").hostname or "") if host else ""
    via_execute_api = ".execute-api." in host_name
    if via_execute_api and (path == f"/{stage}" or path.startswith(f"/{stage}/")):
        path = path[len(stage) + 1:] or "/"
    domain = host_name if via_execute_api or not domain_name else domain_name
    domain = domain or "localhost"
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
    now = clock()
    resource = ROOT if path == "/" else PROXY
    identity: dict[str, Any] = dict.fromkeys(IDENTITY_KEYS)
    identity["sourceIp"] = source_ip
    identity["userAgent"] = next((v[-1] for k, v in multi_h.items() if k.lower() == "user-agent"), None)
    return {
        "resource": resource,
        "path": path,
        "httpMethod": method,
        "headers": {k: v[-1] for k, v in multi_h.items()} or None,
        "multiValueHeaders": multi_h or None,
        "queryStringParameters": {k: v[-1] for k, v in multi_q.items()} or None,
        "multiValueQueryStringParameters": multi_q or None,
        "pathParameters": {"proxy": path.lstrip("/")} if resource == PROXY else None,
        "stageVariables": None,
        "requestContext": {
            "resourceId": resource_id(api_id, resource),
            "resourcePath": resource,
            "httpMethod": method,
            "extendedRequestId": base64.b64encode(os.urandom(10)).decode(),
            "requestTime": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "path": parts.path or "/",  # as the client sent it: with the stage on an execute-api host
            "accountId": account,
            "protocol": "HTTP/1.1",
            "stage": stage,
            "domainPrefix": domain.split(".", 1)[0],
            "requestTimeEpoch": int(now * 1000),
            "requestId": str(uuid.uuid4()),
            "identity": identity,
            "domainName": domain,
            "apiId": api_id,
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
        server = self.server
        event = proxy_event(self.command, self.path, list(self.headers.items()), body, self.client_address[0],
                            server.account, server.api_id, stage=server.stage, domain_name=server.domain_name,
                            clock=server.clock)
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
                 account: str = "123456789012", api_id: str = "sandbox", *, stage: str = STAGE,
                 domain_name: str = "", clock: Callable[[], float] = time.time) -> None:
        """``stage`` and ``domain_name``: the template's (see :func:`proxy_event`); ``clock``: the request time."""
        self.invoke = invoke
        self.account = account
        self.api_id = api_id
        self.stage = stage
        self.domain_name = domain_name
        self.clock = clock
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
