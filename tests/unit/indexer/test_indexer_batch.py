"""Batch routing and content resolution against the real embedded engine (no AWS)."""

from __future__ import annotations

import random
from dataclasses import replace

import pytest

from catalog.convert import content_to_json, item_from_product
from catalog.engine.port import ClearContent, UpsertContent, UpsertItem
from catalog.generator import generate
from catalog.model import content_key
from catalog.versioning import version_for_time
from indexer.batch import BatchLimits, process_batch
from indexer.content import resolve_content
from indexer.records import Status, sqs_work
from indexer.retry import Backoff, apply_with_retry
from tests.doubles.faulty_engine import FaultyEngine
from tests.doubles.indexer_events import s3_note, sqs_record, stream_record, upsert_record

BUCKET = "storefront-content-123456789012-us-east-1"
GEN = list(generate(8, seed=21))
P = [g.product for g in GEN]
C = [g.content for g in GEN]


@pytest.fixture
def engine(live_engine):
    return live_engine


def run(event, engine, *, objects=None, dlq_errors=None, budget=60_000.0, limits=None):
    sent: list[str] = []
    reads: list[str] = []

    def read(key):
        reads.append(key)
        value = (objects or {}).get(key)
        if isinstance(value, Exception):
            raise value
        return value

    def send(bodies):
        sent.extend(bodies)
        return list(dlq_errors(bodies)) if dlq_errors else [None] * len(bodies)

    outcome = process_batch(event, engine=engine, bucket=BUCKET, region="eu-west-1", read_object=read,
                            send_dead_letters=send, budget_ms=lambda: budget, limits=limits,
                            rng=random.Random(1), sleep=lambda s: None)
    return outcome, sent, reads


def poison_record(seq):
    item = item_from_product(P[seq % len(P)])
    item["price"] = "free"
    return stream_record("MODIFY", new=item, seq=seq)


# ---------------------------------------------------------------- content resolution
def test_one_read_per_key_and_clear_at_the_latest_event_time():
    notes = [s3_note(BUCKET, content_key("p1"), event_time="2024-01-01T00:00:01.000Z"),
             s3_note(BUCKET, content_key("p1"), event_name="ObjectRemoved:Delete",
                     event_time="2024-01-01T00:00:03.000Z"),
             s3_note(BUCKET, content_key("p2"))]
    works = [sqs_work(i, sqs_record(n, f"m{i}"), BUCKET) for i, n in enumerate(notes)]
    reads = []
    objects = {content_key("p2"): content_to_json(replace(C[0], id="p2"))}
    assert resolve_content(works, lambda key: reads.append(key) or objects.get(key)) == 2
    assert sorted(reads) == [content_key("p1"), content_key("p2")]
    clear = ClearContent("p1", version_for_time(1_704_067_203_000))
    assert works[0].ops == [clear] and works[1].ops == [clear]
    assert works[2].ops == [UpsertContent(replace(C[0], id="p2"))]


def test_bad_content_poisons_and_a_failed_read_fails_every_record_of_that_key():
    works = [sqs_work(0, sqs_record(s3_note(BUCKET, content_key("p1")), "a"), BUCKET),
             sqs_work(1, sqs_record(s3_note(BUCKET, content_key("p2")), "b"), BUCKET),
             sqs_work(2, sqs_record(s3_note(BUCKET, content_key("p2")), "c"), BUCKET)]

    def read(key):
        if key == content_key("p2"):
            raise TimeoutError("read timed out")
        return b'{"id": "p1", "version": "x"}'

    resolve_content(works, read)
    assert works[0].status is Status.POISON and works[0].error.field == "version"
    assert [w.status for w in works[1:]] == [Status.FAILED, Status.FAILED]
    assert "read timed out" in works[1].failure


# ---------------------------------------------------------------- routing
def test_stream_poison_after_the_first_failure_is_not_dead_lettered_yet(engine):
    records = [upsert_record(P[0], 1), poison_record(2), upsert_record(P[3], 3), poison_record(4),
               upsert_record(P[5], 5)]
    faulty = FaultyEngine(engine, storm_ids={P[3].id}, storm_attempts=10**6)
    outcome, sent, _ = run({"Records": records}, faulty, budget=0.0)
    assert [w.item_id for w in outcome.reported] == ["3", "4", "5"]
    assert len(sent) == 1 and '"product_id": "' + P[2].id + '"' in sent[0]
    assert outcome.counters.dead_lettered == 1 and outcome.counters.failed == 3


def test_a_failed_dead_letter_send_moves_the_stream_cutoff_back(engine):
    records = [upsert_record(P[0], 1), poison_record(2), upsert_record(P[3], 3)]
    outcome, sent, _ = run({"Records": records}, engine, dlq_errors=lambda bodies: ["AccessDenied"] * len(bodies))
    assert len(sent) == 1 and [w.item_id for w in outcome.reported] == ["2", "3"]
    assert outcome.counters.dead_lettered == 0 and "AccessDenied" in outcome.works[1].failure


def test_sqs_engine_down_reports_every_message_and_sends_nothing(engine):
    records = [sqs_record(s3_note(BUCKET, content_key(P[i].id)), f"m{i}") for i in range(3)]
    records.append(sqs_record("{broken", "m3"))
    objects = {content_key(P[i].id): content_to_json(C[i]) for i in range(3)}
    outcome, sent, reads = run({"Records": records}, FaultyEngine(engine, down=True), objects=objects, budget=0.0)
    assert outcome.engine_down and [w.item_id for w in outcome.reported] == ["m0", "m1", "m2", "m3"]
    assert sent == [] and len(reads) == 3


def test_chunks_are_applied_in_order_within_the_bounds(engine):
    records = [upsert_record(replace(P[i % 8], version=P[i % 8].version + i), i + 1) for i in range(20)]
    faulty = FaultyEngine(engine)
    outcome, _, _ = run({"Records": records}, faulty, limits=BatchLimits(max_operations=6))
    assert faulty.batch_sizes == [6, 6, 6, 2] and outcome.reported == []
    assert outcome.counters.applied == 20 and outcome.counters.bulk_requests == 4
    assert engine.get(P[3].id)[0].version == P[3].version + 19


def test_out_of_time_chunks_are_reported_without_being_sent(engine):
    records = [upsert_record(P[i], i + 1) for i in range(8)]
    faulty = FaultyEngine(engine)
    outcome, _, _ = run({"Records": records}, faulty, limits=BatchLimits(max_operations=4), budget=-1.0)
    assert faulty.batch_sizes == [4]  # the first chunk is always tried
    assert [w.item_id for w in outcome.reported] == ["5", "6", "7", "8"]


def test_retry_stops_when_the_next_wait_does_not_fit_the_budget(engine):
    faulty = FaultyEngine(engine, storm_ids={P[0].id}, storm_attempts=10**6)

    budget = iter([1000.0, 1000.0, 0.0])
    result = apply_with_retry(faulty, [UpsertItem(P[0]), UpsertItem(P[1])], lambda: next(budget),
                              backoff=Backoff(base_ms=1, cap_ms=10), rng=random.Random(3), sleep=lambda s: None)
    assert result.attempts == 3 and result.retried == 2 and result.reached_engine
    assert [r.outcome.value for r in result.results] == ["retryable", "applied"]
