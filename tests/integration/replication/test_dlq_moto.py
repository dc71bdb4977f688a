"""``storefront dlq`` on moto: the three kinds of DLQ message redriven into an embedded index.

The stream pointers are built from moto's own stream of the region's table (what Lambda
would point at); the poison messages by the indexer's own :func:`indexer.dlq.dead_letter_body`.
"""

from __future__ import annotations

import json

import pytest

import replication.targets
from catalog.convert import content_to_json, item_from_product, serialize_item
from catalog.engine import UpsertItem
from catalog.generator import generate
from catalog.model import content_key
from indexer.dlq import dead_letter_body
from indexer.records import stream_work
from replication import dlq
from replication.dlq import DlqError, StreamPointer, iso_millis, iso_seconds
from storefront_cli.main import main
from tests.integration.replication.replication_harness import write_products

REGION = "us-east-1"


@pytest.fixture
def gen():
    return list(generate(6, seed=5))


def _queue(cfg, clients, region=REGION):
    sqs = clients("sqs", region)
    return sqs, sqs.get_queue_url(QueueName=cfg.dlq_name(region))["QueueUrl"]


def _send(cfg, clients, body, region=REGION):
    sqs, url = _queue(cfg, clients, region)
    return sqs.send_message(QueueUrl=url, MessageBody=body if isinstance(body, str) else json.dumps(body))["MessageId"]


def _depth(cfg, clients, region=REGION):
    sqs, url = _queue(cfg, clients, region)
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
    return int(attrs["Attributes"]["ApproximateNumberOfMessages"])


def _stream_records(cfg, clients, region=REGION):
    arn = clients("dynamodb", region).describe_table(TableName=cfg.table_name)["Table"]["LatestStreamArn"]
    streams = clients("dynamodbstreams", region)
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    it = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    return arn, shard, streams.get_records(ShardIterator=it)["Records"]


def _pointer(arn, shard, records):
    p = StreamPointer(shard_id=shard, start_sequence=records[0]["dynamodb"]["SequenceNumber"],
                      end_sequence=records[-1]["dynamodb"]["SequenceNumber"], stream_arn=arn,
                      batch_size=len(records), first_arrival=iso_seconds(0), last_arrival=iso_seconds(0),
                      condition="RetryAttemptsExhausted", invoke_count=11,
                      function_arn="arn:aws:lambda:us-east-1:123456789012:function:sftest-indexer-us-east-1",
                      timestamp=iso_millis(0))
    return p.to_message()


def _versions(target, region, ids):
    states = target.engine(region).states(ids)
    return {pid: (states[pid].item_version if pid in states else None, states[pid].deleted if pid in states else None)
            for pid in ids}


def test_stream_pointer_redrives_the_current_items_and_is_idempotent(cfg, clients, target, gen):
    products = [g.product for g in gen]
    write_products(cfg, clients, REGION, products[:4])
    arn, shard, records = _stream_records(cfg, clients)
    clients("dynamodb", REGION).delete_item(TableName=cfg.table_name, Key={"id": {"S": products[3].id}})
    target.engine(REGION).apply([UpsertItem(products[3])])  # the index still shows the deleted one
    _, _, records = _stream_records(cfg, clients)
    # the pointer covers records 2..5: products 1-3 written, then product 3 removed
    body = _pointer(arn, shard, records[1:5])
    mid = _send(cfg, clients, body)

    [msg] = dlq.list_messages(target, [REGION])
    assert (msg.id, msg.kind, msg.pointer.batch_size) == (mid, "stream", 4)
    assert _depth(cfg, clients) == 1  # listing leaves it in the queue, visible

    [result] = dlq.redrive(target, [REGION])
    assert result.ok and result.deleted, result.render()
    assert sorted(result.product_ids) == sorted(p.id for p in products[1:4])
    got = _versions(target, REGION, [p.id for p in products[:4]])
    assert got[products[0].id] == (None, None)  # before the pointer: not touched
    for p in products[1:3]:
        assert got[p.id] == (p.version, False)
    assert got[products[3].id] == (products[3].version, True)  # tombstoned at the version it had
    assert _depth(cfg, clients) == 0

    _send(cfg, clients, body)  # the same pointer again: nothing changes
    [again] = dlq.redrive(target, [REGION])
    assert again.ok and again.applied == 0 and again.stale == 3
    assert _versions(target, REGION, [p.id for p in products[:4]]) == got


def test_pointer_to_records_gone_from_the_stream_falls_back_to_a_region_audit(cfg, clients, target, gen):
    products = [g.product for g in gen]
    write_products(cfg, clients, REGION, products)
    arn, shard, records = _stream_records(cfg, clients)
    # a stream that no longer exists (the table was re-created): ResourceNotFoundException
    gone = _pointer(arn.replace(cfg.table_name, "sftest-gone"), shard, records)
    _send(cfg, clients, gone)
    _send(cfg, clients, gone)
    first, second = dlq.redrive(target, [REGION])
    assert first.ok and first.deleted, first.render()
    assert "no longer readable" in first.action and "full audit --repair" in first.action
    assert first.applied == len(products)
    assert second.ok and second.deleted and "covered by this run's audit" in second.action  # one audit a run
    assert all(v == (p.version, False) for p, v in zip(products, _versions(
        target, REGION, [p.id for p in products]).values(), strict=True))


def test_poison_stream_record_is_kept_until_the_item_is_fixed(cfg, clients, target, gen):
    product = gen[0].product
    bad = serialize_item({**item_from_product(product), "price": "twelve"})
    clients("dynamodb", REGION).put_item(TableName=cfg.table_name, Item=bad)
    record = {"eventName": "INSERT", "eventSource": "aws:dynamodb",
              "dynamodb": {"Keys": {"id": {"S": product.id}}, "NewImage": bad, "SequenceNumber": "100"}}
    work = stream_work(0, record)
    assert work.error is not None
    mid = _send(cfg, clients, dead_letter_body(work, REGION))

    [msg] = dlq.list_messages(target, [REGION])
    assert msg.summary()["product_id"] == product.id and msg.summary()["field"] == "price"
    [failed] = dlq.redrive(target, [REGION], [mid])
    assert not failed.ok and not failed.deleted and "still invalid" in failed.problems[0]
    assert _depth(cfg, clients) == 1  # kept, and visible again

    write_products(cfg, clients, REGION, [product])  # the fix
    [fixed] = dlq.redrive(target, [REGION], [mid])
    assert fixed.ok and fixed.deleted and fixed.applied == 1
    assert _versions(target, REGION, [product.id])[product.id] == (product.version, False)


def test_content_message_and_s3_poison_re_resolve_the_object(cfg, clients, target, gen):
    g = gen[1]
    bucket = cfg.bucket_name(REGION)
    note = {"Records": [{"eventSource": "aws:s3", "eventName": "ObjectCreated:Put", "eventTime": "2026-01-01T00:00:00Z",
                         "s3": {"bucket": {"name": bucket}, "object": {"key": content_key(g.product.id)}}}]}
    clients("s3", REGION).put_object(Bucket=bucket, Key=content_key(g.product.id), Body=b"{not json")
    poison_record = {"messageId": "m-1", "body": json.dumps(note), "eventSource": "aws:sqs"}
    from indexer.records import sqs_work

    poison = sqs_work(0, poison_record, bucket)
    poison_id = _send(cfg, clients, dead_letter_body(poison, REGION, reason="not JSON", field="body"))
    content_id = _send(cfg, clients, note)

    results = {r.id: r for r in dlq.redrive(target, [REGION])}
    assert not results[content_id].ok and not results[poison_id].ok  # the object is still broken
    assert "still cannot be indexed" in results[content_id].problems[0]

    clients("s3", REGION).put_object(Bucket=bucket, Key=content_key(g.product.id), Body=content_to_json(g.content))
    results = {r.id: r for r in dlq.redrive(target, [REGION])}
    assert results[content_id].ok and results[poison_id].ok
    assert results[content_id].applied + results[poison_id].applied == 1  # the second is already current
    state = target.engine(REGION).states([g.product.id])[g.product.id]
    assert state.content_version == g.content.version
    assert _depth(cfg, clients) == 0


def test_unknown_body_is_listed_and_not_redriven(cfg, clients, target):
    mid = _send(cfg, clients, "hello")
    [msg] = dlq.list_messages(target, [REGION])
    assert msg.kind == "unknown" and "not JSON" in msg.problem
    [r] = dlq.redrive(target, [REGION])
    assert not r.ok and not r.deleted
    assert dlq.show_message(target, list(cfg.regions), mid).body == "hello"
    with pytest.raises(DlqError, match="no message nope"):
        dlq.show_message(target, list(cfg.regions), "nope")
    assert [m.id for m in dlq.delete_messages(target, [REGION], [mid])] == [mid]
    assert _depth(cfg, clients) == 0


@pytest.fixture
def cli(target, monkeypatch):
    monkeypatch.setattr(replication.targets, "resolve_target", lambda config, mode=None: target)
    monkeypatch.setattr(target, "close", lambda: None)
    return lambda *argv: main(list(argv))


def test_cli_list_show_redrive_delete(cli, cfg, clients, target, gen, capsys):
    assert cli("dlq", "list") == 0
    assert "empty" in capsys.readouterr().out
    product = gen[2].product
    write_products(cfg, clients, "eu-west-1", [product])
    arn, shard, records = _stream_records(cfg, clients, "eu-west-1")
    mid = _send(cfg, clients, _pointer(arn, shard, records), "eu-west-1")
    junk = _send(cfg, clients, "{}", "eu-west-1")

    assert cli("dlq", "list", "--json") == 1
    listed = json.loads(capsys.readouterr().out)["messages"]
    assert {m["id"]: m["kind"] for m in listed} == {mid: "stream", junk: "unknown"}
    assert cli("dlq", "show", mid, "--region", "eu-west-1") == 0
    assert json.loads(capsys.readouterr().out)["message"]["DDBStreamBatchInfo"]["shardId"] == shard
    assert cli("dlq", "redrive", "--region", "eu-west-1") == 1
    out = capsys.readouterr().out
    assert "1 of 2 message(s) redriven" in out and "message kept" in out
    assert cli("dlq", "delete", junk) == 0
    assert cli("dlq", "list") == 0
    capsys.readouterr()
    assert cli("dlq", "show", "nope") == 2
    assert "no message nope" in capsys.readouterr().err
    assert cli("dlq", "list", "--region", "mars-1") == 2
