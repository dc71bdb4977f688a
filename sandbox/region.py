"""One sandbox region: a child process with that region's environment.

Started by the supervisor as ``python -m sandbox.region '<spec json>'`` with the
region's Lambda environment (``AWS_REGION``, ``AWS_ENDPOINT_URL``, the engine variables,
``DLQ_URL``, ``CONTENT_BUCKET``, ``MAINTENANCE_PARAMETER``, ...). It makes sure the
region's index exists behind its alias, imports the real handlers (configured only by
that environment), runs the event source mappings into the indexer and serves the search
handler over HTTP, until SIGTERM/SIGINT.
"""

from __future__ import annotations

import importlib
import json
import logging
import os
import signal
import sys
import threading
import traceback
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

READY = "SANDBOX-REGION-READY"


@dataclass(frozen=True)
class RegionSpec:
    region: str
    account: str
    endpoint: str
    host: str
    port: int
    stream_arn: str
    queue_url: str
    queue_arn: str
    indexer_function_name: str
    search_function_name: str
    indexer: str = "indexer.handler:lambda_handler"
    search: str = "search_api.handler:lambda_handler"
    stream_batch_size: int = 100
    stream_batching_window: float = 0.0
    stream_poll_seconds: float = 0.2
    # Lambda allows up to 10,000 SQS messages per batch with a batching window; 100 within
    # 0.5 s keeps bulk content loads from committing the embedded index every 10 objects.
    queue_batch_size: int = 100
    queue_batching_window: float = 0.5
    queue_poll_seconds: float = 0.5
    indexer_timeout_seconds: float = 60.0
    search_timeout_seconds: float = 29.0
    # the stream event source gives a batch up after these (-1: never), sending Lambda's
    # on-failure record to the DLQ (``DLQ_URL``); the supervisor passes ``[aws]``'s values
    stream_max_retries: int = -1
    stream_max_record_age_seconds: int = -1
    faults_file: str = ""  # sandbox.faults: make the indexer fail for chosen products (tests)

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> RegionSpec:
        return cls(**json.loads(text))


def load_handler(dotted: str) -> Callable[[dict[str, Any], Any], Any]:
    module, _, attr = dotted.partition(":")
    return getattr(importlib.import_module(module), attr or "lambda_handler")


def ensure_index() -> str:
    """Create the region's physical index and point the alias at it, unless it exists."""
    from catalog.engine import engine_from_env

    engine = engine_from_env()
    try:
        target = engine.alias_target()
        if target is None:
            target = engine.create_index()
            engine.swap_alias(target)
        return target
    finally:
        engine.close()


def run(spec: RegionSpec, stop: threading.Event) -> None:
    from sandbox.apigw import ApiGatewayServer
    from sandbox.aws import client
    from sandbox.lambda_runtime import Invoker, QueueEventSource, StreamEventSource
    from sandbox.metrics import MetricsPublisher
    from sandbox.streams import StreamReader

    ensure_index()
    handler = load_handler(spec.indexer)
    if spec.faults_file:
        from sandbox.faults import FaultyIndexer

        handler = FaultyIndexer(handler, spec.faults_file)
    indexer = Invoker(handler, spec.indexer_function_name, spec.region, spec.account, spec.indexer_timeout_seconds)
    sqs = client("sqs", spec.region, spec.endpoint)
    dlq_url = os.environ.get("DLQ_URL", "")
    search = Invoker(load_handler(spec.search), spec.search_function_name, spec.region, spec.account,
                     spec.search_timeout_seconds)
    if spec.faults_file:
        from sandbox.faults import RegionDownFront

        search = RegionDownFront(search, spec.faults_file, spec.region)
    metrics = MetricsPublisher(spec.endpoint).start()
    server = ApiGatewayServer(spec.host, spec.port, search, spec.account, f"sandbox-{spec.region}").start()
    reader = StreamReader(client("dynamodbstreams", spec.region, spec.endpoint), spec.stream_arn)
    pollers = [
        StreamEventSource(indexer, reader, spec.region, spec.indexer_function_name, spec.stream_batch_size,
                          spec.stream_batching_window, spec.stream_poll_seconds, metrics,
                          max_retries=spec.stream_max_retries, max_record_age=spec.stream_max_record_age_seconds,
                          on_failure=(lambda body: sqs.send_message(QueueUrl=dlq_url, MessageBody=body))
                          if dlq_url else None,
                          function_arn=indexer.function_arn),
        QueueEventSource(indexer, sqs, spec.queue_url, spec.queue_arn,
                         spec.region, spec.indexer_function_name, spec.queue_batch_size,
                         spec.queue_batching_window, spec.queue_poll_seconds),
    ]
    for p in pollers:
        p.start()
    print(READY, flush=True)
    try:
        stop.wait()
    finally:
        for p in pollers:
            p.stop()
        for p in pollers:
            p.join(timeout=10)
        server.stop()
        metrics.stop()


def _watch_parent(stop: threading.Event) -> None:
    """Stop when the supervisor is gone (killed without a chance to stop its children)."""
    parent = os.getppid()
    while not stop.wait(1.0):
        if os.getppid() != parent:
            stop.set()


def main(argv: list[str]) -> int:
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    spec = RegionSpec.from_json(argv[0])
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    threading.Thread(target=_watch_parent, args=(stop,), name="watch-parent", daemon=True).start()
    try:
        run(spec, stop)
    except Exception as exc:
        traceback.print_exc()
        print(f"sandbox region {spec.region}: cannot start: {type(exc).__name__}: {exc}", file=sys.stderr, flush=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
