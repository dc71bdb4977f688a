"""The global table (primary) and the bidirectional S3 replication rules."""

from __future__ import annotations

import json

import pytest

from tests.infra.cdk.conftest import ACCOUNT, flat, resources

pytestmark = pytest.mark.xdist_group("cdk")
REGIONS = ("us-east-1", "eu-west-1", "ap-southeast-2")


def test_global_table_in_primary_with_a_replica_per_region(synth):
    t = synth.assertions("table")
    t.resource_count_is("AWS::DynamoDB::GlobalTable", 1)
    t.has_resource("AWS::DynamoDB::GlobalTable", {
        "Properties": {
            "TableName": "shop-products",
            "BillingMode": "PAY_PER_REQUEST",
            "StreamSpecification": {"StreamViewType": "NEW_AND_OLD_IMAGES"},
            "TimeToLiveSpecification": {"AttributeName": "expires_at", "Enabled": True},
            "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
        },
        "DeletionPolicy": "Retain",
    })
    table = next(iter(resources(synth.template("table"), "AWS::DynamoDB::GlobalTable").values()))
    replicas = {r["Region"]: r for r in table["Properties"]["Replicas"]}
    assert set(replicas) == set(REGIONS)
    for replica in replicas.values():
        assert replica["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
        assert replica["DeletionProtectionEnabled"] is True
    assert synth.manifest["artifacts"]["shop-table"]["environment"] == f"aws://{ACCOUNT}/us-east-1"


@pytest.mark.parametrize("region", REGIONS)
def test_bucket_replicates_to_every_other_region_with_rtc_and_delete_markers(synth, region):
    template = synth.template("replication", region)
    (cr,) = resources(template, "Custom::AWS").values()
    create = json.loads(flat(cr["Properties"]["Create"]))
    assert create["action"] == "putBucketReplication"
    assert create["parameters"]["Bucket"] == synth.config.bucket_name(region, ACCOUNT)
    config = create["parameters"]["ReplicationConfiguration"]
    assert config["Role"] == f"arn:aws:iam::{ACCOUNT}:role/shop-content-replication-{region}"
    others = [r for r in REGIONS if r != region]
    assert sorted(r["Destination"]["Bucket"] for r in config["Rules"]) == \
        sorted(f"arn:aws:s3:::{synth.config.bucket_name(o, ACCOUNT)}" for o in others)
    for rule in config["Rules"]:
        assert rule["Status"] == "Enabled"
        assert rule["DeleteMarkerReplication"] == {"Status": "Enabled"}
        assert rule["SourceSelectionCriteria"] == {"ReplicaModifications": {"Status": "Enabled"}}
        assert rule["Destination"]["ReplicationTime"] == {"Status": "Enabled", "Time": {"Minutes": 15}}
        assert rule["Destination"]["Metrics"]["Status"] == "Enabled"
    assert len({r["Priority"] for r in config["Rules"]}) == len(others)
    # a receiving bucket must exist first: every storage stack deploys before any replication rule
    assert synth.dependencies(f"shop-replication-{region}") == {f"shop-storage-{r}" for r in REGIONS}


def test_replication_custom_resource_may_only_touch_its_bucket_and_pass_its_role(synth):
    template = synth.template("replication", "eu-west-1")
    policy = next(p for p in resources(template, "AWS::IAM::Policy").values())
    sts = [flat(s) for s in policy["Properties"]["PolicyDocument"]["Statement"]]
    assert {s["Resource"] for s in sts} == {
        f"arn:aws:s3:::{synth.config.bucket_name('eu-west-1', ACCOUNT)}",
        f"arn:aws:iam::{ACCOUNT}:role/shop-content-replication-eu-west-1",
    }
