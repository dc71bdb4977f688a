"""The indexer handler end to end: moto streams, S3 notifications via SQS, the embedded engine."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from catalog.convert import content_to_json, item_from_product
from catalog.generator import generate
from catalog.model import content_key
from tests.doubles.faulty_engine import FaultyEngine
from tests.integration.indexer.awsenv import invoke, load_handler

GEN = list(generate(12, seed=11))
P = [g.product for g in GEN]
C = [g.content for g in GEN]


def ids(response):
    return [f["itemIdentifier"] for f in response["batchItemFailures"]]


def emf(capsys):
    """Metric name -> summed values of the EMF blobs printed so far."""
    totals: dict[str, float] = {}
    for line in capsys.readouterr().out.splitlines():
        if '"_aws"' not in line:
            continue
        blob = json.loads(line)
        for metric in blob["_aws"]["CloudWatchMetrics"][0]["Metrics"]:
            value = blob[metric["Name"]]
            totals[metric["Name"]] = totals.get(metric["Name"], 0) + (sum(value) if isinstance(value, list) else value)
    return totals


def bump(product, n=1, **changes):
    return replace(product, version=product.version + n, **changes)


# ---------------------------------------------------------------- DynamoDB Streams
def test_inserts_updates_and_deletes_reach_the_index(aws, handler, capsys):
    for p in P[:3]:
        aws.put(p)
    aws.put(bump(P[1], title="Renamed speaker", price=12.5))
    aws.delete(P[2].id)
    event = aws.stream_event()
    assert [r["eventName"] for r in event["Records"]] == ["INSERT"] * 3 + ["MODIFY", "REMOVE"]

    assert invoke(handler, event) == {"batchItemFailures": []}

    engine = handler.RUNTIME.engine
    assert engine.get(P[0].id)[0] == P[0]
    assert engine.get(P[1].id)[0] == bump(P[1], title="Renamed speaker", price=12.5)
    assert engine.get(P[2].id) is None
    state = engine.states([P[2].id])[P[2].id]
    assert state.deleted and state.item_version == P[2].version
    metrics = emf(capsys)
    assert metrics["RecordsIn"] == 5 and metrics["Applied"] == 5 and metrics["Tombstoned"] == 1
    assert metrics["Failed"] == 0 and metrics["DeadLettered"] == 0 and metrics["BulkLatency"] > 0


def test_replayed_batch_is_stale_and_changes_nothing(aws, handler, capsys):
    for p in P[:4]:
        aws.put(p)
    event = aws.stream_event()
    invoke(handler, event)
    before = {s.id: s for s in handler.RUNTIME.engine.iter_states()}
    capsys.readouterr()
    assert invoke(handler, event) == {"batchItemFailures": []}
    metrics = emf(capsys)
    assert metrics["Stale"] == 4 and metrics["Applied"] == 0
    after = {s.id: s for s in handler.RUNTIME.engine.iter_states()}
    assert {k: (v.item_version, v.product) for k, v in after.items()} == \
        {k: (v.item_version, v.product) for k, v in before.items()}


def test_out_of_order_batches_converge_to_the_table(aws, handler):
    aws.put(P[0])
    first = aws.stream_event()
    aws.put(bump(P[0], title="Second"))
    second = aws.stream_event()
    aws.put(bump(P[0], 2, title="Third"))
    third = aws.stream_event()
    for event in (third, first, second):
        assert invoke(handler, event) == {"batchItemFailures": []}
    assert handler.RUNTIME.engine.get(P[0].id)[0] == aws.table_products()[P[0].id]


def test_remove_then_a_stale_insert_does_not_resurrect(aws, handler):
    aws.put(P[0])
    insert = aws.stream_event()
    aws.delete(P[0].id)
    remove = aws.stream_event()
    invoke(handler, remove)
    invoke(handler, insert)  # late re-delivery of the insert the delete removed
    engine = handler.RUNTIME.engine
    assert engine.get(P[0].id) is None
    assert engine.states([P[0].id])[P[0].id].deleted
    aws.put(bump(P[0], 5))  # a newer write brings it back
    invoke(handler, aws.stream_event())
    assert engine.get(P[0].id)[0].version == P[0].version + 5


def test_ttl_removes_are_tombstones_counted_separately(aws, handler, capsys):
    aws.put(P[0])
    aws.put(P[1])
    aws.delete(P[0].id)
    aws.delete(P[1].id)
    event = aws.stream_event()
    # moto does not run TTL; AWS marks a TTL expiry's REMOVE with this identity
    event["Records"][3]["userIdentity"] = {"type": "Service", "principalId": "dynamodb.amazonaws.com"}
    assert invoke(handler, event) == {"batchItemFailures": []}
    assert handler.RUNTIME.engine.get(P[1].id) is None
    metrics = emf(capsys)
    assert metrics["Tombstoned"] == 2 and metrics["TtlRemoved"] == 1


def test_429_storm_on_some_items_is_retried_until_it_passes(aws, handler, capsys):
    for p in P[:6]:
        aws.put(p)
    handler.RUNTIME.engine = faulty = FaultyEngine(handler.RUNTIME.engine, storm_ids={P[1].id, P[4].id},
                                                   storm_attempts=3)
    assert invoke(handler, aws.stream_event()) == {"batchItemFailures": []}
    assert faulty.calls == 4 and faulty.batch_sizes[1:] == [2, 2, 2]  # only the throttled items are re-sent
    assert all(faulty.get(p.id)[0] == p for p in P[:6])
    metrics = emf(capsys)
    assert metrics["Retried"] == 6 and metrics["Applied"] == 6 and metrics["Failed"] == 0


def test_storm_longer_than_the_time_budget_reports_from_the_lowest_failed_record(aws, handler):
    for p in P[:6]:
        aws.put(p)
    event = aws.stream_event()
    seqs = [r["dynamodb"]["SequenceNumber"] for r in event["Records"]]
    handler.RUNTIME.engine = FaultyEngine(handler.RUNTIME.engine, storm_ids={P[2].id}, storm_attempts=10**6)
    # remaining time = margin + 300 ms: a few retries, then give up
    response = invoke(handler, event, remaining_ms=handler.RUNTIME.settings.retry_margin_ms + 300)
    assert ids(response) == seqs[2:]  # Lambda restarts from the lowest reported sequence number
    # records after the failure were still applied; their re-delivery will be stale
    assert handler.RUNTIME.engine.get(P[3].id)[0] == P[3]


def test_poison_records_are_dead_lettered_with_their_reason_and_acknowledged(aws, handler, capsys):
    aws.put(P[0])
    bad = item_from_product(P[1])
    bad["price"] = "cheap"
    aws.put(bad)
    aws.put(P[2])
    event = aws.stream_event()
    assert invoke(handler, event) == {"batchItemFailures": []}
    [letter] = aws.dead_letters()
    assert letter["source"] == "dynamodb" and letter["field"] == "price" and letter["product_id"] == P[1].id
    assert "expected a number" in letter["reason"] and letter["region"] == "us-east-1"
    assert letter["record"]["dynamodb"]["SequenceNumber"] == event["Records"][1]["dynamodb"]["SequenceNumber"]
    assert letter["at"].endswith("Z")
    assert handler.RUNTIME.engine.get(P[2].id) is not None
    assert emf(capsys)["DeadLettered"] == 1


def test_a_record_is_not_acknowledged_when_the_dead_letter_send_fails(aws, handler):
    aws.put(P[0])
    bad = item_from_product(P[1])
    del bad["currency"]
    aws.put(bad)
    aws.put(P[2])
    event = aws.stream_event()
    aws.sqs.delete_queue(QueueUrl=aws.dlq_url)
    response = invoke(handler, event)
    assert ids(response) == [r["dynamodb"]["SequenceNumber"] for r in event["Records"][1:]]
    assert handler.RUNTIME.engine.get(P[0].id) is not None


def test_engine_down_for_the_whole_batch_reports_every_record_and_dead_letters_nothing(aws, handler, capsys):
    aws.put(P[0])
    bad = item_from_product(P[1])
    bad["in_stock"] = "yes"
    aws.put(bad)
    aws.put(P[2])
    event = aws.stream_event()
    handler.RUNTIME.engine = FaultyEngine(handler.RUNTIME.engine, down=True)
    response = invoke(handler, event, remaining_ms=handler.RUNTIME.settings.retry_margin_ms + 200)
    assert ids(response) == [r["dynamodb"]["SequenceNumber"] for r in event["Records"]]
    assert aws.dead_letters() == []
    assert emf(capsys)["Failed"] == 3
    # the engine comes back: the same batch now goes through and the poison is dead-lettered once
    handler.RUNTIME.engine = handler.RUNTIME.engine.inner
    assert invoke(handler, event) == {"batchItemFailures": []}
    assert [d["product_id"] for d in aws.dead_letters()] == [P[1].id]


def test_engine_rejection_is_dead_lettered_not_retried_forever(aws, handler):
    aws.put(P[0])
    aws.put(P[1])
    handler.RUNTIME.engine = FaultyEngine(handler.RUNTIME.engine, reject_ids={P[0].id})
    assert invoke(handler, aws.stream_event()) == {"batchItemFailures": []}
    [letter] = aws.dead_letters()
    assert letter["product_id"] == P[0].id and "rejected by the engine" in letter["reason"]


def test_items_near_the_400_kb_limit_are_indexed_in_byte_bounded_chunks(aws, handler_env, monkeypatch):
    monkeypatch.setenv("BULK_MAX_BYTES", str(1024 * 1024))
    module = load_handler()
    engine = module.RUNTIME.engine
    engine.swap_alias(engine.create_index())
    big = []
    for i, p in enumerate(P[:6]):
        # 100,000 three-byte characters + 100 tags of 900 bytes: ~390 KB, under DynamoDB's 400 KB
        product = replace(p, description="€" * 100_000, tags=tuple(f"{k:03d}" + "t" * 897 for k in range(100)),
                          title=f"big item {i}")
        aws.put(product)
        big.append(product)
    module.RUNTIME.engine = faulty = FaultyEngine(engine)
    event = aws.stream_event()
    assert sum(len(json.dumps(r["dynamodb"]["NewImage"])) for r in event["Records"]) > 6 * 300_000
    assert invoke(module, event) == {"batchItemFailures": []}
    assert len(faulty.batch_sizes) >= 3 and max(faulty.batch_sizes) <= 2  # ~0.9 MB estimate each, 1 MiB bound
    for product in big:
        assert faulty.get(product.id)[0] == product
    # one over the model's 100,000-character description limit is poison, dead-lettered truncated
    aws.put(replace(P[6], description="x" * 100_001 + "€" * 90_000))
    assert invoke(module, aws.stream_event()) == {"batchItemFailures": []}
    [letter] = aws.dead_letters()
    assert letter["field"] == "description" and letter["record_truncated"] is True
    assert letter["record"]["dynamodb"]["Keys"] == {"id": {"S": P[6].id}}
    engine.close()


# ---------------------------------------------------------------- S3 notifications via SQS
def test_content_before_item_stays_hidden_until_the_item_arrives(aws, handler):
    aws.put_content(content_key(P[0].id), content_to_json(C[0]))
    event = aws.sqs_event()
    assert event["Records"][0]["body"].startswith('{"Service": "Amazon S3", "Event": "s3:TestEvent"')
    assert invoke(handler, event) == {"batchItemFailures": []}
    engine = handler.RUNTIME.engine
    assert engine.get(P[0].id) is None
    state = engine.states([P[0].id])[P[0].id]
    assert state.content_version == C[0].version and not state.visible
    aws.put(P[0])
    invoke(handler, aws.stream_event())
    product, content = engine.get(P[0].id)
    assert product == P[0] and content == C[0]


def test_url_encoded_keys_other_keys_and_one_read_per_key(aws, handler, capsys):
    pid = "sku:a.b_c-1"
    aws.put(replace(P[0], id=pid))
    invoke(handler, aws.stream_event())
    content = replace(C[0], id=pid)
    aws.put_content(content_key(pid), content_to_json(content))
    aws.put_content(content_key(pid), content_to_json(replace(content, version=content.version + 1)))
    aws.put_content("images/p1.jpg", b"\x89PNG")
    event = aws.sqs_event()
    raw_keys = [json.loads(r["body"])["Records"][0]["s3"]["object"]["key"] for r in event["Records"][1:]]
    assert "products%2Fsku%3Aa.b_c-1.json" in raw_keys  # moto encodes keys as S3 does
    capsys.readouterr()
    assert invoke(handler, event) == {"batchItemFailures": []}
    assert handler.RUNTIME.engine.get(pid)[1] == replace(content, version=content.version + 1)
    metrics = emf(capsys)
    assert metrics["Ignored"] == 2  # the test event and the image
    assert metrics["Applied"] == 1 and metrics["Stale"] == 1  # both hints read the latest object once


def test_removed_content_is_cleared_and_a_late_put_event_does_not_restore_it(aws, handler):
    aws.put(P[0])
    invoke(handler, aws.stream_event())
    aws.put_content(content_key(P[0].id), content_to_json(C[0]))
    put_event = aws.sqs_event()
    invoke(handler, put_event)
    assert handler.RUNTIME.engine.get(P[0].id)[1] == C[0]
    aws.s3.delete_object(Bucket=aws.bucket, Key=content_key(P[0].id))
    assert invoke(handler, aws.sqs_event()) == {"batchItemFailures": []}
    assert handler.RUNTIME.engine.get(P[0].id)[1] is None
    invoke(handler, put_event)  # re-delivered hint: the object is gone, so it clears again
    assert handler.RUNTIME.engine.get(P[0].id)[1] is None


def test_bad_content_is_dead_lettered_and_a_failed_read_reports_exactly_that_message(aws, handler):
    aws.sqs_event()  # drop the test event
    aws.put_content(content_key(P[0].id), b"{not json")
    aws.put_content(content_key(P[1].id), content_to_json(C[1]))
    event = aws.sqs_event()
    assert invoke(handler, event) == {"batchItemFailures": []}
    [letter] = aws.dead_letters()
    assert letter["source"] == "s3" and letter["field"] == "<content>" and letter["product_id"] == P[0].id
    assert letter["record"]["messageId"] == event["Records"][0]["messageId"]
    # the bucket disappears (a read error other than "absent"): SQS must redeliver that message only
    aws.put_content(content_key(P[2].id), content_to_json(C[2]))
    ok = aws.sqs_event()
    for key in (content_key(p.id) for p in P[:3]):
        aws.s3.delete_object(Bucket=aws.bucket, Key=key)
    aws.sqs_event()
    aws.s3.delete_bucket(Bucket=aws.bucket)
    test_event = {"Service": "Amazon S3", "Event": "s3:TestEvent", "Bucket": aws.bucket}
    ok["Records"].append({**ok["Records"][0], "messageId": "test-event", "body": json.dumps(test_event)})
    assert ids(invoke(handler, ok)) == [ok["Records"][0]["messageId"]]


def test_sqs_partial_failure_reports_exactly_the_failed_messages(aws, handler):
    aws.sqs_event()
    for g in GEN[:4]:
        aws.put_content(content_key(g.product.id), content_to_json(g.content))
    event = aws.sqs_event()
    handler.RUNTIME.engine = FaultyEngine(handler.RUNTIME.engine, storm_ids={C[1].id, C[3].id},
                                          storm_attempts=10**6)
    response = invoke(handler, event, remaining_ms=handler.RUNTIME.settings.retry_margin_ms + 200)
    assert ids(response) == [event["Records"][1]["messageId"], event["Records"][3]["messageId"]]


# ---------------------------------------------------------------- init
@pytest.mark.parametrize(("variable", "value"), [
    ("DLQ_URL", ""), ("CONTENT_BUCKET", ""), ("BULK_MAX_BYTES", "huge"), ("SEARCH_ENGINE", "lucene"),
    ("AWS_REGION", ""),
])
def test_init_fails_with_an_error_naming_the_variable(handler_env, monkeypatch, variable, value):
    monkeypatch.setenv(variable, value)
    with pytest.raises(ValueError, match=variable):
        load_handler()

