"""The DynamoDB global table (``table_name``) with a replica in every other region."""

from __future__ import annotations

from aws_cdk import Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import custom_resources as cr
from constructs import Construct

from infra.retention import retain
from infra.settings import Deployment

PARTITION_KEY = "id"  # catalog.model: the item's partition key


class GlobalTable(Construct):
    """On demand, NEW_AND_OLD_IMAGES stream, PITR, deletion protection, TTL; retained on delete."""

    def __init__(self, scope: Construct, cid: str, *, dep: Deployment) -> None:
        super().__init__(scope, cid)
        cfg = dep.config
        self.table = dynamodb.TableV2(
            self, "Table",
            table_name=cfg.table_name,
            partition_key=dynamodb.Attribute(name=PARTITION_KEY, type=dynamodb.AttributeType.STRING),
            billing=dynamodb.Billing.on_demand(),
            dynamo_stream=dynamodb.StreamViewType.NEW_AND_OLD_IMAGES,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True),
            deletion_protection=True,
            time_to_live_attribute=dep.aws.ttl_attribute,
            replicas=[dynamodb.ReplicaTableProps(
                region=r,
                deletion_protection=True,
                point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                    point_in_time_recovery_enabled=True),
            ) for r in cfg.secondaries],
        )
        retain(self.table, "table")


class ReplicaStream(Construct):
    """The stream of the table's replica in *this* stack's region.

    ``TableV2.replica(region).table_stream_arn`` is a wildcard ARN that an event source
    cannot use, so the replica's ``LatestStreamArn`` is read in its own region with
    ``DescribeTable`` and the table imported with it.
    """

    def __init__(self, scope: Construct, cid: str, *, dep: Deployment) -> None:
        super().__init__(scope, cid)
        stack = Stack.of(self)
        name = dep.config.table_name
        table_arn = stack.format_arn(service="dynamodb", resource="table", resource_name=name)
        describe = cr.AwsSdkCall(
            service="DynamoDB",
            action="describeTable",
            parameters={"TableName": name},
            physical_resource_id=cr.PhysicalResourceId.of(f"{name}-{stack.region}-stream"),
            output_paths=["Table.LatestStreamArn"],
        )
        lookup = cr.AwsCustomResource(
            self, "DescribeReplica",
            on_create=describe,
            on_update=describe,
            install_latest_aws_sdk=False,
            policy=cr.AwsCustomResourcePolicy.from_sdk_calls(resources=[table_arn]),
        )
        self.stream_arn = lookup.get_response_field("Table.LatestStreamArn")
        self.table = dynamodb.TableV2.from_table_attributes(
            self, "Replica", table_name=name, table_stream_arn=self.stream_arn)
