"""One sandbox region: a child process with that region's environment.

Started by the supervisor as ``python -m sandbox.region '<spec json>'``. The spec holds
what the synthesized template says of the region's indexer and search functions
(:mod:`sandbox.deployed`): handler string, environment (the sandbox's values), timeout,
memory, and the indexer's event source mappings. The process makes sure the region's
index exists behind its alias, starts each function from its asset in its own interpreter
under its own environment (:mod:`sandbox.function_process`), runs the event source
mappings into the indexer with the template's settings and serves the search handler
over HTTP, until SIGTERM/SIGINT.
"""

from __future__ import annotations

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
class FunctionSpec:
    """One function as the template declares it (environment resolved for the sandbox)."""

    name: str
    handler: str  # "module.attribute", as Lambda's Handler
    environment: dict[str, str]
    timeout_seconds: float
    memory_mb: int
    paths: list[str]  # its import path: the asset built for this host, the runtime's packages


@dataclass(frozen=True)
class SourceSpec:
    """An event source mapping's settings (:class:`infra.deployed.EventSourceMapping`), the sandbox's queues."""

    batch_size: int
    batching_window_seconds: float
    report_batch_item_failures: bool
    starting_position: str | None = None
    max_retries: int = -1
    max_record_age_seconds: int = -1
    on_failure_url: str | None = None  # the sandbox's queue for the template's on-failure destination
    queue_url: str = ""  # the SQS source's queue in the sandbox
    bisect_on_error: bool = False
    max_concurrency: int | None = None  # SQS: ScalingConfig.MaximumConcurrency


@dataclass(frozen=True)
class RegionSpec:
    region: str
    account: str
    endpoint: str
    host: str
    port: int
    stream_arn: str
    queue_arn: str
    indexer: FunctionSpec
    search: FunctionSpec
    stream_source: SourceSpec
    queue_source: SourceSpec
    api_stage: str  # the template's REST API stage and custom domain (sandbox.deployed.sandbox_api)
    api_domain: str
    stream_poll_seconds: float = 0.2
    queue_poll_seconds: float = 0.5
    faults_file: str = ""  # sandbox.faults: make the indexer fail for chosen products (tests)

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> RegionSpec:
        data = json.loads(text)
        for key in ("indexer", "search"):
            data[key] = FunctionSpec(**data[key])
        for key in ("stream_source", "queue_source"):
            data[key] = SourceSpec(**data[key])
        return cls(**data)


def start_functions(functions: list[FunctionSpec]) -> list[Any]:
    """Each function in its own interpreter (:class:`sandbox.function_process.FunctionProcess`), started
    side by side; raises the first init error (``FunctionInitError``, naming the handler's cause)."""
    from concurrent.futures import ThreadPoolExecutor

    from sandbox.function_process import FunctionProcess

    processes = [FunctionProcess(fn.handler, fn.paths, fn.environment) for fn in functions]
    with ThreadPoolExecutor(len(processes)) as pool:
        futures = [pool.submit(p.start) for p in processes]
    errors = [exc for f in futures if (exc := f.exception()) is not None]
    if errors:
        for p in processes:
            p.stop()
        raise errors[0]
    return processes


def ensure_index(env: dict[str, str]) -> str:
    """Create the region's physical index and point the alias at it, unless it exists."""
    from catalog.engine import engine_from_env

    engine = engine_from_env(env)
    try:
        target = engine.alias_target()
        if target is None:
            target = engine.create_index()
            engine.swap_alias(target)
        return target
    finally:
        engine.close()


def event_sources(spec: RegionSpec, indexer: Any, reader: Any, sqs: Any, metrics: Any = None) -> list[Any]:
    """The indexer's stream and queue event source mappings, with the template's settings."""
    from sandbox.lambda_runtime import QueueEventSource, StreamEventSource

    st, qu = spec.stream_source, spec.queue_source
    on_failure = st.on_failure_url
    return [
        StreamEventSource(indexer, reader, spec.region, spec.indexer.name, st.batch_size,
                          st.batching_window_seconds, spec.stream_poll_seconds, metrics,
                          max_retries=st.max_retries, max_record_age=st.max_record_age_seconds,
                          on_failure=(lambda body: sqs.send_message(QueueUrl=on_failure, MessageBody=body))
                          if on_failure else None,
                          function_arn=indexer.function_arn,
                          report_batch_item_failures=st.report_batch_item_failures,
                          bisect_on_error=st.bisect_on_error),
        QueueEventSource(indexer, sqs, qu.queue_url, spec.queue_arn, spec.region, spec.indexer.name,
                         qu.batch_size, qu.batching_window_seconds, spec.queue_poll_seconds,
                         report_batch_item_failures=qu.report_batch_item_failures,
                         max_concurrency=qu.max_concurrency),
    ]


def run(spec: RegionSpec, stop: threading.Event) -> None:
    from sandbox.apigw import ApiGatewayServer
    from sandbox.aws import client, credentials_of
    from sandbox.lambda_runtime import Invoker
    from sandbox.metrics import MetricsPublisher
    from sandbox.streams import StreamReader

    ensure_index(spec.indexer.environment)
    functions = start_functions([spec.indexer, spec.search])
    handler, search_handler = functions
    if spec.faults_file:
        from sandbox.faults import FaultyIndexer

        handler = FaultyIndexer(handler, spec.faults_file)
    indexer = Invoker(handler, spec.indexer.name, spec.region, spec.account, spec.indexer.timeout_seconds,
                      spec.indexer.memory_mb)
    # Lambda's event source mappings poll (and send to the on-failure destination) as the function's role
    role = credentials_of(spec.indexer.environment)
    sqs = client("sqs", spec.region, spec.endpoint, credentials=role)
    search: Callable[[dict[str, Any]], Any] = Invoker(search_handler, spec.search.name, spec.region, spec.account,
                                                      spec.search.timeout_seconds, spec.search.memory_mb)
    if spec.faults_file:
        from sandbox.faults import RegionDownFront

        search = RegionDownFront(search, spec.faults_file, spec.region)
    metrics = MetricsPublisher(spec.endpoint).start()
    server = ApiGatewayServer(spec.host, spec.port, search, spec.account, f"sandbox-{spec.region}",
                              stage=spec.api_stage, domain_name=spec.api_domain).start()
    reader = StreamReader(client("dynamodbstreams", spec.region, spec.endpoint, credentials=role), spec.stream_arn,
                          spec.stream_source.starting_position or "TRIM_HORIZON")
    pollers = event_sources(spec, indexer, reader, sqs, metrics)
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
        for fn in functions:
            fn.stop()


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
