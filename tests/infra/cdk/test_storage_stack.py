"""The per-region storage stack: content bucket, its events queue and the DLQ."""

from __future__ import annotations

import pytest
from aws_cdk.assertions import Match

from tests.infra.cdk.conftest import ACCOUNT, flat, one, resources

pytestmark = pytest.mark.xdist_group("cdk")


@pytest.mark.parametrize("region", ["us-east-1", "eu-west-1", "ap-southeast-2"])
def test_content_bucket_is_versioned_private_encrypted_and_expires_old_versions(synth, region):
    t = synth.assertions("storage", region)
    t.has_resource("AWS::S3::Bucket", {
        "Properties": {
            "BucketName": synth.config.bucket_name(region, ACCOUNT),
            "VersioningConfiguration": {"Status": "Enabled"},
            "PublicAccessBlockConfiguration": {"BlockPublicAcls": True, "BlockPublicPolicy": True,
                                               "IgnorePublicAcls": True, "RestrictPublicBuckets": True},
            "BucketEncryption": {"ServerSideEncryptionConfiguration": [
                {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]},
            "LifecycleConfiguration": {"Rules": Match.array_with([Match.object_like({
                "NoncurrentVersionExpiration": {"NoncurrentDays": 30}, "Status": "Enabled"})])},
            "LoggingConfiguration": Match.object_like({"LogFilePrefix": Match.any_value()}),
        },
        "DeletionPolicy": "Retain",
    })


def test_content_bucket_policy_denies_plain_http(synth):
    template = synth.template("storage", "eu-west-1")
    bucket = synth.config.bucket_name("eu-west-1", ACCOUNT)
    policies = [p for p in resources(template, "AWS::S3::BucketPolicy").values()
                if p["Properties"]["Bucket"] == {"Ref": _bucket_id(template, bucket)}]
    assert len(policies) == 1
    deny = [s for s in policies[0]["Properties"]["PolicyDocument"]["Statement"] if s["Effect"] == "Deny"]
    assert any(s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}} and s["Action"] == "s3:*"
               for s in deny)


def test_products_events_go_to_the_queue_which_has_its_own_dlq(synth):
    region = "us-east-1"
    template = synth.template("storage", region)
    bucket = one(template, "AWS::S3::Bucket", BucketName=synth.config.bucket_name(region, ACCOUNT))
    configs = bucket["Properties"]["NotificationConfiguration"]["QueueConfigurations"]
    assert sorted(c["Event"] for c in configs) == ["s3:ObjectCreated:*", "s3:ObjectRemoved:*"]
    queue_id = _queue_id(template, synth.config.queue_name(region))
    dlq_id = _queue_id(template, synth.config.dlq_name(region))
    for c in configs:
        assert c["Queue"] == {"Fn::GetAtt": [queue_id, "Arn"]}
        assert c["Filter"] == {"S3Key": {"Rules": [{"Name": "prefix", "Value": "products/"}]}}
    queue = template["Resources"][queue_id]["Properties"]
    assert queue["RedrivePolicy"]["deadLetterTargetArn"] == {"Fn::GetAtt": [dlq_id, "Arn"]}
    assert queue["SqsManagedSseEnabled"] is True
    # six times the indexer's 60 s timeout (AWS's advice) plus MAIN_CONFIG's 3 s batching window
    assert queue["VisibilityTimeout"] == 6 * 60 + 3
    # S3 may send to the queue only for this bucket, and the policy exists before the bucket
    # (one policy per queue: SQS keeps one, so a second QueuePolicy would silently replace the first)
    ((qpolicy_id, qpolicy),) = [(k, v) for k, v in resources(template, "AWS::SQS::QueuePolicy").items()
                                if {"Ref": queue_id} in v["Properties"]["Queues"]]
    sts = qpolicy["Properties"]["PolicyDocument"]["Statement"]
    assert any(s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}} for s in sts)
    allow = [s for s in sts if s["Effect"] == "Allow"]
    assert allow[0]["Principal"] == {"Service": "s3.amazonaws.com"}
    assert flat(allow[0]["Condition"]["ArnEquals"]["aws:SourceArn"]) == \
        f"arn:aws:s3:::{synth.config.bucket_name(region, ACCOUNT)}"
    assert qpolicy_id in bucket["DependsOn"]


def test_replication_role_reads_own_bucket_and_writes_only_other_regions_buckets(synth):
    region = "eu-west-1"
    template = synth.template("storage", region)
    role_id = next(k for k, v in resources(template, "AWS::IAM::Role").items()
                   if v["Properties"].get("RoleName") == f"shop-content-replication-{region}")
    from tests.infra.cdk.conftest import statements

    sts = statements(template, role_id)
    writes = next(s for s in sts if "s3:ReplicateObject" in s["Action"])
    assert sorted(writes["Resource"]) == sorted(
        f"arn:aws:s3:::{synth.config.bucket_name(r, ACCOUNT)}/*" for r in ("us-east-1", "ap-southeast-2"))
    reads = [s for s in sts if s is not writes]
    own = f"arn:aws:s3:::{synth.config.bucket_name(region, ACCOUNT)}"
    assert all(r in (own, f"{own}/*") for s in reads for r in ([s["Resource"]] if isinstance(s["Resource"], str)
                                                                 else s["Resource"]))


def _bucket_id(template, name):
    return next(k for k, v in resources(template, "AWS::S3::Bucket").items()
                if v["Properties"].get("BucketName") == name)


def _queue_id(template, name):
    return next(k for k, v in resources(template, "AWS::SQS::Queue").items()
                if v["Properties"].get("QueueName") == name)
