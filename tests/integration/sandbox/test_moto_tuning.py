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



# ---------------------------------------------------------------- the HTTP server (cheroot)
def _signed_list_queues(endpoint: str) -> tuple[str, dict[str, str]]:
    import botocore.auth
    import botocore.credentials
    from botocore.awsrequest import AWSRequest

    from sandbox.aws import OPERATOR_CREDENTIALS

    body = "Action=ListQueues&Version=2012-11-05"
    req = AWSRequest(method="POST", url=endpoint + "/", data=body,
                     headers={"Content-Type": "application/x-www-form-urlencoded"})
    creds = botocore.credentials.Credentials(OPERATOR_CREDENTIALS["aws_access_key_id"],
                                             OPERATOR_CREDENTIALS["aws_secret_access_key"])
    botocore.auth.SigV4Auth(creds, "sqs", REGION).add_auth(req)
    return body, dict(req.headers)


def test_connections_are_kept_alive(moto):
    """AWS endpoints keep HTTP/1.1 connections open; moto's own server closed every one."""
    import http.client
    from urllib.parse import urlsplit

    url = urlsplit(moto)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
    try:
        sockets = []
        for _ in range(3):
            body, headers = _signed_list_queues(moto)
            conn.request("POST", "/", body=body, headers=headers)
            resp = conn.getresponse()
            assert resp.status == 200, resp.read()
            assert (resp.getheader("Connection") or "").lower() != "close"
            resp.read()
            sockets.append(conn.sock)
        assert sockets[0] is not None and all(s is sockets[0] for s in sockets)  # one connection, three answers
    finally:
        conn.close()


@pytest.mark.parametrize("key", ["products/a%2Fb.json", "products/with space+plus.json", "products/ü?x=1#f.json"])
def test_s3_keys_arrive_as_sent(moto, key):
    """moto routes S3 by the undecoded request target (``RAW_URI``): a key with an encoded ``/``, a
    space, ``+``, ``?`` or ``#`` comes back as written, listed and read."""
    s3 = client("s3", REGION, moto)
    bucket = "raw-uri-" + str(abs(hash(key)) % 10_000)
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
    s3.put_object(Bucket=bucket, Key=key, Body=b"{}")
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]] == [key]
    assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == b"{}"


def test_stop_closes_open_connections_and_frees_the_port():
    import http.client
    import socket

    port, _, _ = free_sandbox_ports()
    host = MotoHost("127.0.0.1", port).start()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    body, headers = _signed_list_queues(host.endpoint)
    conn.request("POST", "/", body=body, headers=headers)
    conn.getresponse().read()  # an idle keep-alive connection stays open
    host.stop()
    try:
        with pytest.raises(OSError):
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
        with pytest.raises((OSError, http.client.HTTPException)):
            conn.request("POST", "/", body=body, headers=headers)
            conn.getresponse().read()
    finally:
        conn.close()
        tune_moto()  # the module's server still runs: stop() untuned moto for this process


def test_s3_metadata_names_arrive_as_with_motos_own_server(moto, monkeypatch):
    """Both servers hand moto the same environ: user metadata keys with ``_``, mixed case or a
    dash come back from ``HeadObject`` alike (WSGI alone would fold ``my_key`` into ``my-key``)."""
    meta = {"origin": "test", "my_key": "v", "MiXed": "c", "with-dash": "d"}

    def head(endpoint: str, bucket: str) -> dict:
        s3 = client("s3", REGION, endpoint)
        s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
        s3.put_object(Bucket=bucket, Key="k.json", Body=b"{}", Metadata=meta)
        return s3.head_object(Bucket=bucket, Key="k.json")["Metadata"]

    ours = head(moto, "meta-cheroot")
    monkeypatch.setenv("STOREFRONT_MOTO_TUNING", "baseline")
    port, _, _ = free_sandbox_ports()
    own = MotoHost("127.0.0.1", port).start()
    try:
        theirs = head(own.endpoint, "meta-werkzeug")
    finally:
        own.stop()
        tune_moto()  # the module's server still runs
    assert ours == theirs == {"origin": "test", "my_key": "v", "mixed": "c", "with-dash": "d"}
