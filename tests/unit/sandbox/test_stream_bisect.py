"""The stream event source's BisectBatchOnFunctionError, MaximumRetryAttempts and
MaximumRecordAgeInSeconds, driven one poll at a time against an in-memory shard with an
injected clock (no threads, no wall-clock windows)."""

from __future__ import annotations

from typing import Any

import pytest

from sandbox.lambda_runtime import QueueEventSource, StreamEventSource

NOW = 1_000_000.0


class Shard:
    """One shard of stream records with a cursor the poller can rewind."""

    stream_arn = "arn:aws:dynamodb:eu-west-1:123456789012:table/t/stream/1"

    def __init__(self, n: int, created: float = NOW) -> None:
        self.records = [{"eventName": "INSERT", "dynamodb": {
            "SequenceNumber": str(100 + i), "Keys": {"id": {"S": f"p{i}"}},
            "ApproximateCreationDateTime": created}} for i in range(n)]
        self.cursor = 0

    def read(self, limit: int = 1000) -> list[tuple[str, dict[str, Any]]]:
        out = self.records[self.cursor:self.cursor + limit]
        self.cursor += len(out)
        return [("shard-0", r) for r in out]

    def rewind(self, shard: str, sequence_number: str) -> None:
        self.cursor = next(i for i, r in enumerate(self.records) if r["dynamodb"]["SequenceNumber"] == sequence_number)


def _ids(event: dict[str, Any]) -> list[str]:
    return [r["dynamodb"]["Keys"]["id"]["S"] for r in event["Records"]]


def _source(shard: Shard, poison: set[str], **kwargs: Any) -> tuple[StreamEventSource, list[list[str]], list[str]]:
    batches: list[list[str]] = []
    sent: list[str] = []

    def handler(event: dict[str, Any]) -> Any:
        ids = _ids(event)
        batches.append(ids)
        if poison & set(ids):
            raise RuntimeError("poison record")
        return {"batchItemFailures": []}

    source = StreamEventSource(handler, shard, "eu-west-1", "fn", batch_size=8, clock=lambda: NOW,
                               backoff=lambda attempt: 0.0, on_failure=sent.append, **kwargs)
    return source, batches, sent


def _drain(source: StreamEventSource, polls: int = 100) -> None:
    for _ in range(polls):
        if not source.poll_once():
            return
    raise AssertionError("the poller did not drain the shard")


def test_bisect_isolates_the_failing_record_and_delivers_the_rest_in_order():
    shard = Shard(8)
    source, batches, sent = _source(shard, {"p5"}, bisect_on_error=True, max_retries=1)
    _drain(source)
    assert batches[0] == [f"p{i}" for i in range(8)]
    # halves in order: [p0..p3] succeeds, [p4..p7] fails and is split, [p4 p5] fails, [p4] ok, [p5] fails
    assert batches[1:5] == [["p0", "p1", "p2", "p3"], ["p4", "p5", "p6", "p7"], ["p4", "p5"], ["p4"]]
    assert batches[5:7] == [["p5"], ["p5"]]  # one record: its attempt and max_retries=1 retry
    assert batches[7] == ["p6", "p7"]  # the other half of the half, on its own
    assert source.splits == 3 and len(sent) == 1 and '"RetryAttemptsExhausted"' in sent[0]
    assert '"startSequenceNumber": "105"' in sent[0] and '"endSequenceNumber": "105"' in sent[0]
    assert source.records_delivered == 7


def test_without_bisect_the_whole_batch_is_retried_and_given_up_together():
    shard = Shard(8)
    source, batches, sent = _source(shard, {"p5"}, max_retries=2)
    _drain(source)
    assert batches == [[f"p{i}" for i in range(8)]] * 3 and source.splits == 0
    assert len(sent) == 1 and '"batchSize": 8' in sent[0]


def test_a_record_older_than_the_maximum_age_is_given_up_without_splitting():
    shard = Shard(4, created=NOW - 120)
    source, batches, sent = _source(shard, {"p1"}, bisect_on_error=True, max_record_age=60)
    _drain(source)
    assert batches == [["p0", "p1", "p2", "p3"]] and source.splits == 0
    assert len(sent) == 1 and '"RecordAgeExceeded"' in sent[0]


def test_partial_failures_retry_from_the_checkpoint_even_with_bisect():
    shard = Shard(4)
    seen: list[list[str]] = []
    failed = {"p2"}

    def handler(event: dict[str, Any]) -> Any:
        ids = _ids(event)
        seen.append(ids)
        bad = [r["dynamodb"]["SequenceNumber"] for r in event["Records"] if r["dynamodb"]["Keys"]["id"]["S"] in failed]
        failed.clear()
        return {"batchItemFailures": [{"itemIdentifier": s} for s in bad]}

    source = StreamEventSource(handler, shard, "eu-west-1", "fn", batch_size=8, clock=lambda: NOW,
                               backoff=lambda attempt: 0.0, bisect_on_error=True)
    _drain(source)
    assert seen == [["p0", "p1", "p2", "p3"], ["p2", "p3"]] and source.splits == 0


def test_queue_source_rejects_a_maximum_concurrency_sqs_would_reject():
    with pytest.raises(ValueError, match="MaximumConcurrency"):
        QueueEventSource(lambda e: None, None, "url", "arn", "eu-west-1", "fn", max_concurrency=1)
