"""Read a DynamoDB stream through the Streams API, as Lambda's poller and global tables do.

Keeps one shard iterator per shard, resumes after the last record it handed out, can be
rewound to a sequence number (for Lambda's "retry from the failed record"), and
re-acquires an iterator from the last known position if one expires.
"""

from __future__ import annotations

import copy
import logging
from datetime import UTC
from typing import Any

log = logging.getLogger(__name__)


def approximate_creation_seconds(record: dict[str, Any]) -> float | None:
    """``ApproximateCreationDateTime`` as epoch seconds (botocore parses it into a datetime)."""
    value = record.get("dynamodb", {}).get("ApproximateCreationDateTime")
    if value is None:
        return None
    if hasattr(value, "timestamp"):
        if value.tzinfo is None:  # moto's in-process records: naive UTC
            value = value.replace(tzinfo=UTC)
        return float(value.timestamp())
    return float(value)


class StreamReader:
    def __init__(self, streams: Any, stream_arn: str, start: str = "TRIM_HORIZON") -> None:
        self.streams = streams
        self.stream_arn = stream_arn
        self._start = start
        self._iterators: dict[str, str | None] = {}
        self._next_seq: dict[str, tuple[str, str]] = {}  # shard -> (iterator type, sequence number)

    def _shards(self) -> list[str]:
        desc = self.streams.describe_stream(StreamArn=self.stream_arn)["StreamDescription"]
        return [s["ShardId"] for s in desc.get("Shards", [])]

    def _iterator(self, shard: str) -> str:
        known = self._iterators.get(shard)
        if known:
            return known
        kwargs: dict[str, Any] = {"StreamArn": self.stream_arn, "ShardId": shard}
        if shard in self._next_seq:
            kind, seq = self._next_seq[shard]
            kwargs.update(ShardIteratorType=kind, SequenceNumber=seq)
        else:
            kwargs["ShardIteratorType"] = self._start
        it: str = self.streams.get_shard_iterator(**kwargs)["ShardIterator"]
        self._iterators[shard] = it
        return it

    def read(self, limit: int = 1000) -> list[tuple[str, dict[str, Any]]]:
        """``(shard id, record)`` for the next records (at most ``limit`` per shard), oldest first."""
        if not self._iterators:
            for shard in self._shards():
                self._iterators.setdefault(shard, None)
        out: list[tuple[str, dict[str, Any]]] = []
        for shard in list(self._iterators):
            try:
                resp = self.streams.get_records(ShardIterator=self._iterator(shard), Limit=limit)
            except Exception as exc:
                # an expired or unknown iterator: get a fresh one from the last position next time
                log.debug("get_records on %s failed (%s); re-acquiring the iterator", shard, exc)
                self._iterators[shard] = None
                continue
            self._iterators[shard] = resp.get("NextShardIterator")
            records = resp.get("Records", [])
            if records:
                self._next_seq[shard] = ("AFTER_SEQUENCE_NUMBER", records[-1]["dynamodb"]["SequenceNumber"])
            out.extend((shard, r) for r in records)
        return out

    def rewind(self, shard: str, sequence_number: str) -> None:
        """Deliver again from ``sequence_number`` (inclusive) on ``shard``."""
        self._next_seq[shard] = ("AT_SEQUENCE_NUMBER", sequence_number)
        self._iterators[shard] = None


class InProcessStreamReader:
    """Reads a table's stream straight from moto's backend, in the process hosting moto.

    Same records as the Streams API, without serializing each one over HTTP (moto's
    response serializer dominates the cost of ``GetRecords``). Used by the emulators that
    live in the supervisor; the region processes use :class:`StreamReader`.
    """

    def __init__(self, account: str, region: str, table_name: str) -> None:
        from moto.dynamodb.models import dynamodb_backends

        shard = dynamodb_backends[account][region].get_table(table_name).stream_shard
        if shard is None:
            raise ValueError(f"table {table_name} in {region} has no stream (StreamSpecification not enabled)")
        self._shard = shard
        self.stream_arn = f"in-process:{region}:{table_name}"
        self._position = 0

    def read(self, limit: int = 1000) -> list[tuple[str, dict[str, Any]]]:
        items = self._shard.items[self._position : self._position + limit]
        self._position += len(items)
        return [(self._shard.id, copy.deepcopy(r.to_json())) for r in items]
