"""The sandbox supervisor: one process that hosts moto, the emulators and the global port,
and starts one child process per region.

``Sandbox(cfg).start()`` brings everything up and writes ``endpoints.json``;
``stop()`` takes it down in reverse order and removes the file. ``python -m
sandbox.supervisor [--config FILE]`` runs one in the foreground until SIGTERM/SIGINT
(``storefront sandbox up --detach`` and ``storefront demo`` start it so: :mod:`sandbox.child`).

Start order: the synthesized app (:mod:`sandbox.deployed`, cached) -> the functions'
assets built for this host (cached) -> moto server -> its operator and IAM enforcement
(:mod:`sandbox.iam`) -> resources -> the templates' roles and policies -> replication
emulators -> region processes (each given its functions' handler, environment, timeout,
memory and event sources from the region's search stack template, and its role's
credentials; ready once its index exists, its handlers are imported and its port serves) ->
Route 53 emulator -> global router -> endpoints file.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from catalog.config import DeploymentConfig, load_config
from sandbox.aws import lambda_environment
from sandbox.faults import FAULTS_FILE
from sandbox.state import (
    Endpoints,
    SandboxError,
    check_ports,
    endpoints_path,
    planned_endpoints,
    read_endpoints,
    state_dir,
    write_endpoints,
)

log = logging.getLogger(__name__)
REGION_START_TIMEOUT_SECONDS = 180.0
STOP_TIMEOUT_SECONDS = 20.0
ITERATORS_KEPT = 500


def region_spec(cfg: DeploymentConfig, templates: Mapping[str, Any], endpoints: Endpoints, resources: Any,
                region: str, paths: Mapping[str, list[str]],
                credentials: Mapping[str, Mapping[str, str]] | None = None, **extra: Any) -> Any:
    """A region process's spec: its functions and event sources as the synthesized template declares
    them, every name and URL resolved to the sandbox's own resources (raises ``TemplateError``);
    ``paths``: each handler's import path (:func:`function_paths`); ``credentials``: ``indexer``/``search``
    -> its role's credentials (:meth:`sandbox.iam.SandboxIam.function_credentials`), else the operator's."""
    from infra.deployed import TemplateError
    from sandbox.deployed import (
        SandboxNames,
        aws_queue_arn,
        aws_queue_url,
        sandbox_api,
        sandbox_environment,
        sandbox_functions,
    )
    from sandbox.region import FunctionSpec, RegionSpec, SourceSpec

    queues: dict[str, str] = {}
    for r, res in resources.regions.items():
        for name, url in ((cfg.queue_name(r), res.queue_url), (cfg.dlq_name(r), res.dlq_url)):
            queues[aws_queue_url(r, cfg.account, name)] = url
            queues[aws_queue_arn(r, cfg.account, name)] = url
    names = SandboxNames(endpoints.aws, queues)
    runtime = lambda_environment(endpoints.aws, region)
    fns = sandbox_functions(templates, cfg, region)
    specs = {role: FunctionSpec(fn.name, fn.handler,
                                sandbox_environment(fn, region, names, endpoints.index_dirs[region],
                                                    {**runtime, **(credentials or {}).get(role, {})}),
                                float(fn.timeout_seconds), fn.memory_mb, list(paths[fn.handler]))
             for role, fn in fns.items()}
    mappings = fns["indexer"].event_sources
    queue = [m for m in mappings if m.source_arn.startswith("arn:aws:sqs:")]
    stream = [m for m in mappings if m not in queue]
    if len(queue) != 1 or len(stream) != 1:
        raise TemplateError(f"{fns['indexer'].name}: expected one stream and one queue event source, "
                            f"found {[m.logical_id for m in mappings]}")
    st, qu = stream[0], queue[0]
    res = resources.regions[region]
    api = sandbox_api(templates, cfg, region)
    return RegionSpec(
        region=region, account=cfg.account, endpoint=endpoints.aws, host=cfg.sandbox.host,
        port=cfg.sandbox.region_port(cfg.regions, region), stream_arn=res.stream_arn, queue_arn=res.queue_arn,
        indexer=specs["indexer"], search=specs["search"],
        stream_source=SourceSpec(st.batch_size, float(st.batching_window_seconds), st.report_batch_item_failures,
                                 st.starting_position, st.max_retries, st.max_record_age_seconds,
                                 names.queue_url(st.on_failure_arn) if st.on_failure_arn else None,
                                 bisect_on_error=st.bisect_on_error),
        queue_source=SourceSpec(qu.batch_size, float(qu.batching_window_seconds), qu.report_batch_item_failures,
                                queue_url=names.queue_url(qu.source_arn), max_concurrency=qu.max_concurrency),
        api_stage=api.stage, api_domain=api.domain_name,
        **extra,
    )


def function_paths(handlers: list[str], progress: Any = None) -> dict[str, list[str]]:
    """handler -> its import path: its asset built for this host (cached by the asset's hash, shared
    by every sandbox) and the runtime's packages with the named local addition."""
    from sandbox.deployed import cache_root
    from sandbox.function_process import host_asset, runtime_dir

    root = cache_root()
    runtime = str(runtime_dir(root))
    out = {}
    for handler in handlers:
        t0 = time.monotonic()
        asset = host_asset(handler, root, progress)
        out[handler] = [str(asset), runtime]
        if progress and time.monotonic() - t0 > 1.0:
            progress(f"built {handler}'s asset in {time.monotonic() - t0:.1f} s")
    return out


class Sandbox:
    def __init__(self, cfg: DeploymentConfig, *, region_overrides: Mapping[str, Any] | None = None,
                 quiet: bool = True, progress: Any = None) -> None:
        self.cfg = cfg
        self.region_overrides = dict(region_overrides or {})
        self.quiet = quiet
        self.progress = progress
        self.templates: Mapping[str, Any] = {}
        self.paths: dict[str, list[str]] = {}
        self.endpoints = planned_endpoints(cfg, os.getpid())
        self.state = state_dir(cfg)
        self.resources: Any = None
        self.started_seconds: float | None = None
        self.timings: dict[str, float] = {}  # start phase -> seconds (bench/bench_sandbox_up.py)
        self._moto: Any = None
        self._iam: Any = None
        self._children: dict[str, subprocess.Popen[bytes]] = {}
        self._logs: dict[str, Any] = {}
        self._parts: list[Any] = []
        self._stop = threading.Event()
        self._janitor: threading.Thread | None = None

    # ---------------------------------------------------------------- start
    def start(self) -> Endpoints:
        running = read_endpoints(self.cfg)
        if running is not None:
            raise SandboxError(f"a sandbox is already running (pid {running.pid}, {running.global_url}); "
                               "stop it with `storefront sandbox down`")
        check_ports(self.cfg)
        t0 = time.monotonic()
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        self.started_seconds = time.monotonic() - t0
        write_endpoints(self.cfg, self.endpoints)
        return self.endpoints

    def _start(self) -> None:
        from sandbox.deployed import cloud_assembly

        mark = _Marks(self.timings)
        self.state.mkdir(parents=True, exist_ok=True)
        self.templates = cloud_assembly(self.cfg, self.progress)
        mark("synthesized app")
        self.paths = function_paths(self._handlers(), self.progress)
        mark("function assets")
        index_root = self.state / "index"
        shutil.rmtree(index_root, ignore_errors=True)  # the index is derived: a fresh table, a fresh index
        for d in self.endpoints.index_dirs.values():
            Path(d).mkdir(parents=True, exist_ok=True)
        (self.state / "logs").mkdir(exist_ok=True)
        self._start_moto()
        mark("moto")

        from infra.deployed import TemplateError
        from sandbox.global_tables import GlobalTableReplicator
        from sandbox.metrics import MetricsPublisher
        from sandbox.resources import create_resources
        from sandbox.s3_replication import S3Replicator

        cfg, ep = self.cfg, self.endpoints.aws
        try:
            self.resources = res = create_resources(cfg, self.templates, ep)
        except TemplateError as exc:
            raise SandboxError(f"creating the synthesized app's resources: {exc}") from exc
        self.endpoints = dataclasses.replace(self.endpoints, domain=res.domain)
        mark("resources")
        try:
            self._iam.create_roles(self.templates)
        except TemplateError as exc:
            raise SandboxError(f"creating the synthesized app's roles: {exc}") from exc
        mark("roles")
        lag = cfg.sandbox.replication_lag_ms / 1000.0
        metrics = MetricsPublisher(ep).start()
        self._parts.append(metrics)
        self._parts.append(S3Replicator(cfg.account, lag, metrics).start())
        self._parts.append(GlobalTableReplicator(ep, res.table_name, res.table_regions, lag, metrics,
                                                 in_process_account=cfg.account).start())
        mark("replication emulators")
        for region in cfg.regions:
            self._spawn(region)
        for region in cfg.regions:
            self._wait_ready(region)
        mark("region processes ready")
        self._start_routing()
        mark("route 53 and router")

    def _handlers(self) -> list[str]:
        from sandbox.deployed import sandbox_functions

        return sorted({fn.handler for r in self.cfg.regions
                       for fn in sandbox_functions(self.templates, self.cfg, r).values()})

    def _start_moto(self) -> None:
        os.environ.setdefault("MOTO_ACCOUNT_ID", self.cfg.account)
        from sandbox.moto_host import MotoHost

        self._moto = MotoHost(self.cfg.sandbox.host, self.cfg.sandbox.aws_port).start()
        from sandbox.iam import SandboxIam

        self._iam = SandboxIam(self.cfg, self._moto.endpoint).start()  # the operator; calls judged from now on
        self._janitor = threading.Thread(target=self._prune_iterators, name="moto-janitor", daemon=True)
        self._janitor.start()

    def _prune_iterators(self) -> None:
        """moto keeps every shard iterator it ever handed out; keep the newest few hundred."""
        from moto.dynamodbstreams.models import dynamodbstreams_backends

        while not self._stop.wait(10.0):
            for region in self.cfg.regions:
                try:
                    its = dynamodbstreams_backends[self.cfg.account][region].shard_iterators
                    excess = len(its) - ITERATORS_KEPT
                    for key in list(its)[: max(0, excess)]:
                        its.pop(key, None)
                except Exception as exc:  # pragma: no cover - housekeeping only
                    log.debug("pruning shard iterators in %s: %s", region, exc)

    def _spawn(self, region: str) -> None:
        from infra.deployed import TemplateError

        try:
            spec = region_spec(self.cfg, self.templates, self.endpoints, self.resources, region, self.paths,
                               self._iam.function_credentials(self.templates, region),
                               **{"faults_file": str(self.state / FAULTS_FILE), **self.region_overrides})
        except TemplateError as exc:
            raise SandboxError(f"region {region}: the synthesized app: {exc}") from exc
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "POWERTOOLS_", "MOTO_"))}
        env.update(lambda_environment(self.endpoints.aws, region))
        env["PYTHONUNBUFFERED"] = "1"
        log_path = self.state / "logs" / f"{region}.log"
        self._logs[region] = log_path
        with open(log_path, "wb") as out:
            self._children[region] = subprocess.Popen(
                [sys.executable, "-m", "sandbox.region", spec.to_json()], env=env, stdout=out,
                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=str(Path(__file__).resolve().parent.parent))

    def _wait_ready(self, region: str) -> None:
        from sandbox.region import READY

        proc, log_path = self._children[region], self._logs[region]
        deadline = time.monotonic() + REGION_START_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if READY.encode() in log_path.read_bytes():
                return
            if proc.poll() is not None:
                lines = [ln for ln in log_path.read_text(errors="replace").splitlines() if ln.strip()]
                last = lines[-1] if lines else f"exit code {proc.returncode}"
                raise SandboxError(f"region {region} failed to start: {last} (log: {log_path})")
            time.sleep(0.1)
        raise SandboxError(f"region {region} did not start within {REGION_START_TIMEOUT_SECONDS:.0f} s "
                           f"(log: {log_path})")

    def _start_routing(self) -> None:
        from sandbox.route53 import Route53Emulator
        from sandbox.router import GlobalRouter

        cfg, res = self.cfg, self.resources
        from sandbox.deployed import probe_interval_seconds

        r53 = Route53Emulator(self.endpoints.aws, res.hosted_zone_id, res.domain, res.health_checks, cfg.regions,
                              cfg.routing, probe_interval_seconds(cfg)).start()
        self._parts.append(r53)
        router = GlobalRouter(cfg.sandbox.host, cfg.sandbox.global_port, self.endpoints.regions, r53.answer_json,
                              r53.health_checks, dns_ttl_seconds=cfg.sandbox.dns_ttl_seconds).start()
        self._parts.append(router)

    # ---------------------------------------------------------------- status and stop
    def child_status(self) -> dict[str, int | None]:
        return {r: p.poll() for r, p in self._children.items()}

    def stop(self) -> None:
        self._stop.set()
        path = endpoints_path(self.cfg)
        current = read_endpoints(self.cfg)
        if current is not None and current.pid == os.getpid():
            path.unlink(missing_ok=True)
        for part in reversed(self._parts[3:]):  # router, then Route 53
            _quietly(part.stop)
        for proc in self._children.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT_SECONDS
        for proc in self._children.values():
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        for part in reversed(self._parts[:3]):  # replicators, then metrics
            _quietly(part.stop)
        self._parts.clear()
        self._children.clear()
        if self._moto is not None:
            _quietly(self._moto.stop)
            self._moto = None
        if self._iam is not None:
            _quietly(self._iam.stop)
            self._iam = None


class _Marks:
    """Records the seconds since the previous mark under each phase's name."""

    def __init__(self, out: dict[str, float]) -> None:
        self.out = out
        self.last = time.monotonic()

    def __call__(self, phase: str) -> None:
        now = time.monotonic()
        self.out[phase] = now - self.last
        self.last = now


def _quietly(fn: Any) -> None:
    try:
        fn()
    except Exception as exc:  # stopping must go on whatever one part does
        log.warning("while stopping: %s", exc)


def serve(cfg: DeploymentConfig, stop: threading.Event, on_ready: Any = None, progress: Any = None) -> int:
    """Run a sandbox until ``stop`` is set; ``on_ready(sandbox)`` is called once it serves,
    ``progress(message)`` on the way (the first synthesis of the app)."""
    sandbox = Sandbox(cfg, progress=progress)
    try:
        sandbox.start()
        if on_ready:
            on_ready(sandbox)
        warned: set[str] = set()
        while not stop.wait(1.0):
            for region, code in sandbox.child_status().items():
                if code is not None and region not in warned:
                    warned.add(region)
                    print(f"sandbox: region {region} exited with code {code}; see {sandbox.state / 'logs'}",
                          file=sys.stderr, flush=True)
    finally:
        sandbox.stop()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sandbox.supervisor")
    parser.add_argument("--config", help="configuration file")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    try:
        cfg = load_config(args.config)
        return serve(cfg, stop, lambda sb: print(f"sandbox ready in {sb.started_seconds:.1f} s", flush=True),
                     progress=lambda message: print(f"sandbox: {message}", flush=True))
    except SandboxError as exc:
        print(f"storefront: error: {exc}", file=sys.stderr, flush=True)
        return 2
    except Exception as exc:
        print(f"storefront: error: the sandbox failed: {type(exc).__name__}: {exc}", file=sys.stderr, flush=True)
        raise


if __name__ == "__main__":
    sys.exit(main())
