"""AWS's own event payloads through our code, and our builders held to their shape.

Every other indexer and search test feeds events our builders made; if a builder and AWS
disagreed, those tests would pass and the deployed function would not. Here the samples
(:mod:`tests.doubles.aws_samples`) go through the indexer's decoder and batch pipeline and
the search handler, and each builder is compared with its sample key by key.
"""

from __future__ import annotations

import json
import random

import pytest

from catalog.convert import content_to_json
from catalog.engine.port import Tombstone, UpsertItem
from catalog.generator import generate
from catalog.model import content_key
from indexer.batch import process_batch
from indexer.records import Status, decode
from search_api.app import Deps, create_app
from search_api.backend import Backend
from search_api.maintenance import MaintenanceSwitch
from search_api.settings import Settings
from tests.doubles import apigw, indexer_events
from tests.doubles.aws_samples import (
    APIGW_REST_PROXY,
    DYNAMODB_STREAM,
    SQS_S3_NOTIFICATION,
    differences,
    sample,
    shape,
)

REGION = "eu-west-1"
BUCKET = "storefront-content-123456789012-eu-west-1"
GENERATED = list(generate(3, seed=7))  # the samples carry these products (p000000, p000001)


@pytest.fixture
def engine(live_engine):
    return live_engine


def run_batch(event, engine, objects=None):
    sent: list[str] = []
    outcome = process_batch(event, engine=engine, bucket=BUCKET, region=REGION,
                            read_object=lambda key: (objects or {}).get(key), send_dead_letters=sent.extend,
                            budget_ms=lambda: 60_000.0, rng=random.Random(1), sleep=lambda s: None)
    return outcome, sent


# ---------------------------------------------------------------- DynamoDB Streams
def test_the_stream_sample_decodes_to_upserts_and_tombstones():
    event = sample(DYNAMODB_STREAM)
    source, works = decode(event, BUCKET)
    assert source == "dynamodb"
    assert [w.item_id for w in works] == [r["dynamodb"]["SequenceNumber"] for r in event["Records"]]
    assert all(w.status is Status.PENDING and w.error is None for w in works)
    insert, modify, remove, expire = (w.ops for w in works)
    p0, p1 = GENERATED[0].product, GENERATED[1].product
    assert insert == [UpsertItem(p0)]
    assert [type(op) for op in modify] == [UpsertItem] and modify[0].product.id == p1.id
    assert modify[0].product.in_stock is False and modify[0].product.version == p1.version + 1000  # the NewImage
    assert remove == [Tombstone(p0.id, p0.version)]  # the OldImage's version
    assert expire == [Tombstone(p1.id, p1.version + 1000)]
    assert [w.ttl for w in works] == [False, False, False, True]


def test_the_stream_sample_through_the_batch_pipeline(engine):
    outcome, dead = run_batch(sample(DYNAMODB_STREAM), engine)
    assert outcome.response() == {"batchItemFailures": []} and dead == []
    c = outcome.counters
    assert (c.records_in, c.tombstoned, c.ttl_removes, c.dead_lettered) == (4, 2, 1, 0)
    states = engine.states(["p000000", "p000001"])
    assert all(s.deleted and not s.visible for s in states.values())


# ---------------------------------------------------------------- S3 notifications via SQS
def test_the_sqs_sample_decodes_to_content_hints_and_ignores_the_test_event():
    event = sample(SQS_S3_NOTIFICATION)
    source, works = decode(event, BUCKET)
    assert source == "s3"
    assert [w.item_id for w in works] == [r["messageId"] for r in event["Records"]]
    created, removed, test_event = works
    assert [(h.key, h.product_id, h.event_ms) for h in created.hints] == [
        ("products/p000000.json", "p000000", 1714641301441)]
    assert [(h.key, h.product_id) for h in removed.hints] == [("products/p000001.json", "p000001")]
    assert (created.status, removed.status, test_event.status) == (Status.PENDING, Status.PENDING, Status.IGNORED)


def test_the_sqs_sample_through_the_batch_pipeline(engine):
    content = GENERATED[0].content
    objects = {content_key("p000000"): content_to_json(content)}  # p000001.json is deleted: no object
    outcome, dead = run_batch(sample(SQS_S3_NOTIFICATION), engine, objects)
    assert outcome.response() == {"batchItemFailures": []} and dead == []
    assert (outcome.counters.s3_reads, outcome.counters.ignored) == (2, 1)
    state = engine.states(["p000000"])["p000000"]
    assert state.content_version == content.version


def test_a_notification_for_another_bucket_is_not_read():
    _, works = decode(sample(SQS_S3_NOTIFICATION), "storefront-content-123456789012-us-east-1")
    assert [w.status for w in works] == [Status.IGNORED] * 3


# ---------------------------------------------------------------- API Gateway REST proxy
class Switch:
    def get_parameter(self, Name):
        return {"Parameter": {"Name": Name, "Value": "off"}}


def test_the_proxy_sample_is_answered_by_the_search_handler(engine):
    engine.apply([UpsertItem(g.product) for g in GENERATED])
    settings = Settings(REGION, f"/storefront/{REGION}/maintenance")
    switch = MaintenanceSwitch(settings.maintenance_parameter, REGION, client_factory=lambda region: Switch())
    handler = create_app(Deps(settings, Backend.of(engine, 2.0), switch)).resolve
    response = handler(sample(APIGW_REST_PROXY), apigw.LambdaContext())
    assert response["statusCode"] == 200, response
    body = json.loads(response["body"])
    assert [h["id"] for h in body["hits"]] == ["p000000"]  # the wireless keyboard, in that category
    assert body["size"] == 5 and body["region"] == REGION
    headers = {k.lower(): v for k, v in (response.get("headers") or {}).items()}
    headers.update({k.lower(): ", ".join(v) for k, v in (response.get("multiValueHeaders") or {}).items()})
    assert headers["access-control-allow-origin"] in ("*", "https://shop.example.com")
    reply = apigw.Reply(response["statusCode"], headers, response["body"])
    apigw.validate_reply(reply, "/search")


# ---------------------------------------------------------------- our builders have AWS's shape
STREAM_DATA = frozenset({"Records[].dynamodb.Keys", "Records[].dynamodb.NewImage", "Records[].dynamodb.OldImage"})
SQS_DATA = frozenset({"Records[].messageAttributes"})
PROXY_DATA = frozenset({"headers", "multiValueHeaders", "queryStringParameters", "multiValueQueryStringParameters",
                        "pathParameters"})


def _records(event, i):
    return {"Records": [event["Records"][i]]}


@pytest.mark.parametrize(("i", "build"), [
    (0, lambda item: indexer_events.stream_record("INSERT", new=item)),
    (1, lambda item: indexer_events.stream_record("MODIFY", new=item, old=item)),
    (2, lambda item: indexer_events.stream_record("REMOVE", old=item)),
    (3, lambda item: indexer_events.stream_record("REMOVE", old=item, ttl=True)),
], ids=["insert", "modify", "remove", "ttl-expiry"])
def test_the_stream_record_builder_has_the_sample_shape(i, build):
    from catalog.convert import item_from_product

    built = {"Records": [build(item_from_product(GENERATED[0].product))]}
    assert not differences(shape(built, STREAM_DATA), shape(_records(sample(DYNAMODB_STREAM), i), STREAM_DATA))


@pytest.mark.parametrize("i", [0, 1])
def test_the_sqs_and_s3_builders_have_the_sample_shape(i):
    real = _records(sample(SQS_S3_NOTIFICATION), i)
    note = json.loads(real["Records"][0]["body"])
    name = note["Records"][0]["eventName"]
    built_note = indexer_events.s3_note(BUCKET, "products/p000000.json", event_name=name)
    assert not differences(shape(built_note), shape(note))
    built = {"Records": [indexer_events.sqs_record(built_note)]}
    assert not differences(shape(built, SQS_DATA), shape(real, SQS_DATA))


def test_the_receive_message_wrapper_has_the_sample_shape():
    real = _records(sample(SQS_S3_NOTIFICATION), 0)
    msg = real["Records"][0]
    received = {"MessageId": msg["messageId"], "ReceiptHandle": msg["receiptHandle"], "Body": msg["body"],
                "MD5OfBody": msg["md5OfBody"], "Attributes": dict(msg["attributes"])}  # ReceiveMessage's shape
    built = indexer_events.from_sqs_messages([received])
    assert not differences(shape(built, SQS_DATA), shape(real, SQS_DATA))


def test_the_proxy_event_builder_has_the_sample_shape():
    real = sample(APIGW_REST_PROXY)
    built = apigw.event("GET", "/search?q=wireless+keyboard&category=Computers+%3E+Accessories&size=5")
    assert not differences(shape(built, PROXY_DATA), shape(real, PROXY_DATA))


def _sandbox_event_for_the_sample(real, **kwargs):
    """The sandbox's API front's event for the sample's request (its headers, address, account, API)."""
    from sandbox.apigw import proxy_event

    headers = [(k, v) for k, values in real["multiValueHeaders"].items() for v in values]
    ctx = real["requestContext"]
    return proxy_event("GET", "/search?q=wireless+keyboard&category=Computers+%3E+Accessories&size=5", headers, b"",
                       ctx["identity"]["sourceIp"], ctx["accountId"], ctx["apiId"], **kwargs)


def test_the_sandbox_proxy_event_has_the_sample_shape():
    real = sample(APIGW_REST_PROXY)
    built = _sandbox_event_for_the_sample(real, domain_name="search.example.com")
    assert not differences(shape(built, PROXY_DATA), shape(real, PROXY_DATA))


def test_the_sandbox_proxy_event_has_the_sample_values_but_aws_own_ids():
    real = sample(APIGW_REST_PROXY)
    epoch_ms = real["requestContext"]["requestTimeEpoch"]
    built = _sandbox_event_for_the_sample(real, domain_name="search.example.com", stage="prod",
                                          clock=lambda: epoch_ms / 1000)
    ids = ("requestId", "extendedRequestId", "resourceId")  # assigned by API Gateway: only their form is shared
    for key in ids:
        assert len(built["requestContext"].pop(key)) == len(real["requestContext"].pop(key)), key
    assert built == real
