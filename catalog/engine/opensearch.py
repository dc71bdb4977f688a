"""The OpenSearch adapter of :class:`catalog.engine.port.SearchEngine` (opensearch-py).

For Amazon OpenSearch Service (SigV4, service ``es``), OpenSearch Serverless (SigV4,
``aoss``) or a self-run cluster (URL + basic auth, or none). Requests and responses are
built and parsed by the pure functions of :mod:`catalog.engine.opensearch_dsl`; this
module only sends them and maps transport errors onto the port's errors.

* **Client**: one per process and configuration, cached at module level so a Lambda
  reuses it (and its connection pool) across invocations. Every call has a timeout;
  connection errors and 502/503/504 are retried by the transport at most
  ``OPENSEARCH_MAX_RETRIES`` times (default ``MAX_RETRIES``); a timeout is not retried
  (it would double the latency).
* **Writes**: one ``_bulk`` request per :meth:`OpenSearchEngine.apply`, scripted upserts
  that enforce the versioning rule on the server (stale -> ``noop`` -> STALE).
* **Visibility**: ``apply`` sends ``refresh=wait_for`` by default, so the port's promise
  holds (readers see a batch once ``apply`` returns). It does not force a refresh (no
  tiny segments, unlike ``refresh=true``): it waits for the next scheduled one
  (``refresh_interval`` 1 s). Documents become searchable at that same refresh either
  way, so shoppers see no difference; what waiting costs is writer latency (up to 1 s
  per batch), and the indexer's event source mapping already runs batches of one shard
  one after another. An indexer that prefers throughput to read-your-writes can pass
  ``refresh=False``: then a write is visible within ``refresh_interval`` (eventual).
* **Imports**: opensearch-py (~0.2 s) is imported only when a client is built or an
  error is mapped, never by merely importing this module or :mod:`catalog.engine`;
  boto3 only on the SigV4 path.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import Any, TypeVar
from urllib.parse import urlsplit

from catalog.defaults import INDEX_ALIAS
from catalog.engine import EngineConfigError
from catalog.engine.opensearch_dsl import (
    BulkResponseError,
    aliases_body,
    bulk_body,
    bulk_outcomes,
    doc_state,
    is_visible,
    iter_states_body,
    parse_search,
    parse_suggest,
    purge_queries,
    search_body,
    suggest_body,
    visible_query,
)
from catalog.engine.port import (
    DocState,
    EngineError,
    EngineUnavailable,
    Health,
    IndexNotFound,
    InvalidRequest,
    Operation,
    OpResult,
    SearchRequest,
    SearchResult,
    Suggestion,
)
from catalog.model import Content, Product
from catalog.schema import opensearch_index_body

AUTH_MODES = ("sigv4", "basic", "none")
SERVICES = ("es", "aoss")
DEFAULT_TIMEOUT = 5.0
MAX_TIMEOUT = 300.0
MAX_RETRIES = 2
WRITE_TIMEOUT = 30.0  # bulk, create/delete index, purge: at least this long
MGET_CHUNK = 1000
LOOPBACK = ("127.0.0.1", "localhost", "::1")  # http with credentials stays on this machine
_ALIAS = re.compile(r"^[a-z][a-z0-9_-]{0,100}$")
_INDEX = re.compile(r"^[a-z0-9][a-z0-9_.+-]{0,254}$")

T = TypeVar("T")


# ---------------------------------------------------------------- settings and client
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


# ---------------------------------------------------------------- error mapping
def map_error(what: str, exc: Exception, *, cursor: bool = False) -> EngineError | None:
    """An opensearch-py error -> the port's error (None if ``exc`` is not one of its errors).

    Connection errors, timeouts, 429, 5xx and refused credentials:
    :class:`EngineUnavailable`; a missing index or alias: :class:`IndexNotFound`; a 400
    caused by a cursor: :class:`InvalidRequest`; any other error: :class:`EngineError`
    (a bug or a misconfiguration, with the engine's reason).
    """
    from opensearchpy.exceptions import ConnectionError as OSConnectionError
    from opensearchpy.exceptions import TransportError

    if isinstance(exc, OSConnectionError):  # also ConnectionTimeout and SSLError
        return EngineUnavailable(f"{what}: cannot reach OpenSearch: {exc.error}")
    if not isinstance(exc, TransportError):
        return None
    status = exc.status_code
    reason = _reason(exc)
    if not isinstance(status, int) or status == 429 or status >= 500:
        return EngineUnavailable(f"{what}: OpenSearch answered {status}: {reason}")
    if status in (401, 403):
        return EngineUnavailable(f"{what}: OpenSearch refused the request ({status}): {reason}")
    if status == 404:
        return IndexNotFound(f"{what}: {reason}")
    if cursor and status == 400:
        return InvalidRequest("cursor", "cannot be used with this index any more; start again without it")
    return EngineError(f"{what}: OpenSearch answered {status}: {reason}")


def _call(what: str, fn: Callable[[], T], *, cursor: bool = False) -> T:
    """Run one client call; errors of the client become the port's (see :func:`map_error`)."""
    try:
        return fn()
    except Exception as exc:
        mapped = map_error(what, exc, cursor=cursor)
        if mapped is None:
            raise
        raise mapped from exc


def _reason(exc: Any) -> str:
    from catalog.engine.opensearch_dsl import error_reason

    info = exc.info if isinstance(exc.info, Mapping) else {}
    error = info.get("error")
    if isinstance(error, Mapping):
        return error_reason(error)
    return str(exc.error)


def _alias_missing(result: OpResult) -> bool:
    """A bulk item refused because the alias it required does not exist."""
    return result.status == 404 and "index_not_found_exception" in (result.reason or "")


def _utc_stamp() -> str:
    return datetime.now(UTC).strftime("%Y%m%d%H%M%S%f")


# ---------------------------------------------------------------- the adapter
class OpenSearchEngine:
    """One region's product index on OpenSearch, addressed through ``alias``.

    ``client`` is an ``opensearchpy.OpenSearch``; it belongs to whoever built it
    (:meth:`close` leaves it open: the process-wide client outlives an engine).
    """

    def __init__(self, client: Any, alias: str = INDEX_ALIAS, *, shards: int = 1, replicas: int = 1,
                 timeout: float = DEFAULT_TIMEOUT, refresh: str | bool = "wait_for",
                 write_timeout: float | None = None, create_missing: bool = False) -> None:
        if not _ALIAS.match(alias):
            raise ValueError(f"alias: lowercase letters, digits, '-' or '_', starting with a letter (got {alias!r})")
        if refresh not in ("wait_for", True, False):
            raise ValueError(f"refresh: must be 'wait_for', True or False (got {refresh!r})")
        self.client = client
        self.alias = alias
        self.shards = shards
        self.replicas = replicas
        self.timeout = float(timeout)
        self.write_timeout = float(write_timeout) if write_timeout is not None else max(self.timeout, WRITE_TIMEOUT)
        self.refresh = refresh
        self.create_missing = create_missing

    @classmethod
    def from_env(cls, env: Mapping[str, str], **options: Any) -> OpenSearchEngine:
        """Build from the engine variables (see :mod:`catalog.engine`) with the shared client;
        ``options`` are the constructor's keyword arguments (``create_missing``, ``refresh``)."""
        settings = settings_from_env(env)
        alias = env.get("INDEX_ALIAS", "").strip() or INDEX_ALIAS
        if not _ALIAS.match(alias):
            raise EngineConfigError(f"INDEX_ALIAS must be lowercase letters, digits, '-' or '_', got {alias!r}")
        return cls(shared_client(settings), alias, **{"timeout": settings.timeout, **options})

    # -- helpers --
    @property
    def _read_ms(self) -> int:
        return int(self.timeout * 1000)

    def _target(self, index: str | None) -> str:
        if index is None:
            return self.alias
        if not _INDEX.match(index):
            raise ValueError(f"index: not a valid index name: {index!r}")
        return index

    # -- write --
    def apply(self, ops: Sequence[Operation], *, index: str | None = None) -> list[OpResult]:
        """One ``_bulk`` request for ``ops``; one :class:`OpResult` per op, in order.

        Writes to the alias require it (``require_alias``): a missing alias never
        auto-creates a concrete index named like it. With ``create_missing`` (what the
        embedded engine does, and the contract suite asks for) a batch that found no
        alias creates the index and alias (:meth:`ensure_alias`) and is sent again once.
        Deployed indexers leave it off: the bootstrap custom resource creates the first
        index, and a vanished alias should alarm, not start an empty index that serves.
        """
        results = self._bulk(ops, index)
        if index is None and self.create_missing and results and all(_alias_missing(r) for r in results):
            self.ensure_alias()
            results = self._bulk(ops, index)
        return results

    def ensure_alias(self) -> str:
        """The alias's index, after creating one and pointing the alias at it if it had
        none (idempotent). Two engines racing here both create an index; the one whose
        index is not the oldest target takes its alias off again and deletes it."""
        targets = self._alias_targets()
        if targets:
            return targets[0]
        name = self.create_index()
        _call("ensure_alias", lambda: self.client.indices.update_aliases(
            body=aliases_body(self.alias, name, []), params={"request_timeout": self.write_timeout}))
        targets = self._alias_targets()
        if targets and targets[0] != name:
            _call("ensure_alias", lambda: self.client.indices.update_aliases(
                body={"actions": [{"remove": {"index": name, "alias": self.alias}}]},
                params={"request_timeout": self.write_timeout}))
            _call("ensure_alias", lambda: self.client.indices.delete(
                index=name, params={"request_timeout": self.write_timeout, "expand_wildcards": "none"}))
            return targets[0]
        return name

    def _bulk(self, ops: Sequence[Operation], index: str | None) -> list[OpResult]:
        if not ops:
            return []
        target = self._target(index)
        params: dict[str, Any] = {
            "request_timeout": self.write_timeout,
            "filter_path": "errors,items.*.status,items.*.result,items.*.error",
        }
        if self.refresh is not False:
            params["refresh"] = "wait_for" if self.refresh == "wait_for" else "true"
        if index is None:
            params["require_alias"] = "true"  # never auto-create a concrete index named like the alias
        body = bulk_body(ops)  # the path names the index: the domain refuses indices in bodies
        response = _call("bulk", lambda: self.client.bulk(
            index=target, body=body, params=params, headers={"content-type": "application/x-ndjson"}))
        try:
            return bulk_outcomes(response, len(ops))
        except BulkResponseError as exc:
            raise EngineUnavailable(f"bulk: {exc}") from exc

    # -- read --
    def search(self, request: SearchRequest) -> SearchResult:
        body = search_body(request, timeout_ms=self._read_ms)
        response = _call("search", lambda: self.client.search(
            index=self.alias, body=body, params={"request_timeout": self.timeout}),
            cursor=request.cursor is not None)
        if response.get("timed_out"):
            raise EngineUnavailable(f"search: timed out after {self._read_ms} ms")
        return parse_search(response, request)

    def suggest(self, prefix: str, size: int = 10) -> list[Suggestion]:
        body = suggest_body(prefix, size)
        if body is None:
            return []
        response = _call("suggest", lambda: self.client.search(
            index=self.alias, body=body, params={"request_timeout": self.timeout}))
        return parse_suggest(response, size)

    def get(self, product_id: str) -> tuple[Product, Content | None] | None:
        state = self.states([product_id]).get(product_id)
        if state is None or not state.visible or state.product is None:
            return None
        return state.product, state.content

    def count(self, *, index: str | None = None) -> int:
        target = self._target(index)
        response = _call("count", lambda: self.client.count(
            index=target, body={"query": visible_query()}, params={"request_timeout": self.timeout}))
        return int(response.get("count", 0))

    def health(self) -> Health:
        """Cheap: one ``GET /_alias/<alias>`` says both whether the cluster answers and
        whether the alias exists (works on managed domains and serverless alike)."""
        from opensearchpy.exceptions import NotFoundError

        try:
            response = self.client.indices.get_alias(name=self.alias, params={"request_timeout": self.timeout})
        except NotFoundError:
            return Health(reachable=True, alias_present=False, detail={"alias": f"{self.alias!r} not found"})
        except Exception as exc:  # health answers, whatever went wrong
            mapped = map_error("health", exc)
            return Health(reachable=False, alias_present=False, detail={"error": str(mapped or repr(exc))})
        targets = sorted(response) if isinstance(response, Mapping) else []
        return Health(reachable=True, alias_present=bool(targets), detail={"index": ",".join(targets)})

    # -- operations --
    def states(self, ids: Sequence[str], *, index: str | None = None) -> dict[str, DocState]:
        target = self._target(index)
        out: dict[str, DocState] = {}
        unique = list(dict.fromkeys(ids))
        for start in range(0, len(unique), MGET_CHUNK):
            chunk = unique[start:start + MGET_CHUNK]
            response = _call("mget", partial(
                self.client.mget, index=target, body={"ids": chunk}, params={"request_timeout": self.timeout}))
            for doc in response.get("docs") or []:
                if doc.get("found"):
                    out[doc["_id"]] = doc_state(doc["_id"], doc.get("_source") or {})
        return out

    def iter_states(self, *, index: str | None = None, batch_size: int = 1000) -> Iterator[DocState]:
        target = self._target(index)
        if not 1 <= batch_size <= 10_000:
            raise ValueError(f"batch_size: must be between 1 and 10000 (got {batch_size})")
        after: str | None = None
        while True:
            body = iter_states_body(batch_size, after)
            response = _call("iter_states", partial(
                self.client.search, index=target, body=body, params={"request_timeout": self.write_timeout}))
            hits = (response.get("hits") or {}).get("hits") or []
            for h in hits:
                yield doc_state(h["_id"], h.get("_source") or {})
            if len(hits) < batch_size:
                return
            after = hits[-1]["sort"][0]

    def create_index(self, name: str | None = None) -> str:
        name = name or f"{self.alias}-{_utc_stamp()}"
        self._target(name)
        if name == self.alias:
            raise ValueError(f"index: a physical index cannot be named like the alias {self.alias!r}")
        body = opensearch_index_body(self.shards, self.replicas)
        _call("create_index", lambda: self.client.indices.create(
            index=name, body=body, params={"request_timeout": self.write_timeout}))
        return name

    def _alias_targets(self) -> list[str]:
        from opensearchpy.exceptions import NotFoundError

        def get() -> Any:
            try:
                return self.client.indices.get_alias(name=self.alias, params={"request_timeout": self.timeout})
            except NotFoundError:
                return {}

        return sorted(_call("get_alias", get))

    def alias_target(self) -> str | None:
        targets = self._alias_targets()
        return targets[-1] if targets else None

    def swap_alias(self, new_index: str) -> str | None:
        """One ``_aliases`` request (remove from the old target, add to the new): atomic."""
        self._target(new_index)
        old = self._alias_targets()
        body = aliases_body(self.alias, new_index, old)
        _call("swap_alias", lambda: self.client.indices.update_aliases(
            body=body, params={"request_timeout": self.write_timeout}))
        previous = [i for i in old if i != new_index]
        return previous[-1] if previous else (new_index if new_index in old else None)

    def indices(self) -> list[str]:
        """Physical indices named ``<alias>-*``, oldest first (creation date, then name)."""
        response = _call("indices", lambda: self.client.cat.indices(
            index=f"{self.alias}-*", params={"format": "json", "h": "index,creation.date",
                                             "request_timeout": self.timeout}))
        rows = [r for r in response or [] if str(r.get("index", "")).startswith(f"{self.alias}-")]
        rows.sort(key=lambda r: (int(r.get("creation.date") or 0), r["index"]))
        return [r["index"] for r in rows]

    def delete_index(self, name: str) -> None:
        """Delete one physical index (never a pattern, never the alias's current target)."""
        self._target(name)
        if name == self.alias:
            raise ValueError(f"index: {name!r} is the alias; delete a physical index")
        if name in self._alias_targets():
            raise EngineError(f"delete_index: {name!r} is what {self.alias!r} points at; swap the alias first")
        _call("delete_index", lambda: self.client.indices.delete(
            index=name, params={"request_timeout": self.write_timeout, "expand_wildcards": "none"}))

    def purge_tombstones(self, older_than_seconds: float) -> int:
        """Forget tombstones older than the cut-off (the stream keeps records 24 h, so no
        stale write can arrive after that). One without content is deleted
        (``_delete_by_query``); one with content becomes content-only again, so the
        content is there when a newer item brings the product back."""
        if older_than_seconds < 0:
            raise InvalidRequest("older_than_seconds", "must be 0 or more")
        cutoff_ms = int((time.time() - older_than_seconds) * 1000)
        delete_body, update_body = purge_queries(cutoff_ms)
        params = {"conflicts": "proceed", "refresh": "true", "request_timeout": self.write_timeout}
        try:
            deleted = _call("purge_tombstones", lambda: self.client.delete_by_query(
                index=self.alias, body=delete_body, params=params))
        except IndexNotFound:
            return 0  # no index yet: nothing to purge
        updated = _call("purge_tombstones", lambda: self.client.update_by_query(
            index=self.alias, body=update_body, params=params))
        return int(deleted.get("deleted", 0)) + int(updated.get("updated", 0))

    def close(self) -> None:
        """Nothing to release: the client is shared for the life of the process."""


__all__ = [
    "AUTH_MODES",
    "SERVICES",
    "ClientSettings",
    "OpenSearchEngine",
    "build_client",
    "bulk_body",
    "is_visible",
    "settings_from_env",
    "shared_client",
]
