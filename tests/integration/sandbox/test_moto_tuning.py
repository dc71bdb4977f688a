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



# ---------------------------------------------------------------- S3 keys through the server
@pytest.mark.parametrize("key", ["products/a%2Fb.json", "products/with space+plus.json", "products/ü?x=1#f.json"])
def test_s3_keys_arrive_as_sent(moto, key):
    """The tuned server routes S3 by the undecoded request target: a key with an encoded ``/``, a
    space, ``+``, ``?`` or ``#`` comes back as written, listed and read."""
    s3 = client("s3", REGION, moto)
    bucket = "raw-uri-" + str(abs(hash(key)) % 10_000)
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
    s3.put_object(Bucket=bucket, Key=key, Body=b"{}")
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]] == [key]
    assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == b"{}"


# ---------------------------------------------------------------- DynamoDB Scan
def _scan_pages(ddb, **kwargs) -> list:
    """Every page of a scan as answered (or the error that stopped it), following LastEvaluatedKey."""
    from botocore.exceptions import ClientError

    out: list = []
    for _ in range(10_000):
        try:
            resp = ddb.scan(**kwargs)
        except ClientError as exc:
            out.append(("error", exc.response["Error"].get("Code"), exc.response["Error"].get("Message")))
            return out
        resp.pop("ResponseMetadata", None)
        out.append(resp)
        if "LastEvaluatedKey" not in resp:
            return out
        kwargs = {**kwargs, "ExclusiveStartKey": resp["LastEvaluatedKey"]}
    raise AssertionError("the scan did not end")


def _tuned_and_own(run):
    from moto.dynamodb.models.table import Table

    tuned = run()
    untune_moto()
    try:
        assert Table.scan.__name__ == "scan" and "scan_from_start_key" not in Table.scan.__qualname__
        own = run()
    finally:
        tune_moto()
    assert "scan_from_start_key" in Table.scan.__qualname__
    return tuned, own


def _table(ddb, name: str, key: list[tuple[str, str, str]], **extra) -> None:
    ddb.create_table(TableName=name, KeySchema=[{"AttributeName": a, "KeyType": k} for a, _, k in key],
                     AttributeDefinitions=[{"AttributeName": a, "AttributeType": t} for a, t, _ in key]
                     + extra.pop("more_attributes", []),
                     BillingMode="PAY_PER_REQUEST", **extra)


@pytest.fixture(scope="module")
def scan_tables(moto):
    """A hash-key table of strings, one of numbers, a hash+range table with a GSI, and one of ~100 KB items."""
    import random

    ddb = client("dynamodb", REGION, moto)
    rng = random.Random(13)
    _table(ddb, "scan-s", [("id", "S", "HASH")])
    for i in rng.sample(range(10_000), 300):
        item = {"id": {"S": f"p{i:05d}" if i % 3 else f"{i}"}, "n": {"N": str(i % 17)}, "tag": {"S": "ab"[i % 2]}}
        if i % 5:
            item["x"] = {"M": {"k": {"L": [{"S": "x"}, {"N": str(i)}]}}}
        ddb.put_item(TableName="scan-s", Item=item)
    ddb.delete_item(TableName="scan-s", Key={"id": {"S": "gone"}})
    _table(ddb, "scan-n", [("k", "N", "HASH")])
    for v in ["10", "9", "-1.5", "1e2", "0", "0.001", "-20", "99999999999999999999", "3.14159", "7"]:
        ddb.put_item(TableName="scan-n", Item={"k": {"N": v}, "v": {"S": v}})
    _table(ddb, "scan-r", [("h", "S", "HASH"), ("r", "N", "RANGE")],
           more_attributes=[{"AttributeName": "g", "AttributeType": "S"}],
           GlobalSecondaryIndexes=[{"IndexName": "by-g", "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
                                    "Projection": {"ProjectionType": "KEYS_ONLY"}}])
    for h in range(23):
        for r in rng.sample(range(-50, 50), 1 + h % 6):
            item = {"h": {"S": f"h{h}"}, "r": {"N": str(r)}, "w": {"N": str(h * r)}}
            if (h + r) % 3:
                item["g"] = {"S": f"g{r % 4}"}
            ddb.put_item(TableName="scan-r", Item=item)
    _table(ddb, "scan-big", [("id", "S", "HASH")])
    for i in range(40):
        ddb.put_item(TableName="scan-big", Item={"id": {"S": f"big{i:02d}"}, "blob": {"S": "x" * (90_000 + 997 * i)}})
    return ddb


SCANS = [
    ("scan-s", {}),
    ("scan-s", {"Limit": 7}),
    ("scan-s", {"Limit": 500}),
    ("scan-s", {"Segment": 0, "TotalSegments": 4, "Limit": 9}),
    ("scan-s", {"Segment": 3, "TotalSegments": 4, "Limit": 1}),
    ("scan-s", {"Segment": 2, "TotalSegments": 7, "Limit": 11, "ConsistentRead": True}),
    ("scan-s", {"Segment": 200, "TotalSegments": 1000, "Limit": 3}),
    ("scan-s", {"Segment": 900, "TotalSegments": 1000}),
    ("scan-s", {"Limit": 10, "FilterExpression": "n < :x", "ExpressionAttributeValues": {":x": {"N": "3"}}}),
    ("scan-s", {"Segment": 1, "TotalSegments": 3, "Limit": 6, "FilterExpression": "tag = :t AND attribute_exists(x)",
                "ExpressionAttributeValues": {":t": {"S": "a"}}}),
    ("scan-s", {"Limit": 13, "ProjectionExpression": "id, #e.k[1]", "ExpressionAttributeNames": {"#e": "x"}}),
    ("scan-s", {"Limit": 13, "ScanFilter": {"n": {"ComparisonOperator": "GT", "AttributeValueList": [{"N": "8"}]}}}),
    ("scan-s", {"Limit": 17, "Select": "COUNT"}),
    ("scan-n", {"Limit": 3}),
    ("scan-n", {"Segment": 1, "TotalSegments": 2, "Limit": 2}),
    ("scan-r", {"Limit": 5}),
    ("scan-r", {"Segment": 0, "TotalSegments": 2, "Limit": 4, "FilterExpression": "w > :z",
                "ExpressionAttributeValues": {":z": {"N": "0"}}}),
    ("scan-r", {"IndexName": "by-g", "Limit": 4}),
    ("scan-r", {"IndexName": "by-g", "Segment": 1, "TotalSegments": 3, "Limit": 2}),
    ("scan-big", {}),
    ("scan-big", {"Limit": 15}),
    ("scan-big", {"Segment": 1, "TotalSegments": 2}),
]


@pytest.mark.parametrize(("table", "params"), SCANS, ids=[f"{t}-{i}" for i, (t, _) in enumerate(SCANS)])
def test_scan_pages_answer_as_moto_does(scan_tables, table, params):
    tuned, own = _tuned_and_own(lambda: _scan_pages(scan_tables, TableName=table, **params))
    assert tuned == own
    assert own and not isinstance(own[-1], tuple)
    if table == "scan-big" and "Limit" not in params:
        assert len(own) > 2  # the 1 MB page limit cut the pages


START_KEYS = [
    ("scan-s", {"id": {"S": "p00000"}}),  # before every item
    ("scan-s", {"id": {"S": "gone"}}),  # not in the table
    ("scan-s", {"id": {"S": "zzz"}}),  # after every item
    ("scan-s", {"id": {"S": "p05000"}, "n": {"N": "3"}}),  # extra attributes
    ("scan-n", {"k": {"N": "8.5"}}),
    ("scan-r", {"h": {"S": "h12"}, "r": {"N": "0"}}),
    ("scan-r", {"h": {"S": "h12"}}),  # no range key
    ("scan-s", {"id": {"N": "5"}}),  # the wrong type
    ("scan-s", {"other": {"S": "x"}}),
    ("scan-s", {"id": {}}),
]


@pytest.mark.parametrize(("table", "start"), START_KEYS, ids=[f"{t}-{i}" for i, (t, _) in enumerate(START_KEYS)])
@pytest.mark.parametrize("segments", [None, (1, 3)])
def test_scan_from_any_start_key_answers_as_moto_does(scan_tables, table, start, segments):
    params = {"Limit": 4, "ExclusiveStartKey": start}
    if segments:
        params.update(Segment=segments[0], TotalSegments=segments[1])
    tuned, own = _tuned_and_own(lambda: _scan_pages(scan_tables, TableName=table, **params))
    assert tuned == own


def test_scan_of_a_missing_table_or_empty_table_answers_as_moto_does(scan_tables):
    _table(scan_tables, "scan-empty", [("id", "S", "HASH")])
    for params in ({"TableName": "scan-empty", "Limit": 2},
                   {"TableName": "scan-empty", "ExclusiveStartKey": {"id": {"S": "a"}}},
                   {"TableName": "no-such-table"}):
        tuned, own = _tuned_and_own(lambda params=params: _scan_pages(scan_tables, **params))
        assert tuned == own


# ---------------------------------------------------------------- DynamoDB answers made of items
def _raw_dynamodb(endpoint: str, action: str, body: dict) -> tuple[int, str | None, str | None, bytes]:
    """Status, Content-Type, x-amz-crc32 and the HTTP body of a signed DynamoDB call."""
    import urllib.error
    import urllib.request

    import botocore.auth
    import botocore.credentials
    from botocore.awsrequest import AWSRequest

    data = json.dumps(body)
    req = AWSRequest(method="POST", url=endpoint + "/", data=data, headers={
        "X-Amz-Target": f"DynamoDB_20120810.{action}", "Content-Type": "application/x-amz-json-1.0"})
    botocore.auth.SigV4Auth(botocore.credentials.Credentials("sandbox", "sandbox"), "dynamodb", REGION).add_auth(req)
    http = urllib.request.Request(req.url, data=data.encode(), headers=dict(req.headers), method="POST")
    try:
        with urllib.request.urlopen(http, timeout=30) as resp:
            return resp.status, resp.headers["Content-Type"], resp.headers.get("x-amz-crc32"), resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers["Content-Type"], exc.headers.get("x-amz-crc32"), exc.read()


@pytest.fixture(scope="module")
def typed_table(moto):
    ddb = client("dynamodb", REGION, moto)
    _table(ddb, "typed", [("id", "S", "HASH")])
    items = [
        {"id": {"S": "every"}, "n": {"N": "1.50"}, "b": {"B": b"\x00\xffhi"}, "bool": {"BOOL": False},
         "t": {"BOOL": True}, "null": {"NULL": True}, "empty": {"S": ""}, "l": {"L": [{"S": "x"}, {"N": "2"},
                                                                                    {"NULL": True}, {"L": []}]},
         "ss": {"SS": ["p", "q"]}, "ns": {"NS": ["1", "2.5", "-0.1e3"]}, "bs": {"BS": [b"1", b"\x80"]},
         "m": {"M": {"k": {"BOOL": True}, "bs": {"BS": [b"\xfe"]}, "deep": {"M": {"x": {"M": {}}}}}},
         "u": {"S": "é\u2028\"\\ 😀 </script>"}, "dotted.name": {"S": "v"}, "S": {"S": "attribute named S"}},
        {"id": {"S": "plain"}, "price": {"N": "19.99"}, "title": {"S": "Lamp"}},
    ]
    for item in items:
        ddb.put_item(TableName="typed", Item=item)
    return ddb


ITEM_CALLS = [
    ("Scan", {"TableName": "typed"}),
    ("Scan", {"TableName": "typed", "Limit": 1, "ReturnConsumedCapacity": "TOTAL"}),
    ("Scan", {"TableName": "typed", "Select": "COUNT", "ReturnConsumedCapacity": "INDEXES"}),
    ("Scan", {"TableName": "typed", "ProjectionExpression": "#b, m.deep, l[1]",
              "ExpressionAttributeNames": {"#b": "b"}}),
    ("Scan", {"TableName": "typed", "FilterExpression": "id = :x", "ExpressionAttributeValues": {":x": {"S": "none"}}}),
    ("Scan", {"TableName": "scan-r", "IndexName": "by-g", "Limit": 3}),
    ("Scan", {"TableName": "scan-big", "Limit": 2}),
    ("Query", {"TableName": "typed", "KeyConditionExpression": "id = :i",
               "ExpressionAttributeValues": {":i": {"S": "every"}}}),
    ("Query", {"TableName": "scan-r", "KeyConditionExpression": "h = :h", "Limit": 2,
               "ExpressionAttributeValues": {":h": {"S": "h5"}}, "ReturnConsumedCapacity": "TOTAL"}),
    ("GetItem", {"TableName": "typed", "Key": {"id": {"S": "every"}}}),
    ("GetItem", {"TableName": "typed", "Key": {"id": {"S": "absent"}}, "ReturnConsumedCapacity": "TOTAL"}),
    ("GetItem", {"TableName": "typed", "Key": {"id": {"S": "every"}}, "ProjectionExpression": "bs, u"}),
    ("BatchGetItem", {"RequestItems": {"typed": {"Keys": [{"id": {"S": "every"}}, {"id": {"S": "plain"}},
                                                          {"id": {"S": "absent"}}]},
                                       "scan-s": {"Keys": [{"id": {"S": "p00013"}}, {"id": {"S": "x"}}],
                                                  "ProjectionExpression": "id, tag"}},
                      "ReturnConsumedCapacity": "TOTAL"}),
    ("BatchGetItem", {"RequestItems": {"scan-big": {"Keys": [{"id": {"S": f"big{i:02d}"}} for i in range(40)]}}}),
    ("BatchGetItem", {"RequestItems": {"typed": {"Keys": [{"id": {"S": "absent"}}]}}}),
    ("BatchGetItem", {"RequestItems": {"no-such-table": {"Keys": [{"id": {"S": "a"}}]}}}),
    ("GetItem", {"TableName": "typed", "Key": {"nope": {"S": "every"}}}),
    ("Scan", {"TableName": "typed", "ExclusiveStartKey": {"id": {"S": "every"}}, "Limit": 1}),
]


@pytest.mark.parametrize(("action", "body"), ITEM_CALLS, ids=[f"{a}-{i}" for i, (a, _) in enumerate(ITEM_CALLS)])
def test_item_answers_are_written_as_moto_serializes_them(moto, typed_table, scan_tables, action, body):
    from moto.dynamodb.responses import DynamoResult

    tuned, own = _tuned_and_own(lambda: _raw_dynamodb(moto, action, body))
    assert "execute_result" not in DynamoResult.__dict__ or "items_as_json" in DynamoResult.execute_result.__qualname__
    assert tuned == own


def test_listings_write_last_modified_as_moto_does(moto):
    import urllib.request

    import botocore.auth
    import botocore.credentials
    from botocore.awsrequest import AWSRequest
    from moto.core.serialize import TimestampSerializer

    s3 = client("s3", REGION, moto)
    s3.create_bucket(Bucket="tuned-listing", CreateBucketConfiguration={"LocationConstraint": REGION})
    for i in range(30):
        s3.put_object(Bucket="tuned-listing", Key=f"products/p{i:03d}.json", Body=b"{}")
        if i % 10 == 9:
            time.sleep(1.1)  # three distinct LastModified seconds

    def listing(query: str) -> bytes:
        req = AWSRequest(method="GET", url=f"{moto}/tuned-listing?{query}",
                         headers={"x-amz-content-sha256": "UNSIGNED-PAYLOAD"})
        botocore.auth.S3SigV4Auth(botocore.credentials.Credentials("sandbox", "sandbox"), "s3", REGION).add_auth(req)
        with urllib.request.urlopen(urllib.request.Request(req.url, headers=dict(req.headers)), timeout=10) as resp:
            return resp.read()

    queries = ["list-type=2&prefix=products/", "list-type=2&max-keys=7&start-after=products/p004.json", "max-keys=5"]
    tuned, own = _tuned_and_own(lambda: [listing(q) for q in queries])
    assert tuned == own
    assert tuned[0].count(b"<LastModified>") == 30
    assert "memo_timestamps" in TimestampSerializer._convert_timestamp_to_str.__qualname__


def test_items_become_the_plain_values_moto_makes(moto, typed_table, scan_tables):
    import datetime

    from moto.dynamodb.models import dynamodb_backends
    from moto.dynamodb.models.utilities import dynamo_to_dict

    from sandbox.moto_dynamodb import plain_items

    backend = dynamodb_backends["123456789012"][REGION]
    items = [item for name in ("typed", "scan-r", "scan-s") for item in backend.get_table(name).all_items()]
    answer = {"Items": [item.attrs for item in items], "Count": len(items), "LastEvaluatedKey": items[0].attrs,
              "When": datetime.datetime(2026, 1, 2, tzinfo=datetime.UTC), "Units": 1.5, "Item": items[0],
              "Nothing": None, "Tables": {"typed": [items[1].attrs]}}
    assert plain_items(dynamo_to_dict)(answer) == dynamo_to_dict(answer)
    assert any("b" in item.attrs for item in items)  # binary values went through moto's own conversion
