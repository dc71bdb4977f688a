"""The Lambda functions: the indexer, the search API handler and the index bootstrap.

Each function has its own role (no managed policies): write to its own log group,
X-Ray, and what :mod:`infra.constructs.index_access` and the event sources grant.
arm64, Python 3.13, configured only by environment variables (the contracts in
``catalog/engine/__init__.py``, ``indexer/handler.py`` and ``search_api/handler.py``).
"""

from __future__ import annotations

import json

from aws_cdk import CustomResource, Duration, RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_ssm as ssm
from constructs import Construct

from infra.bundling import function_code
from infra.settings import Deployment, log_retention

RUNTIME = lambda_.Runtime.PYTHON_3_13
ARCHITECTURE = lambda_.Architecture.ARM_64
METRICS_NAMESPACE = "Storefront"
BOOTSTRAP_HANDLER = "index_bootstrap.lambda_handler"
# index settings the bootstrap adds to the schema's body so that the slow logs have content
SLOW_LOG_SETTINGS = {
    "search.slowlog.threshold.query.warn": "1s",
    "search.slowlog.threshold.query.info": "500ms",
    "search.slowlog.threshold.fetch.warn": "500ms",
    "indexing.slowlog.threshold.index.warn": "1s",
    "indexing.slowlog.threshold.index.info": "500ms",
}


class FunctionRole(Construct):
    """A role Lambda assumes, allowed to write only to its function's log group."""

    def __init__(self, scope: Construct, cid: str, *, function_name: str, dep: Deployment, purpose: str) -> None:
        super().__init__(scope, cid)
        self.log_group = logs.LogGroup(
            self, "Logs",
            log_group_name=f"/aws/lambda/{function_name}",
            retention=log_retention(dep.aws.log_retention_days),
            removal_policy=RemovalPolicy.DESTROY,
        )
        self.role = iam.Role(
            self, "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=purpose,
        )
        self.role.add_to_policy(iam.PolicyStatement(
            sid="OwnLogGroup",
            actions=["logs:CreateLogStream", "logs:PutLogEvents"],
            resources=[self.log_group.log_group_arn],
        ))


def _common_env(dep: Deployment, endpoint_url: str, service: str) -> dict[str, str]:
    return {
        "SEARCH_ENGINE": "opensearch",
        "OPENSEARCH_ENDPOINT": endpoint_url,
        "OPENSEARCH_AUTH": "sigv4",
        "INDEX_ALIAS": dep.config.engine.index_alias,
        "POWERTOOLS_SERVICE_NAME": service,
        "POWERTOOLS_METRICS_NAMESPACE": METRICS_NAMESPACE,
    }


def _handler_function(scope: Construct, package: str, role: FunctionRole, *, function_name: str, description: str,
                      memory_mb: int, timeout_seconds: int, environment: dict[str, str],
                      reserved_concurrency: int | None = None) -> lambda_.Function:
    """``<package>.handler.lambda_handler`` on arm64 Python 3.13, with the role's log group and
    active tracing: what both functions share."""
    handler = f"{package}.handler.lambda_handler"
    return lambda_.Function(
        scope, "Function",
        function_name=function_name,
        description=description,
        code=function_code(scope, handler),
        handler=handler,
        runtime=RUNTIME,
        architecture=ARCHITECTURE,
        memory_size=memory_mb,
        timeout=Duration.seconds(timeout_seconds),
        role=role.role,
        log_group=role.log_group,
        tracing=lambda_.Tracing.ACTIVE,
        environment=environment,
        reserved_concurrent_executions=reserved_concurrency,
    )


class IndexerFunction(Construct):
    """``indexer_function_name(region)``: the replica's stream and the S3-events queue in, the index out."""

    def __init__(self, scope: Construct, cid: str, *, dep: Deployment, region: str, role: FunctionRole,
                 endpoint_url: str, stream_table: dynamodb.ITable, queue: sqs.IQueue, dlq: sqs.IQueue,
                 bucket_name: str) -> None:
        super().__init__(scope, cid)
        aws = dep.aws
        cfg = dep.config
        self.function = _handler_function(
            self, "indexer", role,
            function_name=cfg.indexer_function_name(region),
            description="Indexes the replica's stream and the bucket's products/ events into OpenSearch",
            memory_mb=aws.indexer_memory_mb,
            timeout_seconds=aws.indexer_timeout_seconds,
            # bounded fan-in: at most this many batches write to the domain at once
            reserved_concurrency=aws.indexer_reserved_concurrency if aws.indexer_reserved_concurrency != -1 else None,
            environment={
                **_common_env(dep, endpoint_url, "storefront-indexer"),
                "DLQ_URL": dlq.queue_url,
                "CONTENT_BUCKET": bucket_name,
                "BULK_MAX_OPERATIONS": str(cfg.engine.bulk_max_operations),
                "BULK_MAX_BYTES": str(cfg.engine.bulk_max_bytes),
                "RETRY_MARGIN_MS": str(aws.retry_margin_ms),
            },
        )
        self.function.add_event_source(sources.DynamoEventSource(
            stream_table,
            starting_position=lambda_.StartingPosition.TRIM_HORIZON,
            batch_size=aws.stream_batch_size,
            max_batching_window=Duration.seconds(aws.stream_batching_window_seconds),
            bisect_batch_on_error=True,
            report_batch_item_failures=True,
            retry_attempts=aws.stream_max_retries,
            max_record_age=(Duration.seconds(aws.stream_max_record_age_seconds)
                            if aws.stream_max_record_age_seconds != -1 else None),
            parallelization_factor=aws.stream_parallelization_factor,
            on_failure=sources.SqsDlq(dlq),
        ))
        self.function.add_event_source(sources.SqsEventSource(
            queue,
            batch_size=aws.queue_batch_size,
            # above 10 messages Lambda requires a window of at least 1 s (checked when parsing)
            max_batching_window=Duration.seconds(aws.queue_batching_window_seconds),
            # Lambda polls no more than this can take: no throttling, so no redrive to the DLQ for it
            max_concurrency=aws.queue_max_concurrency,
            report_batch_item_failures=True,
        ))
        # the indexer sends untransformable records to the DLQ itself (SqsDlq granted the same)
        dlq.grant_send_messages(role.role)


class SearchFunction(Construct):
    """``search_function_name(region)``: the REST API's handler; reads the index and its maintenance switch."""

    def __init__(self, scope: Construct, cid: str, *, dep: Deployment, region: str, role: FunctionRole,
                 endpoint_url: str) -> None:
        super().__init__(scope, cid)
        aws = dep.aws
        cfg = dep.config
        self.maintenance = ssm.StringParameter(
            self, "Maintenance",
            parameter_name=cfg.maintenance_parameter(region),
            string_value="off",
            description='"on" takes this region out of service: /health answers 503 and Route 53 fails over',
        )
        # only this parameter, only read (not grant_read: that adds DescribeParameters and history)
        role.role.add_to_policy(iam.PolicyStatement(
            sid="MaintenanceSwitch",
            actions=["ssm:GetParameter"],
            resources=[self.maintenance.parameter_arn],
        ))
        self.function = _handler_function(
            self, "search_api", role,
            function_name=cfg.search_function_name(region),
            description="Read-only product search API (API Gateway REST proxy)",
            memory_mb=aws.search_memory_mb,
            timeout_seconds=aws.search_timeout_seconds,
            environment={
                **_common_env(dep, endpoint_url, "storefront-search"),
                "MAINTENANCE_PARAMETER": cfg.maintenance_parameter(region),
                "MAINTENANCE_CACHE_SECONDS": "5",
                "SEARCH_TIMEOUT_MS": str(min(2000, aws.search_timeout_seconds * 1000 - 1000)),
                "CORS_ALLOW_ORIGIN": dep.site_origin(),  # the search page's site
            },
        )


class IndexBootstrap(Construct):
    """Custom resource: the first ``<alias>-v<hash>`` index from catalog's schema, and its alias.

    Runs with the indexer's role (the domain admits only the two Lambda roles). Never
    deletes the index; on update it leaves an existing alias alone.
    """

    def __init__(self, scope: Construct, cid: str, *, dep: Deployment, region: str, role: FunctionRole,
                 endpoint_url: str) -> None:
        super().__init__(scope, cid)
        name = f"{dep.config.name_prefix}-index-bootstrap-{region}"
        log_group = logs.LogGroup(
            self, "Logs",
            log_group_name=f"/aws/lambda/{name}",
            retention=log_retention(dep.aws.log_retention_days),
            removal_policy=RemovalPolicy.DESTROY,
        )
        role.role.add_to_policy(iam.PolicyStatement(
            sid="BootstrapLogGroup",
            actions=["logs:CreateLogStream", "logs:PutLogEvents"],
            resources=[log_group.log_group_arn],
        ))
        body = dep.index_body()
        body["settings"]["index"] = {**body["settings"]["index"], **SLOW_LOG_SETTINGS}
        self.function = lambda_.Function(
            self, "Function",
            function_name=name,
            description="CloudFormation custom resource: creates the versioned index and its alias",
            code=function_code(self, BOOTSTRAP_HANDLER),
            handler=BOOTSTRAP_HANDLER,
            runtime=RUNTIME,
            architecture=ARCHITECTURE,
            memory_size=256,
            timeout=Duration.minutes(10),
            role=role.role,
            log_group=log_group,
        )
        self.resource = CustomResource(
            self, "Index",
            service_token=self.function.function_arn,
            resource_type="Custom::StorefrontIndex",
            properties={
                "Endpoint": endpoint_url,
                "Alias": dep.config.engine.index_alias,
                "PhysicalIndex": dep.physical_index_name(),
                "IndexBody": json.dumps(body, sort_keys=True),
            },
            removal_policy=RemovalPolicy.RETAIN,
        )
