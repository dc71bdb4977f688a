"""``<prefix>-search-<region>``: everything that serves and indexes one region.

The OpenSearch domain and its index bootstrap, the indexer (replica stream + S3
events), the search function behind the REST API with its custom domain and WAF,
alarms and a dashboard, and the region's Route 53 health check and records. Its
storage stack's queue, DLQ and bucket are imported by their configured names (no
CloudFormation exports), and the stack depends on that storage stack and the table.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_route53 as route53
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from catalog.model import CONTENT_PREFIX
from infra.constructs.canary import ShopperCanaries
from infra.constructs.functions import FunctionRole, IndexBootstrap, IndexerFunction, SearchFunction
from infra.constructs.global_table import ReplicaStream
from infra.constructs.monitoring import Monitoring
from infra.constructs.routing import RegionRouting
from infra.constructs.search_api import SearchApi
from infra.constructs.search_domain import SearchDomain
from infra.settings import Deployment
from infra.stacks.health_alarms import PublishHealthCheckId


class SearchStack(Stack):
    def __init__(self, scope: Construct, cid: str, *, dep: Deployment, region: str, **kwargs: Any) -> None:
        super().__init__(scope, cid, **kwargs)
        cfg = dep.config
        aws = dep.aws
        queue = sqs.Queue.from_queue_arn(
            self, "ContentEvents", self.format_arn(service="sqs", resource=cfg.queue_name(region)))
        dlq = sqs.Queue.from_queue_arn(self, "Dlq", self.format_arn(service="sqs", resource=cfg.dlq_name(region)))
        bucket_name = cfg.bucket_name(region, aws.account)
        zone = route53.HostedZone.from_hosted_zone_attributes(
            self, "Zone", hosted_zone_id=aws.hosted_zone_id, zone_name=aws.hosted_zone_name)

        self.indexer_role = FunctionRole(
            self, "IndexerRole", function_name=cfg.indexer_function_name(region), dep=dep,
            purpose="storefront indexer: reads the replica stream, the bucket and its queue; writes the index")
        self.search_role = FunctionRole(
            self, "SearchRole", function_name=cfg.search_function_name(region), dep=dep,
            purpose="storefront search API: reads the index and its maintenance switch")

        self.domain = SearchDomain(self, "Domain", dep=dep, region=region,
                                   search_role=self.search_role.role, indexer_role=self.indexer_role.role)
        self.bootstrap = IndexBootstrap(self, "IndexBootstrap", dep=dep, region=region, role=self.indexer_role,
                                        endpoint_url=self.domain.url)

        self.stream = ReplicaStream(self, "ReplicaStream", dep=dep)
        self.indexer = IndexerFunction(
            self, "Indexer", dep=dep, region=region, role=self.indexer_role, endpoint_url=self.domain.url,
            stream_table=self.stream.table, queue=queue, dlq=dlq, bucket_name=bucket_name)
        for statement in _read_content(self, bucket_name):
            self.indexer_role.role.add_to_principal_policy(statement)
        # index first, then events: the first batch finds the alias
        self.indexer.function.node.add_dependency(self.bootstrap.resource)

        self.search = SearchFunction(self, "Search", dep=dep, region=region, role=self.search_role,
                                     endpoint_url=self.domain.url)
        self.api = SearchApi(self, "Api", dep=dep, region=region, handler=self.search.function, zone=zone)
        self.canaries = ShopperCanaries(self, "Canary", dep=dep,
                                        regional_target=self.api.domain.domain_name_alias_domain_name)
        self.monitoring = Monitoring(self, "Monitoring", dep=dep, region=region, indexer=self.indexer.function,
                                     dlq=dlq, api=self.api.api, domain_name=self.domain.domain_name,
                                     queue=queue, functions={"indexer": self.indexer.function,
                                                             "search": self.search.function,
                                                             "index-bootstrap": self.bootstrap.function},
                                     canaries=self.canaries.canaries)
        self.routing = RegionRouting(
            self, "Routing", dep=dep, region=region, zone=zone,
            execute_api_host=self.api.execute_api_host, health_path=self.api.health_path,
            alias_dns_name=self.api.domain.domain_name_alias_domain_name,
            alias_zone_id=self.api.domain.domain_name_alias_hosted_zone_id,
            shopper_alarm=self.monitoring.by_key["shopper-canary-regional"])

        PublishHealthCheckId(self, "PublishHealthCheckId", dep=dep, region=region,
                             health_check_id=self.routing.judged.health_check_id)

        CfnOutput(self, "OpenSearchEndpoint", value=self.domain.url)
        CfnOutput(self, "ExecuteApiUrl", value=self.api.api.url)
        CfnOutput(self, "HealthCheckId", value=self.routing.health_check.health_check_id)
        CfnOutput(self, "CalculatedHealthCheckId", value=self.routing.judged.health_check_id,
                  description="What Route 53 judges this region by: execute-api /health and the shopper-path canary")


def _read_content(stack: Stack, bucket_name: str) -> list[iam.PolicyStatement]:
    """Read ``products/*`` objects (and list them, so a missing object is a 404, not a 403)."""

    arn = f"arn:{stack.partition}:s3:::{bucket_name}"
    return [
        iam.PolicyStatement(sid="ReadContent", actions=["s3:GetObject", "s3:GetObjectVersion"],
                            resources=[f"{arn}/{CONTENT_PREFIX}*"]),
        iam.PolicyStatement(sid="ListContent", actions=["s3:ListBucket"], resources=[arn],
                            conditions={"StringLike": {"s3:prefix": [f"{CONTENT_PREFIX}*"]}}),
    ]
