"""The sandbox's SQS event source gathers a batch as Lambda's poller does: until it is full,
the batching window after its first message has elapsed, or 6 MB, whichever comes first."""

from __future__ import annotations

import json

from sandbox.lambda_runtime import MAX_PAYLOAD_BYTES, QueueEventSource


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class FakeSqs:
    """Hands out ``per_receive`` messages a call (of ``body_bytes`` each); every call takes ``step`` seconds."""

    def __init__(self, clock: Clock, total: int, per_receive: int = 10, step: float = 0.1,
                 body_bytes: int = 100) -> None:
        self.clock, self.left, self.per_receive, self.step = clock, total, per_receive, step
        self.body = "x" * body_bytes
        self.sent = 0
        self.receives: list[int] = []
        self.deleted: list[str] = []

    def receive_message(self, *, QueueUrl, MaxNumberOfMessages, **_):
        assert 1 <= MaxNumberOfMessages <= 10
        self.receives.append(MaxNumberOfMessages)
        self.clock.now += self.step
        n = min(self.left, self.per_receive, MaxNumberOfMessages)
        self.left -= n
        out = [{"MessageId": f"m{self.sent + i}", "ReceiptHandle": f"r{self.sent + i}", "Body": self.body}
               for i in range(n)]
        self.sent += n
        return {"Messages": out} if out else {}

    def delete_message_batch(self, *, QueueUrl, Entries):
        assert len(Entries) <= 10
        self.deleted.extend(e["ReceiptHandle"] for e in Entries)


def _source(sqs, clock, batches, **kw):
    def invoke(event):
        batches.append([r["messageId"] for r in event["Records"]])
        assert len(json.dumps(event)) <= MAX_PAYLOAD_BYTES
        return {"batchItemFailures": []}

    return QueueEventSource(invoke, sqs, "url", "arn:aws:sqs:us-east-1:123456789012:q", "us-east-1", "fn",
                            clock=clock, **kw)


def test_a_full_batch_is_invoked_at_once_in_receives_of_ten():
    clock = Clock()
    sqs, batches = FakeSqs(clock, total=250), []
    source = _source(sqs, clock, batches, batch_size=100, batching_window=5.0)
    assert source.poll_once() and source.poll_once() and source.poll_once()
    assert [len(b) for b in batches] == [100, 100, 50]
    assert sqs.receives[:10] == [10] * 10
    assert len(sqs.deleted) == 250 and source.messages_done == 250


def test_the_window_ends_a_batch_while_messages_keep_arriving():
    # one message every 0.1 s: a 1 s window takes about ten of them, not the batch size
    clock = Clock()
    sqs, batches = FakeSqs(clock, total=1000, per_receive=1, step=0.1), []
    source = _source(sqs, clock, batches, batch_size=500, batching_window=1.0)
    assert source.poll_once()
    assert 9 <= len(batches[0]) <= 12


def test_without_a_window_one_receive_is_a_batch():
    clock = Clock()
    sqs, batches = FakeSqs(clock, total=30, per_receive=3), []
    source = _source(sqs, clock, batches, batch_size=10, batching_window=0.0)
    assert source.poll_once()
    assert batches == [["m0", "m1", "m2"]]


def test_six_megabytes_end_a_batch_and_the_rest_opens_the_next():
    clock = Clock()
    sqs, batches = FakeSqs(clock, total=10, body_bytes=1_100_000), []
    source = _source(sqs, clock, batches, batch_size=100, batching_window=1.0)
    assert source.poll_once() and source.poll_once()
    assert [len(b) for b in batches] == [5, 5]  # six 1.1 MB messages do not fit in 6 MiB of event
    assert [m for b in batches for m in b] == [f"m{i}" for i in range(10)]  # none lost or repeated, in order
    assert sqs.receives[0] == 10 and len(sqs.deleted) == 10
