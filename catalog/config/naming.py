"""Resource names: the one place the CDK app, the sandbox and the operator tooling take them from.

:class:`ResourceNames` derives every name from the name prefix, the regions and the account;
:class:`~catalog.config.schema.DeploymentConfig` is one, so ``cfg.table_name`` and
``cfg.bucket_name(region)`` read as they always did.
"""

from __future__ import annotations

from catalog.config.errors import ConfigError


class ResourceNames:
    """Every derived resource name (a mixin: the dataclass below it holds the values)."""

    name_prefix: str
    regions: tuple[str, ...]

    @property
    def account(self) -> str:
        """The account every resource name is derived for."""
        raise NotImplementedError

    @property
    def primary(self) -> str:
        return self.regions[0]

    @property
    def secondaries(self) -> tuple[str, ...]:
        return self.regions[1:]

    def require_region(self, region: str) -> str:
        if region not in self.regions:
            raise ConfigError("regions", f"{region!r} is not one of the configured regions {list(self.regions)}")
        return region

    @property
    def table_name(self) -> str:
        return f"{self.name_prefix}-products"

    def bucket_name(self, region: str, account: str | None = None) -> str:
        return f"{self.name_prefix}-content-{account or self.account}-{region}"

    def _regional(self, kind: str, region: str) -> str:
        return f"{self.name_prefix}-{kind}-{region}"

    def queue_name(self, region: str) -> str:
        return self._regional("content-events", region)

    def dlq_name(self, region: str) -> str:
        return self._regional("indexer-dlq", region)

    def indexer_function_name(self, region: str) -> str:
        return self._regional("indexer", region)

    def search_function_name(self, region: str) -> str:
        return self._regional("search", region)

    def health_check_name(self, region: str) -> str:
        """The ``Name`` tag of the region's Route 53 health check (also tagged ``storefront:region``)."""
        return f"{self.name_prefix}-{region}"

    def canary_name(self, kind: str) -> str:
        """A shopper-path canary (the same name in every region; Synthetics allows 21 characters)."""
        return f"{self.name_prefix[:20 - len(kind)]}-{kind}"

    def replication_role_name(self, region: str) -> str:
        return self._regional("content-replication", region)[:64]

    def replication_rule_id(self, destination: str) -> str:
        return f"to-{destination}"

    def maintenance_parameter(self, region: str) -> str:
        return f"/{self.name_prefix}/{region}/maintenance"

    def stack_name(self, kind: str, region: str | None = None) -> str:
        return f"{self.name_prefix}-{kind}" + (f"-{region}" if region else "")
