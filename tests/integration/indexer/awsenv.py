"""Helpers for the indexer integration tests: moto resources, stream/queue polling, handler loading.

No event source mapping is created (moto would drain the stream into a Lambda it cannot
run): the tests poll Streams and SQS themselves and call ``lambda_handler`` with events
of the shape Lambda delivers (:mod:`tests.doubles.indexer_events`).
"""

from __future__ import annotations

import importlib
import json
import sys
from dataclasses import dataclass, field
from typing import Any

from catalog.config import parse_config
from catalog.convert import deserialize_image, item_from_product, product_from_item
from catalog.model import Product
from tests.doubles.indexer_events import Context, from_sqs_messages, from_stream_records

REGION = "us-east-1"  # moto's stream records always say us-east-1
CONFIG = parse_config({"name_prefix": "itest", "regions": [REGION, "eu-west-1"]})


@dataclass
class Aws:
    ddb: Any
    streams: Any
    s3: Any
    sqs: Any
    table: str
    stream_arn: str
    bucket: str
    queue_url: str
    dlq_url: str
    _iterators: dict[str, str] = field(default_factory=dict)

    # ---- writers
    def put(self, product: Product | dict[str, Any]) -> None:
        item = item_from_product(product) if isinstance(product, Product) else product
        from boto3.dynamodb.types import TypeSerializer

        ser = TypeSerializer()
        self.ddb.put_item(TableName=self.table, Item={k: ser.serialize(v) for k, v in item.items()})

    def delete(self, product_id: str) -> None:
        self.ddb.delete_item(TableName=self.table, Key={"id": {"S": product_id}})

    def write_batch(self, writes: list[tuple[str, Any]]) -> None:
        """``("put", Product | item)`` / ``("delete", id)`` in order, with ``BatchWriteItem``.

        A request never holds the same key twice, so each key's writes keep their order.
        """
        from boto3.dynamodb.types import TypeSerializer

        ser = TypeSerializer()
        pending: list[dict[str, Any]] = []
        keys: set[str] = set()

        def flush() -> None:
            while pending:
                page = self.ddb.batch_write_item(RequestItems={self.table: list(pending)})
                pending[:] = page.get("UnprocessedItems", {}).get(self.table, [])
            keys.clear()

        for kind, what in writes:
            if kind == "put":
                item = item_from_product(what) if isinstance(what, Product) else what
                key, request = item["id"], {"PutRequest": {"Item": {k: ser.serialize(v) for k, v in item.items()}}}
            else:
                key, request = what, {"DeleteRequest": {"Key": {"id": {"S": what}}}}
            if key in keys or len(pending) == 25:
                flush()
            pending.append(request)
            keys.add(key)
        flush()

    def put_content(self, key: str, body: bytes) -> None:
        self.s3.put_object(Bucket=self.bucket, Key=key, Body=body)

    # ---- readers
    def stream_records(self) -> list[dict[str, Any]]:
        """New stream records since the last call, in sequence order (all shards)."""
        out: list[dict[str, Any]] = []
        shards = self.streams.describe_stream(StreamArn=self.stream_arn)["StreamDescription"]["Shards"]
        for shard in shards:
            sid = shard["ShardId"]
            it = self._iterators.get(sid) or self.streams.get_shard_iterator(
                StreamArn=self.stream_arn, ShardId=sid, ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
            while True:
                page = self.streams.get_records(ShardIterator=it, Limit=1000)
                out.extend(page["Records"])
                it = page["NextShardIterator"]
                if not page["Records"]:
                    break
            self._iterators[sid] = it
        return out

    def stream_records_from_backend(self) -> list[dict[str, Any]]:
        """Like :meth:`stream_records`, but pages through moto's Streams backend directly.

        The records are what ``GetRecords`` returns before moto serialises them; its
        response serialiser costs ~5 ms per product record here, which the chaos test's
        5,000 records cannot afford. The iterator still comes from the real API.
        """
        from moto.core import DEFAULT_ACCOUNT_ID
        from moto.dynamodbstreams.models import dynamodbstreams_backends

        backend = dynamodbstreams_backends[DEFAULT_ACCOUNT_ID][self.ddb.meta.region_name]
        out: list[dict[str, Any]] = []
        for shard in self.streams.describe_stream(StreamArn=self.stream_arn)["StreamDescription"]["Shards"]:
            it = self.streams.get_shard_iterator(StreamArn=self.stream_arn, ShardId=shard["ShardId"],
                                                 ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
            while True:
                page = backend.get_records(it, 1000)
                out.extend(page["Records"])
                it = page["NextShardIterator"]
                if not page["Records"]:
                    break
        return out

    def stream_event(self) -> dict[str, Any]:
        return from_stream_records(self.stream_records(), self.stream_arn)

    def sqs_event(self, max_messages: int = 10) -> dict[str, Any]:
        """Up to ``max_messages`` S3 notifications from the content queue (deleted as received)."""
        got: list[dict[str, Any]] = []
        while len(got) < max_messages:
            want = min(10, max_messages - len(got))
            page = self.sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=want,
                                            AttributeNames=["All"]).get("Messages", [])
            if not page:
                break
            for m in page:
                self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=m["ReceiptHandle"])
            got.extend(page)
        return from_sqs_messages(got)

    def dead_letters(self) -> list[dict[str, Any]]:
        out = []
        while True:
            page = self.sqs.receive_message(QueueUrl=self.dlq_url, MaxNumberOfMessages=10).get("Messages", [])
            if not page:
                return out
            for m in page:
                out.append(json.loads(m["Body"]))
                self.sqs.delete_message(QueueUrl=self.dlq_url, ReceiptHandle=m["ReceiptHandle"])

    def table_products(self) -> dict[str, Product]:
        out = {}
        kwargs: dict[str, Any] = {"TableName": self.table}
        while True:
            page = self.ddb.scan(**kwargs)
            for item in page["Items"]:
                product = product_from_item(deserialize_image(item))
                out[product.id] = product
            if "LastEvaluatedKey" not in page:
                return out
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def load_handler() -> Any:
    """Import ``indexer.handler`` afresh, as a cold start in the current environment does."""
    sys.modules.pop("indexer.handler", None)
    return importlib.import_module("indexer.handler")



def invoke(module: Any, event: dict[str, Any], remaining_ms: float = 60_000) -> dict[str, Any]:
    return module.lambda_handler(event, Context(remaining_ms))
