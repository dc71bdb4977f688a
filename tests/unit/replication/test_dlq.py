"""DLQ message parsing and the stream read that decides between re-reading ids and a full audit."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

from replication.dlq import CONTENT, POISON, STREAM, UNKNOWN, StreamPointer, classify, read_pointer

# The example invocation record of the AWS Lambda Developer Guide ("Using AWS Lambda with
# Amazon DynamoDB", on-failure destinations), verbatim.
AWS_EXAMPLE = """{
    "requestContext": {
        "requestId": "316aa6d0-8154-xmpl-9af7-85d5f4a6bc81",
        "functionArn": "arn:aws:lambda:us-east-2:123456789012:function:myfunction",
        "condition": "RetryAttemptsExhausted",
        "approximateInvokeCount": 1
    },
    "responseContext": {
        "statusCode": 200,
        "executedVersion": "$LATEST",
        "functionError": "Unhandled"
    },
    "version": "1.0",
    "timestamp": "2019-11-14T00:13:49.717Z",
    "DDBStreamBatchInfo": {
        "shardId": "shardId-00000001573689847184-864758bb",
        "startSequenceNumber": "800000000003126276362",
        "endSequenceNumber": "800000000003126276362",
        "approximateArrivalOfFirstRecord": "2019-11-14T00:13:19Z",
        "approximateArrivalOfLastRecord": "2019-11-14T00:13:19Z",
        "batchSize": 1,
        "streamArn": "arn:aws:dynamodb:us-east-2:123456789012:table/mytable/stream/2019-11-14T00:04:06.388"
    }
}"""


def test_aws_example_parses_and_round_trips():
    kind, _, pointer, problem = classify(AWS_EXAMPLE)
    assert (kind, problem) == (STREAM, None)
    assert pointer.shard_id == "shardId-00000001573689847184-864758bb"
    assert pointer.start_sequence == pointer.end_sequence == "800000000003126276362"
    assert (pointer.batch_size, pointer.condition, pointer.invoke_count) == (1, "RetryAttemptsExhausted", 1)
    assert pointer.stream_arn.endswith("table/mytable/stream/2019-11-14T00:04:06.388")
    assert pointer.to_message() == json.loads(AWS_EXAMPLE)  # what the sandbox sends is Lambda's shape


def test_partial_batch_failure_has_no_function_error():
    data = json.loads(AWS_EXAMPLE)
    del data["responseContext"]["functionError"]
    pointer = StreamPointer.from_message(data)
    assert pointer.function_error is None and pointer.to_message() == data


@pytest.mark.parametrize(("body", "kind", "problem"), [
    (json.dumps({"source": "dynamodb", "reason": "r", "field": None, "product_id": "p1", "region": "x",
                 "record": {}, "at": "t"}), POISON, None),
    (json.dumps({"Records": [{"eventSource": "aws:s3", "s3": {"object": {"key": "products/p1.json"}}}]}),
     CONTENT, None),
    (json.dumps({"Event": "s3:TestEvent"}), CONTENT, None),
    ("not json", UNKNOWN, "not JSON"),
    ("[1]", UNKNOWN, "not a JSON object"),
    (json.dumps({"DDBStreamBatchInfo": {"shardId": "s"}}), UNKNOWN, "lacks startSequenceNumber"),
    (json.dumps({"Records": [{"eventSource": "aws:dynamodb"}]}), UNKNOWN, "neither"),
])
def test_classify(body, kind, problem):
    got_kind, _, _, got_problem = classify(body)
    assert got_kind == kind
    assert (got_problem is None) if problem is None else (problem in got_problem)


def _record(seq, pid, version=None):
    ddb = {"SequenceNumber": str(seq), "Keys": {"id": {"S": pid}}}
    if version is not None:
        ddb["NewImage"] = {"id": {"S": pid}, "version": {"N": str(version)}}
    return {"dynamodb": ddb}


class FakeStreams:
    def __init__(self, pages, error=None):
        self.pages = list(pages)
        self.error = error
        self.calls = 0

    def get_shard_iterator(self, **kw):
        assert kw["ShardIteratorType"] == "AT_SEQUENCE_NUMBER" and kw["SequenceNumber"] == "10"
        if self.error:
            raise ClientError({"Error": {"Code": self.error, "Message": "m"}}, "GetShardIterator")
        return {"ShardIterator": "it-0"}

    def get_records(self, ShardIterator, Limit):
        self.calls += 1
        i = int(ShardIterator.split("-")[1])
        page = self.pages[i] if i < len(self.pages) else []
        return {"Records": page, "NextShardIterator": f"it-{i + 1}"}


def _pointer(start="10", end="30"):
    return StreamPointer("s", start, end, "arn", 3, "", "", "RetryAttemptsExhausted", 3, "f", "")


def test_read_pointer_stops_at_the_last_sequence_number_and_keeps_versions():
    streams = FakeStreams([[_record(10, "a", 5)], [], [_record(20, "b"), _record(30, "a", 7), _record(40, "c")]])
    found, why = read_pointer(streams, _pointer())
    assert why is None and found == {"a": [5, 7], "b": []}


def test_read_pointer_gives_up_on_an_endless_empty_shard():
    found, why = read_pointer(FakeStreams([[_record(10, "a")]]), _pointer(), max_empty_pages=3)
    assert found is None and "did not come back" in why


@pytest.mark.parametrize("code", ["TrimmedDataAccessException", "ResourceNotFoundException"])
def test_records_gone_means_fallback(code):
    found, why = read_pointer(FakeStreams([], error=code), _pointer())
    assert found is None and why.startswith(code)


def test_other_errors_are_not_mistaken_for_expiry():
    with pytest.raises(ClientError):
        read_pointer(FakeStreams([], error="AccessDeniedException"), _pointer())
