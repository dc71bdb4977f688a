"""What one indexer container keeps between invocations: settings, the engine, AWS clients.

The S3 and SQS clients are created on first use: a stream batch without poison never pays
for them. :class:`LocalContext` stands in for the Lambda context in local runs.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from catalog.engine import IndexWriter, engine_from_env
from indexer.batch import BatchLimits, BatchOutcome, process_batch
from indexer.settings import Settings


class Runtime:
    """Everything one container keeps between invocations."""

    def __init__(self, settings: Settings, engine: IndexWriter, *, s3_client: Any = None,
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

        from indexer.content import READ_CONCURRENCY

        # one pooled connection per concurrent S3 read (botocore's default pool holds 10)
        config = Config(retries={"mode": "standard", "max_attempts": 3}, connect_timeout=2, read_timeout=5,
                        max_pool_connections=READ_CONCURRENCY)
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

    def invoke(self, event: Mapping[str, Any], context: Any) -> BatchOutcome:
        """One batch, with the context's remaining time less the retry margin as its budget."""
        remaining = context.get_remaining_time_in_millis
        margin = self.settings.retry_margin_ms
        return self.handle(event, lambda: float(remaining()) - margin)


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
