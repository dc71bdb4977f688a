"""A pretend cluster under the real opensearch-py client: every request the adapter sends
goes through the client, its transport and ``Urllib3HttpConnection`` and is captured as
a :class:`Sent`; each is answered with a body shaped like OpenSearch 2.x's for that
endpoint (enough for the adapter to carry on: alias lookups, bulk items, search hits)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from catalog.engine.opensearch import ClientSettings, OpenSearchEngine, build_client
from tests.unit.engine_opensearch.conftest import Sent, StubPool
from tests.unit.engine_opensearch.os_shapes import INDEX, bulk_response, source

OLD_INDEX = "products-20261001080000000000"


def answer(sent: Sent) -> tuple[int, Any]:
    """What a cluster whose alias ``products`` points at :data:`INDEX` answers."""
    path, method = sent.path, sent.method
    if path.endswith("/_bulk"):
        lines = sent.body.decode().split("\n")[:-1]
        actions = [json.loads(line) for line in lines[::2]]
        return 200, bulk_response(*({"update": {"_index": INDEX, "_id": a["update"]["_id"], "status": 200,
                                                "result": "updated"}} for a in actions))
    if path.endswith("/_search"):
        body = sent.json()
        size = 1 if "search_after" in body else int(body.get("size", 10))  # a walk ends on its second page
        hits = [{"_index": INDEX, "_id": f"p{i}", "_score": 1.0, "_source": source(f"p{i}"),
                 "sort": [1.0, f"p{i}"][: len(body.get("sort") or [])]} for i in range(min(size, 3))]
        return 200, {"took": 2, "timed_out": False, "hits": {"total": {"value": 3, "relation": "eq"},
                                                              "hits": hits}}
    if path.endswith("/_count"):
        return 200, {"count": 3}
    if path.endswith("/_mget"):
        return 200, {"docs": [{"_index": INDEX, "_id": i, "found": False} for i in sent.json()["ids"]]}
    if path.startswith("/_alias/"):
        return 200, {OLD_INDEX: {"aliases": {path.rsplit("/", 1)[1]: {}}}}
    if path == "/_aliases":
        return 200, {"acknowledged": True}
    if path.startswith("/_cat/indices"):
        return 200, [{"index": OLD_INDEX, "creation.date": "1"}, {"index": INDEX, "creation.date": "2"}]
    if path.endswith("/_delete_by_query"):
        return 200, {"took": 3, "deleted": 1, "failures": []}
    if path.endswith("/_update_by_query"):
        return 200, {"took": 3, "updated": 1, "failures": []}
    if method == "PUT":
        return 200, {"acknowledged": True, "shards_acknowledged": True, "index": path.strip("/")}
    if method == "DELETE":
        return 200, {"acknowledged": True}
    raise AssertionError(f"the pretend cluster has no answer for {method} {sent.url}")


@dataclass
class Cluster(StubPool):
    """A :class:`StubPool` that answers every request with :func:`answer`."""

    sent: list[Sent] = field(default_factory=list)

    def urlopen(self, method: str, url: str, body: bytes | None = None, retries: Any = None,
                headers: Any = None, **kw: Any) -> Any:
        if not self.answers:
            self.answers.append(answer)
        return super().urlopen(method, url, body, retries, headers, **kw)


def captured_engine(**kwargs: Any) -> tuple[OpenSearchEngine, Cluster]:
    """An adapter over the real client whose HTTP requests land in the returned cluster."""
    client = build_client(ClientSettings(host="search.test", port=443, auth="none", timeout=3.0))
    cluster = Cluster()
    for connection in client.transport.connection_pool.connections:  # the seam of conftest.stub_client
        connection.pool = cluster
    return OpenSearchEngine(client, "products", timeout=3.0, **kwargs), cluster
