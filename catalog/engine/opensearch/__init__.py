"""The OpenSearch adapter of :class:`catalog.engine.port.SearchEngine` (opensearch-py).

For Amazon OpenSearch Service (SigV4, service ``es``), OpenSearch Serverless (SigV4,
``aoss``) or a self-run cluster (URL + basic auth, or none). Requests and responses are
built and parsed by the pure modules of this package; this module only sends them.

==================  ================================================================
:mod:`.client`      settings from the environment, the process-wide client
:mod:`.errors`      transport errors -> the port's errors
:mod:`.writes`      ``_bulk`` bodies (versioning scripts) and their outcomes
:mod:`.query`       visibility, text matching, the clause limit, ranking
:mod:`.facets`      facet filters and aggregations, and their parsing
:mod:`.paging`      sorts and the ``search_after`` cursor
:mod:`.search`      one search: request body and parsed result
:mod:`.suggest`     title suggestions
:mod:`.states`      stored ``_source`` -> ``DocState``
:mod:`.admin`       alias swap and tombstone purge bodies
==================  ================================================================

* **Client**: one per process and configuration, reused across invocations; every call
  has a timeout and the transport's retries (:mod:`.client`); the client's errors become
  the port's (:mod:`.errors`).
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
import time
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from functools import partial
from typing import Any

from catalog.defaults import INDEX_ALIAS
from catalog.engine import EngineConfigError
from catalog.engine.opensearch.admin import aliases_body, purge_queries
from catalog.engine.opensearch.client import (
    AUTH_MODES,
    DEFAULT_TIMEOUT,
    SERVICES,
    ClientSettings,
    build_client,
    settings_from_env,
    shared_client,
)
from catalog.engine.opensearch.errors import call, map_error
from catalog.engine.opensearch.query import visible_query
from catalog.engine.opensearch.search import parse_search, search_body
from catalog.engine.opensearch.states import doc_state, is_visible, iter_states_body
from catalog.engine.opensearch.suggest import parse_suggest, suggest_body
from catalog.engine.opensearch.writes import BulkResponseError, bulk_body, bulk_outcomes
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

WRITE_TIMEOUT = 30.0  # bulk, create/delete index, purge: at least this long
MGET_CHUNK = 1000
_ALIAS = re.compile(r"^[a-z][a-z0-9_-]{0,100}$")
_INDEX = re.compile(r"^[a-z0-9][a-z0-9_.+-]{0,254}$")


def _alias_missing(result: OpResult) -> bool:
    """A bulk item refused because the alias it required does not exist."""
    return result.status == 404 and "index_not_found_exception" in (result.reason or "")


def _utc_stamp() -> str:
    return datetime.now(UTC).strftime("%Y%m%d%H%M%S%f")


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
        call("ensure_alias", lambda: self.client.indices.update_aliases(
            body=aliases_body(self.alias, name, []), params={"request_timeout": self.write_timeout}))
        targets = self._alias_targets()
        if targets and targets[0] != name:
            call("ensure_alias", lambda: self.client.indices.update_aliases(
                body={"actions": [{"remove": {"index": name, "alias": self.alias}}]},
                params={"request_timeout": self.write_timeout}))
            call("ensure_alias", lambda: self.client.indices.delete(
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
        response = call("bulk", lambda: self.client.bulk(
            index=target, body=body, params=params, headers={"content-type": "application/x-ndjson"}))
        try:
            return bulk_outcomes(response, len(ops))
        except BulkResponseError as exc:
            raise EngineUnavailable(f"bulk: {exc}") from exc

    # -- read --
    def search(self, request: SearchRequest) -> SearchResult:
        body = search_body(request, timeout_ms=self._read_ms)
        response = call("search", lambda: self.client.search(
            index=self.alias, body=body, params={"request_timeout": self.timeout}),
            cursor=request.cursor is not None)
        if response.get("timed_out"):
            raise EngineUnavailable(f"search: timed out after {self._read_ms} ms")
        return parse_search(response, request)

    def suggest(self, prefix: str, size: int = 10) -> list[Suggestion]:
        body = suggest_body(prefix, size)
        if body is None:
            return []
        response = call("suggest", lambda: self.client.search(
            index=self.alias, body=body, params={"request_timeout": self.timeout}))
        return parse_suggest(response, size)

    def get(self, product_id: str) -> tuple[Product, Content | None] | None:
        state = self.states([product_id]).get(product_id)
        if state is None or not state.visible or state.product is None:
            return None
        return state.product, state.content

    def count(self, *, index: str | None = None) -> int:
        target = self._target(index)
        response = call("count", lambda: self.client.count(
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
            response = call("mget", partial(
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
            response = call("iter_states", partial(
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
        call("create_index", lambda: self.client.indices.create(
            index=name, body=body, params={"request_timeout": self.write_timeout}))
        return name

    def _alias_targets(self) -> list[str]:
        from opensearchpy.exceptions import NotFoundError

        def get() -> Any:
            try:
                return self.client.indices.get_alias(name=self.alias, params={"request_timeout": self.timeout})
            except NotFoundError:
                return {}

        return sorted(call("get_alias", get))

    def alias_target(self) -> str | None:
        targets = self._alias_targets()
        return targets[-1] if targets else None

    def swap_alias(self, new_index: str) -> str | None:
        """One ``_aliases`` request (remove from the old target, add to the new): atomic."""
        self._target(new_index)
        old = self._alias_targets()
        body = aliases_body(self.alias, new_index, old)
        call("swap_alias", lambda: self.client.indices.update_aliases(
            body=body, params={"request_timeout": self.write_timeout}))
        previous = [i for i in old if i != new_index]
        return previous[-1] if previous else (new_index if new_index in old else None)

    def indices(self) -> list[str]:
        """Physical indices named ``<alias>-*``, oldest first (creation date, then name)."""
        response = call("indices", lambda: self.client.cat.indices(
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
        call("delete_index", lambda: self.client.indices.delete(
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
            deleted = call("purge_tombstones", lambda: self.client.delete_by_query(
                index=self.alias, body=delete_body, params=params))
        except IndexNotFound:
            return 0  # no index yet: nothing to purge
        updated = call("purge_tombstones", lambda: self.client.update_by_query(
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
