"""What a stack delete keeps, and how the next deploy adopts it: the one table.

A resource with a fixed physical name that CloudFormation retains on delete makes the
next create of the same stack fail with "already exists" (after ``cdk destroy``, or a
first deploy that rolled back). So every resource here is either

* **derived** and destroyed with its stack (the OpenSearch domain, rebuilt by
  ``storefront reindex``; the queues; every log group), or
* **data**, retained, and listed in :data:`RETAINED` with how a redeploy adopts it.

The stacks call :func:`retain` (never ``RemovalPolicy.RETAIN`` directly); it applies the
policy and marks the resource with its :data:`RETAINED` key. ``tests/infra`` fails on any
retained resource with a fixed name that carries no key, and README's table is
:func:`readme_table` (a test compares them).
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import CfnResource, RemovalPolicy
from constructs import IConstruct

METADATA_KEY = "storefront:retained"


@dataclass(frozen=True)
class Retained:
    resource_type: str  # the CloudFormation type
    name: str  # the physical name (P = name_prefix, R = region, ACCOUNT)
    stack: str
    holds: str
    redeploy: str


_IMPORT = ("`cdk import P-{stack}` adopts the existing {what} by its name (CloudFormation resource import), "
           "then `cdk deploy` as usual")

RETAINED: dict[str, Retained] = {
    "table": Retained(
        "AWS::DynamoDB::GlobalTable", "`P-products` and its replicas", "table",
        "every product: the source of truth",
        _IMPORT.format(stack="table", what="global table") + "; deletion protection stays on"),
    "content-bucket": Retained(
        "AWS::S3::Bucket", "`P-content-ACCOUNT-R`", "storage-R",
        "product content objects (versioned)",
        _IMPORT.format(stack="storage-R", what="bucket")),
    "access-log-bucket": Retained(
        "AWS::S3::Bucket", "`P-access-logs-ACCOUNT-R`", "storage-R",
        "the content bucket's server access logs (an audit record, kept 365 days)",
        _IMPORT.format(stack="storage-R", what="bucket")),
}

# Destroyed with their stack although they carry a fixed name: what rebuilds them.
DERIVED: dict[str, str] = {
    "OpenSearch domain `P-search`": "the next deploy creates it empty; the index bootstrap creates the index and "
                                    "`storefront reindex --region R` fills it from the table and the bucket",
    "queue `P-content-events-R`, DLQ `P-indexer-dlq-R`": "recreated empty; what was in flight or dead-lettered is "
                                                         "found and repaired by `storefront audit --region R --repair` "
                                                         "(table and bucket against the index)",
    "log groups (functions, API access, OpenSearch)": "recreated empty; their history is lost with the stack",
}


def retain(construct: IConstruct, key: str) -> None:
    """Retain ``construct``'s CloudFormation resource on delete and replacement, marked with ``key``."""
    if key not in RETAINED:
        raise KeyError(f"{key!r} is not in infra.retention.RETAINED: add a row saying how a redeploy adopts it")
    res = construct if isinstance(construct, CfnResource) else construct.node.default_child
    assert isinstance(res, CfnResource), f"{construct.node.path} has no CloudFormation resource"
    res.apply_removal_policy(RemovalPolicy.RETAIN)
    res.add_metadata(METADATA_KEY, key)


def readme_table() -> str:
    """The README's "Retained on delete" table, from :data:`RETAINED` and :data:`DERIVED`."""
    rows = ["| resource | stack | holds | on delete | a redeploy |", "|---|---|---|---|---|"]
    for r in RETAINED.values():
        rows.append(f"| {r.name} ({r.resource_type}) | `P-{r.stack}` | {r.holds} | retained | {r.redeploy} |")
    for what, rebuild in DERIVED.items():
        rows.append(f"| {what} | | derived | destroyed | {rebuild} |")
    return "\n".join(rows)
