"""Event decoding and transformation into port operations (pure, no AWS)."""

from __future__ import annotations

import json
from dataclasses import replace
from urllib.parse import quote_plus

import pytest

from catalog.convert import item_from_product
from catalog.engine.port import Tombstone, UpsertItem
from catalog.generator import products
from indexer.records import InvalidEvent, Status, decode, sqs_work, stream_work
from tests.doubles.indexer_events import remove_record, s3_note, sqs_record, stream_record, upsert_record

BUCKET = "storefront-content-123456789012-us-east-1"
P = products(3, seed=7)


@pytest.mark.parametrize("event_name", ["INSERT", "MODIFY"])
def test_insert_and_modify_become_item_upserts(event_name):
    work = stream_work(0, upsert_record(P[0], 11, event_name=event_name))
    assert work.status is Status.PENDING
    assert work.item_id == "11"
    assert work.ops == [UpsertItem(P[0])]
    assert work.product_id == P[0].id


def test_remove_becomes_tombstone_with_old_version_and_user_delete_is_not_ttl():
    work = stream_work(0, remove_record(P[1], 12))
    assert work.ops == [Tombstone(P[1].id, P[1].version)]
    assert work.ttl is False


def test_ttl_remove_is_the_same_tombstone_flagged_ttl():
    work = stream_work(0, remove_record(P[1], 13, ttl=True))
    assert work.ops == [Tombstone(P[1].id, P[1].version)]
    assert work.ttl is True


def test_remove_by_a_user_service_principal_other_than_dynamodb_is_not_ttl():
    record = remove_record(P[1], 13)
    record["userIdentity"] = {"type": "Service", "principalId": "someone.amazonaws.com"}
    assert stream_work(0, record).ttl is False


@pytest.mark.parametrize(("mutate", "field"), [
    (lambda item: item.update(price="cheap"), "price"),
    (lambda item: item.pop("currency"), "currency"),
    (lambda item: item.update(version=0), "version"),
    (lambda item: item.update(id="bad id!"), "id"),
])
def test_malformed_items_are_poison_naming_the_field(mutate, field):
    item = item_from_product(P[0])
    mutate(item)
    work = stream_work(0, stream_record("INSERT", new=item, seq=5, product_id=P[0].id))
    assert work.status is Status.POISON
    assert work.error.field == field
    assert work.ops == []
    assert work.product_id == P[0].id  # from Keys, for the DLQ message


def test_unknown_event_name_and_missing_images_are_poison():
    record = upsert_record(P[0], 1)
    record["eventName"] = "TRUNCATE"
    assert stream_work(0, record).error.field == "eventName"
    keys_only = stream_record("INSERT", seq=2, product_id="p1")
    assert stream_work(0, keys_only).error.field == "dynamodb.NewImage"
    remove_keys_only = stream_record("REMOVE", seq=3, product_id="p1")
    assert stream_work(0, remove_keys_only).error.field == "dynamodb.OldImage"


def test_s3_test_event_is_ignored():
    body = {"Service": "Amazon S3", "Event": "s3:TestEvent", "Time": "2024-01-01T00:00:00.000Z", "Bucket": BUCKET}
    assert sqs_work(0, sqs_record(body), BUCKET).status is Status.IGNORED


def test_url_encoded_key_is_decoded_to_the_product_id():
    key = quote_plus("products/sku:a b+c.json")  # spaces as '+', '+' as %2B, ':' as %3A
    work = sqs_work(0, sqs_record(s3_note(BUCKET, key)), BUCKET)
    # the id is invalid (space) -> poison naming the key, not a silently wrong id
    assert work.status is Status.POISON and "s3.object.key" in work.error.field
    encoded = quote_plus("products/sku:a.b_c-1.json")
    assert "%3A" in encoded and "%2F" in encoded
    ok = sqs_work(0, sqs_record(s3_note(BUCKET, encoded)), BUCKET)
    assert ok.status is Status.PENDING
    assert [h.product_id for h in ok.hints] == ["sku:a.b_c-1"]
    assert ok.hints[0].key == "products/sku:a.b_c-1.json"


@pytest.mark.parametrize("key", ["images/p1.jpg", "products/p1.txt", "products/a/b.json", "products/.json"])
def test_other_keys_are_ignored(key):
    assert sqs_work(0, sqs_record(s3_note(BUCKET, key)), BUCKET).status is Status.IGNORED


def test_notifications_for_another_bucket_are_ignored():
    work = sqs_work(0, sqs_record(s3_note("someone-elses-bucket", "products/p1.json")), BUCKET)
    assert work.status is Status.IGNORED


def test_event_time_becomes_epoch_ms():
    work = sqs_work(0, sqs_record(s3_note(BUCKET, "products/p1.json", event_time="2024-01-01T00:00:01.500Z")),
                    BUCKET)
    assert work.hints[0].event_ms == 1_704_067_201_500


@pytest.mark.parametrize(("body", "field"), [
    ("{not json", "body"),
    ("[1, 2]", "body"),
    (json.dumps({"Records": []}), "body.Records"),
    (json.dumps({"Records": [{"s3": {"bucket": {"name": BUCKET}, "object": {}}}]}), "body.Records[0].s3.object.key"),
    (json.dumps(s3_note(BUCKET, "products/p1.json", event_time="yesterday")), "Records[].eventTime"),
])
def test_unknown_shapes_are_poison(body, field):
    work = sqs_work(0, sqs_record(body), BUCKET)
    assert work.status is Status.POISON
    assert work.error.field == field


def test_decode_tells_sources_apart_and_rejects_mixed_or_non_batch_events():
    source, works = decode({"Records": [upsert_record(P[0], 1), remove_record(P[0], 2)]}, BUCKET)
    assert source == "dynamodb" and [w.position for w in works] == [0, 1]
    source, works = decode({"Records": [sqs_record(s3_note(BUCKET, "products/p1.json"))]}, BUCKET)
    assert source == "s3" and works[0].source == "s3"
    assert decode({"Records": []}, BUCKET) == (None, [])
    with pytest.raises(InvalidEvent, match="eventSource"):
        decode({"Records": [upsert_record(P[0], 1), sqs_record("{}")]}, BUCKET)
    with pytest.raises(InvalidEvent, match="Records"):
        decode({"httpMethod": "GET"}, BUCKET)


def test_decimal_numbers_keep_one_type_per_field():
    item = item_from_product(replace(P[2], price=10.0, rating=4.0))
    work = stream_work(0, stream_record("INSERT", new=item, seq=1))
    product = work.ops[0].product
    assert isinstance(product.price, float) and isinstance(product.rating, float)
    assert isinstance(product.version, int)
