"""Reading and validating the configuration file into :class:`~catalog.config.schema.DeploymentConfig`.

Every field declared with :func:`~catalog.config.schema.setting` is read by its declaration
(:func:`_settings`): its default and range are written once, in the schema. What is more
than a range (patterns, choices, rules between fields) is checked here, with errors that
name the field.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import fields
from pathlib import Path
from typing import Any

from catalog.config.aws_limits import LOG_RETENTION_DAYS, MIB, http_payload_limit
from catalog.config.errors import ConfigError
from catalog.config.schema import (
    DEFAULT_CERTIFICATE,
    DEFAULT_NAME_PREFIX,
    DEFAULT_OPENSEARCH_PROFILE,
    OPENSEARCH_PROFILES,
    ROUTING_MODES,
    SETTING,
    AlarmThresholds,
    AwsConfig,
    DeploymentConfig,
    EngineConfig,
    HealthCheckConfig,
    OpenSearchSizing,
    SandboxConfig,
    Thresholds,
)

DEFAULT_PATH = "storefront.toml"
ENV_PATH = "STOREFRONT_CONFIG"

_REGION = re.compile(r"^[a-z]{2}(-gov)?-[a-z]+-\d$")
_PREFIX = re.compile(r"^[a-z][a-z0-9-]{1,20}[a-z0-9]$")
_ACCOUNT = re.compile(r"^\d{12}$")
_DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
_ZONE_ID = re.compile(r"^Z[A-Z0-9]{1,31}$")
_CERT_ARN = re.compile(r"^arn:aws[a-z-]*:acm:([a-z0-9-]+):\d{12}:certificate/[0-9a-f-]{36}$")


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


def _settings(sec: _Section, cls: type) -> dict[str, Any]:
    """Every field of ``cls`` declared with ``setting()``, read from ``sec``: the declared
    default when the key is absent, the value's type that of the default, a number within
    its declared range."""
    values: dict[str, Any] = {}
    for f in fields(cls):
        if SETTING not in f.metadata:
            continue
        default = f.default
        bounds: tuple[Any, Any] | None = f.metadata[SETTING]
        if isinstance(default, (bool, str)):
            values[f.name] = sec.get(f.name, type(default), default)
        elif isinstance(default, int):
            values[f.name] = sec.int_in(f.name, *bounds, default) if bounds else sec.get(f.name, int, default)
        elif isinstance(default, float):
            values[f.name] = (sec.number_in(f.name, *bounds, default) if bounds
                              else float(sec.get(f.name, (int, float), default)))
        else:  # a declaration this reader does not know is a bug in the schema, not in the file
            raise TypeError(f"{cls.__name__}.{f.name}: setting() of {type(default).__name__}")
    return values


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
    prefix = root.get("name_prefix", str, DEFAULT_NAME_PREFIX)
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

    top = _settings(root, DeploymentConfig)
    if top["routing"] not in ROUTING_MODES:
        raise ConfigError("routing", f"must be one of {', '.join(ROUTING_MODES)}, got {top['routing']!r}")

    hc = root.section("health_check")
    health = HealthCheckConfig(**_settings(hc, HealthCheckConfig))
    if not health.path.startswith("/"):
        raise ConfigError("health_check.path", "must start with '/'")
    hc.done()

    en = root.section("engine")
    engine = EngineConfig(**_settings(en, EngineConfig))
    if not re.match(r"^[a-z][a-z0-9_-]{0,100}$", engine.index_alias):
        raise ConfigError("engine.index_alias", "use lowercase letters, digits, '-' or '_', starting with a letter")
    en.done()

    th = root.section("thresholds")
    drill_det = th.get("drill_detection_seconds", (int, float), None)
    drill_rto = th.get("drill_rto_seconds", (int, float), None)
    thresholds = Thresholds(
        **_settings(th, Thresholds),
        drill_detection_seconds=float(drill_det) if drill_det is not None else None,
        drill_rto_seconds=float(drill_rto) if drill_rto is not None else None,
    )
    th.done()

    al = root.section("alarms")
    alarms = AlarmThresholds(**_settings(al, AlarmThresholds))
    al.done()

    sandbox = _parse_sandbox(root.section("sandbox"), regions)

    aws = _parse_aws(root.section("aws"), regions, engine) if root.has("aws") else None
    for region, sizing in (aws.opensearch if aws else {}).items():
        limit = http_payload_limit(sizing.instance_type)
        if engine.bulk_max_bytes > limit:
            raise ConfigError("engine.bulk_max_bytes", f"must be at most {limit} ({limit // MIB} MiB), the HTTP "
                              f"payload limit of aws.opensearch.{region}.instance_type {sizing.instance_type!r}; "
                              f"got {engine.bulk_max_bytes}")
    root.done()
    return DeploymentConfig(prefix, regions, **top, health_check=health, engine=engine, thresholds=thresholds,
                            alarms=alarms, sandbox=sandbox, aws=aws, source=source)


def _parse_sandbox(sb: _Section, regions: tuple[str, ...]) -> SandboxConfig:
    if sb.has("health_check_failure_threshold"):
        raise ConfigError("sandbox.health_check_failure_threshold", "no longer a setting: the sandbox's health "
                          "checks take their threshold from the synthesized app ([health_check] failure_threshold)")
    sandbox = SandboxConfig(**_settings(sb, SandboxConfig))
    if sandbox.host not in ("127.0.0.1", "localhost", "::1"):
        raise ConfigError("sandbox.host", "the sandbox only listens on the loopback address (127.0.0.1)")
    if not _ACCOUNT.match(sandbox.account):
        raise ConfigError("sandbox.account", "must be 12 digits")
    ports = [sandbox.aws_port, sandbox.global_port] + [sandbox.region_port(regions, r) for r in regions]
    if len(set(ports)) != len(ports):
        raise ConfigError("sandbox", f"ports overlap: aws {sandbox.aws_port}, global {sandbox.global_port}, "
                          f"regions {sandbox.first_region_port}..{sandbox.first_region_port + len(regions) - 1}")
    sb.done()
    return sandbox


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

    certs_sec = sec.section("certificates")
    certificates: dict[str, str] = {}
    for region in regions:
        value = certs_sec.get(region, str, DEFAULT_CERTIFICATE)
        if value != DEFAULT_CERTIFICATE:
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

    v = _settings(sec, AwsConfig)
    site = v["site_domain_name"] = v["site_domain_name"].lower().rstrip(".")
    if site and not (_DOMAIN.match(site) and site.endswith("." + zone_name) and site != domain):
        raise ConfigError("aws.site_domain_name", f"{site!r} must be a DNS name inside the zone {zone_name!r}, "
                          "other than domain_name")
    if not re.match(r"^[A-Za-z_][A-Za-z0-9_.-]{0,254}$", v["ttl_attribute"]):
        raise ConfigError("aws.ttl_attribute", f"{v['ttl_attribute']!r} is not a DynamoDB attribute name")
    if not re.match(r"^[A-Za-z0-9_]{1,64}$", v["stage_name"]):
        raise ConfigError("aws.stage_name", "use 1-64 letters, digits or '_'")
    if v["log_retention_days"] not in LOG_RETENTION_DAYS:
        raise ConfigError("aws.log_retention_days", f"CloudWatch Logs accepts one of {list(LOG_RETENTION_DAYS)}, "
                          f"got {v['log_retention_days']}")
    if v["api_throttle_burst"] < v["api_throttle_rate"]:
        raise ConfigError("aws.api_throttle_burst", f"must be at least api_throttle_rate ({v['api_throttle_rate']}), "
                          f"got {v['api_throttle_burst']}")
    if v["alarm_email"] and not re.match(r"^[^@\s]+@[^@\s]+\.[^@\s]+$", v["alarm_email"]):
        raise ConfigError("aws.alarm_email", f"{v['alarm_email']!r} is not an email address; leave it out for no "
                          "subscription (the alarm topic is created either way)")
    if v["queue_batch_size"] > 10 and v["queue_batching_window_seconds"] < 1:
        raise ConfigError("aws.queue_batch_size", f"above 10 ({v['queue_batch_size']}) Lambda requires "
                          f"aws.queue_batching_window_seconds of at least 1, got "
                          f"{v['queue_batching_window_seconds']}; raise the window or use 10 or fewer")
    max_record_age = v["stream_max_record_age_seconds"]
    if max_record_age != -1 and not 60 <= max_record_age <= 604_800:
        raise ConfigError("aws.stream_max_record_age_seconds", f"must be -1 (no limit) or 60..604800, "
                          f"got {max_record_age}")
    reserved = v["indexer_reserved_concurrency"]
    if reserved != -1 and not 1 <= reserved <= 1000:
        raise ConfigError("aws.indexer_reserved_concurrency", f"must be -1 (no reservation) or 1..1000, got {reserved}")

    aws = AwsConfig(account=account, domain_name=domain, hosted_zone_id=zone_id, hosted_zone_name=zone_name,
                    certificates=certificates, opensearch=sizing, **v)
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


def _parse_opensearch(r: _Section, path: str, engine: EngineConfig) -> OpenSearchSizing:
    name = r.get("profile", str, DEFAULT_OPENSEARCH_PROFILE)
    if name not in OPENSEARCH_PROFILES:
        raise ConfigError(f"{path}.profile", f"must be one of {', '.join(OPENSEARCH_PROFILES)}, got {name!r}")
    profile = OPENSEARCH_PROFILES[name]
    v = _settings(r, OpenSearchSizing)
    if not v["instance_type"].endswith(".search"):
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
    if not re.match(r"^OpenSearch_\d+\.\d+$", v["engine_version"]):
        raise ConfigError(f"{path}.engine_version", f"must look like 'OpenSearch_2.19', got {v['engine_version']!r}")
    if v["serverless"]:
        raise ConfigError(f"{path}.serverless", "OpenSearch Serverless is not offered by the CDK app yet; "
                          "size a managed domain with instance_type and instance_count")
    r.done()
    return OpenSearchSizing(profile=name, instance_count=count, availability_zones=azs, master_instance_type=master,
                            **v)


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
