"""Create, in the local moto server, the resources of the synthesized CDK app.

:func:`create_resources` walks the templates (:func:`sandbox.deployed.cloud_assembly`) stack
by stack and creates every resource of a type listed in :data:`CREATED`, with the template's
settings and intrinsics resolved to what the sandbox created (:func:`sandbox.deployed.sandbox_values`):

* ``AWS::DynamoDB::GlobalTable``: one table per replica region (moto does not replicate:
  :mod:`sandbox.global_tables` does) with the template's key schema, attribute
  definitions, billing mode, stream view type and TTL attribute;
* ``AWS::SQS::Queue``: name, visibility timeout, retention, delay, maximum size, receive
  wait, redrive policy (dead-letter queue and ``maxReceiveCount``), SSE flag, tags;
* ``AWS::S3::Bucket``: name, versioning, event notifications to queues, replication
  configuration, encryption, public access block, ownership controls, lifecycle rules, tags;
* ``AWS::SSM::Parameter``: name, type, value, description;
* ``AWS::Route53::HealthCheck``: type, path, port, interval, failure threshold, inversion,
  children and health threshold of a calculated check, the CloudWatch alarm of a metric
  check, tags; the one change is :func:`sandbox.deployed.sandbox_health_check` (an
  execute-api endpoint is probed on its region's port over HTTP);
* ``AWS::Route53::RecordSet``: failover or latency records with their set identifiers,
  alias targets and health checks, in a hosted zone named as the app's ``[aws]`` zone;
* ``Custom::AWS`` (the CDK's ``AwsCustomResource``): its ``Create`` SDK call, made against
  moto (the content buckets' replication configuration, the replica's stream ARN, the
  published health check id), its ``outputPaths`` available to ``Fn::GetAtt``.

Not created here: functions (the region processes run them, :mod:`sandbox.region`), roles
and policies (:mod:`sandbox.iam`), the API (:mod:`sandbox.apigw`), the OpenSearch domain (the
embedded engine replaces it) and what the sandbox has no use for (alarms, dashboards, logs,
KMS keys, topics, WAF, canaries, CloudFront); :data:`NOT_APPLIED` lists the settings of
created resources that moto would not honour or that need what is not created.

Stacks are deployed in dependency order (:data:`STACK_ORDER`), resources in a stack in
the order of their references.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from catalog.config import DeploymentConfig
from infra.deployed import TemplateError, logical_of, resolve
from sandbox.aws import client
from sandbox.deployed import sandbox_aws, sandbox_health_check, sandbox_values, sdk_method, stack_region
from sandbox.state import SANDBOX_DOMAIN

GLOBAL_TABLE = "AWS::DynamoDB::GlobalTable"
QUEUE = "AWS::SQS::Queue"
BUCKET = "AWS::S3::Bucket"
PARAMETER = "AWS::SSM::Parameter"
HEALTH_CHECK = "AWS::Route53::HealthCheck"
RECORD_SET = "AWS::Route53::RecordSet"
AWS_CALL = "Custom::AWS"
CREATED = (GLOBAL_TABLE, QUEUE, BUCKET, PARAMETER, HEALTH_CHECK, RECORD_SET, AWS_CALL)
# settings of created resources the sandbox does not apply, and why (README "Sandbox fidelity")
NOT_APPLIED = {
    BUCKET: {"LoggingConfiguration": "moto checks the log bucket's ACL grants, which S3 no longer uses",
             "NotificationConfiguration.LambdaConfigurations": "no function runs in moto",
             "NotificationConfiguration.TopicConfigurations": "topics are not created"},
    GLOBAL_TABLE: {"Replicas[].DeletionProtectionEnabled, PointInTimeRecoverySpecification":
                   "nothing in the sandbox deletes or restores tables"},
}
# stack kinds in deployment order (the CDK app's dependencies); other stacks come last
STACK_ORDER = ("table", "storage", "replication", "search")
HOSTED_ZONE_CALLER_REFERENCE = "sandbox-zone"


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


@dataclass(frozen=True)
class HealthCheck:
    """A created health check with what moto does not keep of it (read by :mod:`sandbox.route53`)."""

    id: str
    logical_id: str
    name: str  # its Name tag
    region: str  # its storefront:region tag ("" for none)
    type: str
    alarm_name: str | None = None  # CLOUDWATCH_METRIC: the alarm and its region
    alarm_region: str | None = None
    insufficient_data: str = "LastKnownStatus"


@dataclass
class Resources:
    regions: dict[str, RegionResources] = field(default_factory=dict)
    hosted_zone_id: str = ""
    domain: str = SANDBOX_DOMAIN
    table_name: str = ""
    table_regions: tuple[str, ...] = ()
    table_streams: dict[str, str] = field(default_factory=dict)  # region -> the table's stream ARN there
    health_checks: list[HealthCheck] = field(default_factory=list)
    queues: dict[str, tuple[str, str]] = field(default_factory=dict)  # name -> (sandbox URL, ARN)
    created: dict[str, dict[str, Any]] = field(default_factory=dict)  # stack -> logical id -> attributes


def stack_kind_and_region(cfg: DeploymentConfig, stack: str) -> tuple[int, str]:
    """A stack's place in :data:`STACK_ORDER` and the region it deploys to (its name's region, else the primary)."""
    region = stack_region(stack, cfg)
    for i, kind in enumerate(STACK_ORDER):
        if stack in (cfg.stack_name(kind), cfg.stack_name(kind, region)):
            return i, region
    return len(STACK_ORDER), region


def references(value: Any) -> set[str]:
    """The logical ids ``value`` refers to (``Ref``, ``Fn::GetAtt``, ``${X}`` in ``Fn::Sub``)."""
    out: set[str] = set()
    if isinstance(value, list):
        for v in value:
            out |= references(v)
    elif isinstance(value, dict):
        logical = logical_of(value)
        if logical is not None:
            out.add(logical)
        elif set(value) == {"Fn::Sub"}:
            text = value["Fn::Sub"] if isinstance(value["Fn::Sub"], str) else value["Fn::Sub"][0]
            out |= {m.split(".", 1)[0] for m in re.findall(r"\$\{([^}!]+)\}", text)}
        else:
            for v in value.values():
                out |= references(v)
    return out


def deployment_order(template: Mapping[str, Any]) -> list[str]:
    """The logical ids of ``template``'s resources of :data:`CREATED` types, each after what it refers to."""
    res = template.get("Resources", {})
    wanted = [k for k, v in res.items() if v.get("Type") in CREATED]
    deps = {k: ({d for d in references(res[k].get("Properties", {})) if d in wanted}
                | {d for d in _depends_on(res[k]) if d in wanted}) for k in wanted}
    order: list[str] = []
    done: set[str] = set()
    while len(order) < len(wanted):
        ready = [k for k in wanted if k not in done and deps[k] <= done]
        if not ready:
            raise TemplateError(f"a reference cycle among {sorted(set(wanted) - done)}")
        order += ready
        done |= set(ready)
    return order


def _depends_on(resource: Mapping[str, Any]) -> list[str]:
    d = resource.get("DependsOn", [])
    return [d] if isinstance(d, str) else list(d)


class _Deployer:
    def __init__(self, cfg: DeploymentConfig, endpoint: str) -> None:
        self.cfg = cfg
        self.endpoint = endpoint
        self.out = Resources()
        self._clients: dict[tuple[str, str], Any] = {}

    def client(self, service: str, region: str) -> Any:
        key = (service, region)
        if key not in self._clients:
            self._clients[key] = client(service, region, self.endpoint)
        return self._clients[key]

    def deploy(self, templates: Mapping[str, Mapping[str, Any]]) -> Resources:
        stacks = sorted(templates, key=lambda s: (stack_kind_and_region(self.cfg, s)[0], s))
        for stack in stacks:
            region = stack_kind_and_region(self.cfg, stack)[1]
            template = templates[stack]
            created = self.out.created.setdefault(stack, {})
            values = sandbox_values(template, region, self.cfg.account, created)
            for logical in deployment_order(template):
                resource = template["Resources"][logical]
                create = self._creators()[resource["Type"]]
                try:
                    props = resolve(find_in_map(resource.get("Properties", {}), template.get("Mappings", {}),
                                                values), values)
                    created[logical] = create(stack, region, logical, props)
                except TemplateError as exc:
                    raise TemplateError(f"{stack}/{logical}: {exc}") from exc
        return self.out

    def _creators(self) -> dict[str, Callable[[str, str, str, dict[str, Any]], dict[str, Any]]]:
        return {GLOBAL_TABLE: self.global_table, QUEUE: self.queue, BUCKET: self.bucket, PARAMETER: self.parameter,
                HEALTH_CHECK: self.health_check, RECORD_SET: self.record_set, AWS_CALL: self.aws_call}

    # ---------------------------------------------------------------- DynamoDB
    def global_table(self, stack: str, region: str, logical: str, p: dict[str, Any]) -> dict[str, Any]:
        name = p.get("TableName") or f"{stack}-{logical}"
        regions = tuple(r["Region"] for r in p.get("Replicas", [])) or (region,)
        stream = p.get("StreamSpecification")
        for r in regions:
            kwargs: dict[str, Any] = {"TableName": name, "AttributeDefinitions": p["AttributeDefinitions"],
                                      "KeySchema": p["KeySchema"], "BillingMode": p.get("BillingMode", "PROVISIONED")}
            if kwargs["BillingMode"] == "PROVISIONED":
                wcu = p.get("WriteProvisionedThroughputSettings", {}).get("WriteCapacityAutoScalingSettings", {})
                units = int(wcu.get("MinCapacity", 5))
                kwargs["ProvisionedThroughput"] = {"ReadCapacityUnits": units, "WriteCapacityUnits": units}
            for key in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes"):
                if p.get(key):
                    kwargs[key] = [{k: v for k, v in ix.items() if k in ("IndexName", "KeySchema", "Projection")}
                                   for ix in p[key]]
            if stream:
                kwargs["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": stream["StreamViewType"]}
            table = self.client("dynamodb", r).create_table(**kwargs)["TableDescription"]
            ttl = p.get("TimeToLiveSpecification")
            if ttl and ttl.get("Enabled"):
                self.client("dynamodb", r).update_time_to_live(TableName=name, TimeToLiveSpecification={
                    "Enabled": True, "AttributeName": ttl["AttributeName"]})
            if table.get("LatestStreamArn"):
                self.out.table_streams[r] = table["LatestStreamArn"]
        self.out.table_name, self.out.table_regions = name, regions
        arn = f"arn:aws:dynamodb:{region}:{self.cfg.account}:table/{name}"
        return {"Ref": name, "Arn": arn, "StreamArn": self.out.table_streams.get(region, "")}

    # ---------------------------------------------------------------- SQS
    QUEUE_ATTRIBUTES = ("VisibilityTimeout", "MessageRetentionPeriod", "DelaySeconds", "MaximumMessageSize",
                        "ReceiveMessageWaitTimeSeconds", "FifoQueue", "ContentBasedDeduplication",
                        "SqsManagedSseEnabled", "KmsMasterKeyId", "KmsDataKeyReusePeriodSeconds",
                        "DeduplicationScope", "FifoThroughputLimit")

    def queue(self, stack: str, region: str, logical: str, p: dict[str, Any]) -> dict[str, Any]:
        name = p.get("QueueName") or f"{stack}-{logical}"[:80]
        attrs = {k: _attribute(p[k]) for k in self.QUEUE_ATTRIBUTES if k in p}
        for key in ("RedrivePolicy", "RedriveAllowPolicy"):
            if key in p:
                attrs[key] = json.dumps(p[key]) if isinstance(p[key], dict) else str(p[key])
        kwargs: dict[str, Any] = {"QueueName": name, "Attributes": attrs}
        if p.get("Tags"):
            kwargs["tags"] = {t["Key"]: t["Value"] for t in p["Tags"]}
        sqs = self.client("sqs", region)
        url = sqs.create_queue(**kwargs)["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        self.out.queues[name] = (url, arn)
        return {"Ref": url, "Arn": arn, "QueueName": name, "QueueUrl": url}

    # ---------------------------------------------------------------- S3
    def bucket(self, stack: str, region: str, logical: str, p: dict[str, Any]) -> dict[str, Any]:
        name = p.get("BucketName") or re.sub(r"[^a-z0-9-]", "", f"{stack}-{logical}".lower())[:63]
        s3 = self.client("s3", region)
        kwargs: dict[str, Any] = {} if region == "us-east-1" else {
            "CreateBucketConfiguration": {"LocationConstraint": region}}
        s3.create_bucket(Bucket=name, **kwargs)
        if "VersioningConfiguration" in p:
            s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={
                "Status": p["VersioningConfiguration"]["Status"]})
        if "BucketEncryption" in p:
            s3.put_bucket_encryption(Bucket=name, ServerSideEncryptionConfiguration={"Rules": [
                {**({"ApplyServerSideEncryptionByDefault": r["ServerSideEncryptionByDefault"]}
                    if "ServerSideEncryptionByDefault" in r else {}),
                 **({"BucketKeyEnabled": r["BucketKeyEnabled"]} if "BucketKeyEnabled" in r else {})}
                for r in p["BucketEncryption"]["ServerSideEncryptionConfiguration"]]})
        if "PublicAccessBlockConfiguration" in p:
            s3.put_public_access_block(Bucket=name, PublicAccessBlockConfiguration=p["PublicAccessBlockConfiguration"])
        if "OwnershipControls" in p:
            s3.put_bucket_ownership_controls(Bucket=name, OwnershipControls=p["OwnershipControls"])
        if "LifecycleConfiguration" in p:
            s3.put_bucket_lifecycle_configuration(Bucket=name, LifecycleConfiguration={
                "Rules": [lifecycle_rule(r) for r in p["LifecycleConfiguration"]["Rules"]]})
        if p.get("Tags"):
            s3.put_bucket_tagging(Bucket=name, Tagging={"TagSet": p["Tags"]})
        if "NotificationConfiguration" in p:
            notifications = notification_configuration(logical, p["NotificationConfiguration"])
            s3.put_bucket_notification_configuration(Bucket=name, NotificationConfiguration=notifications)
        if "ReplicationConfiguration" in p:
            s3.put_bucket_replication(Bucket=name, ReplicationConfiguration=p["ReplicationConfiguration"])
        return {"Ref": name, "Arn": f"arn:aws:s3:::{name}", "DomainName": f"{name}.s3.amazonaws.com",
                "RegionalDomainName": f"{name}.s3.{region}.amazonaws.com"}

    # ---------------------------------------------------------------- SSM
    def parameter(self, stack: str, region: str, logical: str, p: dict[str, Any]) -> dict[str, Any]:
        name = p.get("Name") or f"{stack}-{logical}"
        kwargs = {"Name": name, "Value": str(p["Value"]), "Type": p.get("Type", "String")}
        if p.get("Description"):
            kwargs["Description"] = p["Description"]
        self.client("ssm", region).put_parameter(**kwargs)
        return {"Ref": name, "Type": kwargs["Type"], "Value": kwargs["Value"]}

    # ---------------------------------------------------------------- Route 53
    def health_check(self, stack: str, region: str, logical: str, p: dict[str, Any]) -> dict[str, Any]:
        config = dict(p["HealthCheckConfig"])
        alarm = config.pop("AlarmIdentifier", None)
        insufficient = config.pop("InsufficientDataHealthStatus", "LastKnownStatus")
        config = sandbox_health_check(self.cfg, config)
        r53 = self.client("route53", "us-east-1")
        hc = r53.create_health_check(CallerReference=f"{stack}-{logical}", HealthCheckConfig=config)["HealthCheck"]
        tags = {t["Key"]: t["Value"] for t in p.get("HealthCheckTags", [])}
        if tags:
            r53.change_tags_for_resource(ResourceType="healthcheck", ResourceId=hc["Id"],
                                         AddTags=[{"Key": k, "Value": v} for k, v in tags.items()])
        self.out.health_checks.append(HealthCheck(
            id=hc["Id"], logical_id=f"{stack}/{logical}", name=tags.get("Name", logical),
            region=tags.get("storefront:region", ""), type=config["Type"],
            alarm_name=alarm["Name"] if alarm else None, alarm_region=alarm["Region"] if alarm else None,
            insufficient_data=insufficient))
        return {"Ref": hc["Id"], "HealthCheckId": hc["Id"]}

    def hosted_zone(self, zone_id: str | None, zone_name: str | None) -> str:
        """The sandbox's zone for the template's ``HostedZoneId`` (the configured zone) or ``HostedZoneName``."""
        if not self.out.hosted_zone_id:
            aws = sandbox_aws(self.cfg)
            name = (zone_name or aws.hosted_zone_name).rstrip(".") + "."
            if zone_id not in (None, aws.hosted_zone_id):
                raise TemplateError(f"a record in the hosted zone {zone_id}, not the configured {aws.hosted_zone_id}")
            zone = self.client("route53", "us-east-1").create_hosted_zone(
                Name=name, CallerReference=f"{self.cfg.name_prefix}-{HOSTED_ZONE_CALLER_REFERENCE}")
            self.out.hosted_zone_id = zone["HostedZone"]["Id"].split("/")[-1]
        return self.out.hosted_zone_id

    RECORD_KEYS = ("Name", "Type", "SetIdentifier", "Failover", "Region", "Weight", "TTL", "HealthCheckId",
                   "MultiValueAnswer", "GeoLocation")

    def record_set(self, stack: str, region: str, logical: str, p: dict[str, Any]) -> dict[str, Any]:
        zone = self.hosted_zone(p.get("HostedZoneId"), p.get("HostedZoneName"))
        record: dict[str, Any] = {k: p[k] for k in self.RECORD_KEYS if k in p}
        if "TTL" in record:
            record["TTL"] = int(record["TTL"])
        if "ResourceRecords" in p:
            record["ResourceRecords"] = [{"Value": str(v)} for v in p["ResourceRecords"]]
        if "AliasTarget" in p:
            target = p["AliasTarget"]
            record["AliasTarget"] = {
                "HostedZoneId": str(target["HostedZoneId"]),
                "DNSName": str(target["DNSName"]),
                "EvaluateTargetHealth": bool(target.get("EvaluateTargetHealth", False))}
        self.client("route53", "us-east-1").change_resource_record_sets(
            HostedZoneId=zone, ChangeBatch={"Changes": [{"Action": "CREATE", "ResourceRecordSet": record}]})
        if "SetIdentifier" in p:  # a routing record: the name the sandbox's global port answers for
            self.out.domain = str(p["Name"]).rstrip(".")
        return {"Ref": str(p["Name"]).rstrip(".")}

    # ---------------------------------------------------------------- AwsCustomResource
    def aws_call(self, stack: str, region: str, logical: str, p: dict[str, Any]) -> dict[str, Any]:
        """The ``Create`` call of a CDK ``AwsCustomResource`` (an AWS SDK call), made against moto."""
        call = json.loads(p["Create"]) if isinstance(p.get("Create"), str) else p.get("Create")
        if not call:
            raise TemplateError("a Custom::AWS resource without a Create call")
        service = str(call["service"]).lower().removeprefix("@aws-sdk/client-").replace("-", "")
        sdk = self.client(service, call.get("region") or region)
        response = getattr(sdk, sdk_method(str(call["action"])))(**call.get("parameters", {}))
        out = {path: _path(response, path) for path in call.get("outputPaths", [])}
        physical = (call.get("physicalResourceId") or {}).get("id") or f"{stack}-{logical}"
        return {"Ref": physical, **out}


def find_in_map(value: Any, mappings: Mapping[str, Any], values: Any) -> Any:
    """``value`` with every ``Fn::FindInMap`` looked up in the template's ``Mappings``."""
    if isinstance(value, list):
        return [find_in_map(v, mappings, values) for v in value]
    if not isinstance(value, dict):
        return value
    if set(value) == {"Fn::FindInMap"}:
        name, top, second = (resolve(find_in_map(v, mappings, values), values) for v in value["Fn::FindInMap"])
        try:
            return mappings[name][top][second]
        except KeyError:
            raise TemplateError(f"Fn::FindInMap: no {name}/{top}/{second} in the template's Mappings") from None
    return {k: find_in_map(v, mappings, values) for k, v in value.items()}


def _attribute(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def _path(response: Any, path: str) -> Any:
    for part in path.split("."):
        response = response[int(part)] if isinstance(response, list) else response[part]
    return response


def notification_configuration(logical: str, cfn: Mapping[str, Any]) -> dict[str, Any]:
    """A bucket's ``NotificationConfiguration`` (CloudFormation shape) -> the S3 API's (queues only, see
    :data:`NOT_APPLIED`)."""
    out = []
    for i, q in enumerate(cfn.get("QueueConfigurations", [])):
        entry: dict[str, Any] = {"Id": f"{logical}-queue-{i}", "QueueArn": q["Queue"], "Events": [q["Event"]]}
        rules = q.get("Filter", {}).get("S3Key", {}).get("Rules")
        if rules:
            entry["Filter"] = {"Key": {"FilterRules": [{"Name": r["Name"], "Value": r["Value"]} for r in rules]}}
        out.append(entry)
    return {"QueueConfigurations": out} if out else {}


def lifecycle_rule(cfn: Mapping[str, Any]) -> dict[str, Any]:
    """One lifecycle rule (CloudFormation shape) -> the S3 API's."""
    rule: dict[str, Any] = {"Status": cfn["Status"], "Filter": {"Prefix": cfn.get("Prefix", "")}}
    if "Id" in cfn:
        rule["ID"] = cfn["Id"]
    expiration: dict[str, Any] = {}
    if "ExpirationInDays" in cfn:
        expiration["Days"] = int(cfn["ExpirationInDays"])
    if cfn.get("ExpiredObjectDeleteMarker"):
        expiration["ExpiredObjectDeleteMarker"] = True
    if expiration:
        rule["Expiration"] = expiration
    if "NoncurrentVersionExpiration" in cfn:
        rule["NoncurrentVersionExpiration"] = {"NoncurrentDays": int(
            cfn["NoncurrentVersionExpiration"]["NoncurrentDays"])}
    if "AbortIncompleteMultipartUpload" in cfn:
        rule["AbortIncompleteMultipartUpload"] = {"DaysAfterInitiation": int(
            cfn["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"])}
    return rule


def create_resources(cfg: DeploymentConfig, templates: Mapping[str, Mapping[str, Any]], endpoint: str) -> Resources:
    """Create the app's resources in moto at ``endpoint``; what the sandbox's other parts need of them."""
    out = _Deployer(cfg, endpoint).deploy(templates)
    for region in cfg.regions:
        out.regions[region] = _region(cfg, out, region)
    return out


def _region(cfg: DeploymentConfig, out: Resources, region: str) -> RegionResources:
    def queue(name: str) -> tuple[str, str]:
        if name not in out.queues:
            raise TemplateError(f"the synthesized app has no queue {name}")
        return out.queues[name]

    if region not in out.table_regions:
        raise TemplateError(f"the synthesized app's global table {out.table_name or '(none)'} has no replica "
                            f"in {region}")
    (queue_url, queue_arn), (dlq_url, dlq_arn) = queue(cfg.queue_name(region)), queue(cfg.dlq_name(region))
    return RegionResources(
        region=region, table_name=out.table_name, stream_arn=out.table_streams.get(region, ""),
        bucket=cfg.bucket_name(region),
        queue_url=queue_url, queue_arn=queue_arn, dlq_url=dlq_url, dlq_arn=dlq_arn,
        maintenance_parameter=cfg.maintenance_parameter(region))

