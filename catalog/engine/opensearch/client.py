"""The OpenSearch client of the adapter: its settings from the environment, built once per process.

:func:`settings_from_env` validates the ``OPENSEARCH_*`` variables (see
:mod:`catalog.engine`) into :class:`ClientSettings`, each error naming its variable;
:func:`shared_client` builds one ``opensearchpy.OpenSearch`` per configuration and keeps
it for the life of the process, so a Lambda reuses it (and its connection pool) across
invocations. Every call has a timeout; connection errors and 502/503/504 are retried by
the transport at most ``max_retries`` times; a timeout is not retried (it would double the
latency). opensearch-py is imported only when a client is built, boto3 only for SigV4.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from catalog.engine import EngineConfigError

AUTH_MODES = ("sigv4", "basic", "none")
SERVICES = ("es", "aoss")
DEFAULT_TIMEOUT = 5.0
MAX_TIMEOUT = 300.0
MAX_RETRIES = 2
LOOPBACK = ("127.0.0.1", "localhost", "::1")  # http with credentials stays on this machine


@dataclass(frozen=True)
class ClientSettings:
    """What a client is built from (validated from the environment by :func:`settings_from_env`)."""

    host: str
    port: int
    scheme: str = "https"
    auth: str = "sigv4"
    service: str = "es"
    region: str | None = None
    username: str | None = None
    password: str | None = None
    timeout: float = DEFAULT_TIMEOUT
    max_retries: int = MAX_RETRIES

    @property
    def endpoint(self) -> str:
        return f"{self.scheme}://{self.host}:{self.port}"


def _parse_endpoint(value: str, auth: str) -> tuple[str, str, int]:
    bad = EngineConfigError(f"OPENSEARCH_ENDPOINT must look like https://host[:port], got {value!r}")
    try:
        parts = urlsplit(value.strip())
        port = parts.port
    except ValueError:
        raise bad from None
    if parts.scheme not in ("https", "http") or not parts.hostname or parts.username or parts.password:
        raise bad
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise bad
    if parts.scheme == "http" and auth != "none" and parts.hostname not in LOOPBACK:
        raise EngineConfigError("OPENSEARCH_ENDPOINT must use https when OPENSEARCH_AUTH is "
                                f"{auth!r} (credentials never cross a network in clear text; "
                                "http is accepted only for a cluster on this machine)")
    return parts.scheme, parts.hostname, port or (443 if parts.scheme == "https" else 80)


def settings_from_env(env: Mapping[str, str]) -> ClientSettings:
    """Validate the ``OPENSEARCH_*`` variables; errors name the variable."""
    auth = env.get("OPENSEARCH_AUTH", "sigv4").strip().lower() or "sigv4"
    if auth not in AUTH_MODES:
        raise EngineConfigError(f"OPENSEARCH_AUTH must be one of {', '.join(AUTH_MODES)}, got {auth!r}")
    endpoint = env.get("OPENSEARCH_ENDPOINT", "").strip()
    if not endpoint:
        raise EngineConfigError("OPENSEARCH_ENDPOINT is required (https://host[:port] of the OpenSearch domain)")
    scheme, host, port = _parse_endpoint(endpoint, auth)
    service = env.get("OPENSEARCH_SERVICE", "es").strip().lower() or "es"
    if service not in SERVICES:
        raise EngineConfigError(f"OPENSEARCH_SERVICE must be one of {', '.join(SERVICES)}, got {service!r}")
    raw_timeout = env.get("OPENSEARCH_TIMEOUT", "").strip()
    timeout = DEFAULT_TIMEOUT
    if raw_timeout:
        try:
            timeout = float(raw_timeout)
        except ValueError:
            raise EngineConfigError(f"OPENSEARCH_TIMEOUT must be a number of seconds, got {raw_timeout!r}") from None
        if not 0 < timeout <= MAX_TIMEOUT:
            raise EngineConfigError(f"OPENSEARCH_TIMEOUT must be more than 0 and at most {MAX_TIMEOUT:g} seconds, "
                                    f"got {timeout:g}")
    raw_retries = env.get("OPENSEARCH_MAX_RETRIES", "").strip()
    max_retries = MAX_RETRIES
    if raw_retries:
        if not raw_retries.isdigit() or int(raw_retries) > 5:
            raise EngineConfigError(f"OPENSEARCH_MAX_RETRIES must be a whole number from 0 to 5, got {raw_retries!r}")
        max_retries = int(raw_retries)
    region = username = password = None
    if auth == "sigv4":
        region = (env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "").strip()
        if not region:
            raise EngineConfigError("AWS_REGION is required to sign OpenSearch requests (OPENSEARCH_AUTH=sigv4)")
    elif auth == "basic":
        username = env.get("OPENSEARCH_USERNAME", "")
        password = env.get("OPENSEARCH_PASSWORD", "")
        if not username:
            raise EngineConfigError("OPENSEARCH_USERNAME is required when OPENSEARCH_AUTH=basic")
        if not password:
            raise EngineConfigError("OPENSEARCH_PASSWORD is required when OPENSEARCH_AUTH=basic")
    return ClientSettings(host=host, port=port, scheme=scheme, auth=auth, service=service, region=region,
                          username=username, password=password, timeout=timeout, max_retries=max_retries)


def _signer(settings: ClientSettings) -> Any:
    import boto3
    from opensearchpy import Urllib3AWSV4SignerAuth

    credentials = boto3.Session(region_name=settings.region).get_credentials()
    if credentials is None:
        raise EngineConfigError("OPENSEARCH_AUTH=sigv4 needs AWS credentials, and the boto3 session found none")
    # the signer asks the (refreshable) credentials for a frozen copy on every request
    return Urllib3AWSV4SignerAuth(credentials, settings.region, settings.service)


def build_client(settings: ClientSettings) -> Any:
    """A new ``opensearchpy.OpenSearch`` for ``settings`` (prefer :func:`shared_client`)."""
    from opensearchpy import OpenSearch, Urllib3HttpConnection

    http_auth: Any = None
    if settings.auth == "sigv4":
        http_auth = _signer(settings)
    elif settings.auth == "basic":
        http_auth = (settings.username, settings.password)
    return OpenSearch(
        hosts=[{"host": settings.host, "port": settings.port, "scheme": settings.scheme}],
        http_auth=http_auth,
        use_ssl=settings.scheme == "https",
        verify_certs=settings.scheme == "https",
        ssl_show_warn=False,
        connection_class=Urllib3HttpConnection,
        timeout=settings.timeout,
        max_retries=settings.max_retries,
        retry_on_status=(502, 503, 504),
        retry_on_timeout=False,
        pool_maxsize=10,
    )


_CLIENTS: dict[ClientSettings, Any] = {}
_CLIENTS_LOCK = threading.Lock()


def shared_client(settings: ClientSettings) -> Any:
    """The process-wide client for ``settings``: built once, reused by every invocation."""
    with _CLIENTS_LOCK:
        client = _CLIENTS.get(settings)
        if client is None:
            client = _CLIENTS[settings] = build_client(settings)
        return client
