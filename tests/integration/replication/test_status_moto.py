"""``replication status`` against moto: metrics, replication rules, DLQ depth, thresholds."""

from __future__ import annotations

from datetime import UTC, datetime

from replication.status import replication_status


def _metric(clients, region, namespace, name, dims, value, unit="Milliseconds"):
    clients("cloudwatch", region).put_metric_data(Namespace=namespace, MetricData=[{
        "MetricName": name, "Dimensions": [{"Name": k, "Value": v} for k, v in dims.items()],
        "Timestamp": datetime.now(UTC), "Value": value, "Unit": unit}])


def _replicate_bucket(cfg, clients):
    clients("s3", cfg.primary).put_bucket_replication(Bucket=cfg.bucket_name(cfg.primary), ReplicationConfiguration={
        "Role": "arn:aws:iam::123456789012:role/replication",
        "Rules": [{"ID": "products-to-eu-west-1", "Priority": 1, "Status": "Enabled", "Filter": {"Prefix": "products/"},
                   "DeleteMarkerReplication": {"Status": "Enabled"},
                   "Destination": {"Bucket": f"arn:aws:s3:::{cfg.bucket_name('eu-west-1')}"}}]})


def _by_name(report, region, name):
    return next(c for c in report.checks if c.region == region and c.name == name)


def test_healthy_replication_is_ok(cfg, clients, target):
    _replicate_bucket(cfg, clients)
    _metric(clients, "us-east-1", "AWS/DynamoDB", "ReplicationLatency",
            {"TableName": cfg.table_name, "ReceivingRegion": "eu-west-1"}, 350)
    _metric(clients, "us-east-1", "AWS/Lambda", "IteratorAge", {"FunctionName": cfg.indexer_function_name("us-east-1")},
            800)
    report = replication_status(target, minutes=5)
    assert report.ok, report.render()
    assert _by_name(report, "us-east-1", "table latency -> eu-west-1").value == 350
    assert _by_name(report, "us-east-1", "bucket rule -> eu-west-1").value == "products-to-eu-west-1"
    assert _by_name(report, "eu-west-1", "iterator age").detail == "no data"
    assert report.to_dict()["ok"] is True


def test_everything_past_its_threshold_is_flagged(cfg, clients, target):
    _metric(clients, "eu-west-1", "AWS/DynamoDB", "ReplicationLatency",
            {"TableName": cfg.table_name, "ReceivingRegion": "us-east-1"}, 9000)
    _metric(clients, "eu-west-1", "AWS/Lambda", "IteratorAge", {"FunctionName": cfg.indexer_function_name("eu-west-1")},
            120_000)
    sqs = clients("sqs", "us-east-1")
    sqs.send_message(QueueUrl=sqs.get_queue_url(QueueName=cfg.dlq_name("us-east-1"))["QueueUrl"], MessageBody="{}")
    report = replication_status(target, minutes=5)
    flagged = {(c.region, c.name) for c in report.flagged()}
    assert flagged == {
        ("eu-west-1", "table latency -> us-east-1"),
        ("eu-west-1", "iterator age"),
        ("us-east-1", "dlq depth"),
        ("us-east-1", "bucket rule -> eu-west-1"),  # no replication configured on the primary bucket
    }, report.render()
    assert "FLAG" in report.render()


def test_s3_failures_are_flagged(cfg, clients, target):
    _replicate_bucket(cfg, clients)
    dims = {"SourceBucket": cfg.bucket_name("us-east-1"), "DestinationBucket": cfg.bucket_name("eu-west-1"),
            "RuleId": "products-to-eu-west-1"}
    _metric(clients, "us-east-1", "AWS/S3", "OperationsFailedReplication", dims, 2, "Count")
    _metric(clients, "us-east-1", "AWS/S3", "ReplicationLatency", dims, 0.4, "Seconds")
    report = replication_status(target, minutes=5, regions=["us-east-1"])
    assert {c.name for c in report.flagged()} == {"s3 failed products-to-eu-west-1"}
    assert _by_name(report, "us-east-1", "s3 latency products-to-eu-west-1").value == 400


def test_missing_table_is_flagged(cfg, clients, target):
    clients("dynamodb", "eu-west-1").delete_table(TableName=cfg.table_name)
    report = replication_status(target, regions=["eu-west-1"])
    assert _by_name(report, "eu-west-1", "table").ok is False
