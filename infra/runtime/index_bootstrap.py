"""Custom resource handler: create the first versioned physical index and its alias.

Runs in the Lambda Python 3.13 runtime with nothing but the standard library and the
runtime's botocore (SigV4). Properties (rendered at synth time from
``catalog.schema.opensearch_index_body``): ``Endpoint`` (https URL), ``Alias``,
``PhysicalIndex`` and ``IndexBody`` (a JSON string: CloudFormation turns numbers in
properties into strings).

* Create/Update: if the alias exists, nothing changes (a reindex may have moved it;
  the operator tooling owns later versions). Otherwise the physical index is created if
  missing and the alias added: idempotent, so a retried or replayed event is harmless.
* Delete: nothing. The index is never deleted with the stack.
"""

from __future__ import annotations

import json
import os
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

Request = Callable[[str, str, bytes | None], tuple[int, bytes]]


def signed_request(method: str, url: str, body: bytes | None) -> tuple[int, bytes]:
    """One SigV4-signed HTTPS request to the domain (service ``es``); returns status and body."""
    import botocore.session
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest

    session = botocore.session.get_session()
    headers = {"Content-Type": "application/json"} if body is not None else {}
    aws_request = AWSRequest(method=method, url=url, data=body, headers=headers)
    SigV4Auth(session.get_credentials(), "es", os.environ["AWS_REGION"]).add_auth(aws_request)
    req = urllib.request.Request(url, data=body, method=method, headers=dict(aws_request.headers.items()))
    try:
        with urllib.request.urlopen(req, timeout=20) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def ensure_index(endpoint: str, alias: str, physical: str, body: dict[str, Any],
                 request: Request = signed_request, deadline: float | None = None) -> dict[str, str]:
    """Make ``alias`` point at an index; create ``physical`` for it if the alias is missing."""
    base = endpoint.rstrip("/")

    def call(method: str, path: str, payload: dict[str, Any] | None = None) -> tuple[int, bytes]:
        data = json.dumps(payload).encode() if payload is not None else None
        while True:
            try:
                status, raw = request(method, f"{base}{path}", data)
            except OSError as exc:  # connection refused/reset while the domain settles
                status, raw = 599, str(exc).encode()
            if status < 500 and status != 429:
                return status, raw
            if deadline is not None and time.monotonic() > deadline:
                raise RuntimeError(f"{method} {path}: OpenSearch answered {status}: {raw[:500]!r}")
            time.sleep(5)

    status, raw = call("GET", f"/_alias/{alias}")
    if status == 200:
        targets = sorted(json.loads(raw or b"{}"))
        if targets:
            return {"AliasTarget": ",".join(targets), "Created": "false"}
    elif status != 404:
        raise RuntimeError(f"GET /_alias/{alias}: unexpected {status}: {raw[:500]!r}")

    status, raw = call("HEAD", f"/{physical}")
    created = "false"
    if status == 404:
        status, raw = call("PUT", f"/{physical}", body)
        already = status == 400 and b"resource_already_exists_exception" in raw
        if status >= 300 and not already:
            raise RuntimeError(f"PUT /{physical}: {status}: {raw[:500]!r}")
        created = "true"
    elif status != 200:
        raise RuntimeError(f"HEAD /{physical}: unexpected {status}")
    status, raw = call("POST", "/_aliases", {"actions": [{"add": {"index": physical, "alias": alias}}]})
    if status >= 300:
        raise RuntimeError(f"POST /_aliases: {status}: {raw[:500]!r}")
    return {"AliasTarget": physical, "Created": created}


def respond(event: dict[str, Any], status: str, reason: str, data: dict[str, str], physical_id: str) -> None:
    body = json.dumps({
        "Status": status, "Reason": reason[:3000], "PhysicalResourceId": physical_id,
        "StackId": event["StackId"], "RequestId": event["RequestId"], "LogicalResourceId": event["LogicalResourceId"],
        "Data": data,
    }).encode()
    req = urllib.request.Request(event["ResponseURL"], data=body, method="PUT",
                                 headers={"Content-Type": "", "Content-Length": str(len(body))})
    with urllib.request.urlopen(req, timeout=30):
        pass


def lambda_handler(event: dict[str, Any], context: Any) -> None:
    props = event.get("ResourceProperties", {})
    alias = props.get("Alias", "")
    physical_id = event.get("PhysicalResourceId") or f"{props.get('Endpoint', '')}/{alias}"
    try:
        if event["RequestType"] == "Delete":
            data = {"AliasTarget": "", "Created": "false"}
        else:
            deadline = time.monotonic() + max(context.get_remaining_time_in_millis() / 1000 - 30, 10)
            data = ensure_index(props["Endpoint"], alias, props["PhysicalIndex"], json.loads(props["IndexBody"]),
                                deadline=deadline)
        print(json.dumps({"request": event["RequestType"], "alias": alias, **data}))
        respond(event, "SUCCESS", "ok", data, physical_id)
    except Exception as exc:
        print(json.dumps({"request": event.get("RequestType"), "alias": alias, "error": str(exc)}))
        respond(event, "FAILED", f"{type(exc).__name__}: {exc}", {}, physical_id)
