"""Bidirectional S3 replication: this region's bucket to every other region's bucket.

A bucket that receives replication must exist before the rule that sends to it, and
every bucket both sends and receives, so the rules cannot live on the buckets' own
CloudFormation resources. They are put by an SDK call (``PutBucketReplication``) in a
stack deployed after every region's storage stack. Each rule: everything in the
bucket, delete markers replicated, replica modification sync on, Replication Time
Control (15 minutes) with replication metrics.
"""

from __future__ import annotations

from aws_cdk import Stack
from aws_cdk import aws_iam as iam
from aws_cdk import custom_resources as cr
from constructs import Construct

from infra.settings import Deployment


class ContentReplication(Construct):
    def __init__(self, scope: Construct, cid: str, *, dep: Deployment, region: str) -> None:
        super().__init__(scope, cid)
        stack = Stack.of(self)
        bucket = dep.config.bucket_name(region, dep.aws.account)
        config = dep.config.bucket_replication(region, stack.partition)
        put = cr.AwsSdkCall(
            service="S3",
            action="putBucketReplication",
            parameters={"Bucket": bucket, "ReplicationConfiguration": config},
            physical_resource_id=cr.PhysicalResourceId.of(f"{bucket}-replication"),
        )
        self.resource = cr.AwsCustomResource(
            self, "PutReplication",
            on_create=put,
            on_update=put,
            on_delete=cr.AwsSdkCall(service="S3", action="deleteBucketReplication",
                                    parameters={"Bucket": bucket}),
            install_latest_aws_sdk=False,
            policy=cr.AwsCustomResourcePolicy.from_statements([
                iam.PolicyStatement(
                    actions=["s3:PutReplicationConfiguration", "s3:GetReplicationConfiguration"],
                    resources=[f"arn:{stack.partition}:s3:::{bucket}"],
                ),
                iam.PolicyStatement(actions=["iam:PassRole"], resources=[config["Role"]]),
            ]),
        )
