"""What the CDK app needs from the configuration, beyond what ``catalog.config`` checks.

``catalog.config`` validates the file for every user (sandbox included); this module
adds the rules only AWS imposes (Route 53's 10 or 30 second intervals, an ``[aws]``
section) and derives the few names that only the CDK app uses. Errors are
:class:`catalog.config.ConfigError` and name the field.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from catalog.config import LOG_RETENTION_DAYS, AwsConfig, ConfigError, DeploymentConfig, load_config
from catalog.schema import opensearch_index_body

PROJECT_ROOT = Path(__file__).resolve().parent.parent
ROUTE53_INTERVALS = (10, 30)


@dataclass(frozen=True)
class Deployment:
    """A validated configuration for AWS: the config plus its ``[aws]`` part, never None."""

    config: DeploymentConfig
    aws: AwsConfig

    def stack_env_regions(self) -> tuple[str, ...]:
        return self.config.regions

    # ---- names only the CDK app uses (all others come from DeploymentConfig) ----
    def domain_name(self) -> str:
        """The OpenSearch domain name (3-28 characters; the same in every region)."""
        return f"{self.config.name_prefix}-search"[:28].rstrip("-")

    def access_log_bucket_name(self, region: str) -> str:
        return f"{self.config.name_prefix}-access-logs-{self.aws.account}-{region}"[:63].rstrip("-")

    def secondaries_record_name(self) -> str:
        """With failover routing over 3+ regions, SECONDARY aliases a latency set of the secondaries here."""
        return f"secondaries.{self.aws.domain_name}"

    def api_base(self) -> str:
        """What the search page calls: the shared search name (custom domain, base path ``/``)."""
        return f"https://{self.aws.domain_name}"

    def site_origin(self) -> str:
        """The search page's origin: what the search API's CORS answers (``CORS_ALLOW_ORIGIN``)."""
        return f"https://{self.aws.site_domain()}"

    def physical_index_name(self) -> str:
        """The first physical index behind the alias: ``<alias>-v<hash of the index body>``."""
        return f"{self.config.engine.index_alias}-v{index_body_hash(self)[:10]}"

    def index_body(self) -> dict[str, Any]:
        return opensearch_index_body(self.config.engine.shards, self.config.engine.replicas)


def index_body_hash(dep: Deployment) -> str:
    return hashlib.sha256(json.dumps(dep.index_body(), sort_keys=True).encode()).hexdigest()


def log_retention(days: int) -> Any:  # aws_logs.RetentionDays, imported lazily: this module stays CDK-free
    """The ``RetentionDays`` member for a number of days that ``catalog.config`` accepted."""
    from aws_cdk import aws_logs as logs

    members = [m for m in logs.RetentionDays if m.name != "INFINITE"]  # same order as LOG_RETENTION_DAYS
    return dict(zip(LOG_RETENTION_DAYS, members, strict=True))[days]


def for_aws(config: DeploymentConfig) -> Deployment:
    """Check the rules AWS adds; raises :class:`ConfigError` naming the field."""
    if config.aws is None:
        raise ConfigError("aws", "the [aws] section (account, domain_name, hosted_zone_id, hosted_zone_name) "
                          "is required to deploy", config.source)
    hc = config.health_check
    if hc.interval_seconds not in ROUTE53_INTERVALS:
        raise ConfigError("health_check.interval_seconds",
                          f"Route 53 accepts 10 or 30 seconds, got {hc.interval_seconds}", config.source)
    if len(hc.path) > 255:
        raise ConfigError("health_check.path", "Route 53 accepts at most 255 characters", config.source)
    return Deployment(config=config, aws=config.aws)


def load_deployment(path: str | None = None) -> Deployment:
    """``load_config`` (file argument, ``$STOREFRONT_CONFIG`` or ./storefront.toml) + :func:`for_aws`."""
    return for_aws(load_config(path))
