"""The engine contract suite's fixture: one ``engine`` per test, parametrized over adapters.

* ``embedded``: always; a fresh index directory per test.
* ``opensearch``: only when ``OPENSEARCH_URL`` points at a cluster
  (``http://user:password@127.0.0.1:9200`` or ``http://127.0.0.1:9200``); each test gets
  its own alias, and its indices are deleted afterwards.
"""

from __future__ import annotations

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
                    "(e.g. OPENSEARCH_URL=http://admin:secret@127.0.0.1:9200)")
    from catalog.engine.opensearch import OpenSearchEngine  # written alongside; import only when used

    parts = urlsplit(url)
    endpoint = f"{parts.scheme}://{parts.hostname}" + (f":{parts.port}" if parts.port else "")
    env = {"OPENSEARCH_ENDPOINT": endpoint, "OPENSEARCH_AUTH": "basic" if parts.username else "none",
           "INDEX_ALIAS": alias}
    if parts.username:
        env["OPENSEARCH_USERNAME"] = unquote(parts.username)
        env["OPENSEARCH_PASSWORD"] = unquote(parts.password or "")
    return OpenSearchEngine.from_env(env)


def make_engine(kind: str, tmp_path, alias: str | None = None) -> SearchEngine:
    if kind == "embedded":
        from catalog.engine.embedded import EmbeddedEngine

        return EmbeddedEngine(tmp_path / "index", alias=alias or "products")
    return _opensearch(alias or f"contract-{uuid.uuid4().hex[:12]}")


def _cleanup(engine: SearchEngine) -> None:
    try:
        target = engine.alias_target()
        for name in engine.indices():
            if name != target:
                engine.delete_index(name)
        if target is not None:
            engine.delete_index(target)
    except Exception:  # best effort: the embedded adapter refuses to delete the alias target
        pass


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
