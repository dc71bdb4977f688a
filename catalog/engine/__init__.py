"""Search engine port and the factory that picks an adapter from the environment.

Environment (set by the CDK app or the sandbox):

==========================  ==========================================================
``SEARCH_ENGINE``           ``opensearch`` (default) or ``embedded``
``INDEX_ALIAS``             the alias both engines read and write through (``products``)
``EMBEDDED_INDEX_DIR``      embedded: the region's index directory
``OPENSEARCH_ENDPOINT``     opensearch: ``https://host[:port]``
``OPENSEARCH_AUTH``         ``sigv4`` (default), ``basic`` or ``none``
``OPENSEARCH_SERVICE``      sigv4 signing service: ``es`` (default) or ``aoss``
``OPENSEARCH_USERNAME``     basic auth user; ``OPENSEARCH_PASSWORD`` its password
``OPENSEARCH_TIMEOUT``      request timeout in seconds (default 5)
``OPENSEARCH_MAX_RETRIES``  retries of a connection error or 502/503/504 (default 2)
==========================  ==========================================================

The adapter module is imported only when chosen, so a Lambda never imports tantivy.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from catalog.engine.port import (
    ClearContent,
    DocState,
    EngineError,
    EngineUnavailable,
    FacetValue,
    Health,
    Hit,
    IndexAdmin,
    IndexNotFound,
    IndexWriter,
    InvalidRequest,
    Operation,
    OpResult,
    Outcome,
    RangeBucket,
    SearchEngine,
    SearchReader,
    SearchRequest,
    SearchResult,
    Sort,
    Suggestion,
    Tombstone,
    Total,
    UpsertContent,
    UpsertItem,
)

ENGINES = ("opensearch", "embedded")


class EngineConfigError(ValueError):
    """An engine environment variable is missing or wrong; the message names it."""


def engine_from_env(env: Mapping[str, str] | None = None) -> SearchEngine:
    """Build the engine the environment asks for (raises :class:`EngineConfigError`)."""
    env = os.environ if env is None else env
    kind = env.get("SEARCH_ENGINE", "opensearch")
    if kind == "embedded":
        from catalog.engine.embedded import EmbeddedEngine

        return EmbeddedEngine.from_env(env)
    if kind == "opensearch":
        from catalog.engine.opensearch import OpenSearchEngine

        return OpenSearchEngine.from_env(env)
    raise EngineConfigError(f"SEARCH_ENGINE must be one of {', '.join(ENGINES)}, got {kind!r}")


__all__ = [
    "ENGINES",
    "ClearContent",
    "DocState",
    "EngineConfigError",
    "EngineError",
    "EngineUnavailable",
    "FacetValue",
    "Health",
    "Hit",
    "IndexAdmin",
    "IndexNotFound",
    "IndexWriter",
    "InvalidRequest",
    "OpResult",
    "Operation",
    "Outcome",
    "RangeBucket",
    "SearchEngine",
    "SearchReader",
    "SearchRequest",
    "SearchResult",
    "Sort",
    "Suggestion",
    "Tombstone",
    "Total",
    "UpsertContent",
    "UpsertItem",
    "engine_from_env",
]
