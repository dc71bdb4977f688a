"""EMULATION of AWS Lambda event source mappings and the invoke context (moto runs no code).

moto would drain a stream into a Lambda it cannot run, so the sandbox never creates event
source mappings in moto; each region process runs these pollers instead, with the settings
of the synthesized template's mappings (:func:`sandbox.region.event_sources`), and calls
the real handler in-process with the event shape Lambda uses:

* **DynamoDB Streams** (:class:`StreamEventSource`): polls each shard (AWS polls about four
  times a second), builds batches of up to ``batch_size`` records (default 100) from one
  shard, waiting at most ``batching_window`` seconds to fill one (default 0), in sequence
  order. Records carry the stream's ``eventSourceARN`` and the region's ``awsRegion``
  (moto always says us-east-1) and ``ApproximateCreationDateTime`` in epoch seconds.
  With ``ReportBatchItemFailures``, a response ``{"batchItemFailures": [{"itemIdentifier":
  <SequenceNumber>}]}`` makes the poller retry from the failed record with the lowest
  sequence number (the records before it are done); an exception retries the whole
  batch. Retries use exponential backoff; the shard waits meanwhile, as on AWS. A batch
  that failed more than ``max_retries`` retries (``MaximumRetryAttempts``; -1: no limit), or
  whose first record is older than ``max_record_age`` seconds (``MaximumRecordAgeInSeconds``;
  -1: no limit), is given up: Lambda's on-failure record
  (:class:`replication.dlq.StreamPointer`: ``DDBStreamBatchInfo`` with the shard, the first
  and last sequence numbers of the records not done, ``RetryAttemptsExhausted`` or
  ``RecordAgeExceeded``) is handed to ``on_failure`` (the region's DLQ) and the shard moves
  on. If that send fails, the batch is retried instead. Without ``ReportBatchItemFailures``
  the response is ignored, as on AWS. With ``bisect_on_error`` (``BisectBatchOnFunctionError``),
  a batch the function fails with an error (it raises; a partial ``batchItemFailures``
  response retries from its checkpoint instead, as on AWS) is split in two and the halves
  are retried one after the other, in order (a half that fails is split again, down to one
  record); a split is not a retry attempt: the count starts again for the halves, and only a
  batch of one record, or one that cannot be split, counts towards ``max_retries``.
  ``ParallelizationFactor`` (the template's 2) is not emulated: the sandbox holds one warm
  instance per function, so it invokes one batch at a time per shard, in sequence order.
  After each batch the ``AWS/Lambda IteratorAge`` metric (ms, FunctionName) is published.
* **SQS** (:class:`QueueEventSource`): receives up to ``batch_size`` messages (default 10;
  ``ReceiveMessage`` takes at most 10 a call), at most ``max_concurrency`` batches in flight
  (``ScalingConfig.MaximumConcurrency``; the sandbox's one instance per function makes it
  one, which every setting allows), and invokes when the batch is full, ``batching_window``
  seconds after its first message arrived (``MaximumBatchingWindowInSeconds``; 0: with what
  one more receive finds), or when another message would take the event over Lambda's 6 MB
  invocation payload (that message opens the next batch), whichever comes first, as
  Lambda's poller does; deletes the messages that succeeded; failed ones
  (listed by ``messageId`` in ``batchItemFailures``, or all on an exception) are left to
  reappear after the queue's visibility timeout and go to its dead-letter queue after
  ``maxReceiveCount`` receives.
* **Context** (:class:`LambdaContext`): function name, ARN, memory, request id, and
  ``get_remaining_time_in_millis()`` counting down from the configured timeout.

One :class:`Invoker` per function serializes its invocations: the process holds one warm
instance of each function (reserved concurrency 1), since module-level state of a
handler (its resolver, its batch processor) is per instance on AWS too.
"""

from __future__ import annotations

import copy
import json
import logging
import threading
import time
import traceback
import uuid
from collections.abc import Callable
from typing import Any

from sandbox.metrics import MetricsPublisher
from sandbox.streams import StreamReader, approximate_creation_seconds

log = logging.getLogger(__name__)
Handler = Callable[[dict[str, Any], Any], Any]


class LambdaContext:
    """The context object Lambda passes to a Python handler."""

    def __init__(self, function_name: str, region: str, account: str, memory_mb: int = 1024,
                 timeout_seconds: float = 60.0) -> None:
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.invoked_function_arn = f"arn:aws:lambda:{region}:{account}:function:{function_name}"
        self.memory_limit_in_mb = memory_mb
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = f"sandbox/[$LATEST]{uuid.uuid4().hex}"
        self.identity = None
        self.client_context = None
        self._deadline = time.monotonic() + timeout_seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


class Invoker:
    """Calls one function's handler with a fresh context, one invocation at a time."""

    def __init__(self, handler: Handler, function_name: str, region: str, account: str,
                 timeout_seconds: float = 60.0, memory_mb: int = 1024) -> None:
        self.handler = handler
        self.function_name = function_name
        self.region = region
        self.account = account
        self.timeout_seconds = timeout_seconds
        self.memory_mb = memory_mb
        self._lock = threading.Lock()
        self.invocations = 0
        self.errors = 0

    @property
    def function_arn(self) -> str:
        return f"arn:aws:lambda:{self.region}:{self.account}:function:{self.function_name}"

    def __call__(self, event: dict[str, Any]) -> Any:
        context = LambdaContext(self.function_name, self.region, self.account, self.memory_mb,
                                self.timeout_seconds)
        with self._lock:
            self.invocations += 1
            try:
                return self.handler(event, context)
            except Exception:
                self.errors += 1
                raise


def _backoff(attempt: int, base: float = 0.2, cap: float = 5.0) -> float:
    return min(cap, base * 2.0 ** min(attempt, 10))


class _Poller(threading.Thread):
    def __init__(self, name: str, idle_seconds: float) -> None:
        super().__init__(name=name, daemon=True)
        self.idle_seconds = idle_seconds
        self._stop_event = threading.Event()
        self.batches = 0
        self.failures = 0

    def stop(self) -> None:
        self._stop_event.set()

    def run(self) -> None:
        while not self._stop_event.is_set():
            try:
                busy = self.poll_once()
            except Exception:
                log.warning("%s: poll failed:\n%s", self.name, traceback.format_exc())
                busy = False
            if not busy:
                self._stop_event.wait(self.idle_seconds)

    def poll_once(self) -> bool:  # pragma: no cover - abstract
        raise NotImplementedError


def lambda_stream_record(record: dict[str, Any], region: str, stream_arn: str) -> dict[str, Any]:
    """A Streams API record -> the record shape of a Lambda DynamoDB event."""
    out = copy.deepcopy(record)
    out["awsRegion"] = region
    out["eventSourceARN"] = stream_arn
    created = approximate_creation_seconds(record)
    if created is not None:
        out["dynamodb"]["ApproximateCreationDateTime"] = int(created)
    return out


class StreamEventSource(_Poller):
    def __init__(self, invoke: Callable[[dict[str, Any]], Any], reader: StreamReader, region: str,
                 function_name: str, batch_size: int = 100, batching_window: float = 0.0,
                 idle_seconds: float = 0.25, metrics: MetricsPublisher | None = None, *,
                 max_retries: int = -1, max_record_age: float = -1, on_failure: Callable[[str], Any] | None = None,
                 function_arn: str = "", clock: Callable[[], float] = time.time,
                 backoff: Callable[[int], float] | None = None, report_batch_item_failures: bool = True,
                 bisect_on_error: bool = False) -> None:
        super().__init__(f"esm-stream-{region}", idle_seconds)
        self.bisect_on_error = bisect_on_error
        # shard -> the sizes of its next batches while a failed batch is being bisected
        self._sizes: dict[str, list[int]] = {}
        self.splits = 0
        self.report_batch_item_failures = report_batch_item_failures
        self.max_retries = max_retries
        self.max_record_age = max_record_age
        self.on_failure = on_failure
        self.function_arn = function_arn
        self.clock = clock
        self.backoff = backoff or _backoff
        self._raised = False
        self.discarded = 0  # batches given up and sent to on_failure
        self.invoke = invoke
        self.reader = reader
        self.region = region
        self.function_name = function_name
        self.batch_size = batch_size
        self.batching_window = batching_window
        self.metrics = metrics
        self._pending: list[tuple[str, dict[str, Any]]] = []
        self._first_seen: float | None = None
        self._attempt = 0
        self.records_delivered = 0

    def poll_once(self) -> bool:
        if len(self._pending) < self.batch_size:
            fresh = self.reader.read(self.batch_size)
            if fresh and not self._pending:
                self._first_seen = time.monotonic()
            self._pending.extend(fresh)
        if not self._pending:
            return False
        waited = time.monotonic() - (self._first_seen or 0.0)
        if len(self._pending) < self.batch_size and waited < self.batching_window:
            self._stop_event.wait(min(0.05, self.batching_window - waited))
            return True
        shard = self._pending[0][0]
        sizes = self._sizes.get(shard)
        batch = [r for s, r in self._pending if s == shard][: sizes[0] if sizes else self.batch_size]
        event = {"Records": [lambda_stream_record(r, self.region, self.reader.stream_arn) for r in batch]}
        failed_from = self._deliver(event, batch)
        self.batches += 1
        if failed_from is None:
            self._attempt = 0
            self._done(shard, batch)
            self.records_delivered += len(batch)
            self._iterator_age(batch[-1])
            if self._pending:
                self._first_seen = time.monotonic()
            return True
        self.failures += 1
        ok = batch[: failed_from]
        self.records_delivered += len(ok)
        # invocations that failed for the batch starting at the failed record (a new batch when
        # the records before it were done)
        self._attempt = 1 if failed_from > 0 else self._attempt + 1
        rest = batch[failed_from:]
        if sizes and failed_from > 0:
            sizes[0] = len(rest)  # the rest of this half is retried on its own
        if self._raised and self.bisect_on_error and len(rest) > 1 and not self._too_old(rest):
            half = len(rest) // 2
            self._sizes[shard] = [half, len(rest) - half] + (sizes[1:] if sizes else [])
            self._attempt = 0  # a split is not a retry attempt
            self.splits += 1
            self._rewind(shard, rest)
            return True
        condition = self._give_up(rest)
        if condition is not None and self._discard(shard, rest, condition):
            self._done(shard, batch)
            self._attempt = 0
            self._first_seen = time.monotonic()
            return True
        # retry from the failed record
        self._rewind(shard, rest)
        self._stop_event.wait(self.backoff(self._attempt - 1))
        return True

    def _done(self, shard: str, batch: list[dict[str, Any]]) -> None:
        """``batch`` of ``shard`` is finished (delivered or discarded): unbuffer it, and end the
        bisected half it was, if any."""
        sizes = self._sizes.get(shard)
        if sizes:
            sizes.pop(0)
            if not sizes:
                del self._sizes[shard]
        done = {id(r) for r in batch}
        self._pending = [(s, r) for s, r in self._pending if id(r) not in done]

    def _rewind(self, shard: str, rest: list[dict[str, Any]]) -> None:
        """Read ``shard`` again from ``rest``'s first record: what is buffered of it is dropped."""
        self.reader.rewind(shard, rest[0]["dynamodb"]["SequenceNumber"])
        self._pending = [(s, r) for s, r in self._pending if s != shard]

    def _too_old(self, rest: list[dict[str, Any]]) -> bool:
        """Whether ``rest``'s first record is past the mapping's maximum record age."""
        created = approximate_creation_seconds(rest[0])
        return self.max_record_age != -1 and created is not None and self.clock() - created > self.max_record_age

    def _give_up(self, rest: list[dict[str, Any]]) -> str | None:
        """Lambda's on-failure condition for the records not done, or None to retry them."""
        if self._too_old(rest):
            return "RecordAgeExceeded"
        if self.max_retries != -1 and self._attempt > self.max_retries:
            return "RetryAttemptsExhausted"
        return None

    def _discard(self, shard: str, rest: list[dict[str, Any]], condition: str) -> bool:
        """Send the on-failure record for ``rest``; whether it was sent (else the batch is retried)."""
        from replication.dlq import StreamPointer, iso_millis, iso_seconds

        if self.on_failure is None:
            log.warning("%s: %s for %d records of %s and no on-failure destination: dropped",
                        self.function_name, condition, len(rest), shard)
            self.discarded += 1
            return True
        first, last = (approximate_creation_seconds(r) or self.clock() for r in (rest[0], rest[-1]))
        pointer = StreamPointer(
            shard_id=shard, start_sequence=str(rest[0]["dynamodb"]["SequenceNumber"]),
            end_sequence=str(rest[-1]["dynamodb"]["SequenceNumber"]), stream_arn=self.reader.stream_arn,
            batch_size=len(rest), first_arrival=iso_seconds(first), last_arrival=iso_seconds(last),
            condition=condition, invoke_count=self._attempt, function_arn=self.function_arn,
            timestamp=iso_millis(self.clock()), function_error="Unhandled" if self._raised else None)
        try:
            self.on_failure(json.dumps(pointer.to_message()))
        except Exception:
            log.warning("%s: sending the on-failure record failed; retrying the batch:\n%s",
                        self.function_name, traceback.format_exc())
            return False
        log.warning("%s: %s: %d records of %s (%s..%s) sent to the on-failure destination", self.function_name,
                    condition, len(rest), shard, pointer.start_sequence, pointer.end_sequence)
        self.discarded += 1
        return True

    def _deliver(self, event: dict[str, Any], batch: list[dict[str, Any]]) -> int | None:
        """Invoke; the index of the first record to retry, or None when all succeeded."""
        self._raised = False
        try:
            response = self.invoke(event)
        except Exception:
            log.warning("%s: handler raised; retrying the batch:\n%s", self.function_name, traceback.format_exc())
            self._raised = True
            return 0
        if not self.report_batch_item_failures:
            return None  # Lambda reads no response without ReportBatchItemFailures
        failures = (response or {}).get("batchItemFailures") if isinstance(response, dict) else None
        if not failures:
            return None
        seqs = [str(r["dynamodb"]["SequenceNumber"]) for r in batch]
        positions = [seqs.index(str(f.get("itemIdentifier"))) for f in failures if str(f.get("itemIdentifier")) in seqs]
        if not positions:
            # an identifier Lambda cannot place: it treats the whole batch as failed
            return 0
        return min(positions)

    def _iterator_age(self, last: dict[str, Any]) -> None:
        created = approximate_creation_seconds(last)
        if self.metrics and created is not None:
            self.metrics.put(self.region, "AWS/Lambda", "IteratorAge", max(0.0, (time.time() - created) * 1000.0),
                             "Milliseconds", {"FunctionName": self.function_name})


# Lambda's synchronous invocation payload limit: an SQS batch stops short of it
MAX_PAYLOAD_BYTES = 6 * 1024 * 1024


class QueueEventSource(_Poller):
    def __init__(self, invoke: Callable[[dict[str, Any]], Any], sqs: Any, queue_url: str, queue_arn: str,
                 region: str, function_name: str, batch_size: int = 10, batching_window: float = 0.0,
                 idle_seconds: float = 0.5, *, report_batch_item_failures: bool = True,
                 max_concurrency: int | None = None, clock: Callable[[], float] = time.monotonic,
                 max_payload_bytes: int = MAX_PAYLOAD_BYTES) -> None:
        super().__init__(f"esm-sqs-{region}", idle_seconds)
        if max_concurrency is not None and max_concurrency < 2:
            raise ValueError(f"MaximumConcurrency must be between 2 and 1000, got {max_concurrency}")
        self.max_concurrency = max_concurrency  # one poller: one batch in flight, within any limit
        self.report_batch_item_failures = report_batch_item_failures
        self.invoke = invoke
        self.sqs = sqs
        self.queue_url = queue_url
        self.queue_arn = queue_arn
        self.region = region
        self.function_name = function_name
        self.batch_size = batch_size
        self.batching_window = batching_window
        self.clock = clock
        self.max_payload_bytes = max_payload_bytes
        self.messages_done = 0
        self._carried: list[dict[str, Any]] = []  # received, but beyond the last batch's payload limit

    def _receive(self, n: int) -> list[dict[str, Any]]:
        resp = self.sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=min(10, n),
                                        WaitTimeSeconds=0, AttributeNames=["All"], MessageAttributeNames=["All"])
        messages: list[dict[str, Any]] = resp.get("Messages", [])
        return messages

    def _gather(self) -> list[dict[str, Any]]:
        """One batch: full, the window after its first message elapsed, or the payload limit reached."""
        incoming = self._carried or self._receive(self.batch_size)
        self._carried = []
        if not incoming:
            return []
        started = self.clock()
        batch: list[dict[str, Any]] = []
        size = 2  # '{"Records": [...]}' framing, approximately
        while True:
            for n, m in enumerate(incoming):
                record_size = len(json.dumps(self._record(m))) + 2
                if batch and size + record_size > self.max_payload_bytes:
                    self._carried = incoming[n:]  # they open the next batch
                    return batch
                batch.append(m)
                size += record_size
            left = self.batch_size - len(batch)
            remaining = self.batching_window - (self.clock() - started)
            if left <= 0 or remaining <= 0 or self._stop_event.is_set():
                return batch
            incoming = self._receive(left)
            if not incoming:
                self._stop_event.wait(min(0.05, remaining))

    def poll_once(self) -> bool:
        messages = self._gather()
        if not messages:
            return False
        event = {"Records": [self._record(m) for m in messages]}
        self.batches += 1
        try:
            response = self.invoke(event)
        except Exception:
            log.warning("%s: handler raised; the batch returns after the visibility timeout:\n%s",
                        self.function_name, traceback.format_exc())
            self.failures += 1
            return True
        failed = set()
        if isinstance(response, dict) and self.report_batch_item_failures:
            failed = {str(f.get("itemIdentifier")) for f in response.get("batchItemFailures") or []}
        done = [m for m in messages if m["MessageId"] not in failed]
        if failed:
            self.failures += 1
        for i in range(0, len(done), 10):
            chunk = done[i:i + 10]
            self.sqs.delete_message_batch(QueueUrl=self.queue_url, Entries=[
                {"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]} for n, m in enumerate(chunk)])
        self.messages_done += len(done)
        return True

    def _record(self, m: dict[str, Any]) -> dict[str, Any]:
        return {
            "messageId": m["MessageId"],
            "receiptHandle": m["ReceiptHandle"],
            "body": m["Body"],
            "attributes": m.get("Attributes", {}),
            "messageAttributes": m.get("MessageAttributes", {}),
            "md5OfBody": m.get("MD5OfBody", ""),
            "eventSource": "aws:sqs",
            "eventSourceARN": self.queue_arn,
            "awsRegion": self.region,
        }
