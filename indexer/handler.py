"""Indexer Lambda entry point: ``indexer.handler.lambda_handler``.

One function for both event sources (DynamoDB Streams of the region's replica, and SQS
batches of S3 notifications for the region's bucket). The work is in
:func:`indexer.batch.process_batch`; this module only wires settings, the engine, the
AWS clients and Powertools (logs, EMF metrics, traces) around it.

Init (cold start) validates the environment (:class:`~indexer.settings.SettingsError`
or :class:`~catalog.engine.EngineConfigError`, each naming the variable) and builds the
engine chosen by ``SEARCH_ENGINE`` (the adapter module is imported only then). The S3
and SQS clients are created on first use: a stream batch without poison never pays for
them. The X-Ray tracer is created only when tracing is on (``POWERTOOLS_TRACE_DISABLED``
unset or false): constructing Powertools' ``Tracer`` imports the X-Ray SDK even when
disabled, which costs more than the rest of this module's import.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

from catalog.engine import SearchEngine, engine_from_env
from indexer.batch import BatchLimits, BatchOutcome, process_batch
from indexer.records import Status
from indexer.settings import Settings

LOG_RECORD_LIMIT = 25  # per batch: failed/poison records logged one by one, then summarised


class Runtime:
    """Everything one container keeps between invocations."""

    def __init__(self, settings: Settings, engine: SearchEngine, *, s3_client: Any = None,
                 sqs_client: Any = None) -> None:
        self.settings = settings
        self.engine = engine
        self._s3 = s3_client
        self._sqs = sqs_client
        self._lock = threading.Lock()  # S3 reads run in threads; boto3's default session is not thread-safe

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Runtime:
        settings = Settings.from_env(env)
        return cls(settings, engine_from_env(env))

    def _client(self, service: str) -> Any:
        import boto3
        from botocore.config import Config

        config = Config(retries={"mode": "standard", "max_attempts": 3}, connect_timeout=2, read_timeout=5)
        return boto3.client(service, region_name=self.settings.region, config=config)

    def read_object(self, key: str) -> bytes | None:
        from indexer.content import S3Reader

        if self._s3 is None:
            with self._lock:
                if self._s3 is None:
                    self._s3 = self._client("s3")
        return S3Reader(self._s3, self.settings.content_bucket)(key)

    def send_dead_letters(self, bodies: Sequence[str]) -> list[str | None]:
        from indexer.dlq import DeadLetterQueue

        if self._sqs is None:
            with self._lock:
                if self._sqs is None:
                    self._sqs = self._client("sqs")
        return DeadLetterQueue(self._sqs, self.settings.dlq_url).send(bodies)

    def handle(self, event: Mapping[str, Any], budget_ms: Callable[[], float]) -> BatchOutcome:
        s = self.settings
        return process_batch(
            event,
            engine=self.engine,
            bucket=s.content_bucket,
            region=s.region,
            read_object=self.read_object,
            send_dead_letters=self.send_dead_letters,
            budget_ms=budget_ms,
            limits=BatchLimits(s.bulk_max_operations, s.bulk_max_bytes),
        )


def _budget(context: Any, margin_ms: int) -> Callable[[], float]:
    remaining = context.get_remaining_time_in_millis
    return lambda: float(remaining()) - margin_ms


METRIC_NAMES = {
    "records_in": "RecordsIn", "applied": "Applied", "stale": "Stale", "tombstoned": "Tombstoned",
    "ttl_removes": "TtlRemoved", "ignored": "Ignored", "dead_lettered": "DeadLettered",
    "retried": "Retried", "failed": "Failed",
}


def publish(outcome: BatchOutcome, metrics: Metrics, logger: Logger) -> None:
    """Counters -> EMF metrics; failed and dead-lettered records -> one log line each."""
    c = outcome.counters
    for attr, name in METRIC_NAMES.items():
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=getattr(c, attr))
    for ms in c.bulk_latency_ms:
        metrics.add_metric(name="BulkLatency", unit=MetricUnit.Milliseconds, value=round(ms, 3))
    shown = 0
    reported = {w.position for w in outcome.reported}
    for work in outcome.works:
        if work.status in (Status.POISON, Status.FAILED) and shown < LOG_RECORD_LIMIT:
            shown += 1
            logger.warning(
                "record dead-lettered" if work.position not in reported else "record reported failed",
                extra={"item_id": work.item_id, "product_id": work.product_id, "source": work.source,
                       "field": work.error.field if work.error else None,
                       "reason": work.error.reason if work.error else work.failure},
            )
    total = sum(1 for w in outcome.works if w.status in (Status.POISON, Status.FAILED))
    if total > shown:
        logger.warning("more failed or dead-lettered records than logged one by one",
                       extra={"logged": shown, "total": total})
    logger.info("batch indexed", extra={
        "source": outcome.source, "records": c.records_in, "applied": c.applied, "stale": c.stale,
        "ignored": c.ignored, "dead_lettered": c.dead_lettered, "failed": c.failed, "retried": c.retried,
        "bulk_requests": c.bulk_requests, "engine_down": outcome.engine_down,
    })


# ---------------------------------------------------------------- init (cold start)
RUNTIME = Runtime.from_env(os.environ)
logger = Logger(service=RUNTIME.settings.service)
metrics = Metrics(namespace=RUNTIME.settings.namespace, service=RUNTIME.settings.service)


def _first_id(event: Any) -> str | None:
    try:
        first = event["Records"][0]
        return first.get("eventID") or first.get("messageId")
    except (KeyError, IndexError, TypeError, AttributeError):
        return None


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def _handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    logger.set_correlation_id(_first_id(event))
    outcome = RUNTIME.handle(event, _budget(context, RUNTIME.settings.retry_margin_ms))
    publish(outcome, metrics, logger)
    if tracer is not None:
        tracer.put_annotation(key="source", value=outcome.source or "none")
        tracer.put_annotation(key="failed", value=outcome.counters.failed)
    return outcome.response()


if RUNTIME.settings.tracing:
    from aws_lambda_powertools import Tracer

    tracer = Tracer(service=RUNTIME.settings.service)
    _entry = tracer.capture_lambda_handler(_handler)
else:
    tracer = None
    _entry = _handler


class LocalContext:
    """Stands in for the Lambda context when the handler is called without one (local runs)."""

    function_name = "storefront-indexer-local"
    memory_limit_in_mb = 0
    invoked_function_arn = "arn:aws:lambda:local:000000000000:function:storefront-indexer-local"

    def __init__(self, remaining_ms: int = 60_000) -> None:
        import uuid

        self.aws_request_id = str(uuid.uuid4())
        self._deadline = time.monotonic() + remaining_ms / 1000.0

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def lambda_handler(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    """Index one DynamoDB Streams or SQS batch; returns the partial batch response."""
    return _entry(event, context if context is not None else LocalContext())
