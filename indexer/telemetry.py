"""Powertools around one indexer batch: structured logs, EMF metrics and (optionally) traces.

The X-Ray tracer is created only when tracing is on (``POWERTOOLS_TRACE_DISABLED`` unset
or false): constructing Powertools' ``Tracer`` imports the X-Ray SDK even when disabled,
which costs more than the rest of the handler's import.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

from indexer.batch import BatchOutcome
from indexer.records import Status
from indexer.settings import Settings

LOG_RECORD_LIMIT = 25  # per batch: failed/poison records logged one by one, then summarised

METRIC_NAMES = {
    "records_in": "RecordsIn", "applied": "Applied", "stale": "Stale", "tombstoned": "Tombstoned",
    "ttl_removes": "TtlRemoved", "ignored": "Ignored", "dead_lettered": "DeadLettered",
    "retried": "Retried", "failed": "Failed",
}

Entry = Callable[[dict[str, Any], Any], dict[str, Any]]


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


def first_record_id(event: Any) -> str | None:
    """The batch's correlation id: the first record's stream event id or SQS message id."""
    try:
        first = event["Records"][0]
        record_id: str | None = first.get("eventID") or first.get("messageId")
        return record_id
    except (KeyError, IndexError, TypeError, AttributeError):
        return None


class Telemetry:
    """One container's Logger, Metrics and (when tracing is on) Tracer."""

    def __init__(self, settings: Settings) -> None:
        self.logger = Logger(service=settings.service)
        self.metrics = Metrics(namespace=settings.namespace, service=settings.service)
        self.tracer: Any = None
        if settings.tracing:
            from aws_lambda_powertools import Tracer

            self.tracer = Tracer(service=settings.service)

    def wrap(self, run: Callable[[dict[str, Any], Any], BatchOutcome]) -> Entry:
        """``run`` as a Lambda entry: logs with the batch's correlation id, metrics flushed, traced."""
        logger, metrics, tracer = self.logger, self.metrics, self.tracer

        @logger.inject_lambda_context(clear_state=True)
        @metrics.log_metrics
        def _handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
            logger.set_correlation_id(first_record_id(event))
            outcome = run(event, context)
            publish(outcome, metrics, logger)
            if tracer is not None:
                tracer.put_annotation(key="source", value=outcome.source or "none")
                tracer.put_annotation(key="failed", value=outcome.counters.failed)
            return outcome.response()

        return tracer.capture_lambda_handler(_handler) if tracer is not None else _handler
