"""What the operator tooling talks to: AWS, or the local sandbox.

The rule (also in README "Operations"):

* ``--sandbox``: the sandbox must be running (``<sandbox.state_dir>/endpoints.json`` exists
  and names a live supervisor pid; read by :func:`catalog.sandbox_endpoints.read_endpoints`,
  the sandbox's own reader), else a usage error;
* ``--aws``: AWS, with boto3's default credentials and endpoints;
* neither: the sandbox if it is running, else AWS.

A relative ``sandbox.state_dir`` is read relative to the configuration file's folder.
A :class:`Target` bundles per-region boto3 clients, per-region search
engines (the port), the :class:`~replication.routing.RoutingObserver` and the URLs that
drills probe; tests build one from moto clients and a fake observer.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from catalog.config import DeploymentConfig, HealthCheckConfig
from catalog.engine import SearchEngine, engine_from_env
from catalog.sandbox_endpoints import OPERATOR_CREDENTIALS, Endpoints, endpoints_path, read_endpoints
from replication.routing import AwsRoutingObserver, RoutingObserver, SandboxRoutingObserver

ENGINE_VARIABLES = ("SEARCH_ENGINE", "INDEX_ALIAS", "EMBEDDED_INDEX_DIR", "OPENSEARCH_ENDPOINT", "OPENSEARCH_AUTH",
                    "OPENSEARCH_SERVICE", "OPENSEARCH_USERNAME", "OPENSEARCH_PASSWORD", "OPENSEARCH_TIMEOUT")


class TargetError(Exception):
    """The requested target cannot be reached or is not set up; the message says what to do."""


ClientFactory = Callable[[str, str], Any]


@dataclass
class Target:
    kind: str  # "aws" or "sandbox"
    config: DeploymentConfig
    client: ClientFactory  # (service, region) -> boto3 client
    engine_factory: Callable[[str], SearchEngine]
    observer: RoutingObserver
    global_url: str | None = None  # where shoppers go (drill probes)
    region_urls: Mapping[str, str] = field(default_factory=dict)
    health: HealthCheckConfig = field(default_factory=HealthCheckConfig)
    poll_seconds: float = 1.0
    _engines: dict[str, SearchEngine] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def engine(self, region: str) -> SearchEngine:
        """The region's engine, built once per target."""
        with self._lock:
            if region not in self._engines:
                self._engines[region] = self.engine_factory(region)
            return self._engines[region]

    def close(self) -> None:
        with self._lock:
            for engine in self._engines.values():
                engine.close()
            self._engines.clear()

    @property
    def detection_target(self) -> float:
        th = self.config.thresholds.drill_detection_seconds
        return th if th is not None else self.health.detection_budget_seconds

    @property
    def rto_target(self) -> float:
        th = self.config.thresholds.drill_rto_seconds
        return th if th is not None else self.detection_target + 30.0


def resolve_target(config: DeploymentConfig, mode: str | None = None) -> Target:
    """``mode``: "sandbox", "aws" or None (the sandbox if running, else AWS)."""
    if mode not in (None, "sandbox", "aws"):
        raise TargetError(f"unknown target {mode!r}: use --sandbox or --aws")
    if mode != "aws":
        endpoints = read_endpoints(config)
        if endpoints is not None:
            return sandbox_target(config, endpoints)
        if mode == "sandbox":
            raise TargetError(f"no running sandbox ({endpoints_path(config)} is missing or stale): "
                              "start one with `storefront sandbox up --detach`")
    return aws_target(config)


def sandbox_target(config: DeploymentConfig, endpoints: Endpoints) -> Target:
    import boto3

    client = _client_factory(boto3.session.Session(**OPERATOR_CREDENTIALS),
                             endpoints.aws)
    index_dirs = endpoints.index_dirs

    def engine(region: str) -> SearchEngine:
        if region not in index_dirs:
            raise TargetError(f"the sandbox has no index directory for {region}")
        return engine_from_env({"SEARCH_ENGINE": "embedded", "EMBEDDED_INDEX_DIR": index_dirs[region],
                                "INDEX_ALIAS": config.engine.index_alias})

    sb = config.sandbox
    return Target(
        kind="sandbox",
        config=config,
        client=client,
        engine_factory=engine,
        observer=SandboxRoutingObserver(endpoints.global_url),
        global_url=endpoints.global_url,
        region_urls=dict(endpoints.regions),
        # the template's checks (threshold, path: [health_check]), probed at the sandbox's interval
        health=HealthCheckConfig(sb.health_check_interval_seconds, config.health_check.failure_threshold,
                                 config.health_check.path),
        poll_seconds=0.2,
    )


def aws_target(config: DeploymentConfig) -> Target:
    import boto3

    client = _client_factory(boto3.session.Session())
    def engine(region: str) -> SearchEngine:
        return engine_from_env(deployed_engine_env(config, region, client("lambda", region)))

    aws = config.aws
    if aws is None:
        raise TargetError("the configuration has no [aws] section (domain, hosted zone): add it, or use --sandbox")
    # Route 53 is global; its API lives in us-east-1.
    observer = AwsRoutingObserver(client("route53", "us-east-1"), config.regions, aws.hosted_zone_id, aws.domain_name)
    return Target(
        kind="aws",
        config=config,
        client=client,
        engine_factory=engine,
        observer=observer,
        global_url=f"https://{aws.domain_name}",
        health=config.health_check,
        poll_seconds=5.0,  # GetHealthCheckStatus is a diagnostic API: poll gently
    )


def _client_factory(session: Any, endpoint_url: str | None = None) -> ClientFactory:
    """(service, region) -> one cached client of ``session`` (boto3 clients are thread-safe)."""
    clients: dict[tuple[str, str], Any] = {}
    lock = threading.Lock()

    def client(service: str, region: str) -> Any:
        with lock:
            if (service, region) not in clients:
                clients[(service, region)] = session.client(service, region_name=region, endpoint_url=endpoint_url)
            return clients[(service, region)]

    return client


def deployed_engine_env(config: DeploymentConfig, region: str, lambda_client: Any) -> dict[str, str]:
    """The engine variables of the region's deployed search function (where the CDK app
    put the discovered OpenSearch endpoint), plus ``AWS_REGION``."""
    name = config.search_function_name(region)
    try:
        conf = lambda_client.get_function_configuration(FunctionName=name)
    except lambda_client.exceptions.ResourceNotFoundException:
        raise TargetError(f"no search function {name} in {region}: is the stack deployed?") from None
    env = conf.get("Environment", {}).get("Variables", {})
    out = {k: v for k, v in env.items() if k in ENGINE_VARIABLES}
    out.setdefault("INDEX_ALIAS", config.engine.index_alias)
    out["AWS_REGION"] = region
    return out
