"""The region's content bucket, its access-log bucket, the S3-events queue and the indexer DLQ."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from catalog.model import CONTENT_PREFIX
from infra.retention import retain
from infra.settings import Deployment


class ContentQueues(Construct):
    """``queue_name``: S3 ``products/`` events for the indexer; ``dlq_name``: its dead letters.

    The DLQ is the queue's redrive target and also where the indexer sends records it
    cannot transform and the stream event source sends batches it gave up on.
    """

    def __init__(self, scope: Construct, cid: str, *, dep: Deployment, region: str) -> None:
        super().__init__(scope, cid)
        cfg = dep.config
        self.dlq = sqs.Queue(
            self, "Dlq",
            queue_name=cfg.dlq_name(region),
            retention_period=Duration.days(14),
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            removal_policy=RemovalPolicy.DESTROY,  # derived (infra/retention.py)
        )
        self.queue = sqs.Queue(
            self, "Queue",
            queue_name=cfg.queue_name(region),
            # at least six times the indexer timeout, as AWS advises for a Lambda event source, plus the
            # batching window: a message received early in the window stays in flight for all of it
            visibility_timeout=Duration.seconds(6 * dep.aws.indexer_timeout_seconds
                                                + dep.aws.queue_batching_window_seconds),
            retention_period=Duration.days(4),
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            dead_letter_queue=sqs.DeadLetterQueue(queue=self.dlq, max_receive_count=5),
            removal_policy=RemovalPolicy.DESTROY,
        )


class ContentBucket(Construct):
    """``bucket_name(region)``: versioned, private, TLS only, encrypted, old versions expire.

    ``products/`` create and remove events go straight to the queue (an L1 notification
    configuration: no custom resource); replication is added by
    :class:`infra.constructs.content_replication.ContentReplication` once every region's
    bucket exists. The replication role is made here, next to the bucket it reads.
    """

    def __init__(self, scope: Construct, cid: str, *, dep: Deployment, region: str, queue: sqs.Queue) -> None:
        super().__init__(scope, cid)
        cfg = dep.config
        stack = Stack.of(self)
        name = cfg.bucket_name(region, dep.aws.account)
        bucket_arn = f"arn:{stack.partition}:s3:::{name}"

        self.access_logs = s3.Bucket(
            self, "AccessLogs",
            bucket_name=dep.access_log_bucket_name(region),
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            lifecycle_rules=[s3.LifecycleRule(id="expire-logs", expiration=Duration.days(365))],
        )
        retain(self.access_logs, "access-log-bucket")

        # S3 checks it may send to the queue when the notification is put: policy first. One
        # policy per queue (enforce_ssl made it): a second QueuePolicy would replace it.
        queue.add_to_resource_policy(iam.PolicyStatement(
            sid="S3ProductEvents",
            principals=[iam.ServicePrincipal("s3.amazonaws.com")],
            actions=["sqs:SendMessage"],
            resources=[queue.queue_arn],
            conditions={"ArnEquals": {"aws:SourceArn": bucket_arn},
                        "StringEquals": {"aws:SourceAccount": dep.aws.account}},
        ))
        queue_policy = queue.node.find_child("Policy")  # the queue's QueuePolicy

        self.bucket = s3.Bucket(
            self, "Bucket",
            bucket_name=name,
            versioned=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            server_access_logs_bucket=self.access_logs,
            server_access_logs_prefix=f"{name}/",
            lifecycle_rules=[s3.LifecycleRule(
                id="expire-noncurrent-versions",
                noncurrent_version_expiration=Duration.days(30),
                expired_object_delete_marker=True,
                abort_incomplete_multipart_upload_after=Duration.days(7),
            )],
        )
        retain(self.bucket, "content-bucket")
        cfn_bucket: s3.CfnBucket = self.bucket.node.default_child  # type: ignore[assignment]
        prefix_filter = {"S3Key": {"Rules": [{"Name": "prefix", "Value": CONTENT_PREFIX}]}}
        cfn_bucket.add_property_override("NotificationConfiguration", {"QueueConfigurations": [
            {"Event": event, "Queue": queue.queue_arn, "Filter": prefix_filter}
            for event in ("s3:ObjectCreated:*", "s3:ObjectRemoved:*")
        ]})
        cfn_bucket.node.add_dependency(queue_policy)

        # The role S3 assumes to replicate this bucket to every other region's bucket.
        self.replication_role = iam.Role(
            self, "ReplicationRole",
            role_name=dep.config.replication_role_name(region),
            # only S3 acting for this account (confused deputy)
            assumed_by=iam.ServicePrincipal(
                "s3.amazonaws.com", conditions={"StringEquals": {"aws:SourceAccount": dep.aws.account}}),
            description=f"S3 replication of {name} to the other regions' content buckets",
        )
        others = [cfg.bucket_name(r, dep.aws.account) for r in cfg.regions if r != region]
        self.replication_role.add_to_policy(iam.PolicyStatement(
            actions=["s3:GetReplicationConfiguration", "s3:ListBucket"],
            resources=[bucket_arn],
        ))
        self.replication_role.add_to_policy(iam.PolicyStatement(
            actions=["s3:GetObjectVersionForReplication", "s3:GetObjectVersionAcl", "s3:GetObjectVersionTagging"],
            resources=[f"{bucket_arn}/*"],
        ))
        self.replication_role.add_to_policy(iam.PolicyStatement(
            actions=["s3:ReplicateObject", "s3:ReplicateDelete", "s3:ReplicateTags"],
            resources=[f"arn:{stack.partition}:s3:::{other}/*" for other in others],
        ))
