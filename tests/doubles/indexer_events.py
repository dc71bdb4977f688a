"""Lambda event shapes for the indexer tests (as AWS documents them for Lambda).

``from_stream_records`` and ``from_sqs_messages`` wrap what boto3 returns from
``dynamodbstreams.get_records`` and ``sqs.receive_message`` (moto in the integration
tests) into the records Lambda's event source mappings deliver; the small builders make
single records for the pure unit tests.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from catalog.convert import item_from_product, serialize_item
from catalog.model import Product

TTL_IDENTITY = {"type": "Service", "principalId": "dynamodb.amazonaws.com"}
STREAM_ARN = "arn:aws:dynamodb:us-east-1:123456789012:table/t/stream/2024-01-01T00:00:00.000"
QUEUE_ARN = "arn:aws:sqs:us-east-1:123456789012:q"


class Context:
    """A Lambda context with the attributes Powertools reads and a real remaining-time clock."""

    def __init__(self, remaining_ms: float = 60_000, function_name: str = "storefront-indexer-us-east-1") -> None:
        import time

        self._deadline = time.monotonic() + remaining_ms / 1000.0
        self.function_name = function_name
        self.memory_limit_in_mb = 1024
        self.invoked_function_arn = f"arn:aws:lambda:us-east-1:123456789012:function:{function_name}"
        self.aws_request_id = "req-1"

    def get_remaining_time_in_millis(self) -> int:
        import time

        return max(0, int((self._deadline - time.monotonic()) * 1000))


# ---------------------------------------------------------------- DynamoDB Streams
def stream_record(event_name: str, *, new: Mapping[str, Any] | None = None, old: Mapping[str, Any] | None = None,
                  seq: int = 100, ttl: bool = False, product_id: str | None = None) -> dict[str, Any]:
    """One Lambda DynamoDB Streams record from plain items (typed on the way)."""
    pid = product_id or (new or old or {}).get("id", "x")
    ddb: dict[str, Any] = {
        "ApproximateCreationDateTime": 1_700_000_000,
        "Keys": {"id": {"S": pid}},
        "SequenceNumber": str(seq),
        "SizeBytes": 100,
        "StreamViewType": "NEW_AND_OLD_IMAGES",
    }
    if new is not None:
        ddb["NewImage"] = serialize_item(new)
    if old is not None:
        ddb["OldImage"] = serialize_item(old)
    record = {"eventID": f"e{seq}", "eventName": event_name, "eventVersion": "1.1", "eventSource": "aws:dynamodb",
              "awsRegion": "us-east-1", "dynamodb": ddb, "eventSourceARN": STREAM_ARN}
    if ttl:
        record["userIdentity"] = dict(TTL_IDENTITY)
    return record


def upsert_record(product: Product, seq: int, *, event_name: str = "MODIFY") -> dict[str, Any]:
    return stream_record(event_name, new=item_from_product(product), seq=seq)


def remove_record(product: Product, seq: int, *, ttl: bool = False) -> dict[str, Any]:
    return stream_record("REMOVE", old=item_from_product(product), seq=seq, ttl=ttl)


def _epoch(value: Any) -> float:
    return value.timestamp() if isinstance(value, datetime) else float(value)


def from_stream_records(records: Iterable[Mapping[str, Any]], stream_arn: str = STREAM_ARN) -> dict[str, Any]:
    """``GetRecords`` records -> a Lambda DynamoDB Streams event."""
    out = []
    for r in records:
        rec = {k: v for k, v in r.items()}
        ddb = dict(rec["dynamodb"])
        if "ApproximateCreationDateTime" in ddb:
            ddb["ApproximateCreationDateTime"] = _epoch(ddb["ApproximateCreationDateTime"])
        rec["dynamodb"] = ddb
        rec["eventSource"] = "aws:dynamodb"
        rec["eventSourceARN"] = stream_arn
        out.append(rec)
    return {"Records": out}


# ---------------------------------------------------------------- S3 notifications via SQS
def s3_note(bucket: str, key: str, *, event_name: str = "ObjectCreated:Put",
            event_time: str = "2024-01-01T00:00:00.000Z") -> dict[str, Any]:
    """An S3 event notification body with one record (``key`` as given: encode it yourself),
    as S3 sends it for a versioned bucket (``aws_samples``: ``sqs_s3_notification.json``)."""
    obj: dict[str, Any] = {"key": key}
    if event_name.startswith("ObjectCreated"):
        obj.update(size=10, eTag="9b2cf535f27731c974343645a3985328")
    obj.update(versionId="S7MhSm8Ct1.9yFLD9fxJgGbJCFDhNzS5", sequencer="0055AED6DCD90281E5")
    return {"Records": [{
        "eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-east-1", "eventTime": event_time,
        "eventName": event_name, "userIdentity": {"principalId": "AWS:AIDAJDPLRKLG7UEXAMPLE"},
        "requestParameters": {"sourceIPAddress": "203.0.113.24"},
        "responseElements": {"x-amz-request-id": "C3D13FE58DE4C810", "x-amz-id-2": "FMyUVURIY8/IgAtTv8xRjskZQ"},
        "s3": {"s3SchemaVersion": "1.0", "configurationId": "storefront-content-products",
               "bucket": {"name": bucket, "ownerIdentity": {"principalId": "A3NL1KOZZKExample"},
                          "arn": f"arn:aws:s3:::{bucket}"},
               "object": obj},
    }]}


def sqs_record(body: Any, message_id: str = "m1") -> dict[str, Any]:
    text = body if isinstance(body, str) else json.dumps(body)
    return {"messageId": message_id, "receiptHandle": f"rh-{message_id}", "body": text,
            "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "1700000000000",
                           "SenderId": "AROA4KJY2TU23EXAMPLE:S3-PROD-END",
                           "ApproximateFirstReceiveTimestamp": "1700000000007"},
            "messageAttributes": {}, "md5OfBody": "", "eventSource": "aws:sqs", "eventSourceARN": QUEUE_ARN,
            "awsRegion": "us-east-1"}


def from_sqs_messages(messages: Iterable[Mapping[str, Any]], queue_arn: str = QUEUE_ARN) -> dict[str, Any]:
    """``ReceiveMessage`` messages -> a Lambda SQS event."""
    out = []
    for m in messages:
        out.append({"messageId": m["MessageId"], "receiptHandle": m["ReceiptHandle"], "body": m["Body"],
                    "attributes": dict(m.get("Attributes", {})), "messageAttributes": {},
                    "md5OfBody": m.get("MD5OfBody", ""), "eventSource": "aws:sqs",
                    "eventSourceARN": queue_arn, "awsRegion": "us-east-1"})
    return {"Records": out}
