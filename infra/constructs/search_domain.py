"""The region's OpenSearch Service domain.

Not public: its resource policy admits only the indexer and search Lambda roles
(SigV4), each only to the requests it makes; the roles' identity policies hold the same
grants (:mod:`infra.constructs.index_access`). Encryption at rest,
node-to-node encryption, HTTPS only with TLS 1.2+, zone awareness, and slow and error
logs to CloudWatch Logs. Written as the L1 resource so that no custom resource is
needed for the access or log policies. Destroyed with the stack, as are its log groups:
the index is derived (``storefront reindex`` rebuilds it from the table and the bucket),
and a retained domain with its fixed name would make the next deploy fail
(``infra/retention.py``).

Audit logs are not published: OpenSearch sends them only with fine-grained access
control, and this domain authorizes with its IAM resource policy (SigV4 from the two
Lambda roles) instead. Enabling fine-grained access control is the moment to add
``AUDIT_LOGS`` to ``LOG_TYPES``.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_opensearchservice as opensearch
from constructs import Construct

from infra.constructs.index_access import IndexAccess
from infra.settings import Deployment, log_retention

TLS_POLICY = "Policy-Min-TLS-1-2-PFS-2023-10"
LOG_TYPES = ("SEARCH_SLOW_LOGS", "INDEX_SLOW_LOGS", "ES_APPLICATION_LOGS")


class SearchDomain(Construct):
    def __init__(self, scope: Construct, cid: str, *, dep: Deployment, region: str,
                 search_role: iam.IRole, indexer_role: iam.IRole) -> None:
        super().__init__(scope, cid)
        stack = Stack.of(self)
        sizing = dep.aws.sizing(region)
        self.domain_name = dep.domain_name()
        self.domain_arn = stack.format_arn(service="es", resource="domain", resource_name=self.domain_name)

        log_groups = {}
        for log_type in LOG_TYPES:
            log_groups[log_type] = logs.LogGroup(
                self, f"{log_type.title().replace('_', '')}",
                log_group_name=f"/aws/opensearch/{self.domain_name}/{log_type.lower().replace('_', '-')}",
                retention=log_retention(dep.aws.log_retention_days),
                removal_policy=RemovalPolicy.DESTROY,
            )
        log_policy = logs.CfnResourcePolicy(
            self, "LogPolicy",
            policy_name=f"{self.domain_name}-opensearch-logs",
            policy_document=stack.to_json_string({
                "Version": "2012-10-17",
                "Statement": [{
                    "Effect": "Allow",
                    "Principal": {"Service": "es.amazonaws.com"},
                    "Action": ["logs:PutLogEvents", "logs:CreateLogStream"],
                    "Resource": [f"{g.log_group_arn}" for g in log_groups.values()],
                    "Condition": {"StringEquals": {"aws:SourceAccount": dep.aws.account},
                                  "ArnLike": {"aws:SourceArn": self.domain_arn}},
                }],
            }),
        )

        access = IndexAccess(self, "Access", domain_arn=self.domain_arn, alias=dep.config.engine.index_alias,
                             search_role=search_role, indexer_role=indexer_role,
                             operator_policy_name=f"{dep.config.name_prefix}-index-operator-{region}")
        self.operator_policy = access.operator_policy

        cluster: dict[str, Any] = {
            "instanceType": sizing.instance_type,
            "instanceCount": sizing.instance_count,
            "zoneAwarenessEnabled": True,
            "zoneAwarenessConfig": {"availabilityZoneCount": sizing.availability_zones},
            "dedicatedMasterEnabled": bool(sizing.master_instance_type),
        }
        if sizing.master_instance_type:
            cluster |= {"dedicatedMasterType": sizing.master_instance_type, "dedicatedMasterCount": 3}

        self.domain = opensearch.CfnDomain(
            self, "Domain",
            domain_name=self.domain_name,
            engine_version=sizing.engine_version,
            cluster_config=cluster,
            ebs_options={"ebsEnabled": True, "volumeType": "gp3", "volumeSize": sizing.volume_gb},
            encryption_at_rest_options={"enabled": True},
            node_to_node_encryption_options={"enabled": True},
            domain_endpoint_options={"enforceHttps": True, "tlsSecurityPolicy": TLS_POLICY},
            access_policies=access.access_policy.to_json(),
            # the grants are on paths: an index named in a _bulk/_mget body would bypass them
            advanced_options={"rest.action.multi.allow_explicit_index": "false"},
            log_publishing_options={
                t: {"enabled": True, "cloudWatchLogsLogGroupArn": g.log_group_arn} for t, g in log_groups.items()
            },
            software_update_options={"autoSoftwareUpdateEnabled": True},
        )
        self.domain.apply_removal_policy(RemovalPolicy.DESTROY)  # derived: see the module docstring
        self.domain.add_resource_dependency(log_policy)
        self.endpoint = self.domain.attr_domain_endpoint
        self.url = f"https://{self.endpoint}"

