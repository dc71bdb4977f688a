"""The content buckets' S3 replication document: one definition, put by the CDK app, emulated by the sandbox."""

from __future__ import annotations

from typing import Any

from catalog.config.naming import ResourceNames

# Replication Time Control: S3 promises this, and reports a replication as late after it
RTC_MINUTES = 15


def bucket_replication(names: ResourceNames, region: str, partition: str = "aws") -> dict[str, Any]:
    """The region's bucket ``ReplicationConfiguration`` (S3 API shape): every bucket
    replicates everything to every other bucket, delete markers included, replica
    modification sync on, Replication Time Control with metrics."""
    role_arn = f"arn:{partition}:iam::{names.account}:role/{names.replication_role_name(region)}"
    rules = [{
        "ID": names.replication_rule_id(other),
        "Priority": priority,
        "Status": "Enabled",
        "Filter": {"Prefix": ""},
        "DeleteMarkerReplication": {"Status": "Enabled"},
        "SourceSelectionCriteria": {"ReplicaModifications": {"Status": "Enabled"}},
        "Destination": {
            "Bucket": f"arn:{partition}:s3:::{names.bucket_name(other)}",
            "ReplicationTime": {"Status": "Enabled", "Time": {"Minutes": RTC_MINUTES}},
            "Metrics": {"Status": "Enabled", "EventThreshold": {"Minutes": RTC_MINUTES}},
        },
    } for priority, other in enumerate(r for r in names.regions if r != region)]
    return {"Role": role_arn, "Rules": rules}
