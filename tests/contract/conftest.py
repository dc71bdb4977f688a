"""The engine contract suite's fixture: one ``engine`` per test, parametrized over adapters.

* ``embedded``: always; a fresh index directory per test.
* ``opensearch``: only when ``OPENSEARCH_URL`` points at a cluster
  (``http://127.0.0.1:9200``, ``http://user:password@127.0.0.1:9200``; http only on this
  machine, else https); each test gets its own alias (``contract-<random>``), and its
  indices are deleted afterwards. README "Engine contract suite against OpenSearch".
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from urllib.parse import unquote, urlsplit

import pytest

from catalog.engine.port import SearchEngine

ADAPTERS = ("embedded", "opensearch")


def _opensearch(alias: str) -> SearchEngine:
    url = os.environ.get("OPENSEARCH_URL", "").strip()
    if not url:
        pytest.skip("OPENSEARCH_URL is not set: the OpenSearch leg of the contract suite needs a cluster "
                    "(e.g. OPENSEARCH_URL=http://127.0.0.1:9200; see README)")
    from catalog.engine.opensearch import OpenSearchEngine  # written alongside; import only when used

    parts = urlsplit(url)
    endpoint = f"{parts.scheme}://{parts.hostname}" + (f":{parts.port}" if parts.port else "")
    env = {"OPENSEARCH_ENDPOINT": endpoint, "OPENSEARCH_AUTH": "basic" if parts.username else "none",
           "INDEX_ALIAS": alias}
    if parts.username:
        env["OPENSEARCH_USERNAME"] = unquote(parts.username)
        env["OPENSEARCH_PASSWORD"] = unquote(parts.password or "")
    # create_missing: a fresh engine creates its index and alias on its first write, as
    # the embedded engine does (deployed indexers rely on the bootstrap custom resource)
    return OpenSearchEngine.from_env(env, create_missing=True)


def make_engine(kind: str, tmp_path, alias: str | None = None) -> SearchEngine:
    if kind == "embedded":
        from catalog.engine.embedded import EmbeddedEngine

        return EmbeddedEngine(tmp_path / "index", alias=alias or "products")
    return _opensearch(alias or f"contract-{uuid.uuid4().hex[:12]}")


def _cleanup(engine: SearchEngine) -> None:
    """Delete every index of the test's alias (the alias goes with its index)."""
    from opensearchpy.exceptions import NotFoundError

    for name in engine.indices():
        with contextlib.suppress(NotFoundError):
            engine.client.indices.delete(index=name, params={"expand_wildcards": "none"})


@pytest.fixture(params=ADAPTERS)
def engine(request, tmp_path) -> Iterator[SearchEngine]:
    eng = make_engine(request.param, tmp_path)
    try:
        yield eng
    finally:
        if request.param == "opensearch":
            _cleanup(eng)
        eng.close()


@pytest.fixture
def adapter(request) -> str:
    """The adapter kind of the current ``engine`` parametrization."""
    return request.node.callspec.params["engine"]
