"""Build API Gateway REST (v1) proxy events the way API Gateway does, and call handlers.

A ``{proxy+}`` resource (what ``LambdaRestApi`` deploys): ``resource`` is ``/{proxy+}``,
``pathParameters`` holds the proxied path, query strings arrive percent-decoded in both
``queryStringParameters`` (the last value of a repeated name) and
``multiValueQueryStringParameters`` (all values), each ``None`` when there is no query,
and headers arrive in ``headers`` (last value) and ``multiValueHeaders``.
"""

from __future__ import annotations

import functools
import json
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl


@dataclass
class LambdaContext:
    function_name: str = "storefront-search-us-east-1"
    memory_limit_in_mb: int = 1024
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:storefront-search-us-east-1"
    aws_request_id: str = "00000000-0000-4000-8000-000000000000"

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 29_000


def event(method: str = "GET", url: str = "/search", *, query: Sequence[tuple[str, str]] | None = None,
          headers: Mapping[str, str | Sequence[str]] | None = None, stage: str = "prod") -> dict[str, Any]:
    """An API Gateway REST proxy event for ``method url`` (``url`` may carry a query string).

    ``query`` adds (name, value) pairs after the ones in ``url``, keeping order and repeats.
    """
    # a request target, not a URL: "//[" is a path here (urlsplit would read a host from it)
    target = url.split("#", 1)[0]
    raw_path, _, raw_query = target.partition("?")
    pairs = parse_qsl(raw_query, keep_blank_values=True) + list(query or ())
    multi: dict[str, list[str]] = {}
    for name, value in pairs:
        multi.setdefault(name, []).append(value)
    hdrs: dict[str, list[str]] = {"Host": ["abc123.execute-api.us-east-1.amazonaws.com"],
                                  "User-Agent": ["pytest"], "X-Forwarded-Proto": ["https"]}
    for name, value in (headers or {}).items():
        hdrs[name] = [value] if isinstance(value, str) else list(value)
    path = raw_path or "/"
    request_id = str(uuid.uuid4())
    return {
        "resource": "/{proxy+}",
        "path": path,
        "httpMethod": method,
        "headers": {k: v[-1] for k, v in hdrs.items()},
        "multiValueHeaders": hdrs,
        "queryStringParameters": {k: v[-1] for k, v in multi.items()} or None,
        "multiValueQueryStringParameters": multi or None,
        "pathParameters": {"proxy": path.lstrip("/")} if path != "/" else None,
        "stageVariables": None,
        "requestContext": {
            "resourceId": "abc123", "resourcePath": "/{proxy+}", "httpMethod": method,
            "extendedRequestId": request_id, "requestTime": time.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "path": f"/{stage}{path}", "accountId": "123456789012", "protocol": "HTTP/1.1", "stage": stage,
            "domainPrefix": "abc123", "requestTimeEpoch": int(time.time() * 1000), "requestId": request_id,
            "identity": {"sourceIp": "203.0.113.7", "userAgent": "pytest", "cognitoIdentityPoolId": None,
                         "accountId": None, "cognitoIdentityId": None, "caller": None, "principalOrgId": None,
                         "accessKey": None, "cognitoAuthenticationType": None,
                         "cognitoAuthenticationProvider": None, "user": None, "userArn": None},
            "domainName": "abc123.execute-api.us-east-1.amazonaws.com", "apiId": "abc123",
        },
        "body": None,
        "isBase64Encoded": False,
    }


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    text: str

    def json(self) -> Any:
        return json.loads(self.text)


def call(handler: Callable[[dict, Any], dict], method: str = "GET", url: str = "/search", **kwargs: Any) -> Reply:
    """Invoke ``handler`` with an event and flatten its proxy response."""
    response = handler(event(method, url, **kwargs), LambdaContext())
    assert set(response) >= {"statusCode", "body"}, response
    headers: dict[str, str] = {}
    for name, values in (response.get("multiValueHeaders") or {}).items():
        headers[name.lower()] = ", ".join(values)
    for name, value in (response.get("headers") or {}).items():
        headers[name.lower()] = value
    assert not response.get("isBase64Encoded"), "the API never sends binary bodies"
    return Reply(response["statusCode"], headers, response.get("body") or "")


# ---------------------------------------------------------------- the OpenAPI contract
OPENAPI_URN = "urn:storefront:openapi"


def _route_of(path: str) -> str | None:
    if path.startswith("/products/") and path.count("/") == 2:
        return "/products/{id}"
    return path


def validate_reply(reply: Reply, path: str, method: str = "GET") -> None:
    """Assert ``reply`` is what the OpenAPI document promises for ``method path``.

    Errors (4xx/5xx other than documented health answers) must have the ``Error`` shape;
    documented statuses must match their schema.
    """
    from search_api.openapi import document

    doc = document()
    route = _route_of(path)
    operation = doc["paths"].get(route, {}).get(method.lower()) if method == "GET" else None
    if reply.status in (204, 304):
        assert reply.text == "", reply
        return
    if operation is not None:
        response = operation["responses"].get(str(reply.status))
        assert response is not None, f"{method} {path}: status {reply.status} is not documented"
        content = response.get("content", {})
        media = reply.headers.get("content-type", "").split(";")[0]
        assert media in content, f"{method} {path}: {media} not documented for {reply.status}"
        if media != "application/json":
            return
        schema = content[media]["schema"]
        for name in response.get("headers", {}):
            assert name.lower() in reply.headers, f"{method} {path}: header {name} missing"
    else:
        assert reply.status in (404, 405), reply
        schema = {"$ref": "#/components/schemas/Error"}
    _validator(json.dumps(schema, sort_keys=True)).validate(reply.json())


@functools.cache
def _validator(schema_json: str) -> Any:
    import jsonschema
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT202012

    from search_api.openapi import document

    registry = Registry().with_resource(OPENAPI_URN, Resource.from_contents(document(),
                                                                            default_specification=DRAFT202012))
    schema = json.loads(schema_json)
    if "$ref" in schema:
        schema = {"$ref": OPENAPI_URN + schema["$ref"]}
    return jsonschema.Draft202012Validator(schema, registry=registry)
