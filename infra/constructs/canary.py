"""CloudWatch Synthetics canaries that run the shopper path from this region.

Two canaries run ``infra/canary/python/shopper_path.py`` (search in stock, search with a
category filter, product lookup) every ``alarms.canary_interval_minutes``:

* ``<prefix>-regional``: through *this region's* custom domain: it connects to the API
  custom domain's regional target while TLS (SNI) and ``Host`` carry ``aws.domain_name``,
  so a broken certificate, custom domain or base path mapping here fails it even while
  Route 53 sends shoppers elsewhere (the execute-api health check cannot see those).
* ``<prefix>-global``: through ``aws.domain_name`` as DNS answers it: what shoppers near
  this region get, failover included.

Their ``SuccessPercent`` alarms are in :class:`infra.constructs.alarms.RegionAlarms`; the
regional one counts toward "search impaired". Run artifacts go to one bucket per region
(no fixed name; kept 30 days; retained on delete like CDK's default for canary buckets).
"""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_synthetics as synthetics
from constructs import Construct

from catalog.config import CANARY_KINDS
from infra.settings import PROJECT_ROOT, Deployment

RUNTIME = synthetics.Runtime.SYNTHETICS_PYTHON_SELENIUM_7_0


class ShopperCanaries(Construct):
    def __init__(self, scope: Construct, cid: str, *, dep: Deployment, regional_target: str) -> None:
        super().__init__(scope, cid)
        self.artifacts = s3.Bucket(
            self, "Artifacts",
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            lifecycle_rules=[s3.LifecycleRule(id="expire-runs", expiration=Duration.days(30))],
            removal_policy=RemovalPolicy.RETAIN,  # no fixed name: a redeploy makes a new one
        )
        url = f"https://{dep.aws.domain_name}"
        self.canaries: dict[str, synthetics.Canary] = {}
        envs = {"regional": {"SHOPPER_URL": url, "CONNECT_HOST": regional_target}, "global": {"SHOPPER_URL": url}}
        for kind in CANARY_KINDS:
            env = envs[kind]
            self.canaries[kind] = synthetics.Canary(
                self, kind.title(),
                canary_name=dep.config.canary_name(kind),
                runtime=RUNTIME,
                test=synthetics.Test.custom(
                    code=synthetics.Code.from_asset(str(PROJECT_ROOT / "infra" / "canary")),
                    handler="shopper_path.handler"),
                schedule=synthetics.Schedule.rate(Duration.minutes(dep.config.alarms.canary_interval_minutes)),
                environment_variables=env,
                artifacts_bucket_location=synthetics.ArtifactsBucketLocation(bucket=self.artifacts, prefix=kind),
                start_after_creation=True,
                provisioned_resource_cleanup=True,
                timeout=Duration.minutes(1),
            )
