"""Fixtures: moto (DynamoDB + Streams, S3, SQS) and the real embedded engine behind the handler.

No event source mapping is created (moto would drain the stream into a Lambda it cannot
run): the tests poll Streams and SQS themselves and call ``lambda_handler`` with events
of the shape Lambda delivers (:mod:`tests.doubles.indexer_events`).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from typing import Any

import pytest

from tests.integration.indexer.awsenv import CONFIG, REGION, Aws, load_handler


@pytest.fixture
def aws(monkeypatch) -> Iterator[Aws]:
    import boto3
    from moto import mock_aws

    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    with mock_aws():
        ddb = boto3.client("dynamodb", region_name=REGION)
        table = CONFIG.table_name
        desc = ddb.create_table(
            TableName=table, KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST",
            StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
        )["TableDescription"]
        s3 = boto3.client("s3", region_name=REGION)
        sqs = boto3.client("sqs", region_name=REGION)
        bucket = CONFIG.bucket_name(REGION)
        s3.create_bucket(Bucket=bucket)
        queue_url = sqs.create_queue(QueueName=CONFIG.queue_name(REGION))["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        dlq_url = sqs.create_queue(QueueName=CONFIG.dlq_name(REGION))["QueueUrl"]
        s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration={"QueueConfigurations": [
            {"QueueArn": queue_arn, "Events": ["s3:ObjectCreated:*", "s3:ObjectRemoved:*"]}]})
        yield Aws(ddb, boto3.client("dynamodbstreams", region_name=REGION), s3, sqs, table,
                  desc["LatestStreamArn"], bucket, queue_url, dlq_url)


@pytest.fixture
def handler_env(aws, tmp_path, monkeypatch) -> dict[str, str]:
    env = {
        "AWS_REGION": REGION,
        "DLQ_URL": aws.dlq_url,
        "CONTENT_BUCKET": aws.bucket,
        "SEARCH_ENGINE": "embedded",
        "EMBEDDED_INDEX_DIR": str(tmp_path / "index"),
        "INDEX_ALIAS": "products",
        "POWERTOOLS_SERVICE_NAME": "storefront-indexer",
        "POWERTOOLS_TRACE_DISABLED": "true",
    }
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    return env


@pytest.fixture
def handler(handler_env) -> Iterator[Any]:
    """The handler module, initialised from ``handler_env`` (a fresh embedded index)."""
    module = load_handler()
    engine = module.RUNTIME.engine
    if engine.alias_target() is None:  # bootstrap, as the CDK custom resource / sandbox do
        engine.swap_alias(engine.create_index())
    yield module
    engine.close()
    sys.modules.pop("indexer.handler", None)


