"""Write side of the OpenSearch adapter: exact ``_bulk`` lines and scripts, the version
rule in the painless scripts, and outcomes mapped from real bulk response shapes."""

from __future__ import annotations

import json
import re
import time

import pytest
import urllib3

from catalog.engine import (
    ClearContent,
    EngineUnavailable,
    Outcome,
    Tombstone,
    UpsertContent,
    UpsertItem,
)
from catalog.engine.opensearch import bulk_body as exported_bulk_body
from catalog.engine.opensearch.writes import (
    CONTENT_SCRIPT,
    ITEM_UPSERT_SCRIPT,
    TOMBSTONE_SCRIPT,
    BulkResponseError,
    bulk_body,
    bulk_outcomes,
    item_outcome,
)
from catalog.model import Content, Product
from catalog.schema import opensearch_mappings

from . import os_shapes as shapes

PRODUCT = Product(
    id="p-1", title="Sony WH-1000XM5 Café", brand="Sony", category="Audio > Headphones > Over-ear",
    price=349.99, currency="USD", in_stock=True, version=1_700_000_000_000_005, description="Quiet.",
    rating=4.5, review_count=12, tags=("wireless", "anc"), image_url="https://img.test/p-1.jpg",
    created_at="2026-01-02T03:04:05Z", updated_at=None,
)
CONTENT = Content(id="p-1", version=77, long_description="Long text.",
                  specifications={"Weight": "250 g", "Battery": "30 h"}, images=("https://img.test/a.jpg",))
NOW_MS = 1_763_800_000_000


def lines(body: bytes) -> list[dict]:
    text = body.decode()
    assert text.endswith("\n")
    return [json.loads(line) for line in text.splitlines()]


# ---------------------------------------------------------------- bulk lines
def test_item_upsert_is_a_scripted_upsert_with_the_item_fields_and_version():
    action, update = lines(bulk_body([UpsertItem(PRODUCT)], "products", now_ms=NOW_MS))
    assert action == {"update": {"_index": "products", "_id": "p-1", "retry_on_conflict": 3}}
    assert update == {
        "scripted_upsert": True,
        "upsert": {},
        "script": {"lang": "painless", "source": ITEM_UPSERT_SCRIPT, "params": {
            "version": 1_700_000_000_000_005,
            "doc": {
                "id": "p-1", "title": "Sony WH-1000XM5 Café", "brand": "Sony",
                "category": "Audio > Headphones > Over-ear",
                "category_path": ["Audio", "Audio > Headphones", "Audio > Headphones > Over-ear"],
                "tags": ["wireless", "anc"], "description": "Quiet.", "price": 349.99, "currency": "USD",
                "rating": 4.5, "review_count": 12, "in_stock": True, "image_url": "https://img.test/p-1.jpg",
                "created_at": "2026-01-02T03:04:05Z", "updated_at": None,
            },
        }},
    }


def test_tombstone_carries_the_deleted_version_and_the_time():
    action, update = lines(bulk_body([Tombstone("p-1", 41)], "products-2", now_ms=NOW_MS))
    assert action == {"update": {"_index": "products-2", "_id": "p-1", "retry_on_conflict": 3}}
    assert update["scripted_upsert"] is True and update["upsert"] == {}
    assert update["script"] == {"lang": "painless", "source": TOMBSTONE_SCRIPT,
                                "params": {"id": "p-1", "version": 41, "at": NOW_MS}}


def test_content_upsert_and_clear_share_the_content_script():
    _, upsert, _, clear = lines(bulk_body([UpsertContent(CONTENT), ClearContent("p-1", 78)], "products"))
    assert upsert["script"] == {"lang": "painless", "source": CONTENT_SCRIPT, "params": {
        "id": "p-1", "version": 77,
        "doc": {"long_description": "Long text.", "specifications": "Weight: 250 g\nBattery: 30 h",
                "images": ["https://img.test/a.jpg"]},
    }}
    assert clear["script"] == {"lang": "painless", "source": CONTENT_SCRIPT, "params": {
        "id": "p-1", "version": 78, "doc": {"long_description": None, "specifications": None, "images": []},
    }}


def test_one_action_pair_per_operation_in_order_and_raw_utf8():
    ops = [UpsertItem(PRODUCT), Tombstone("p-2", 5), UpsertContent(CONTENT), ClearContent('we"ird', 9)]
    body = bulk_body(ops, "products", now_ms=NOW_MS)
    parsed = lines(body)
    assert len(parsed) == 2 * len(ops)
    assert [p["update"]["_id"] for p in parsed[::2]] == ["p-1", "p-2", "p-1", 'we"ird']
    assert "Café".encode() in body  # not \u-escaped: smaller bodies
    assert exported_bulk_body is bulk_body


def test_bulk_body_stamps_tombstones_with_now_by_default():
    before = time.time_ns() // 1_000_000
    _, update = lines(bulk_body([Tombstone("p", 1)], "products"))
    after = time.time_ns() // 1_000_000
    assert before <= update["script"]["params"]["at"] <= after


def test_bulk_body_rejects_what_is_not_an_operation():
    with pytest.raises(TypeError, match="not an engine operation"):
        bulk_body(["p-1"], "products")


# ---------------------------------------------------------------- the rule in the scripts
def test_item_upsert_script_is_stale_unless_strictly_newer():
    assert "long sv = s.item_version == null ? -1L" in ITEM_UPSERT_SCRIPT  # nothing stored: any version wins
    assert "if (sv >= v) { ctx.op = 'none'; }" in ITEM_UPSERT_SCRIPT  # equal version: replay or tombstone wins
    for assignment in ("s.putAll(params.doc);", "s.item_version = v;", "s.has_item = true;", "s.deleted = false;",
                       "s.tombstoned_at = null;"):
        assert assignment in ITEM_UPSERT_SCRIPT


def test_tombstone_script_wins_at_equal_version_over_an_upsert_only():
    assert "if (sv > v || (sv == v && s.deleted == true)) { ctx.op = 'none'; }" in TOMBSTONE_SCRIPT
    for assignment in ("s.item_version = v;", "s.has_item = false;", "s.deleted = true;",
                       "s.tombstoned_at = params.at;", "s.id = params.id;"):
        assert assignment in TOMBSTONE_SCRIPT


def test_tombstone_removes_every_item_field_except_the_id():
    removed = re.search(r"for \(def f : \[([^\]]*)\]\) \{ s\.remove\(f\); \}", TOMBSTONE_SCRIPT)
    assert removed, TOMBSTONE_SCRIPT
    names = {n.strip().strip("'") for n in removed.group(1).split(",")}
    doc = lines(bulk_body([UpsertItem(PRODUCT)], "products"))[1]["script"]["params"]["doc"]
    assert names == set(doc) - {"id"}


def test_content_script_is_stale_unless_strictly_newer_and_never_makes_a_product_visible():
    assert "long sv = s.content_version == null ? -1L" in CONTENT_SCRIPT
    assert "if (sv >= v) { ctx.op = 'none'; }" in CONTENT_SCRIPT
    assert "s.content_version = v;" in CONTENT_SCRIPT
    assert "if (s.has_item == null) { s.has_item = false; s.deleted = false; }" in CONTENT_SCRIPT
    assert "has_item = true" not in CONTENT_SCRIPT


@pytest.mark.parametrize("script", [ITEM_UPSERT_SCRIPT, TOMBSTONE_SCRIPT, CONTENT_SCRIPT])
def test_scripts_only_write_mapped_fields(script):
    """The mapping is ``dynamic: strict``: a field it does not know fails every write."""
    mapped = set(opensearch_mappings()["properties"])
    assert set(re.findall(r"\bs\.(\w+) =", script)) <= mapped
    for op in (UpsertItem(PRODUCT), UpsertContent(CONTENT), ClearContent("p-1", 2)):
        doc = lines(bulk_body([op], "products"))[1]["script"]["params"]["doc"]
        assert set(doc) <= mapped


# ---------------------------------------------------------------- outcomes
@pytest.mark.parametrize(("item", "outcome", "status", "reason"), [
    (shapes.CREATED, Outcome.APPLIED, 201, None),
    (shapes.UPDATED, Outcome.APPLIED, 200, None),
    (shapes.NOOP, Outcome.STALE, 200, None),
    (shapes.REJECTED_429, Outcome.RETRYABLE, 429, "es_rejected_execution_exception: rejected execution of"),
    (shapes.OS_REJECTED_429, Outcome.RETRYABLE, 429, "rejected_execution_exception: rejected execution"),
    (shapes.TOO_MANY_REQUESTS, Outcome.RETRYABLE, 429, "too_many_requests: 429 Too Many Requests"),
    (shapes.CONFLICT_409, Outcome.RETRYABLE, 409, "version_conflict_engine_exception: [p1]: version conflict"),
    (shapes.UNAVAILABLE_503, Outcome.RETRYABLE, 503, "unavailable_shards_exception: "),
    (shapes.NO_ALIAS_404, Outcome.RETRYABLE, 404, "index_not_found_exception: no such index [products]"),
    (shapes.MAPPER_400, Outcome.FAILED, 400, "mapper_parsing_exception: failed to parse field [price]"),
    (shapes.SCRIPT_400, Outcome.FAILED, 400, "illegal_argument_exception: failed to execute script"),
    (shapes.STRICT_400, Outcome.FAILED, 400, "strict_dynamic_mapping_exception: mapping set to strict"),
])
def test_item_outcome_from_real_bulk_item_shapes(item, outcome, status, reason):
    result = item_outcome(item)
    assert result.outcome is outcome
    assert result.status == status
    if reason is None:
        assert result.reason is None and result.ok
    else:
        assert result.reason.startswith(reason) and not result.ok


def test_reason_keeps_the_cause_chain():
    reason = item_outcome(shapes.SCRIPT_400).reason
    assert "caused by script_exception: runtime error (caused by null_pointer_exception" in reason
    assert "number_format_exception" in item_outcome(shapes.MAPPER_400).reason


@pytest.mark.parametrize(("status", "outcome"), [(502, Outcome.RETRYABLE), (504, Outcome.RETRYABLE),
                                                 (500, Outcome.RETRYABLE), (403, Outcome.FAILED),
                                                 (413, Outcome.FAILED)])
def test_item_outcome_by_status_for_unknown_error_types(status, outcome):
    item = shapes.bulk_item(status, error={"type": "some_new_exception", "reason": "x"})
    assert item_outcome(item).outcome is outcome


def test_bulk_outcomes_must_line_up_with_the_operations():
    assert [r.outcome for r in bulk_outcomes(shapes.bulk_response(shapes.CREATED, shapes.NOOP), 2)] == [
        Outcome.APPLIED, Outcome.STALE]
    with pytest.raises(BulkResponseError, match="1 items for 2 operations"):
        bulk_outcomes(shapes.bulk_response(shapes.CREATED), 2)


# ---------------------------------------------------------------- apply() through the real client
def test_apply_sends_one_bulk_request_to_the_alias_and_maps_each_item(engine, http):
    ops = [UpsertItem(PRODUCT), Tombstone("p-2", 3), UpsertContent(CONTENT), ClearContent("p-3", 4)]
    http.answer((200, shapes.bulk_response(shapes.CREATED, shapes.NOOP, shapes.REJECTED_429, shapes.MAPPER_400)))
    results = engine.apply(ops)
    assert [r.outcome for r in results] == [Outcome.APPLIED, Outcome.STALE, Outcome.RETRYABLE, Outcome.FAILED]
    (sent,) = http.sent
    assert (sent.method, sent.path) == ("POST", "/products/_bulk")  # the IAM grant is on this path
    assert sent.params == {"refresh": "wait_for", "require_alias": "true",
                           "filter_path": "errors,items.*.status,items.*.result,items.*.error"}
    assert sent.headers["content-type"] == "application/x-ndjson"
    body = sent.ndjson()
    assert not [line for line in body[::2] if "_index" in line["update"]]  # the domain refuses it in bodies
    assert body == lines(bulk_body(ops, now_ms=body[3]["script"]["params"]["at"]))


def test_apply_to_a_physical_index_does_not_require_the_alias(engine, http):
    http.answer((200, shapes.bulk_response(shapes.CREATED)))
    engine.apply([UpsertItem(PRODUCT)], index="products-20261122")
    (sent,) = http.sent
    assert "require_alias" not in sent.params
    assert sent.path == "/products-20261122/_bulk"
    assert "_index" not in sent.ndjson()[0]["update"]


def test_apply_without_refresh_leaves_visibility_to_the_refresh_interval(client, http):
    from catalog.engine.opensearch import OpenSearchEngine

    http.answer((200, shapes.bulk_response(shapes.UPDATED)))
    OpenSearchEngine(client, refresh=False).apply([UpsertItem(PRODUCT)])
    assert "refresh" not in http.sent[0].params


def test_apply_of_nothing_sends_nothing(engine, http):
    assert engine.apply([]) == []
    assert http.sent == []


def test_a_throttled_bulk_request_is_engine_unavailable(engine, http):
    http.answer((429, shapes.error_body(429, "too_many_requests", "429 Too Many Requests /_bulk")))
    with pytest.raises(EngineUnavailable, match="429"):
        engine.apply([UpsertItem(PRODUCT)])
    assert len(http.sent) == 1


def test_bulk_5xx_is_retried_by_the_transport_a_bounded_number_of_times(engine, http):
    busy = (503, shapes.error_body(503, "cluster_block_exception", "blocked by: [SERVICE_UNAVAILABLE/2/no master];"))
    http.answer(busy, busy, busy)
    with pytest.raises(EngineUnavailable, match="503"):
        engine.apply([UpsertItem(PRODUCT)])
    assert len(http.sent) == 3  # first try + MAX_RETRIES


def test_bulk_recovers_when_a_retry_succeeds(engine, http):
    http.answer((502, b"Bad Gateway"), (200, shapes.bulk_response(shapes.CREATED)))
    assert engine.apply([UpsertItem(PRODUCT)])[0].outcome is Outcome.APPLIED
    assert len(http.sent) == 2


def test_connection_errors_are_retried_then_engine_unavailable(engine, http):
    refused = urllib3.exceptions.NewConnectionError(None, "Connection refused")
    http.answer(refused, refused, refused)
    with pytest.raises(EngineUnavailable, match="cannot reach OpenSearch"):
        engine.apply([UpsertItem(PRODUCT)])
    assert len(http.sent) == 3


def test_a_timeout_is_not_retried(engine, http):
    http.answer(urllib3.exceptions.ReadTimeoutError(None, "/_bulk", "Read timed out. (read timeout=30)"))
    with pytest.raises(EngineUnavailable, match="cannot reach OpenSearch"):
        engine.apply([UpsertItem(PRODUCT)])
    assert len(http.sent) == 1
    assert http.sent[0].timeout == engine.write_timeout


def test_a_bulk_answer_that_does_not_line_up_is_engine_unavailable(engine, http):
    http.answer((200, shapes.bulk_response(shapes.CREATED)))
    with pytest.raises(EngineUnavailable, match="1 items for 2 operations"):
        engine.apply([UpsertItem(PRODUCT), Tombstone("p-2", 1)])
