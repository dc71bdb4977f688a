"""``storefront replication status``: is replication keeping up, region by region?

Per region, each flagged against ``config.thresholds``:

* the global table: ``DescribeTable`` status and replicas (every configured region an
  ACTIVE replica; the sandbox emulates replication with one table per region, so there
  each region's table must simply be ACTIVE), and CloudWatch ``AWS/DynamoDB
  ReplicationLatency`` (TableName, ReceivingRegion) from this region to each other
  region over the last ``minutes`` (maximum, ms);
* the bucket: its replication rules (the primary's bucket must replicate ``products/`` to
  every other region's bucket with an Enabled rule) and ``AWS/S3`` ``ReplicationLatency``
  (seconds, flagged against the same latency threshold), ``OperationsPendingReplication``
  and ``OperationsFailedReplication`` (any failure is flagged) per rule;
* the indexer: ``AWS/Lambda IteratorAge`` (maximum, ms) of the region's indexer function,
  and its dead-letter queue's depth (visible + in flight messages).

No datapoints in the window is reported as "no data" and not flagged (an idle stream
publishes no IteratorAge).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from catalog.model import CONTENT_PREFIX
from replication.targets import Target


@dataclass
class Check:
    region: str
    name: str
    ok: bool
    value: Any = None
    threshold: Any = None
    detail: str = ""


@dataclass
class StatusReport:
    target: str
    minutes: int
    checks: list[Check] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)

    def flagged(self) -> list[Check]:
        return [c for c in self.checks if not c.ok]

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "target": self.target, "minutes": self.minutes,
                "checks": [asdict(c) for c in self.checks]}

    def render(self) -> str:
        lines = [f"replication status ({self.target}, last {self.minutes} min): "
                 + ("ok" if self.ok else f"{len(self.flagged())} flagged")]
        region = None
        for c in self.checks:
            if c.region != region:
                region = c.region
                lines.append(f"{region}")
            mark = "ok  " if c.ok else "FLAG"
            lines.append(f"  {mark} {c.name:<34} {c.detail}")
        return "\n".join(lines)


def metric_points(cloudwatch: Any, namespace: str, metric: str, dimensions: dict[str, str], minutes: int,
                  statistic: str = "Maximum") -> list[tuple[datetime, float]]:
    """(timestamp, ``statistic``) per minute over the last ``minutes``, oldest first."""
    end = datetime.now(UTC)
    resp = cloudwatch.get_metric_statistics(
        Namespace=namespace, MetricName=metric,
        Dimensions=[{"Name": k, "Value": v} for k, v in dimensions.items()],
        StartTime=end - timedelta(minutes=minutes), EndTime=end + timedelta(minutes=1),
        Period=60, Statistics=[statistic])
    return sorted((p["Timestamp"], p[statistic]) for p in resp.get("Datapoints", []) if statistic in p)


def metric_max(cloudwatch: Any, namespace: str, metric: str, dimensions: dict[str, str], minutes: int,
               statistic: str = "Maximum") -> float | None:
    """The largest ``statistic`` over the last ``minutes`` (None: no datapoints)."""
    points = metric_points(cloudwatch, namespace, metric, dimensions, minutes, statistic)
    return max(v for _, v in points) if points else None


def metric_latest(cloudwatch: Any, namespace: str, metric: str, dimensions: dict[str, str], minutes: int,
                  statistic: str = "Maximum") -> float | None:
    """The ``statistic`` of the most recent minute with data (None: no datapoints)."""
    points = metric_points(cloudwatch, namespace, metric, dimensions, minutes, statistic)
    return points[-1][1] if points else None


def limit_check(region: str, name: str, value: float | None, threshold: float, unit: str) -> Check:
    if value is None:
        return Check(region, name, True, None, threshold, "no data")
    ok = value <= threshold
    return Check(region, name, ok, value, threshold, f"{value:,.0f} {unit} (threshold {threshold:,.0f} {unit})")


def table_checks(target: Target, region: str, minutes: int) -> list[Check]:
    cfg = target.config
    ddb = target.client("dynamodb", region)
    out: list[Check] = []
    try:
        table = ddb.describe_table(TableName=cfg.table_name)["Table"]
    except ddb.exceptions.ResourceNotFoundException:
        return [Check(region, "table", False, None, None, f"table {cfg.table_name} not found")]
    status = table.get("TableStatus")
    out.append(Check(region, "table", status == "ACTIVE", status, "ACTIVE", f"{cfg.table_name} {status}"))
    replicas = {r["RegionName"]: r.get("ReplicaStatus") for r in table.get("Replicas", [])}
    if replicas or target.kind == "aws":
        for other in cfg.regions:
            if other == region:
                continue
            st = replicas.get(other)
            out.append(Check(region, f"replica {other}", st == "ACTIVE", st, "ACTIVE",
                             f"replica {st}" if st else "not a replica of this table"))
    th = cfg.thresholds.replication_latency_ms
    cw = target.client("cloudwatch", region)
    for other in cfg.regions:
        if other != region:
            value = metric_max(cw, "AWS/DynamoDB", "ReplicationLatency",
                               {"TableName": cfg.table_name, "ReceivingRegion": other}, minutes)
            out.append(limit_check(region, f"table latency -> {other}", value, th, "ms"))
    return out


def bucket_checks(target: Target, region: str, minutes: int) -> list[Check]:
    cfg = target.config
    s3 = target.client("s3", region)
    bucket = cfg.bucket_name(region)
    try:
        rules = s3.get_bucket_replication(Bucket=bucket)["ReplicationConfiguration"].get("Rules", [])
    except s3.exceptions.ClientError as exc:
        code = exc.response.get("Error", {}).get("Code")
        if code == "NoSuchBucket":
            return [Check(region, "bucket", False, None, None, f"bucket {bucket} not found")]
        if code != "ReplicationConfigurationNotFoundError":
            raise
        rules = []
    out: list[Check] = []
    by_dest = {}
    for rule in rules:
        dest = rule.get("Destination", {}).get("Bucket", "").split(":::")[-1]
        prefix = rule.get("Filter", {}).get("Prefix", rule.get("Prefix", ""))
        if rule.get("Status") == "Enabled" and CONTENT_PREFIX.startswith(prefix):
            by_dest[dest] = rule.get("ID", "")
    if region == cfg.primary:
        for other in cfg.regions:
            if other == region:
                continue
            dest = cfg.bucket_name(other)
            rule_id = by_dest.get(dest)
            out.append(Check(region, f"bucket rule -> {other}", rule_id is not None, rule_id, "Enabled",
                             f"rule {rule_id} replicates {CONTENT_PREFIX}" if rule_id
                             else f"no enabled rule replicates {CONTENT_PREFIX} to {dest}"))
    elif not by_dest:
        out.append(Check(region, "bucket rules", True, 0, None, "none (receives replicas)"))
    cw = target.client("cloudwatch", region)
    th_ms = cfg.thresholds.replication_latency_ms
    for dest, rule_id in by_dest.items():
        dims = {"SourceBucket": bucket, "DestinationBucket": dest, "RuleId": rule_id}
        latency = metric_max(cw, "AWS/S3", "ReplicationLatency", dims, minutes)  # seconds
        latency_ms = None if latency is None else latency * 1000
        out.append(limit_check(region, f"s3 latency {rule_id}", latency_ms, th_ms, "ms"))
        pending = metric_max(cw, "AWS/S3", "OperationsPendingReplication", dims, minutes)
        out.append(Check(region, f"s3 pending {rule_id}", True, pending, None,
                         "no data" if pending is None else f"{pending:,.0f} operations pending (max)"))
        failed = metric_max(cw, "AWS/S3", "OperationsFailedReplication", dims, minutes, "Sum")
        out.append(Check(region, f"s3 failed {rule_id}", not failed, failed, 0,
                         "no data" if failed is None else f"{failed:,.0f} failed operations"))
    return out


def indexer_checks(target: Target, region: str, minutes: int) -> list[Check]:
    cfg = target.config
    th = cfg.thresholds
    cw = target.client("cloudwatch", region)
    age = metric_max(cw, "AWS/Lambda", "IteratorAge", {"FunctionName": cfg.indexer_function_name(region)}, minutes)
    out = [limit_check(region, "iterator age", age, th.iterator_age_ms, "ms")]
    sqs = target.client("sqs", region)
    try:
        url = sqs.get_queue_url(QueueName=cfg.dlq_name(region))["QueueUrl"]
    except sqs.exceptions.QueueDoesNotExist:
        return [*out, Check(region, "dlq depth", False, None, th.dlq_depth, f"queue {cfg.dlq_name(region)} not found")]
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=[
        "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
    depth = sum(int(v) for v in attrs.values())
    out.append(Check(region, "dlq depth", depth <= th.dlq_depth, depth, th.dlq_depth,
                     f"{depth} messages (threshold {th.dlq_depth})"))
    return out


def replication_status(target: Target, *, minutes: int = 15, regions: list[str] | None = None) -> StatusReport:
    report = StatusReport(target.kind, minutes)
    for region in regions or target.config.regions:
        target.config.require_region(region)
        report.checks += table_checks(target, region, minutes)
        report.checks += bucket_checks(target, region, minutes)
        report.checks += indexer_checks(target, region, minutes)
    return report
