"""The configuration schema: every section's fields, each with its default and accepted range.

A field declared with :func:`setting` is written once, here: its default, and for a number
the range parsing accepts (:mod:`catalog.config.parse` reads every such field of a section
by this declaration). Fields whose rules are more than a range are read by name there.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from catalog import defaults
from catalog.config.naming import ResourceNames
from catalog.config.replication_doc import bucket_replication

T = TypeVar("T", int, float, str, bool)

ROUTING_MODES = ("failover", "latency")
# the shopper-path canaries each region runs (infra/constructs/canary.py)
CANARY_KINDS = ("regional", "global")
DEFAULT_NAME_PREFIX = "storefront"
# a region without a certificate ARN in [aws.certificates] gets a DNS-validated one
DEFAULT_CERTIFICATE = "dns"
# the metadata key that marks a field parsing reads by its declaration
SETTING = "storefront.setting"


def setting(default: T, lo: float | None = None, hi: float | None = None) -> T:
    """A field read from the TOML by its declaration: ``default`` when the key is absent, and
    for a number, ``lo <= value <= hi`` (both given, or neither)."""
    if (lo is None) != (hi is None):
        raise TypeError("give both bounds or neither")
    bounds = None if lo is None else (lo, hi)
    return field(default=default, metadata={SETTING: bounds})


@dataclass(frozen=True)
class HealthCheckConfig:
    """Route 53 health checks (and the sandbox's emulation of them).

    AWS accepts only 10 or 30 second intervals; the sandbox accepts any whole number of
    seconds so that drills can be rehearsed quickly. ``infra`` enforces the AWS values.
    """

    interval_seconds: int = setting(30, 1, 30)
    failure_threshold: int = setting(3, 1, 10)
    path: str = setting("/health")  # must start with '/'

    @property
    def detection_budget_seconds(self) -> float:
        """The documented worst case for noticing a failure, plus one second of slack."""
        return self.interval_seconds * self.failure_threshold + 1.0


@dataclass(frozen=True)
class EngineConfig:
    """Search index settings shared by both engines."""

    index_alias: str = setting(defaults.INDEX_ALIAS)
    shards: int = setting(1, 1, 64)
    replicas: int = setting(1, 0, 5)
    bulk_max_operations: int = setting(defaults.BULK_MAX_OPERATIONS, 1, 10_000)
    # at most the HTTP payload limit of every region's instance type (aws_limits)
    bulk_max_bytes: int = setting(defaults.BULK_MAX_BYTES, 64 * 1024, 100 * 1024 * 1024)


@dataclass(frozen=True)
class Thresholds:
    """What ``replication status`` flags and what a drill is judged against."""

    replication_latency_ms: int = setting(2000, 1, 3_600_000)
    iterator_age_ms: int = setting(60_000, 1, 86_400_000)
    dlq_depth: int = setting(0, 0, 1_000_000)
    index_lag_seconds: float = setting(5.0, 0.01, 3600)
    drill_detection_seconds: float | None = None  # default: interval x threshold + 1 s
    drill_rto_seconds: float | None = None  # default: detection + 30 s


@dataclass(frozen=True)
class AlarmThresholds:
    """``[alarms]``: the CloudWatch alarms the CDK app adds beyond ``[thresholds]`` (README "Alarms")."""

    # AWS's recommended OpenSearch alarm: Maximum >= 95 % for 3 consecutive minutes (garbage
    # collection no longer frees memory; the next step is a node running out of heap)
    jvm_memory_pressure_percent: int = setting(95, 50, 100)
    # AWS's recommended alarm: the node with least free space below 25 % of its volume (writes
    # are blocked at the flood-stage watermark, 95 % used)
    free_storage_percent: int = setting(25, 1, 90)
    # per function, errors (or throttles) summed over 5 minutes above this: 0 = any
    lambda_errors: int = setting(0, 0, 1_000_000)
    lambda_throttles: int = setting(0, 0, 1_000_000)
    # the oldest S3 event in the content queue: the indexer normally takes it within a
    # minute; 15 minutes means it fails or cannot keep up
    queue_oldest_message_seconds: int = setting(900, 60, 1_209_600)
    # S3 replication operations that failed (per destination, summed over 5 minutes)
    replication_failed_operations: int = setting(0, 0, 1_000_000)
    # minutes a region's Route 53 health check must be unhealthy before its alarm fires
    health_check_minutes: int = setting(1, 1, 60)
    # the shopper-path canaries run this often, and alarm after this many failed runs in a row
    canary_interval_minutes: int = setting(5, 1, 60)
    canary_failed_runs: int = setting(2, 1, 10)


@dataclass(frozen=True)
class SandboxConfig:
    """The local two-region emulation (``storefront sandbox up``)."""

    host: str = setting("127.0.0.1")  # loopback only
    aws_port: int = setting(5055, 1024, 65535)
    global_port: int = setting(8080, 1024, 65535)
    first_region_port: int = setting(8081, 1024, 65000)  # region i listens on first_region_port + i
    replication_lag_ms: int = setting(200, 0, 600_000)
    # probes every health check's endpoint this often, in place of the template's 10 or 30 s
    # (the threshold, path and the rest are the template's: [health_check])
    health_check_interval_seconds: int = setting(2, 1, 30)
    state_dir: str = setting(".sandbox")
    account: str = setting("123456789012")  # 12 digits
    # the global port caches Route 53's answer this long, as a shopper's resolver caches the
    # record (0: no caching; 60 models shoppers of the deployed alias records, see storefront.toml)
    dns_ttl_seconds: float = setting(0.0, 0, 3600)
    # moto judges every AWS call against the caller's IAM policies (each function runs as its
    # own role from the template; everything else as the sandbox's operator): see sandbox.iam
    iam_enforcement: bool = setting(True)

    def region_port(self, regions: tuple[str, ...], region: str) -> int:
        return self.first_region_port + regions.index(region)


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
_DEFAULT_PROFILE = OPENSEARCH_PROFILES[DEFAULT_OPENSEARCH_PROFILE]


@dataclass(frozen=True)
class OpenSearchSizing:
    """One region's OpenSearch Service domain (``[aws.opensearch.<region>]``).

    The defaults are the default profile's (see :data:`OPENSEARCH_PROFILES`); a region that
    names another profile takes that profile's zones, node count and masters.
    """

    profile: str = DEFAULT_OPENSEARCH_PROFILE
    instance_type: str = setting("r7g.large.search")  # ends in '.search'
    instance_count: int = _DEFAULT_PROFILE.instance_count  # 1..80, a multiple of availability_zones
    volume_gb: int = setting(20, 10, 16_384)
    serverless: bool = setting(False)  # not offered by the CDK app yet; parsing rejects true
    # Zone awareness is always on: the data nodes spread over 2 or 3 availability zones;
    # the count must divide by it.
    availability_zones: int = _DEFAULT_PROFILE.availability_zones
    # Dedicated master nodes (three of them) of this type; "" for none.
    master_instance_type: str = _DEFAULT_PROFILE.master_instance_type
    engine_version: str = setting("OpenSearch_2.19")  # 'OpenSearch_<major>.<minor>'


@dataclass(frozen=True)
class AwsConfig:
    """AWS-only settings (the CDK app); the sandbox ignores them. Keys of ``[aws]``."""

    account: str
    domain_name: str
    hosted_zone_id: str
    hosted_zone_name: str
    # Per region: an existing ACM certificate ARN, or DEFAULT_CERTIFICATE ("dns") for a DNS-validated one.
    certificates: Mapping[str, str] = field(default_factory=dict)
    # the search page's site (CloudFront); "" means shop.<hosted_zone_name>
    site_domain_name: str = setting("")
    opensearch: Mapping[str, OpenSearchSizing] = field(default_factory=dict)
    indexer_memory_mb: int = setting(1024, 128, 10_240)
    search_memory_mb: int = setting(1024, 128, 10_240)
    api_rate_limit_per_5min: int = setting(2000, 100, 2_000_000_000)
    # Lambda functions
    indexer_timeout_seconds: int = setting(60, 10, 900)
    search_timeout_seconds: int = setting(10, 3, 29)  # API Gateway's limit: 29 s
    retry_margin_ms: int = setting(5000, 0, 60_000)  # below the indexer timeout
    # the indexer's DynamoDB stream event source
    stream_batch_size: int = setting(500, 1, 10_000)
    stream_batching_window_seconds: int = setting(1, 0, 300)
    stream_max_retries: int = setting(10, 0, 10_000)
    stream_max_record_age_seconds: int = setting(86_400)  # -1 (no limit) or 60..604800
    stream_parallelization_factor: int = setting(2, 1, 10)
    # the indexer's S3-events queue event source (a standard queue): above 10 messages per batch
    # Lambda requires a batching window of at least 1 s; one invocation then takes up to the
    # batch size, what arrived within the window, or 6 MB of messages, whichever comes first.
    # Defaults are Lambda's (10, no window): a content change is indexed without waiting; a large
    # catalog can trade up to the window of latency for fewer invocations and _bulk requests
    queue_batch_size: int = setting(10, 1, 10_000)
    queue_batching_window_seconds: int = setting(0, 0, 300)
    # bounded fan-in to the domain: concurrent queue batches, and the indexer's reserved
    # concurrency (-1: none, else 1..1000); at least queue_max_concurrency + stream_parallelization_factor
    queue_max_concurrency: int = setting(4, 2, 1000)
    indexer_reserved_concurrency: int = setting(10)
    # the REST API stage
    stage_name: str = setting("prod")
    api_throttle_rate: int = setting(200, 1, 100_000)
    api_throttle_burst: int = setting(400, 1, 100_000)  # at least api_throttle_rate
    # the global table's time-to-live attribute (epoch seconds)
    ttl_attribute: str = setting("expires_at")
    log_retention_days: int = setting(30)  # one of aws_limits.LOG_RETENTION_DAYS
    # alarms (the rest are in [thresholds] and [alarms])
    alarm_p99_latency_ms: int = setting(1000, 10, 60_000)
    alarm_5xx_percent: float = setting(1.0, 0.01, 100)
    # every alarm notifies the region's alarm topic; this address is subscribed to it ("" for none)
    alarm_email: str = setting("")

    def site_domain(self) -> str:
        return self.site_domain_name or f"shop.{self.hosted_zone_name}"

    def certificate(self, region: str) -> str:
        return self.certificates.get(region, DEFAULT_CERTIFICATE)

    def sizing(self, region: str) -> OpenSearchSizing:
        return self.opensearch.get(region, OpenSearchSizing())


@dataclass(frozen=True)
class DeploymentConfig(ResourceNames):
    """The whole configuration; its resource names come from :class:`ResourceNames`."""

    name_prefix: str
    regions: tuple[str, ...]
    routing: str = setting("failover")  # one of ROUTING_MODES
    health_check: HealthCheckConfig = field(default_factory=HealthCheckConfig)
    engine: EngineConfig = field(default_factory=EngineConfig)
    thresholds: Thresholds = field(default_factory=Thresholds)
    alarms: AlarmThresholds = field(default_factory=AlarmThresholds)
    sandbox: SandboxConfig = field(default_factory=SandboxConfig)
    aws: AwsConfig | None = None
    source: str | None = None

    @property
    def account(self) -> str:
        """The account every resource name is derived for: ``[aws].account`` when configured,
        else ``sandbox.account``. The sandbox runs as this account too, so the names it
        creates and the names every other component derives always agree."""
        return self.aws.account if self.aws else self.sandbox.account

    def bucket_replication(self, region: str, partition: str = "aws") -> dict[str, Any]:
        """The region's bucket ``ReplicationConfiguration`` (:mod:`catalog.config.replication_doc`),
        as the CDK app puts it and the sandbox emulates it."""
        return bucket_replication(self, region, partition)
