"""Create, in the local moto server, the resources the CDK app declares.

Every name comes from :class:`catalog.config.DeploymentConfig`, exactly as ``infra/``
takes them. Per region: the products table with a ``NEW_AND_OLD_IMAGES`` stream (moto
does not replicate global tables, so the same table is created in each region and
:mod:`sandbox.global_tables` replicates), the versioned content bucket with
``products/`` event notifications to the content queue, the content queue and the
indexer's dead-letter queue, and the SSM maintenance parameter (``"off"``). Every bucket
carries one replication rule per other bucket, as the CDK app puts them (rule ``to-<region>``,
delete markers replicated, replica modification sync on), which
:mod:`sandbox.s3_replication` honours. Globally: a Route 53 hosted
zone, one HTTP health check per region on its ``/health`` (tagged ``Name`` and
``storefront:region``), and the failover (or latency) records of the search name.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from catalog.config import DeploymentConfig
from catalog.model import CONTENT_PREFIX
from sandbox.aws import client
from sandbox.state import SANDBOX_DOMAIN

ZONE_NAME = "sandbox.localhost"
MAINTENANCE_OFF = "off"
CONTENT_QUEUE_VISIBILITY_SECONDS = 30
CONTENT_QUEUE_MAX_RECEIVES = 5


@dataclass
class RegionResources:
    region: str
    table_name: str
    stream_arn: str
    bucket: str
    queue_url: str
    queue_arn: str
    dlq_url: str
    dlq_arn: str
    maintenance_parameter: str
    health_check_id: str = ""


@dataclass
class Resources:
    regions: dict[str, RegionResources] = field(default_factory=dict)
    hosted_zone_id: str = ""
    domain: str = SANDBOX_DOMAIN


def region_target(region: str) -> str:
    """The record value that stands for a region's API endpoint (the router maps it back)."""
    return f"{region}.execute-api.{ZONE_NAME}"


def create_resources(cfg: DeploymentConfig, endpoint: str) -> Resources:
    out = Resources()
    account = cfg.account
    for region in cfg.regions:
        out.regions[region] = _create_region(cfg, endpoint, region, account)
    _configure_bucket_replication(cfg, endpoint, out)
    _create_route53(cfg, endpoint, out)
    return out


def _create_region(cfg: DeploymentConfig, endpoint: str, region: str, account: str) -> RegionResources:
    ddb = client("dynamodb", region, endpoint)
    table = ddb.create_table(
        TableName=cfg.table_name,
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )["TableDescription"]

    sqs = client("sqs", region, endpoint)
    dlq_url = sqs.create_queue(QueueName=cfg.dlq_name(region),
                               Attributes={"MessageRetentionPeriod": "1209600"})["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    queue_url = sqs.create_queue(QueueName=cfg.queue_name(region), Attributes={
        "VisibilityTimeout": str(CONTENT_QUEUE_VISIBILITY_SECONDS),
        "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": CONTENT_QUEUE_MAX_RECEIVES}),
    })["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]

    s3 = client("s3", region, endpoint)
    bucket = cfg.bucket_name(region, account)
    kwargs = {} if region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": region}}
    s3.create_bucket(Bucket=bucket, **kwargs)
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration={
        "QueueConfigurations": [{
            "Id": "content-to-indexer",
            "QueueArn": queue_arn,
            "Events": ["s3:ObjectCreated:*", "s3:ObjectRemoved:*"],
            "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": CONTENT_PREFIX}]}},
        }],
    })

    ssm = client("ssm", region, endpoint)
    ssm.put_parameter(Name=cfg.maintenance_parameter(region), Value=MAINTENANCE_OFF, Type="String",
                      Description="'on' takes this region out of search traffic (failover drills)")
    return RegionResources(
        region=region, table_name=cfg.table_name, stream_arn=table["LatestStreamArn"], bucket=bucket,
        queue_url=queue_url, queue_arn=queue_arn, dlq_url=dlq_url, dlq_arn=dlq_arn,
        maintenance_parameter=cfg.maintenance_parameter(region),
    )


def _configure_bucket_replication(cfg: DeploymentConfig, endpoint: str, out: Resources) -> None:
    """As the CDK app does (one definition: ``DeploymentConfig.bucket_replication``)."""
    for region in cfg.regions:
        client("s3", region, endpoint).put_bucket_replication(
            Bucket=out.regions[region].bucket,
            ReplicationConfiguration=cfg.bucket_replication(region))


def _create_route53(cfg: DeploymentConfig, endpoint: str, out: Resources) -> None:
    r53 = client("route53", cfg.primary, endpoint)
    zone = r53.create_hosted_zone(Name=ZONE_NAME + ".", CallerReference=f"{cfg.name_prefix}-sandbox-zone")
    out.hosted_zone_id = zone["HostedZone"]["Id"].split("/")[-1]
    for region in cfg.regions:
        port = cfg.sandbox.region_port(cfg.regions, region)
        hc = r53.create_health_check(CallerReference=f"{cfg.health_check_name(region)}-sandbox", HealthCheckConfig={
            "IPAddress": "127.0.0.1",
            "Port": port,
            "Type": "HTTP",
            "ResourcePath": cfg.health_check.path,
            # Route 53 accepts 10 or 30 s; the emulator probes at sandbox.health_check_interval_seconds.
            "RequestInterval": 10,
            "FailureThreshold": cfg.sandbox.health_check_failure_threshold,
        })["HealthCheck"]
        out.regions[region].health_check_id = hc["Id"]
        r53.change_tags_for_resource(ResourceType="healthcheck", ResourceId=hc["Id"], AddTags=[
            {"Key": "Name", "Value": cfg.health_check_name(region)},
            {"Key": "storefront:region", "Value": region},
        ])
    changes = []
    if cfg.routing == "failover":
        pairs = [(cfg.primary, "PRIMARY"), (cfg.secondaries[0], "SECONDARY")]
        for region, role in pairs:
            changes.append(_record(out, region, {"Failover": role}))
    else:
        for region in cfg.regions:
            changes.append(_record(out, region, {"Region": region}))
    r53.change_resource_record_sets(HostedZoneId=out.hosted_zone_id, ChangeBatch={"Changes": changes})


def _record(out: Resources, region: str, routing: dict[str, str]) -> dict:
    return {"Action": "CREATE", "ResourceRecordSet": {
        "Name": out.domain + ".",
        "Type": "CNAME",
        "SetIdentifier": region,
        "TTL": 60,
        "ResourceRecords": [{"Value": region_target(region)}],
        "HealthCheckId": out.regions[region].health_check_id,
        **routing,
    }}
