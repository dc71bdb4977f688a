"""The indexer's settings: environment variables only, validated once at init.

=========================  ==============================================================
``AWS_REGION``             the region this function indexes (required; Lambda sets it)
``DLQ_URL``                dead-letter SQS queue URL for untransformable records (required)
``CONTENT_BUCKET``         the region's content bucket, read for S3 hints (required)
``BULK_MAX_OPERATIONS``    operations per ``_bulk`` request (default 1000, 1..10000)
``BULK_MAX_BYTES``         bytes per ``_bulk`` request (default 5242880, 1 KiB..100 MiB)
``RETRY_MARGIN_MS``        time kept back from the Lambda's remaining time when retrying
                           (default 5000)
``POWERTOOLS_SERVICE_NAME``       service name in logs, metrics and traces (default
                                  ``storefront-indexer``)
``POWERTOOLS_METRICS_NAMESPACE``  CloudWatch namespace (default ``Storefront``)
``POWERTOOLS_TRACE_DISABLED``     ``true`` skips the X-Ray tracer entirely (cold start)
=========================  ==============================================================

plus the engine variables of :mod:`catalog.engine` (``SEARCH_ENGINE`` and friends).
A bad value raises :class:`SettingsError` whose message starts with the variable's name.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from catalog import defaults

_REGION = re.compile(r"^[a-z]{2}(-gov)?-[a-z]+-\d$")
_TRUE = {"1", "true", "yes", "on"}


class SettingsError(ValueError):
    """An environment variable is missing or wrong. ``variable`` names it."""

    def __init__(self, variable: str, reason: str) -> None:
        self.variable = variable
        self.reason = reason
        super().__init__(f"{variable}: {reason}")


def _required(env: Mapping[str, str], name: str) -> str:
    value = env.get(name, "").strip()
    if not value:
        raise SettingsError(name, "is required")
    return value


def _int(env: Mapping[str, str], name: str, default: int, lo: int, hi: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(name, f"must be a whole number, got {raw!r}") from None
    if not lo <= value <= hi:
        raise SettingsError(name, f"must be between {lo} and {hi}, got {value}")
    return value


@dataclass(frozen=True)
class Settings:
    region: str
    dlq_url: str
    content_bucket: str
    bulk_max_operations: int = defaults.BULK_MAX_OPERATIONS
    bulk_max_bytes: int = defaults.BULK_MAX_BYTES
    retry_margin_ms: int = 5000
    service: str = "storefront-indexer"
    namespace: str = "Storefront"
    tracing: bool = True

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        region = _required(env, "AWS_REGION")
        if not _REGION.match(region):
            raise SettingsError("AWS_REGION", f"{region!r} is not a region name like 'eu-west-1'")
        dlq_url = _required(env, "DLQ_URL")
        if not dlq_url.startswith(("https://", "http://")):
            raise SettingsError("DLQ_URL", f"must be an SQS queue URL (https://...), got {dlq_url!r}")
        bucket = _required(env, "CONTENT_BUCKET")
        if not re.match(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", bucket):
            raise SettingsError("CONTENT_BUCKET", f"{bucket!r} is not an S3 bucket name")
        return cls(
            region=region,
            dlq_url=dlq_url,
            content_bucket=bucket,
            bulk_max_operations=_int(env, "BULK_MAX_OPERATIONS", cls.bulk_max_operations, 1, 10_000),
            bulk_max_bytes=_int(env, "BULK_MAX_BYTES", cls.bulk_max_bytes, 1024, 100 * 1024 * 1024),
            retry_margin_ms=_int(env, "RETRY_MARGIN_MS", cls.retry_margin_ms, 0, 900_000),
            service=env.get("POWERTOOLS_SERVICE_NAME") or cls.service,
            namespace=env.get("POWERTOOLS_METRICS_NAMESPACE") or cls.namespace,
            tracing=env.get("POWERTOOLS_TRACE_DISABLED", "").strip().lower() not in _TRUE,
        )
