"""boto3 clients for the sandbox's local AWS endpoint (dummy credentials, never real AWS)."""

from __future__ import annotations

import threading
from typing import Any

DUMMY_CREDENTIALS = {"aws_access_key_id": "sandbox", "aws_secret_access_key": "sandbox"}
_session: Any = None
_session_lock = threading.Lock()


def client(service: str, region: str, endpoint: str, **config: Any) -> Any:
    """A boto3 client for ``service`` in ``region`` talking to the moto server at ``endpoint``.

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
        return _session.client(service, region_name=region, endpoint_url=endpoint, config=cfg, **DUMMY_CREDENTIALS)


def lambda_environment(endpoint: str, region: str) -> dict[str, str]:
    """The AWS part of a region process's environment."""
    return {
        "AWS_REGION": region,
        "AWS_DEFAULT_REGION": region,
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "sandbox",
        "AWS_SECRET_ACCESS_KEY": "sandbox",
        "AWS_SESSION_TOKEN": "sandbox",
        # moto 5.2 with botocore 1.44: Streams calls 404 without this.
        "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
    }
