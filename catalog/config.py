"""The one deployment configuration model.

Loaded from one TOML file (``storefront.toml`` at the project root by default, or the
path in ``STOREFRONT_CONFIG``) and validated here, with errors that name the field.
``infra/``, ``sandbox/`` and ``replication/`` all read it; the Lambda functions do not
(they get their settings from environment variables that the CDK app or the sandbox
derives from this model).

Resource names are derived here, in one place, so that the CDK app, the sandbox and the
operator tooling always agree on them.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DEFAULT_PATH = "storefront.toml"
ENV_PATH = "STOREFRONT_CONFIG"

_REGION = re.compile(r"^[a-z]{2}(-gov)?-[a-z]+-\d$")
_PREFIX = re.compile(r"^[a-z][a-z0-9-]{1,20}[a-z0-9]$")
_ACCOUNT = re.compile(r"^\d{12}$")
_DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
_ZONE_ID = re.compile(r"^Z[A-Z0-9]{1,31}$")
_CERT_ARN = re.compile(r"^arn:aws[a-z-]*:acm:([a-z0-9-]+):\d{12}:certificate/[0-9a-f-]{36}$")

ROUTING_MODES = ("failover", "latency")
# the shopper-path canaries each region runs (infra/constructs/canary.py)
CANARY_KINDS = ("regional", "global")


class ConfigError(ValueError):
    """A configuration value is missing or wrong. ``field`` is its dotted path."""

    def __init__(self, field_path: str, message: str, source: str | None = None) -> None:
        self.field = field_path
        self.reason = message
        self.source = source
        where = f"{source}: " if source else ""
        super().__init__(f"{where}{field_path}: {message}")


class _Section:
    """Reads one TOML table, type-checking each key and rejecting unknown ones."""

    def __init__(self, data: Any, path: str) -> None:
        if not isinstance(data, Mapping):
            raise ConfigError(path or "<root>", f"expected a table, got {type(data).__name__}")
        self._data = dict(data)
        self._path = path
        self._seen: set[str] = set()

    def _name(self, key: str) -> str:
        return f"{self._path}.{key}" if self._path else key

    def get(self, key: str, types: type | tuple[type, ...], default: Any = ...) -> Any:
        self._seen.add(key)
        if key not in self._data:
            if default is ...:
                raise ConfigError(self._name(key), "is required")
            return default
        value = self._data[key]
        # bool is an int in Python; never accept it where a number is meant.
        if isinstance(value, bool) and bool not in (types if isinstance(types, tuple) else (types,)):
            raise ConfigError(self._name(key), f"expected {_type_names(types)}, got a boolean")
        if not isinstance(value, types):
            raise ConfigError(self._name(key), f"expected {_type_names(types)}, got {type(value).__name__}")
        return value

    def int_in(self, key: str, lo: int, hi: int, default: Any = ...) -> int:
        value: int = self.get(key, int, default)
        if not lo <= value <= hi:
            raise ConfigError(self._name(key), f"must be between {lo} and {hi}, got {value}")
        return value

    def number_in(self, key: str, lo: float, hi: float, default: Any = ...) -> float:
        value = float(self.get(key, (int, float), default))
        if not lo <= value <= hi:
            raise ConfigError(self._name(key), f"must be between {lo} and {hi}, got {value}")
        return value

    def section(self, key: str) -> _Section:
        self._seen.add(key)
        return _Section(self._data.get(key, {}), self._name(key))

    def has(self, key: str) -> bool:
        return key in self._data

    def done(self) -> None:
        unknown = sorted(set(self._data) - self._seen)
        if unknown:
            raise ConfigError(self._name(unknown[0]), f"unknown setting (known: {', '.join(sorted(self._seen))})")


def _type_names(types: type | tuple[type, ...]) -> str:
    names = {int: "an integer", float: "a number", str: "a string", bool: "true or false", list: "a list"}
    seq = types if isinstance(types, tuple) else (types,)
    return " or ".join(names.get(t, t.__name__) for t in seq)


@dataclass(frozen=True)
class HealthCheckConfig:
    """Route 53 health checks (and the sandbox's emulation of them).

    AWS accepts only 10 or 30 second intervals; the sandbox accepts any whole number of
    seconds so that drills can be rehearsed quickly. ``infra`` enforces the AWS values.
    """

    interval_seconds: int = 30
    failure_threshold: int = 3
    path: str = "/health"

    @property
    def detection_budget_seconds(self) -> float:
        """The documented worst case for noticing a failure, plus one second of slack."""
        return self.interval_seconds * self.failure_threshold + 1.0


@dataclass(frozen=True)
class EngineConfig:
    """Search index settings shared by both engines."""

    index_alias: str = "products"
    shards: int = 1
    replicas: int = 1
    bulk_max_operations: int = 1000
    bulk_max_bytes: int = 5 * 1024 * 1024


@dataclass(frozen=True)
class Thresholds:
    """What ``replication status`` flags and what a drill is judged against."""

    replication_latency_ms: int = 2000
    iterator_age_ms: int = 60_000
    dlq_depth: int = 0
    index_lag_seconds: float = 5.0
    drill_detection_seconds: float | None = None  # default: interval x threshold + 1 s
    drill_rto_seconds: float | None = None  # default: detection + 30 s


@dataclass(frozen=True)
class AlarmThresholds:
    """``[alarms]``: the CloudWatch alarms the CDK app adds beyond ``[thresholds]`` (README "Alarms").

    The defaults are written here once; parsing takes them from this class.
    """

    # AWS's recommended OpenSearch alarm: Maximum >= 95 % for 3 consecutive minutes (garbage
    # collection no longer frees memory; the next step is a node running out of heap)
    jvm_memory_pressure_percent: int = 95
    # AWS's recommended alarm: the node with least free space below 25 % of its volume (writes
    # are blocked at the flood-stage watermark, 95 % used)
    free_storage_percent: int = 25
    # per function, errors (or throttles) summed over 5 minutes above this: 0 = any
    lambda_errors: int = 0
    lambda_throttles: int = 0
    # the oldest S3 event in the content queue: the indexer normally takes it within a
    # minute; 15 minutes means it fails or cannot keep up
    queue_oldest_message_seconds: int = 900
    # S3 replication operations that failed (per destination, summed over 5 minutes)
    replication_failed_operations: int = 0
    # minutes a region's Route 53 health check must be unhealthy before its alarm fires
    health_check_minutes: int = 1
    # the shopper-path canaries run this often, and alarm after this many failed runs in a row
    canary_interval_minutes: int = 5
    canary_failed_runs: int = 2


@dataclass(frozen=True)
class SandboxConfig:
    """The local two-region emulation (``storefront sandbox up``)."""

    host: str = "127.0.0.1"
    aws_port: int = 5055
    global_port: int = 8080
    first_region_port: int = 8081  # region i listens on first_region_port + i
    replication_lag_ms: int = 200
    # probes every health check's endpoint this often, in place of the template's 10 or 30 s
    # (the threshold, path and the rest are the template's: [health_check])
    health_check_interval_seconds: int = 2
    state_dir: str = ".sandbox"
    account: str = "123456789012"
    # the global port caches Route 53's answer this long, as a shopper's resolver caches the
    # record (0: no caching; 60 models shoppers of the deployed alias records, see storefront.toml)
    dns_ttl_seconds: float = 0.0
    # moto judges every AWS call against the caller's IAM policies (each function runs as its
    # own role from the template; everything else as the sandbox's operator): see sandbox.iam
    iam_enforcement: bool = True

    def region_port(self, regions: tuple[str, ...], region: str) -> int:
        return self.first_region_port + regions.index(region)


@dataclass(frozen=True)
class OpenSearchSizing:
    """One region's OpenSearch Service domain (``[aws.opensearch.<region>]``).

    The defaults are the ``production`` profile (see :data:`OPENSEARCH_PROFILES`).
    """

    profile: str = "production"
    instance_type: str = "r7g.large.search"
    instance_count: int = 3
    volume_gb: int = 20
    serverless: bool = False  # not offered by the CDK app yet; parsing rejects true
    # Zone awareness is always on: the data nodes spread over 2 or 3 availability zones;
    # the count must divide by it.
    availability_zones: int = 3
    # Dedicated master nodes (three of them) of this type; "" for none.
    master_instance_type: str = "m7g.large.search"
    engine_version: str = "OpenSearch_2.19"


@dataclass(frozen=True)
class OpenSearchProfile:
    """What a profile defaults to and what it insists on (``production``) or gives up (the rest)."""

    availability_zones: int
    instance_count: int
    master_instance_type: str
    strict: bool  # production: three zones, dedicated masters, a multiple of three nodes, replicas >= 1
    gives_up: str


OPENSEARCH_PROFILES: dict[str, OpenSearchProfile] = {
    "production": OpenSearchProfile(
        availability_zones=3, instance_count=3, master_instance_type="m7g.large.search", strict=True,
        gives_up="nothing: survives losing one availability zone (three zones, three dedicated masters, "
                 "data nodes in multiples of three, every shard with a replica in another zone)"),
    "dev-2az-no-dedicated-masters": OpenSearchProfile(
        availability_zones=2, instance_count=2, master_instance_type="", strict=False,
        gives_up="losing one of its two zones loses half the data nodes and, with no dedicated masters, "
                 "can lose the cluster manager quorum: writes stop until the zone returns (fails Security Hub "
                 "OpenSearch.6 and the Config rule opensearch-primary-node-fault-tolerance)"),
}
DEFAULT_OPENSEARCH_PROFILE = "production"


# CloudWatch Logs accepts only these retention periods (days).
LOG_RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557,
                      2922, 3288, 3653)


@dataclass(frozen=True)
class AwsConfig:
    """AWS-only settings (the CDK app); the sandbox ignores them. Keys of ``[aws]``."""

    account: str
    domain_name: str
    hosted_zone_id: str
    hosted_zone_name: str
    # Per region: an existing ACM certificate ARN, or "dns" for a DNS-validated one.
    certificates: Mapping[str, str] = field(default_factory=dict)
    # the search page's site (CloudFront); "" means shop.<hosted_zone_name>
    site_domain_name: str = ""
    opensearch: Mapping[str, OpenSearchSizing] = field(default_factory=dict)
    indexer_memory_mb: int = 1024
    search_memory_mb: int = 1024
    api_rate_limit_per_5min: int = 2000
    # Lambda functions
    indexer_timeout_seconds: int = 60
    search_timeout_seconds: int = 10
    retry_margin_ms: int = 5000
    # the indexer's DynamoDB stream event source
    stream_batch_size: int = 500
    stream_batching_window_seconds: int = 1
    stream_max_retries: int = 10
    stream_max_record_age_seconds: int = 86_400
    stream_parallelization_factor: int = 2
    # the indexer's S3-events queue event source
    queue_batch_size: int = 10
    # bounded fan-in to the domain: concurrent queue batches, and the indexer's reserved
    # concurrency (-1: none); at least queue_max_concurrency + stream_parallelization_factor
    queue_max_concurrency: int = 4
    indexer_reserved_concurrency: int = 10
    # the REST API stage
    stage_name: str = "prod"
    api_throttle_rate: int = 200
    api_throttle_burst: int = 400
    # the global table's time-to-live attribute (epoch seconds)
    ttl_attribute: str = "expires_at"
    log_retention_days: int = 30
    # alarms (the rest are in [thresholds])
    alarm_p99_latency_ms: int = 1000
    alarm_5xx_percent: float = 1.0
    # every alarm notifies the region's alarm topic; this address is subscribed to it ("" for none)
    alarm_email: str = ""

    def site_domain(self) -> str:
        return self.site_domain_name or f"shop.{self.hosted_zone_name}"

    def certificate(self, region: str) -> str:
        return self.certificates.get(region, "dns")

    def sizing(self, region: str) -> OpenSearchSizing:
        return self.opensearch.get(region, OpenSearchSizing())


@dataclass(frozen=True)
class DeploymentConfig:
    name_prefix: str
    regions: tuple[str, ...]
    routing: str = "failover"
    health_check: HealthCheckConfig = field(default_factory=HealthCheckConfig)
    engine: EngineConfig = field(default_factory=EngineConfig)
    thresholds: Thresholds = field(default_factory=Thresholds)
    alarms: AlarmThresholds = field(default_factory=AlarmThresholds)
    sandbox: SandboxConfig = field(default_factory=SandboxConfig)
    aws: AwsConfig | None = None
    source: str | None = None

    # ---- derived names: the one place every component takes them from ----
    @property
    def primary(self) -> str:
        return self.regions[0]

    @property
    def secondaries(self) -> tuple[str, ...]:
        return self.regions[1:]

    @property
    def account(self) -> str:
        """The account every resource name is derived for: ``[aws].account`` when configured,
        else ``sandbox.account``. The sandbox runs as this account too, so the names it
        creates and the names every other component derives always agree."""
        return self.aws.account if self.aws else self.sandbox.account

    @property
    def table_name(self) -> str:
        return f"{self.name_prefix}-products"

    def bucket_name(self, region: str, account: str | None = None) -> str:
        return f"{self.name_prefix}-content-{account or self.account}-{region}"

    def queue_name(self, region: str) -> str:
        return f"{self.name_prefix}-content-events-{region}"

    def dlq_name(self, region: str) -> str:
        return f"{self.name_prefix}-indexer-dlq-{region}"

    def indexer_function_name(self, region: str) -> str:
        return f"{self.name_prefix}-indexer-{region}"

    def search_function_name(self, region: str) -> str:
        return f"{self.name_prefix}-search-{region}"

    def health_check_name(self, region: str) -> str:
        """The ``Name`` tag of the region's Route 53 health check (also tagged ``storefront:region``)."""
        return f"{self.name_prefix}-{region}"

    def canary_name(self, kind: str) -> str:
        """A shopper-path canary (the same name in every region; Synthetics allows 21 characters)."""
        return f"{self.name_prefix[:20 - len(kind)]}-{kind}"

    def replication_role_name(self, region: str) -> str:
        return f"{self.name_prefix}-content-replication-{region}"[:64]

    def replication_rule_id(self, destination: str) -> str:
        return f"to-{destination}"

    def bucket_replication(self, region: str, partition: str = "aws") -> dict[str, Any]:
        """The region's bucket ``ReplicationConfiguration`` (S3 API shape), as the CDK app puts
        it and the sandbox emulates it: every bucket replicates everything to every other
        bucket, delete markers included, replica modification sync on, Replication Time
        Control with metrics."""
        role_arn = f"arn:{partition}:iam::{self.account}:role/{self.replication_role_name(region)}"
        rules = [{
            "ID": self.replication_rule_id(other),
            "Priority": priority,
            "Status": "Enabled",
            "Filter": {"Prefix": ""},
            "DeleteMarkerReplication": {"Status": "Enabled"},
            "SourceSelectionCriteria": {"ReplicaModifications": {"Status": "Enabled"}},
            "Destination": {
                "Bucket": f"arn:{partition}:s3:::{self.bucket_name(other)}",
                "ReplicationTime": {"Status": "Enabled", "Time": {"Minutes": 15}},
                "Metrics": {"Status": "Enabled", "EventThreshold": {"Minutes": 15}},
            },
        } for priority, other in enumerate(r for r in self.regions if r != region)]
        return {"Role": role_arn, "Rules": rules}

    def maintenance_parameter(self, region: str) -> str:
        return f"/{self.name_prefix}/{region}/maintenance"

    def stack_name(self, kind: str, region: str | None = None) -> str:
        return f"{self.name_prefix}-{kind}" + (f"-{region}" if region else "")

    def require_region(self, region: str) -> str:
        if region not in self.regions:
            raise ConfigError("regions", f"{region!r} is not one of the configured regions {list(self.regions)}")
        return region


def parse_config(data: Mapping[str, Any], source: str | None = None) -> DeploymentConfig:
    """Validate a parsed TOML document into a :class:`DeploymentConfig`."""
    try:
        return _parse(data, source)
    except ConfigError as exc:
        if exc.source is None and source is not None:
            raise ConfigError(exc.field, exc.reason, source) from None
        raise


def _parse(data: Mapping[str, Any], source: str | None) -> DeploymentConfig:
    root = _Section(data, "")
    prefix = root.get("name_prefix", str, "storefront")
    if not _PREFIX.match(prefix):
        raise ConfigError("name_prefix", "use 3-22 lowercase letters, digits or '-', starting with a letter")

    regions_raw = root.get("regions", list)
    if len(regions_raw) < 2:
        raise ConfigError("regions", f"needs two or more regions (the first is primary), got {len(regions_raw)}")
    for i, region in enumerate(regions_raw):
        if not isinstance(region, str) or not _REGION.match(region):
            raise ConfigError(f"regions[{i}]", f"{region!r} is not an AWS region name like 'eu-west-1'")
    if len(set(regions_raw)) != len(regions_raw):
        raise ConfigError("regions", "lists a region twice")
    regions = tuple(regions_raw)

    routing = root.get("routing", str, "failover")
    if routing not in ROUTING_MODES:
        raise ConfigError("routing", f"must be one of {', '.join(ROUTING_MODES)}, got {routing!r}")

    hc = root.section("health_check")
    health = HealthCheckConfig(
        interval_seconds=hc.int_in("interval_seconds", 1, 30, 30),
        failure_threshold=hc.int_in("failure_threshold", 1, 10, 3),
        path=hc.get("path", str, "/health"),
    )
    if not health.path.startswith("/"):
        raise ConfigError("health_check.path", "must start with '/'")
    hc.done()

    en = root.section("engine")
    engine = EngineConfig(
        index_alias=en.get("index_alias", str, "products"),
        shards=en.int_in("shards", 1, 64, 1),
        replicas=en.int_in("replicas", 0, 5, 1),
        bulk_max_operations=en.int_in("bulk_max_operations", 1, 10_000, 1000),
        bulk_max_bytes=en.int_in("bulk_max_bytes", 64 * 1024, 100 * 1024 * 1024, 5 * 1024 * 1024),
    )
    if not re.match(r"^[a-z][a-z0-9_-]{0,100}$", engine.index_alias):
        raise ConfigError("engine.index_alias", "use lowercase letters, digits, '-' or '_', starting with a letter")
    en.done()

    th = root.section("thresholds")
    drill_det = th.get("drill_detection_seconds", (int, float), None)
    drill_rto = th.get("drill_rto_seconds", (int, float), None)
    thresholds = Thresholds(
        replication_latency_ms=th.int_in("replication_latency_ms", 1, 3_600_000, 2000),
        iterator_age_ms=th.int_in("iterator_age_ms", 1, 86_400_000, 60_000),
        dlq_depth=th.int_in("dlq_depth", 0, 1_000_000, 0),
        index_lag_seconds=th.number_in("index_lag_seconds", 0.01, 3600, 5.0),
        drill_detection_seconds=float(drill_det) if drill_det is not None else None,
        drill_rto_seconds=float(drill_rto) if drill_rto is not None else None,
    )
    th.done()

    al = root.section("alarms")
    d = AlarmThresholds()
    alarms = AlarmThresholds(
        jvm_memory_pressure_percent=al.int_in("jvm_memory_pressure_percent", 50, 100, d.jvm_memory_pressure_percent),
        free_storage_percent=al.int_in("free_storage_percent", 1, 90, d.free_storage_percent),
        lambda_errors=al.int_in("lambda_errors", 0, 1_000_000, d.lambda_errors),
        lambda_throttles=al.int_in("lambda_throttles", 0, 1_000_000, d.lambda_throttles),
        queue_oldest_message_seconds=al.int_in("queue_oldest_message_seconds", 60, 1_209_600,
                                               d.queue_oldest_message_seconds),
        replication_failed_operations=al.int_in("replication_failed_operations", 0, 1_000_000,
                                                d.replication_failed_operations),
        health_check_minutes=al.int_in("health_check_minutes", 1, 60, d.health_check_minutes),
        canary_interval_minutes=al.int_in("canary_interval_minutes", 1, 60, d.canary_interval_minutes),
        canary_failed_runs=al.int_in("canary_failed_runs", 1, 10, d.canary_failed_runs),
    )
    al.done()

    sb = root.section("sandbox")
    if sb.has("health_check_failure_threshold"):
        raise ConfigError("sandbox.health_check_failure_threshold", "no longer a setting: the sandbox's health "
                          "checks take their threshold from the synthesized app ([health_check] failure_threshold)",
                          source)
    sandbox = SandboxConfig(
        host=sb.get("host", str, "127.0.0.1"),
        aws_port=sb.int_in("aws_port", 1024, 65535, 5055),
        global_port=sb.int_in("global_port", 1024, 65535, 8080),
        first_region_port=sb.int_in("first_region_port", 1024, 65000, 8081),
        replication_lag_ms=sb.int_in("replication_lag_ms", 0, 600_000, 200),
        health_check_interval_seconds=sb.int_in("health_check_interval_seconds", 1, 30, 2),
        state_dir=sb.get("state_dir", str, ".sandbox"),
        account=sb.get("account", str, "123456789012"),
        dns_ttl_seconds=sb.number_in("dns_ttl_seconds", 0, 3600, 0.0),
        iam_enforcement=sb.get("iam_enforcement", bool, True),
    )
    if sandbox.host not in ("127.0.0.1", "localhost", "::1"):
        raise ConfigError("sandbox.host", "the sandbox only listens on the loopback address (127.0.0.1)")
    if not _ACCOUNT.match(sandbox.account):
        raise ConfigError("sandbox.account", "must be 12 digits")
    ports = [sandbox.aws_port, sandbox.global_port] + [sandbox.region_port(regions, r) for r in regions]
    if len(set(ports)) != len(ports):
        raise ConfigError("sandbox", f"ports overlap: aws {sandbox.aws_port}, global {sandbox.global_port}, "
                          f"regions {sandbox.first_region_port}..{sandbox.first_region_port + len(regions) - 1}")
    sb.done()

    aws = _parse_aws(root.section("aws"), regions, engine) if root.has("aws") else None
    for region, sizing in (aws.opensearch if aws else {}).items():
        limit = http_payload_limit(sizing.instance_type)
        if engine.bulk_max_bytes > limit:
            raise ConfigError("engine.bulk_max_bytes", f"must be at most {limit} ({limit // MIB} MiB), the HTTP "
                              f"payload limit of aws.opensearch.{region}.instance_type {sizing.instance_type!r}; "
                              f"got {engine.bulk_max_bytes}")
    root.done()
    return DeploymentConfig(
        name_prefix=prefix,
        regions=regions,
        routing=routing,
        health_check=health,
        engine=engine,
        thresholds=thresholds,
        alarms=alarms,
        sandbox=sandbox,
        aws=aws,
        source=source,
    )


def _parse_aws(sec: _Section, regions: tuple[str, ...], engine: EngineConfig) -> AwsConfig:
    account = sec.get("account", str)
    if not _ACCOUNT.match(account):
        raise ConfigError("aws.account", f"must be a 12-digit AWS account id, got {account!r}")
    domain = sec.get("domain_name", str).lower().rstrip(".")
    if not _DOMAIN.match(domain):
        raise ConfigError("aws.domain_name", f"{domain!r} is not a DNS name like 'search.example.com'")
    zone_id = sec.get("hosted_zone_id", str)
    if not _ZONE_ID.match(zone_id):
        raise ConfigError("aws.hosted_zone_id", f"{zone_id!r} is not a Route 53 hosted zone id like 'Z0123456789ABC'")
    zone_name = sec.get("hosted_zone_name", str).lower().rstrip(".")
    if not (domain == zone_name or domain.endswith("." + zone_name)):
        raise ConfigError("aws.hosted_zone_name", f"{domain!r} is not inside the zone {zone_name!r}")

    site = sec.get("site_domain_name", str, "").lower().rstrip(".")
    if site and not (_DOMAIN.match(site) and site.endswith("." + zone_name) and site != domain):
        raise ConfigError("aws.site_domain_name", f"{site!r} must be a DNS name inside the zone {zone_name!r}, "
                          "other than domain_name")

    certs_sec = sec.section("certificates")
    certificates: dict[str, str] = {}
    for region in regions:
        value = certs_sec.get(region, str, "dns")
        if value != "dns":
            m = _CERT_ARN.match(value)
            if not m:
                raise ConfigError(f"aws.certificates.{region}", "must be an ACM certificate ARN or \"dns\"")
            if m.group(1) != region:
                raise ConfigError(f"aws.certificates.{region}", f"the certificate is in {m.group(1)}; "
                                  "a regional API needs a certificate in its own region")
        certificates[region] = value
    certs_sec.done()

    os_sec = sec.section("opensearch")
    sizing: dict[str, OpenSearchSizing] = {}
    for region in regions:
        sizing[region] = _parse_opensearch(os_sec.section(region), f"aws.opensearch.{region}", engine)
    os_sec.done()

    ttl_attribute = sec.get("ttl_attribute", str, "expires_at")
    if not re.match(r"^[A-Za-z_][A-Za-z0-9_.-]{0,254}$", ttl_attribute):
        raise ConfigError("aws.ttl_attribute", f"{ttl_attribute!r} is not a DynamoDB attribute name")
    stage_name = sec.get("stage_name", str, "prod")
    if not re.match(r"^[A-Za-z0-9_]{1,64}$", stage_name):
        raise ConfigError("aws.stage_name", "use 1-64 letters, digits or '_'")
    retention = sec.get("log_retention_days", int, 30)
    if retention not in LOG_RETENTION_DAYS:
        raise ConfigError("aws.log_retention_days", f"CloudWatch Logs accepts one of {list(LOG_RETENTION_DAYS)}, "
                          f"got {retention}")
    rate = sec.int_in("api_throttle_rate", 1, 100_000, 200)
    burst = sec.int_in("api_throttle_burst", 1, 100_000, 400)
    if burst < rate:
        raise ConfigError("aws.api_throttle_burst", f"must be at least api_throttle_rate ({rate}), got {burst}")
    alarm_email = sec.get("alarm_email", str, "")
    if alarm_email and not re.match(r"^[^@\s]+@[^@\s]+\.[^@\s]+$", alarm_email):
        raise ConfigError("aws.alarm_email", f"{alarm_email!r} is not an email address; leave it out for no "
                          "subscription (the alarm topic is created either way)")
    max_record_age = sec.get("stream_max_record_age_seconds", int, 86_400)
    if max_record_age != -1 and not 60 <= max_record_age <= 604_800:
        raise ConfigError("aws.stream_max_record_age_seconds", f"must be -1 (no limit) or 60..604800, "
                          f"got {max_record_age}")

    reserved = sec.get("indexer_reserved_concurrency", int, 10)
    if reserved != -1 and not 1 <= reserved <= 1000:
        raise ConfigError("aws.indexer_reserved_concurrency", f"must be -1 (no reservation) or 1..1000, got {reserved}")

    aws = AwsConfig(
        account=account,
        domain_name=domain,
        hosted_zone_id=zone_id,
        hosted_zone_name=zone_name,
        certificates=certificates,
        site_domain_name=site,
        opensearch=sizing,
        indexer_memory_mb=sec.int_in("indexer_memory_mb", 128, 10_240, 1024),
        search_memory_mb=sec.int_in("search_memory_mb", 128, 10_240, 1024),
        api_rate_limit_per_5min=sec.int_in("api_rate_limit_per_5min", 100, 2_000_000_000, 2000),
        indexer_timeout_seconds=sec.int_in("indexer_timeout_seconds", 10, 900, 60),
        search_timeout_seconds=sec.int_in("search_timeout_seconds", 3, 29, 10),
        retry_margin_ms=sec.int_in("retry_margin_ms", 0, 60_000, 5000),
        stream_batch_size=sec.int_in("stream_batch_size", 1, 10_000, 500),
        stream_batching_window_seconds=sec.int_in("stream_batching_window_seconds", 0, 300, 1),
        stream_max_retries=sec.int_in("stream_max_retries", 0, 10_000, 10),
        stream_max_record_age_seconds=max_record_age,
        stream_parallelization_factor=sec.int_in("stream_parallelization_factor", 1, 10, 2),
        queue_batch_size=sec.int_in("queue_batch_size", 1, 10, 10),
        queue_max_concurrency=sec.int_in("queue_max_concurrency", 2, 1000, 4),
        indexer_reserved_concurrency=reserved,
        stage_name=stage_name,
        api_throttle_rate=rate,
        api_throttle_burst=burst,
        ttl_attribute=ttl_attribute,
        log_retention_days=retention,
        alarm_p99_latency_ms=sec.int_in("alarm_p99_latency_ms", 10, 60_000, 1000),
        alarm_5xx_percent=sec.number_in("alarm_5xx_percent", 0.01, 100, 1.0),
        alarm_email=alarm_email,
    )
    fan_in = aws.queue_max_concurrency + aws.stream_parallelization_factor
    if aws.indexer_reserved_concurrency != -1 and aws.indexer_reserved_concurrency < fan_in:
        raise ConfigError("aws.indexer_reserved_concurrency", f"must be at least queue_max_concurrency + "
                          f"stream_parallelization_factor ({fan_in}: the queue's batches plus one stream shard), "
                          f"got {aws.indexer_reserved_concurrency}")
    if aws.indexer_timeout_seconds * 1000 <= aws.retry_margin_ms:
        raise ConfigError("aws.retry_margin_ms", f"must be below the indexer timeout "
                          f"({aws.indexer_timeout_seconds} s), got {aws.retry_margin_ms} ms")
    sec.done()
    return aws


# Maximum size of an HTTP request payload by instance type, from AWS's "Network quotas"
# table (https://docs.aws.amazon.com/opensearch-service/latest/developerguide/limits.html
# #network-limits): 10 MiB for these types; 100 MiB for every other size of the families
# below; types the table does not list (r7g, c7g, m7g, t3.large, ...) get the smaller limit.
MIB = 1024 * 1024
PAYLOAD_10_MIB = frozenset({
    "t2.micro", "t2.small", "t2.medium", "t3.small", "t3.medium", "m3.medium", "m3.large", "m4.large", "m5.large",
    "m6g.large", "c4.large", "c5.large", "c6g.large", "r3.large", "or1.medium", "om2.large",
})
PAYLOAD_100_MIB_FAMILIES = frozenset({
    "m3", "m4", "m5", "m6g", "c4", "c5", "c6g", "r3", "r4", "r5", "r6g", "r6gd", "i2", "i3", "or1", "or2", "om2",
    "im4gn", "i4i", "i4g", "i8g", "i7i", "c7i", "m7i", "r7i", "c8g", "m8g", "r8g", "r8gd", "oi2",
})


def http_payload_limit(instance_type: str) -> int:
    """The largest HTTP request body (bytes) a domain of ``instance_type`` accepts."""
    name = instance_type.removesuffix(".search")
    if name not in PAYLOAD_10_MIB and name.split(".")[0] in PAYLOAD_100_MIB_FAMILIES:
        return 100 * MIB
    return 10 * MIB


def _parse_opensearch(r: _Section, path: str, engine: EngineConfig) -> OpenSearchSizing:
    name = r.get("profile", str, DEFAULT_OPENSEARCH_PROFILE)
    if name not in OPENSEARCH_PROFILES:
        raise ConfigError(f"{path}.profile", f"must be one of {', '.join(OPENSEARCH_PROFILES)}, got {name!r}")
    profile = OPENSEARCH_PROFILES[name]
    instance_type = r.get("instance_type", str, "r7g.large.search")
    if not instance_type.endswith(".search"):
        raise ConfigError(f"{path}.instance_type", "must be an OpenSearch instance type "
                          "ending in '.search', like 'r7g.large.search'")
    count = r.int_in("instance_count", 1, 80, profile.instance_count)
    azs = r.get("availability_zones", int, profile.availability_zones)
    if azs not in (2, 3):
        raise ConfigError(f"{path}.availability_zones", f"zone awareness spreads nodes over 2 or 3 zones, got {azs}")
    if count < azs or count % azs:
        raise ConfigError(f"{path}.instance_count", f"zone awareness over {azs} availability zones needs a "
                          f"multiple of {azs} data nodes, got {count}")
    master = r.get("master_instance_type", str, profile.master_instance_type)
    if master and not master.endswith(".search"):
        raise ConfigError(f"{path}.master_instance_type", "must be an OpenSearch instance type ending in "
                          "'.search', or \"\" for no dedicated master nodes")
    if profile.strict:
        why = (f"the {name} profile survives losing one availability zone; for a smaller domain set "
               f"profile = \"dev-2az-no-dedicated-masters\"")
        if azs != 3:
            raise ConfigError(f"{path}.availability_zones", f"must be 3, got {azs}: {why}")
        if not master:
            raise ConfigError(f"{path}.master_instance_type", f"needs three dedicated masters: {why}")
        if engine.replicas < 1:
            raise ConfigError("engine.replicas", f"must be at least 1 (a copy of every shard in another "
                              f"zone) for {path}: {why}")
    version = r.get("engine_version", str, "OpenSearch_2.19")
    if not re.match(r"^OpenSearch_\d+\.\d+$", version):
        raise ConfigError(f"{path}.engine_version", f"must look like 'OpenSearch_2.19', got {version!r}")
    if r.get("serverless", bool, False):
        raise ConfigError(f"{path}.serverless", "OpenSearch Serverless is not offered by the CDK app yet; "
                          "size a managed domain with instance_type and instance_count")
    sizing = OpenSearchSizing(
        profile=name,
        instance_type=instance_type,
        instance_count=count,
        volume_gb=r.int_in("volume_gb", 10, 16_384, 20),
        availability_zones=azs,
        master_instance_type=master,
        engine_version=version,
    )
    r.done()
    return sizing


def config_path(path: str | os.PathLike[str] | None = None) -> Path:
    """The file to read: the argument, else ``$STOREFRONT_CONFIG``, else ./storefront.toml."""
    return Path(path or os.environ.get(ENV_PATH) or DEFAULT_PATH)


def load_config(path: str | os.PathLike[str] | None = None) -> DeploymentConfig:
    """Read and validate the configuration file; raises :class:`ConfigError` naming the field."""
    p = config_path(path)
    try:
        raw = p.read_bytes()
    except FileNotFoundError:
        raise ConfigError("<file>", f"configuration file not found; create it or set {ENV_PATH}", str(p)) from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError("<file>", f"not valid TOML: {exc}", str(p)) from None
    return parse_config(data, str(p))
