"""Operations of the OpenSearch adapter: the atomic alias swap and the tombstone purge.

Request bodies only (pure); the adapter (:mod:`catalog.engine.opensearch`) sends them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from catalog.engine.opensearch.writes import FORGET_ITEM_SCRIPT


def aliases_body(alias: str, new_index: str, old_indices: Sequence[str]) -> dict[str, Any]:
    """One ``_aliases`` request: remove the alias from every old index and add it to the
    new one, applied atomically by the cluster (no moment without a target)."""
    actions: list[dict[str, Any]] = [
        {"remove": {"index": old, "alias": alias}} for old in old_indices if old != new_index
    ]
    actions.append({"add": {"index": new_index, "alias": alias}})
    return {"actions": actions}


def purge_queries(cutoff_ms: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """Tombstones written before ``cutoff_ms``: (``_delete_by_query`` body for those
    without content, ``_update_by_query`` body that makes those with content
    content-only again, so a later item brings its content back)."""
    old = [{"term": {"deleted": True}}, {"range": {"tombstoned_at": {"lt": cutoff_ms}}}]
    no_content = {"query": {"bool": {"filter": old, "must_not": [{"exists": {"field": "content_version"}}]}}}
    with_content = {
        "query": {"bool": {"filter": [*old, {"exists": {"field": "content_version"}}]}},
        "script": {"lang": "painless", "source": FORGET_ITEM_SCRIPT},
    }
    return no_content, with_content
