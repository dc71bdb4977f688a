"""CloudWatch alarms and a dashboard for one region.

Alarms: indexer iterator age, DLQ depth, API 5xx rate, API p99 latency, OpenSearch
cluster status red, and replication latency from this region to every other one
(DynamoDB ``ReplicationLatency`` by receiving region; S3 ``ReplicationLatency`` by rule);
then :class:`infra.constructs.alarms.RegionAlarms` (OpenSearch, Lambda, queue, S3
replication failures) and the composite ``<prefix>-<region>-search-impaired``.
Thresholds come from ``[thresholds]``, ``[alarms]`` and ``[aws]``.

Every alarm notifies the region's SNS topic ``<prefix>-<region>-alarms`` when it fires and
when it clears; ``aws.alarm_email`` is subscribed to it, and operators add their paging
(PagerDuty, Chatbot, ...) as further subscriptions. The topic is encrypted with its own
customer-managed KMS key, because CloudWatch cannot publish to a topic under the AWS-managed
``alias/aws/sns`` key, and it refuses requests without TLS. The topic policy and the key
policy let ``cloudwatch.amazonaws.com`` publish (and use the key) only for this region's
alarms in this account (``aws:SourceAccount``, ``aws:SourceArn`` = ``<prefix>-<region>-*``).
"""

from __future__ import annotations

from aws_cdk import CfnOutput, Duration, RemovalPolicy, Stack
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_cloudwatch as cw
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_synthetics as synthetics
from constructs import Construct

from infra.constructs.alarms import RegionAlarms, allow_cloudwatch_alarms, search_impaired
from infra.settings import Deployment
from infra.stacks.health_alarms import health_check_alarm_arn

# S3 Replication Time Control promises 15 minutes; alarm well before, at 5.
S3_REPLICATION_LATENCY_SECONDS = 300


class Monitoring(Construct):
    def __init__(self, scope: Construct, cid: str, *, dep: Deployment, region: str, indexer: lambda_.IFunction,
                 dlq: sqs.IQueue, api: apigw.RestApi, domain_name: str,
                 functions: dict[str, lambda_.IFunction], queue: sqs.IQueue,
                 canaries: dict[str, synthetics.Canary]) -> None:
        super().__init__(scope, cid)
        cfg = dep.config
        th = cfg.thresholds
        minute = Duration.minutes(1)
        prefix = f"{cfg.name_prefix}-{region}"
        self.alarms: list[cw.Alarm] = []
        self.by_key: dict[str, cw.Alarm] = {}
        # it protects only notifications in flight: removed with the stack (after AWS's waiting period)
        key = kms.Key(self, "AlarmTopicKey", enable_key_rotation=True, removal_policy=RemovalPolicy.DESTROY,
                      pending_window=Duration.days(7),
                      description=f"Encrypts the {prefix}-alarms topic (CloudWatch alarms publish to it)")
        self.topic = sns.Topic(self, "AlarmTopic", topic_name=f"{prefix}-alarms", master_key=key, enforce_ssl=True,
                               display_name=f"storefront-search alarms, {region}")
        allow_cloudwatch_alarms(self.topic, key, account=dep.aws.account, alarm_names=f"{prefix}-*")
        if dep.aws.alarm_email:
            self.topic.add_subscription(subscriptions.EmailSubscription(dep.aws.alarm_email))
        notify = cw_actions.SnsAction(self.topic)
        CfnOutput(self, "AlarmTopicArn", value=self.topic.topic_arn,
                  description="Every alarm of this region notifies this topic: subscribe your paging to it")

        def alarm(cid: str, metric: cw.IMetric, threshold: float, description: str,
                  op: cw.ComparisonOperator = cw.ComparisonOperator.GREATER_THAN_THRESHOLD,
                  periods: int = 3) -> cw.Alarm:
            a = cw.Alarm(
                self, cid,
                alarm_name=f"{prefix}-{cid}",
                alarm_description=description,
                metric=metric,
                threshold=threshold,
                comparison_operator=op,
                evaluation_periods=periods,
                datapoints_to_alarm=periods,
                treat_missing_data=cw.TreatMissingData.NOT_BREACHING,
            )
            a.add_alarm_action(notify)
            a.add_ok_action(notify)
            self.alarms.append(a)
            self.by_key[cid] = a
            return a

        iterator_age = indexer.metric("IteratorAge", statistic="Maximum", period=minute)
        alarm("indexer-iterator-age", iterator_age, th.iterator_age_ms,
              f"The indexer is more than {th.iterator_age_ms} ms behind the replica's stream")
        dlq_depth = dlq.metric_approximate_number_of_messages_visible(statistic="Maximum", period=minute)
        alarm("dlq-depth", dlq_depth, th.dlq_depth,
              "Records the indexer could not index are waiting in the dead-letter queue", periods=1)
        errors_5xx = api.metric_server_error(statistic="Sum", period=minute)
        requests = api.metric_count(statistic="SampleCount", period=minute)
        rate_5xx = cw.MathExpression(
            expression="IF(requests > 0, 100 * errors / requests, 0)",
            using_metrics={"errors": errors_5xx, "requests": requests},
            label="5xx %",
            period=minute,
        )
        alarm("api-5xx-rate", rate_5xx, dep.aws.alarm_5xx_percent,
              f"More than {dep.aws.alarm_5xx_percent}% of search requests answered 5xx")
        p99 = api.metric_latency(statistic="p99", period=minute)
        alarm("api-p99-latency", p99, dep.aws.alarm_p99_latency_ms,
              f"Search p99 latency above {dep.aws.alarm_p99_latency_ms} ms")
        cluster_red = cw.Metric(
            namespace="AWS/ES", metric_name="ClusterStatus.red", statistic="Maximum", period=minute,
            dimensions_map={"DomainName": domain_name, "ClientId": dep.aws.account},
        )
        alarm("opensearch-cluster-red", cluster_red, 1,
              "The OpenSearch cluster status is red (a primary shard is unassigned)",
              op=cw.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD, periods=1)

        replication: list[cw.IMetric] = []
        for other in (r for r in cfg.regions if r != region):
            ddb = cw.Metric(
                namespace="AWS/DynamoDB", metric_name="ReplicationLatency", statistic="Average", period=minute,
                dimensions_map={"TableName": cfg.table_name, "ReceivingRegion": other},
                label=f"DynamoDB -> {other}",
            )
            alarm(f"table-replication-latency-{other}", ddb, th.replication_latency_ms,
                  f"DynamoDB replication {region} -> {other} above {th.replication_latency_ms} ms")
            s3 = cw.Metric(
                namespace="AWS/S3", metric_name="ReplicationLatency", statistic="Maximum", period=minute,
                dimensions_map={"SourceBucket": cfg.bucket_name(region, dep.aws.account),
                                "DestinationBucket": cfg.bucket_name(other, dep.aws.account),
                                "RuleId": dep.config.replication_rule_id(other)},
                label=f"S3 -> {other}",
            )
            alarm(f"bucket-replication-latency-{other}", s3, S3_REPLICATION_LATENCY_SECONDS,
                  f"S3 replication {region} -> {other} above {S3_REPLICATION_LATENCY_SECONDS} s")
            replication += [ddb, s3]

        more = RegionAlarms(self, "More", dep=dep, region=region, alarm=alarm, functions=functions, queue=queue,
                            domain_name=domain_name, canaries=canaries)
        self.search_impaired = search_impaired(self, prefix=prefix, alarms=self.by_key)
        self.search_impaired.add_alarm_action(notify)
        self.search_impaired.add_ok_action(notify)

        self.dashboard = cw.Dashboard(self, "Dashboard", dashboard_name=prefix)
        self.dashboard.add_widgets(
            cw.AlarmStatusWidget(title="Search impaired", alarms=[self.search_impaired], width=6),
            cw.AlarmStatusWidget(title="Alarms", alarms=self.alarms, width=18),
        )
        # Route 53 health check alarms live in us-east-1 (P-health-alarms); shown here by ARN
        partition = Stack.of(self).partition
        self.dashboard.add_widgets(cw.AlarmStatusWidget(
            title="Route 53 health checks (us-east-1)", width=24,
            alarms=[cw.Alarm.from_alarm_arn(self, f"HealthCheck{r}", health_check_alarm_arn(dep, r, partition))
                    for r in cfg.regions]))
        self.dashboard.add_widgets(
            cw.GraphWidget(title="Search requests and 5xx", left=[requests, errors_5xx], right=[rate_5xx], width=8),
            cw.GraphWidget(title="Search latency", left=[
                api.metric_latency(statistic="p50", period=minute), p99], width=8),
            cw.GraphWidget(title="Indexer", left=[iterator_age], right=[
                indexer.metric_errors(period=minute), dlq_depth], width=8),
        )
        self.dashboard.add_widgets(
            cw.GraphWidget(title="OpenSearch cluster", left=[cluster_red, cw.Metric(
                namespace="AWS/ES", metric_name="SearchLatency", statistic="p99", period=minute,
                dimensions_map={"DomainName": domain_name, "ClientId": dep.aws.account})], width=12),
            cw.GraphWidget(title="Replication latency", left=replication, width=12),
        )
        self.dashboard.add_widgets(
            cw.GraphWidget(title="OpenSearch health", left=more.opensearch, width=8),
            cw.GraphWidget(title="Lambda errors and throttles", left=more.lambda_metrics, width=8),
            cw.GraphWidget(title="Content queue oldest message; S3 failed replication", left=[more.oldest],
                           right=more.replication_failed, width=8),
        )
        self.dashboard.add_widgets(
            cw.GraphWidget(title="Shopper-path canaries: success %", left=more.canary_success, width=24))
