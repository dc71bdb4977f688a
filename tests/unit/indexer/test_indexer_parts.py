"""Settings, chunking, backoff and dead-letter bodies (pure, no AWS)."""

from __future__ import annotations

import json
import random
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from catalog.engine.opensearch.writes import bulk_body
from catalog.engine.port import ClearContent, Tombstone, UpsertContent, UpsertItem
from catalog.generator import generate
from catalog.model import Content
from indexer.chunking import chunks, op_bytes
from indexer.dlq import MAX_MESSAGE_BYTES, dead_letter_body
from indexer.records import stream_work
from indexer.retry import Backoff
from indexer.settings import Settings, SettingsError
from tests.doubles.indexer_events import stream_record

GEN = list(generate(20, seed=3))
ENV = {"AWS_REGION": "eu-west-1", "DLQ_URL": "https://sqs.eu-west-1.amazonaws.com/123456789012/dlq",
       "CONTENT_BUCKET": "storefront-content-123456789012-eu-west-1"}


# ---------------------------------------------------------------- settings
def test_settings_defaults_and_overrides():
    s = Settings.from_env(ENV)
    assert (s.bulk_max_operations, s.bulk_max_bytes, s.retry_margin_ms) == (1000, 5 * 1024 * 1024, 5000)
    assert s.namespace == "Storefront" and s.tracing is True
    s = Settings.from_env({**ENV, "BULK_MAX_OPERATIONS": "50", "POWERTOOLS_TRACE_DISABLED": "true",
                           "POWERTOOLS_METRICS_NAMESPACE": "X"})
    assert (s.bulk_max_operations, s.tracing, s.namespace) == (50, False, "X")


@pytest.mark.parametrize(("change", "variable"), [
    ({"AWS_REGION": ""}, "AWS_REGION"),
    ({"AWS_REGION": "mars"}, "AWS_REGION"),
    ({"DLQ_URL": ""}, "DLQ_URL"),
    ({"DLQ_URL": "dlq"}, "DLQ_URL"),
    ({"CONTENT_BUCKET": "Bad_Bucket"}, "CONTENT_BUCKET"),
    ({"BULK_MAX_OPERATIONS": "lots"}, "BULK_MAX_OPERATIONS"),
    ({"BULK_MAX_OPERATIONS": "0"}, "BULK_MAX_OPERATIONS"),
    ({"BULK_MAX_BYTES": "10"}, "BULK_MAX_BYTES"),
    ({"RETRY_MARGIN_MS": "-1"}, "RETRY_MARGIN_MS"),
])
def test_bad_settings_name_the_variable(change, variable):
    with pytest.raises(SettingsError) as info:
        Settings.from_env({**ENV, **change})
    assert info.value.variable == variable
    assert str(info.value).startswith(variable)


# ---------------------------------------------------------------- chunking
def _ops():
    out = []
    for g in GEN:
        out += [UpsertItem(g.product), UpsertContent(g.content), Tombstone(g.product.id, 1),
                ClearContent(g.product.id, 2)]
    return out


def test_chunks_respect_the_count_bound_in_order():
    ops = _ops()
    spans = list(chunks(ops, 7, 10**9))
    assert spans[0] == (0, 7) and spans[-1][1] == len(ops)
    assert all(b - a <= 7 for a, b in spans)
    assert [i for a, b in spans for i in range(a, b)] == list(range(len(ops)))


def test_chunks_respect_the_byte_bound_and_an_oversized_op_travels_alone():
    ops = _ops()
    bound = 3000
    for a, b in chunks(ops, 1000, bound):
        assert b - a == 1 or sum(op_bytes(o) for o in ops[a:b]) <= bound
    big = UpsertContent(Content("p1", 1, long_description="x" * 10_000))
    assert list(chunks([ops[0], big, ops[1]], 1000, 5000)) == [(0, 1), (1, 2), (2, 3)]


text = st.text(max_size=300)


@settings(max_examples=60, deadline=None)
@given(title=text, description=st.text(max_size=3000), tags=st.lists(text, max_size=5),
       long=st.text(max_size=3000), specs=st.dictionaries(text, text, max_size=5))
def test_op_bytes_is_an_upper_bound_of_the_bulk_body(title, description, tags, long, specs):
    product = replace(GEN[0].product, title=title, description=description, tags=tuple(tags))
    content = Content("p1", 5, long_description=long, specifications=specs, images=("https://x/y.jpg",))
    for op in (UpsertItem(product), UpsertContent(content), Tombstone("p1", 2**62), ClearContent("p1", 2**62)):
        assert len(bulk_body([op], "products-20260101000000")) <= op_bytes(op)


def test_op_bytes_is_within_a_small_factor_of_the_bulk_body_for_a_real_catalog():
    ops = [UpsertItem(g.product) for g in GEN] + [UpsertContent(g.content) for g in GEN]
    real = len(bulk_body(ops, "products-20260101000000"))
    estimate = sum(op_bytes(op) for op in ops)
    assert real <= estimate <= 3 * real


# ---------------------------------------------------------------- backoff
def test_full_jitter_stays_within_the_exponential_envelope_and_varies():
    b = Backoff(base_ms=10, cap_ms=500)
    rng = random.Random(1)
    for attempt in range(1, 10):
        delays = [b.delay_ms(attempt, rng) for _ in range(200)]
        envelope = min(500, 10 * 2**attempt)
        assert all(0 <= d <= envelope for d in delays)
        assert max(delays) > envelope * 0.8 and min(delays) < envelope * 0.2  # spread over [0, envelope]


# ---------------------------------------------------------------- dead-letter bodies
def test_dead_letter_body_names_source_reason_field_product_and_keeps_the_record():
    item = {"id": "p7", "title": "x", "version": 5}
    record = stream_record("INSERT", new=item, seq=9)
    work = stream_work(0, record)
    body = json.loads(dead_letter_body(work, "eu-west-1", at="2026-01-01T00:00:00.000Z"))
    assert body == {"source": "dynamodb", "reason": "is required", "field": "category", "product_id": "p7",
                    "region": "eu-west-1", "record": record, "at": "2026-01-01T00:00:00.000Z"}


def test_dead_letter_body_near_the_item_size_limit_is_truncated_but_identifiable():
    item = {"id": "p8", "title": "x", "version": 5, "description": "é" * 200_000}  # ~400 KB in UTF-8
    work = stream_work(0, stream_record("INSERT", new=item, seq=10))
    raw = dead_letter_body(work, "eu-west-1")
    assert len(raw.encode()) <= MAX_MESSAGE_BYTES
    body = json.loads(raw)
    assert body["record_truncated"] is True and body["product_id"] == "p8"
    assert body["record"]["dynamodb"]["Keys"] == {"id": {"S": "p8"}}
    assert body["record"]["dynamodb"]["SequenceNumber"] == "10"
    assert "NewImage" not in body["record"]["dynamodb"]
