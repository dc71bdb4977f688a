"""The sandbox's moto tuning (``sandbox/moto_host.py``) answers as moto itself does.

Each replacement is compared with moto's own implementation on the same state, over a real
moto server on a free port: the GetRecords body byte for byte as JSON, the SQS queue scans and
counts message for message.
"""

from __future__ import annotations

import json
import time

import pytest

from sandbox.aws import client
from sandbox.moto_host import MotoHost, request_counts, tune_moto, untune_moto
from sandbox.state import free_sandbox_ports

pytestmark = pytest.mark.xdist_group("moto-tuning")
REGION = "eu-west-1"


@pytest.fixture(scope="module")
def moto():
    aws, _, _ = free_sandbox_ports()
    host = MotoHost("127.0.0.1", aws).start()
    try:
        yield host.endpoint
    finally:
        host.stop()


def _raw_get_records(endpoint: str, iterator: str) -> bytes:
    """The HTTP body of a signed GetRecords call (botocore would parse it)."""
    import urllib.request

    import botocore.auth
    import botocore.credentials
    from botocore.awsrequest import AWSRequest

    body = json.dumps({"ShardIterator": iterator, "Limit": 100})
    req = AWSRequest(method="POST", url=endpoint + "/", data=body, headers={
        "X-Amz-Target": "DynamoDBStreams_20120810.GetRecords", "Content-Type": "application/x-amz-json-1.0"})
    botocore.auth.SigV4Auth(botocore.credentials.Credentials("sandbox", "sandbox"), "dynamodb", REGION).add_auth(req)
    http = urllib.request.Request(req.url, data=body.encode(), headers=dict(req.headers), method="POST")
    with urllib.request.urlopen(http, timeout=10) as resp:
        assert resp.headers["Content-Type"] == "application/x-amz-json-1.0"
        return resp.read()


def test_get_records_answers_what_moto_serializes(moto):
    ddb = client("dynamodb", REGION, moto)
    ddb.create_table(TableName="tuned", KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
                     BillingMode="PAY_PER_REQUEST",
                     StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"})
    every_type = {"id": {"S": "a"}, "n": {"N": "1.50"}, "b": {"B": b"\x00\xffhi"}, "bool": {"BOOL": False},
                  "l": {"L": [{"S": "x"}, {"N": "2"}, {"NULL": True}]}, "ss": {"SS": ["p", "q"]},
                  "m": {"M": {"k": {"BOOL": True}, "bs": {"BS": [b"1", b"\x80"]}}}, "ns": {"NS": ["1", "2.5"]},
                  "u": {"S": "é\u2028\"\\ 😀"}}
    ddb.put_item(TableName="tuned", Item=every_type)
    ddb.put_item(TableName="tuned", Item={"id": {"S": "a"}, "n": {"N": "2"}})
    ddb.delete_item(TableName="tuned", Key={"id": {"S": "a"}})
    streams = client("dynamodbstreams", REGION, moto)
    arn = ddb.describe_table(TableName="tuned")["Table"]["LatestStreamArn"]
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]

    def body() -> dict:
        it = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")
        answer = json.loads(_raw_get_records(moto, it["ShardIterator"]))
        answer.pop("NextShardIterator")  # a fresh iterator each time
        return answer

    tuned = body()
    untune_moto()
    try:
        own = body()
    finally:
        tune_moto()
    assert [r["eventName"] for r in own["Records"]] == ["INSERT", "MODIFY", "REMOVE"]
    assert tuned == own
    # and botocore reads it as it reads moto's: binary back to bytes, the time to a datetime
    it = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    first = streams.get_records(ShardIterator=it)["Records"][0]["dynamodb"]
    assert first["NewImage"]["b"] == {"B": b"\x00\xffhi"}
    assert abs(first["ApproximateCreationDateTime"].timestamp() - time.time()) < 600


def test_get_records_of_an_unknown_iterator_fails_as_moto_does(moto):
    streams = client("dynamodbstreams", REGION, moto)

    def failure() -> str:
        try:
            streams.get_records(ShardIterator="arn:aws:dynamodb:eu-west-1:123456789012:table/x/stream/y|1|z")
        except Exception as exc:
            return type(exc).__name__
        return "no error"

    tuned = failure()
    untune_moto()
    try:
        own = failure()
    finally:
        tune_moto()
    assert tuned == own != "no error"


def test_queue_scans_and_counts_match_moto(moto):
    from moto.sqs.models import Queue, sqs_backends

    sqs = client("sqs", REGION, moto)
    url = sqs.create_queue(QueueName="tuned-q", Attributes={"VisibilityTimeout": "30"})["QueueUrl"]
    for i in range(6):
        sqs.send_message(QueueUrl=url, MessageBody=f"m{i}")
    sqs.send_message(QueueUrl=url, MessageBody="later", DelaySeconds=60)
    got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=2)["Messages"]  # in flight
    assert len(got) == 2
    queue = sqs_backends["123456789012"][REGION].get_queue("tuned-q")
    queue.__dict__.pop("_sandbox_counts", None)

    def state() -> tuple:
        queue.__dict__.pop("_sandbox_counts", None)
        return ([m.id for m in queue.messages], queue.approximate_number_of_messages,
                queue.approximate_number_of_messages_not_visible, queue.approximate_number_of_messages_delayed)

    tuned = state()
    untune_moto()
    try:
        assert "_visible_messages" not in repr(Queue.__dict__["messages"].fget)
        own = state()
    finally:
        tune_moto()
    assert tuned == own
    assert (len(tuned[0]), tuned[1], tuned[2], tuned[3]) == (4, 4, 2, 1)
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert (attrs["ApproximateNumberOfMessages"], attrs["ApproximateNumberOfMessagesNotVisible"],
            attrs["ApproximateNumberOfMessagesDelayed"]) == ("4", "2", "1")


def test_requests_are_counted_by_service_region_and_action(moto):
    before = request_counts()
    client("sqs", REGION, moto).list_queues()
    after = request_counts()
    key = ("sqs", REGION, "ListQueues")
    assert after.get(key, 0) == before.get(key, 0) + 1

