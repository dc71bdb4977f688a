"""boto3 clients for the sandbox's local AWS endpoint (dummy credentials, never real AWS)."""

from __future__ import annotations

from typing import Any

DUMMY_CREDENTIALS = {"aws_access_key_id": "sandbox", "aws_secret_access_key": "sandbox"}


def client(service: str, region: str, endpoint: str, **config: Any) -> Any:
    """A boto3 client for ``service`` in ``region`` talking to the moto server at ``endpoint``."""
    import boto3
    from botocore.config import Config

    cfg = Config(retries={"max_attempts": 3, "mode": "standard"}, connect_timeout=5, read_timeout=30,
                 max_pool_connections=20, **config)
    return boto3.session.Session().client(service, region_name=region, endpoint_url=endpoint, config=cfg,
                                          **DUMMY_CREDENTIALS)


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
