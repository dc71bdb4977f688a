"""Indexer Lambda entry point: ``indexer.handler.lambda_handler``.

One function for both event sources (DynamoDB Streams of the region's replica, and SQS
batches of S3 notifications for the region's bucket). Init (cold start) validates the
environment (an error names the variable) and builds the engine chosen by ``SEARCH_ENGINE``
(see :mod:`indexer.runtime`); logs, metrics and traces are in :mod:`indexer.telemetry`;
the work is :func:`indexer.batch.process_batch`.
"""

from __future__ import annotations

import os
from typing import Any

from indexer.runtime import LocalContext, Runtime
from indexer.telemetry import Telemetry

RUNTIME = Runtime.from_env(os.environ)
telemetry = Telemetry(RUNTIME.settings)
tracer = telemetry.tracer
_entry = telemetry.wrap(lambda event, context: RUNTIME.invoke(event, context))


def lambda_handler(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    """Index one DynamoDB Streams or SQS batch; returns the partial batch response."""
    return _entry(event, context if context is not None else LocalContext())
