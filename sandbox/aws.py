"""boto3 clients for the sandbox's local AWS endpoint (never real AWS).

Clients sign as the sandbox's operator (:data:`OPERATOR_CREDENTIALS`) unless given other
``credentials`` (a function role's, see :mod:`sandbox.iam`).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

from catalog.sandbox_endpoints import OPERATOR_CREDENTIALS as OPERATOR_CREDENTIALS  # re-exported for callers

CREDENTIAL_VARIABLES = {"AWS_ACCESS_KEY_ID": "aws_access_key_id", "AWS_SECRET_ACCESS_KEY": "aws_secret_access_key",
                        "AWS_SESSION_TOKEN": "aws_session_token"}
_session: Any = None
_session_lock = threading.Lock()


def client(service: str, region: str, endpoint: str, credentials: Mapping[str, str] | None = None,
           **config: Any) -> Any:
    """A boto3 client for ``service`` in ``region`` talking to the moto server at ``endpoint``, signing with
    ``credentials`` (``aws_access_key_id``, ``aws_secret_access_key``, ``aws_session_token``), by default
    the operator's.

    Clients come from one boto3 session per process (created under a lock: a session is not
    thread-safe), so the service models are loaded once, not once per client (~0.3 s each)."""
    global _session
    import boto3
    from botocore.config import Config

    cfg = Config(retries={"max_attempts": 3, "mode": "standard"}, connect_timeout=5, read_timeout=30,
                 max_pool_connections=20, **config)
    with _session_lock:
        if _session is None:
            _session = boto3.session.Session()
        return _session.client(service, region_name=region, endpoint_url=endpoint, config=cfg,
                               **dict(credentials or OPERATOR_CREDENTIALS))


def credentials_of(environment: Mapping[str, str]) -> dict[str, str]:
    """The credentials a process environment holds (``AWS_ACCESS_KEY_ID``...), as :func:`client` takes them."""
    return {arg: environment[var] for var, arg in CREDENTIAL_VARIABLES.items() if var in environment}


def lambda_environment(endpoint: str, region: str) -> dict[str, str]:
    """The AWS part of a region process's environment (the operator's key: the region process plays
    the Lambda service; its functions get their roles' credentials instead)."""
    return {
        "AWS_REGION": region,
        "AWS_DEFAULT_REGION": region,
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": OPERATOR_CREDENTIALS["aws_access_key_id"],
        "AWS_SECRET_ACCESS_KEY": OPERATOR_CREDENTIALS["aws_secret_access_key"],
        # moto 5.2 with botocore 1.44: Streams calls 404 without this.
        "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
    }
