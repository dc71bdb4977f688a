"""The CDK app: ``npx aws-cdk@2 synth`` (cdk.json runs ``python -m infra.app``).

Reads the configuration through ``catalog.config.load_config`` (``./storefront.toml``,
``$STOREFRONT_CONFIG``, or the context ``config=<file>``) and builds, for regions
``R1`` (primary) ... ``Rn``, these stacks, in deploy order:

1. ``<prefix>-storage-<R>`` for every region
2. ``<prefix>-table`` in the primary (the global table with a replica in every other region)
3. ``<prefix>-replication-<R>`` for every region (after every storage stack)
4. ``<prefix>-search-<R>`` for every region (after its storage stack, its replication
   stack and the table; with failover over 3+ regions the primary's comes last, as its
   SECONDARY record aliases the secondaries' latency records)
5. ``<prefix>-site`` in us-east-1: the storefront search page (S3 + CloudFront), which
   depends on no other stack
6. ``<prefix>-health-alarms`` in us-east-1 (after every search stack): Route 53
   health check alarms, where Route 53 publishes their metric

cdk-nag's AwsSolutions pack runs as a policy validation plugin unless the context
``nag=false``; every acknowledgment is in :mod:`infra.nag` with its reason. checkov's suppressions (each with
its reason) are written into the templates by :mod:`infra.checkov`.
"""

from __future__ import annotations

import os
import sys
from typing import Any

from aws_cdk import App, Aspects, Environment, Stack, Tags, Validations
from cdk_nag import AwsSolutionsChecks

from catalog.config import ConfigError
from infra.checkov import CheckovSuppressions
from infra.nag import acknowledge
from infra.settings import Deployment, load_deployment
from infra.stacks.health_alarms import METRICS_REGION, HealthAlarmsStack
from infra.stacks.replication import ReplicationStack
from infra.stacks.search import SearchStack
from infra.stacks.site import SITE_REGION, SiteStack
from infra.stacks.storage import StorageStack
from infra.stacks.table import TableStack


def build(app: App, dep: Deployment) -> dict[str, Stack]:
    """Add every stack to ``app``; returns them by stack name."""
    cfg = dep.config
    stacks: dict[str, Stack] = {}

    def env(region: str) -> Environment:
        return Environment(account=dep.aws.account, region=region)

    def add(stack: Stack) -> Stack:
        stacks[stack.stack_name] = stack
        return stack

    storage = {r: add(StorageStack(app, cfg.stack_name("storage", r), dep=dep, region=r, env=env(r),
                                   description=f"storefront-search {r}: content bucket, S3-events queue, DLQ"))
               for r in cfg.regions}
    table = add(TableStack(app, cfg.stack_name("table"), dep=dep, env=env(cfg.primary),
                           description="storefront-search: DynamoDB global table with a replica per region"))
    for r in cfg.regions:
        replication = add(ReplicationStack(app, cfg.stack_name("replication", r), dep=dep, region=r, env=env(r),
                                           description=f"storefront-search {r}: content bucket replication rules"))
        for s in storage.values():
            replication.add_stack_dependency(s, "a bucket that receives replication must exist first")
        search = add(SearchStack(app, cfg.stack_name("search", r), dep=dep, region=r, env=env(r),
                                 description=f"storefront-search {r}: OpenSearch, indexer, search API, WAF, "
                                             "alarms, Route 53 health check and records"))
        search.add_stack_dependency(storage[r], "imports the queue, DLQ and bucket by name")
        search.add_stack_dependency(table, "reads the region's replica stream")
        search.add_stack_dependency(replication, "S3 replication alarms and content from other regions")
    if cfg.routing == "failover" and len(cfg.secondaries) > 1:
        # the primary's SECONDARY record aliases the secondaries' latency set: it must exist first
        primary = stacks[cfg.stack_name("search", cfg.primary)]
        for r in cfg.secondaries:
            primary.add_stack_dependency(stacks[cfg.stack_name("search", r)],
                                         "SECONDARY aliases the secondaries' latency records")
    add(SiteStack(app, cfg.stack_name("site"), dep=dep, env=env(SITE_REGION),
                  description="storefront-search: the search page (private S3 bucket, CloudFront with OAC)"))
    health = HealthAlarmsStack(app, cfg.stack_name("health-alarms"), dep=dep, env=env(METRICS_REGION),
                               description="storefront-search: an alarm on every region's Route 53 health check")
    for r in cfg.regions:
        health.add_stack_dependency(stacks[cfg.stack_name("search", r)], "reads the region's health check id")
    add(health)
    for stack in stacks.values():
        Tags.of(stack).add("storefront:app", cfg.name_prefix)
    acknowledge(stacks.values(), dep)
    Aspects.of(app).add(CheckovSuppressions())
    return stacks


# Feature flags the stacks rely on (also in cdk.json for the CLI; these apply when the app runs alone).
FEATURE_FLAGS = {
    # access-log delivery through a bucket policy, not the legacy LogDeliveryWrite ACL
    "@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy": True,
}


def new_app(*, outdir: str | None = None, context: dict[str, Any] | None = None, validation: bool | None = None) -> App:
    """An App; ``validation`` switches CDK's built-in CloudFormation validator (default: on)."""
    kwargs: dict[str, Any] = {
        "context": {**FEATURE_FLAGS, **(context or {})},
        "outdir": outdir or os.environ.get("CDK_OUTDIR") or "cdk.out",
    }
    if validation is not None:
        kwargs["builtin_cloud_formation_validation"] = validation
    return App(**kwargs)


def create_app(dep: Deployment, app: App | None = None, *, nag: bool = True) -> tuple[App, dict[str, Stack]]:
    """Add the stacks (and cdk-nag unless ``nag`` is false or the context says ``nag=false``) to an app."""
    app = app or new_app()
    stacks = build(app, dep)
    if nag and app.node.try_get_context("nag") not in (False, "false", "0"):
        Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    return app, stacks


def main() -> int:
    os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
    app = new_app()  # the CLI's context (cdk.json, -c key=value) arrives through the environment
    try:
        dep = load_deployment(app.node.try_get_context("config"))
    except ConfigError as exc:
        print(f"storefront infra: configuration error: {exc}", file=sys.stderr)
        return 2
    create_app(dep, app)
    try:
        app.synth()
    except RuntimeError as exc:
        if "ValidationFailed" in str(exc):
            print(f"storefront infra: {exc}", file=sys.stderr)
            return 1
        raise
    return 0


if __name__ == "__main__":
    sys.exit(main())
