"""Response bodies copied from the shapes OpenSearch 2.x documents and returns (bulk item
results and errors, search with aggregations/highlights, alias and cat answers).
Not generated from the adapter's code: they are what the server sends."""

from __future__ import annotations

from typing import Any

INDEX = "products-20261122080000000000"


def bulk_item(status: int, *, result: str | None = None, error: dict[str, Any] | None = None,
              doc_id: str = "p1", version: int = 1) -> dict[str, Any]:
    body: dict[str, Any] = {"_index": INDEX, "_id": doc_id, "status": status}
    if result is not None:
        body.update({"_version": version, "result": result, "_seq_no": version - 1, "_primary_term": 1,
                     "_shards": {"total": 0 if result == "noop" else 2,
                                 "successful": 0 if result == "noop" else 1, "failed": 0}})
    if error is not None:
        body["error"] = error
    return {"update": body}


CREATED = bulk_item(201, result="created")
UPDATED = bulk_item(200, result="updated", version=2)
NOOP = bulk_item(200, result="noop", version=2)

REJECTED_429 = bulk_item(429, error={
    "type": "es_rejected_execution_exception",
    "reason": "rejected execution of org.opensearch.action.support.replication.TransportWriteAction on "
              "OpenSearchThreadPoolExecutor[name = node-1/write, queue capacity = 10000, active threads = 8]",
})
OS_REJECTED_429 = bulk_item(429, error={
    "type": "rejected_execution_exception",
    "reason": "rejected execution of coordinating operation [coordinating_and_primary_bytes=104857600, "
              "replica_bytes=0, all_bytes=104857600, coordinating_operation_bytes=5242880, "
              "max_coordinating_and_primary_bytes=107374182]",
})
TOO_MANY_REQUESTS = bulk_item(429, error={"type": "too_many_requests", "reason": "429 Too Many Requests /_bulk"})
CONFLICT_409 = bulk_item(409, error={
    "type": "version_conflict_engine_exception",
    "reason": "[p1]: version conflict, required seqNo [12], primary term [1]. current document has seqNo [13] "
              "and primary term [1]",
    "index": INDEX, "shard": "0", "index_uuid": "sG7vCkDKQzW3x8kDWE5M3Q",
})
MAPPER_400 = bulk_item(400, error={
    "type": "mapper_parsing_exception",
    "reason": "failed to parse field [price] of type [scaled_float] in document with id 'p1'. "
              "Preview of field's value: 'abc'",
    "caused_by": {"type": "number_format_exception", "reason": "For input string: \"abc\""},
})
SCRIPT_400 = bulk_item(400, error={
    "type": "illegal_argument_exception",
    "reason": "failed to execute script",
    "caused_by": {
        "type": "script_exception", "reason": "runtime error",
        "script_stack": ["s.putAll(params.doc); ", "             ^---- HERE"],
        "script": "def s = ctx._source; ...", "lang": "painless",
        "position": {"offset": 160, "start": 151, "end": 172},
        "caused_by": {"type": "null_pointer_exception", "reason": "Cannot invoke \"java.util.Map.putAll\""},
    },
})
STRICT_400 = bulk_item(400, error={
    "type": "strict_dynamic_mapping_exception",
    "reason": "mapping set to strict, dynamic introduction of [colour] within [_doc] is not allowed",
})
UNAVAILABLE_503 = bulk_item(503, error={
    "type": "unavailable_shards_exception",
    "reason": f"[{INDEX}][0] primary shard is not active Timeout: [1m], request: [BulkShardRequest "
              f"[[{INDEX}][0]] containing [3] requests]",
})
NO_ALIAS_404 = bulk_item(404, error={
    "type": "index_not_found_exception",
    "reason": "no such index [products] and [require_alias] request flag is [true] and [products] is not an alias",
    "index": "products", "resource.type": "index_or_alias", "resource.id": "products", "index_uuid": "_na_",
})


def bulk_response(*items: dict[str, Any], took: int = 30) -> dict[str, Any]:
    errors = any("error" in next(iter(i.values())) for i in items)
    return {"took": took, "errors": errors, "items": list(items)}


def error_body(status: int, etype: str, reason: str, **extra: Any) -> dict[str, Any]:
    """A whole-request error (``{"error": {...}, "status": n}``)."""
    return {"error": {"root_cause": [{"type": etype, "reason": reason, **extra}], "type": etype,
                      "reason": reason, **extra}, "status": status}


def source(pid: str, **fields: Any) -> dict[str, Any]:
    doc = {
        "id": pid, "title": f"Title {pid}", "brand": "Sony", "category": "Audio > Headphones > Over-ear",
        "category_path": ["Audio", "Audio > Headphones", "Audio > Headphones > Over-ear"], "tags": ["wireless"],
        "description": "Closed-back headphones.", "price": 199.99, "currency": "USD", "rating": 4.5,
        "review_count": 120, "in_stock": True, "image_url": f"https://img.test/{pid}.jpg",
        "created_at": "2026-01-02T03:04:05Z", "updated_at": "2026-01-03T03:04:05Z",
        "item_version": 1_700_000_000_000_001, "has_item": True, "deleted": False, "tombstoned_at": None,
    }
    doc.update(fields)
    return doc
