"""The alarms an on-call engineer expects, what each means and what to do: one list.

:data:`GUIDE` is the list (README "Alarms" is :func:`readme_table`, compared by a test);
:class:`RegionAlarms` adds the OpenSearch, Lambda, queue and S3 replication alarms to a
region's :class:`infra.constructs.monitoring.Monitoring`, and :func:`search_impaired`
the composite alarm over those that mean shoppers are affected. Route 53's
``HealthCheckStatus`` exists only in us-east-1, so those alarms live in
:class:`infra.stacks.health_alarms.HealthAlarmsStack`.
Thresholds: ``[alarms]``, ``[thresholds]`` and ``[aws]`` (``catalog/config/schema.py``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from aws_cdk import ArnFormat, Duration, Stack
from aws_cdk import aws_cloudwatch as cw
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_synthetics as synthetics
from constructs import Construct

from infra.settings import Deployment


def allow_cloudwatch_alarms(topic: sns.Topic, key: kms.Key, *, account: str, alarm_names: str) -> None:
    """Let CloudWatch publish to ``topic`` and use its ``key``, on behalf of this account's alarms
    in the topic's region named like ``alarm_names`` (``*`` wildcards) only: the confused-deputy
    conditions ``aws:SourceAccount`` and ``aws:SourceArn``. Needed by every topic with
    ``enforce_ssl``: its topic policy replaces SNS's default one, and without this Allow no
    alarm is delivered."""
    stack = Stack.of(topic)
    from_our_alarms = {
        "StringEquals": {"aws:SourceAccount": account},
        "ArnLike": {"aws:SourceArn": stack.format_arn(service="cloudwatch", resource="alarm",
                                                      resource_name=alarm_names,
                                                      arn_format=ArnFormat.COLON_RESOURCE_NAME)},
    }
    cloudwatch = iam.ServicePrincipal("cloudwatch.amazonaws.com")
    key.add_to_resource_policy(iam.PolicyStatement(
        sid="CloudWatchAlarms", principals=[cloudwatch], actions=["kms:Decrypt", "kms:GenerateDataKey*"],
        resources=["*"], conditions=from_our_alarms))
    topic.add_to_resource_policy(iam.PolicyStatement(
        sid="CloudWatchAlarmsPublish", principals=[cloudwatch], actions=["sns:Publish"],
        resources=[topic.topic_arn], conditions=from_our_alarms))

OPENSEARCH_NAMESPACE = "AWS/ES"


@dataclass(frozen=True)
class Guide:
    meaning: str
    action: str
    shoppers: bool = False  # part of the region's "search-impaired" composite alarm


# Alarm names are "<prefix>-<region>-<key>"; FN is each function (indexer, search,
# index-bootstrap), OTHER each other region.
GUIDE: dict[str, Guide] = {
    "api-5xx-rate": Guide("more than `aws.alarm_5xx_percent` % of searches answer 5xx",
                          "search function logs and `opensearch-*` alarms; if it persists, fail over "
                          "(`storefront drill run --method maintenance`)", shoppers=True),
    "api-p99-latency": Guide("search p99 latency above `aws.alarm_p99_latency_ms`",
                             "OpenSearch CPU, JVM and slow logs; throttles of the search function", shoppers=True),
    "search-errors": Guide("the search function raised errors (not 4xx answers)",
                           "its log group; a bad deploy rolls back with `cdk deploy` of the previous version",
                           shoppers=True),
    "search-throttles": Guide("Lambda throttled the search function", "account/reserved concurrency", shoppers=True),
    "opensearch-cluster-red": Guide("a primary shard is unassigned: some searches fail",
                                    "AWS console cluster health; `storefront reindex --region R`, or fail over",
                                    shoppers=True),
    "opensearch-cluster-yellow": Guide("a replica shard is unassigned: one more node or zone loss loses data",
                                       "usually a node replacement or blue/green in progress; if it lasts, "
                                       "check storage and node count"),
    "opensearch-jvm-memory-pressure": Guide("JVM heap above `alarms.jvm_memory_pressure_percent` % for 3 minutes",
                                            "expensive queries in the slow logs; scale the instance type"),
    "opensearch-free-storage": Guide("a node has less than `alarms.free_storage_percent` % of its volume free",
                                     "raise `volume_gb` before writes are blocked at 95 % used"),
    "opensearch-index-writes-blocked": Guide("the cluster refuses writes: the index stops following the table",
                                             "free storage or memory; then `storefront audit --region R --repair`"),
    "opensearch-snapshot-failed": Guide("an automated snapshot failed", "AWS support case if it repeats; the "
                                        "table and bucket remain the source for `storefront reindex`"),
    "indexer-iterator-age": Guide("the indexer is behind the replica's stream by `thresholds.iterator_age_ms`",
                                  "indexer errors and throttles; OpenSearch write alarms"),
    "indexer-errors": Guide("the indexer failed invocations (it cannot start, or crashed)",
                            "its log group; the stream retries, then the DLQ gets the batch"),
    "indexer-throttles": Guide("Lambda throttled the indexer", "account/reserved concurrency"),
    "index-bootstrap-errors": Guide("the index bootstrap custom resource failed", "its log group; the deploy "
                                    "that ran it rolled back"),
    "index-bootstrap-throttles": Guide("Lambda throttled the index bootstrap", "retry the deploy"),
    "dlq-depth": Guide("records the indexer could not index wait in the DLQ",
                       "read them, fix the cause, then `storefront audit --region R --repair`"),
    "content-queue-oldest-message": Guide("an S3 event waited `alarms.queue_oldest_message_seconds` in the "
                                          "content queue", "indexer errors; it retries 5 times, then the DLQ"),
    "table-replication-latency-OTHER": Guide("DynamoDB replication to OTHER is slow (`thresholds."
                                             "replication_latency_ms`)", "`storefront replication status`"),
    "bucket-replication-latency-OTHER": Guide("S3 replication to OTHER above 5 minutes (RTC promises 15)",
                                              "`storefront replication status`"),
    "bucket-replication-failed-OTHER": Guide("S3 operations failed to replicate to OTHER",
                                             "the replication role and the destination bucket; "
                                             "`storefront audit` finds the objects that differ"),
    "shopper-canary-regional": Guide("the shopper path (search, filter, product) fails through this region's "
                                     "custom domain: certificate, base path mapping, API or search",
                                     "the canary's run log and artifacts; `api-*` and `opensearch-*` alarms; "
                                     "the custom domain and its mapping", shoppers=True),
    "shopper-canary-global": Guide("the shopper path fails through the shared name as DNS answers here: "
                                   "what nearby shoppers get, failover included",
                                   "`P-health-alarms`, the other regions' `search-impaired`, the records"),
    "search-impaired": Guide("composite: any alarm marked \"shoppers\" is in ALARM: this region is impaired",
                             "decide on failover: `storefront drill run --region R --method maintenance --execute`"),
    "health-check-R": Guide("(us-east-1, stack `P-health-alarms`) Route 53 judges region R unhealthy: "
                            "traffic has moved away", "that region's `search-impaired` and its alarms"),
}

FUNCTIONS = ("indexer", "search", "index-bootstrap")
SHOPPER_ALARMS = tuple(k for k, g in GUIDE.items() if g.shoppers)

AlarmFn = Callable[..., cw.Alarm]


class RegionAlarms(Construct):
    """The alarms the issue adds to a region, through Monitoring's ``alarm`` (same topic, same naming)."""

    def __init__(self, scope: Construct, cid: str, *, dep: Deployment, region: str, alarm: AlarmFn,
                 functions: dict[str, lambda_.IFunction], queue: sqs.IQueue, domain_name: str,
                 canaries: dict[str, synthetics.Canary]) -> None:
        super().__init__(scope, cid)
        al = dep.config.alarms
        minute, five = Duration.minutes(1), Duration.minutes(5)
        ge = cw.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD
        dims = {"DomainName": domain_name, "ClientId": dep.aws.account}

        def domain_metric(name: str, statistic: str, period: Duration = minute) -> cw.Metric:
            return cw.Metric(namespace=OPENSEARCH_NAMESPACE, metric_name=name, statistic=statistic, period=period,
                             dimensions_map=dims)

        self.opensearch: list[cw.IMetric] = []

        def domain_alarm(key: str, metric: cw.Metric, threshold: float, *, periods: int = 1,
                         op: cw.ComparisonOperator = ge) -> None:
            alarm(key, metric, threshold, GUIDE[key].meaning, op=op, periods=periods)
            self.opensearch.append(metric)

        # AWS's recommended OpenSearch alarms (thresholds and periods as documented there)
        domain_alarm("opensearch-cluster-yellow", domain_metric("ClusterStatus.yellow", "Maximum"), 1)
        domain_alarm("opensearch-jvm-memory-pressure", domain_metric("JVMMemoryPressure", "Maximum"),
                     al.jvm_memory_pressure_percent, periods=3)
        volume_mib = dep.aws.sizing(region).volume_gb * 1024
        domain_alarm("opensearch-free-storage", domain_metric("FreeStorageSpace", "Minimum"),  # MiB, per node
                     volume_mib * al.free_storage_percent / 100,
                     op=cw.ComparisonOperator.LESS_THAN_OR_EQUAL_TO_THRESHOLD)
        domain_alarm("opensearch-index-writes-blocked", domain_metric("ClusterIndexWritesBlocked", "Maximum", five), 1)
        domain_alarm("opensearch-snapshot-failed", domain_metric("AutomatedSnapshotFailure", "Maximum"), 1)

        self.lambda_metrics: list[cw.IMetric] = []
        for name, fn in functions.items():
            errors = fn.metric_errors(statistic="Sum", period=five, label=f"{name} errors")
            throttles = fn.metric_throttles(statistic="Sum", period=five, label=f"{name} throttles")
            alarm(f"{name}-errors", errors, al.lambda_errors, GUIDE[f"{name}-errors"].meaning, periods=1)
            alarm(f"{name}-throttles", throttles, al.lambda_throttles, GUIDE[f"{name}-throttles"].meaning, periods=1)
            self.lambda_metrics += [errors, throttles]

        self.oldest = queue.metric_approximate_age_of_oldest_message(statistic="Maximum", period=minute)
        alarm("content-queue-oldest-message", self.oldest, al.queue_oldest_message_seconds,
              GUIDE["content-queue-oldest-message"].meaning, periods=1)

        self.canary_success: list[cw.IMetric] = []
        runs = al.canary_failed_runs
        for kind, canary in canaries.items():
            success = canary.metric_success_percent(
                statistic="Average", period=Duration.minutes(al.canary_interval_minutes), label=f"{kind} canary")
            alarm(f"shopper-canary-{kind}", success, 100, GUIDE[f"shopper-canary-{kind}"].meaning,
                  op=cw.ComparisonOperator.LESS_THAN_THRESHOLD, periods=runs)
            self.canary_success.append(success)

        self.replication_failed: list[cw.IMetric] = []
        cfg = dep.config
        for other in (r for r in cfg.regions if r != region):
            failed = cw.Metric(
                namespace="AWS/S3", metric_name="OperationsFailedReplication", statistic="Sum", period=five,
                dimensions_map={"SourceBucket": cfg.bucket_name(region, dep.aws.account),
                                "DestinationBucket": cfg.bucket_name(other, dep.aws.account),
                                "RuleId": cfg.replication_rule_id(other)},
                label=f"S3 failed -> {other}",
            )
            alarm(f"bucket-replication-failed-{other}", failed, al.replication_failed_operations,
                  GUIDE["bucket-replication-failed-OTHER"].meaning.replace("OTHER", other), periods=1)
            self.replication_failed.append(failed)


def search_impaired(scope: Construct, *, prefix: str, alarms: Mapping[str, cw.IAlarm]) -> cw.CompositeAlarm:
    """ALARM when any alarm that means shoppers are affected is in ALARM."""
    return cw.CompositeAlarm(
        scope, "SearchImpaired",
        composite_alarm_name=f"{prefix}-search-impaired",
        alarm_description=GUIDE["search-impaired"].meaning,
        alarm_rule=cw.AlarmRule.any_of(*(alarms[k] for k in SHOPPER_ALARMS)),
    )


def readme_table() -> str:
    """README's alarm list: name, what it means, what to do, and whether it counts as "search impaired"."""
    rows = ["| alarm `P-R-...` | means | do | shoppers |", "|---|---|---|---|"]
    for key, g in GUIDE.items():
        rows.append(f"| `{key}` | {g.meaning} | {g.action} | {'yes' if g.shoppers else ''} |")
    return "\n".join(rows)
