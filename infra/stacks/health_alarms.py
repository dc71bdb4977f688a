"""``<prefix>-health-alarms`` (us-east-1): an alarm on every region's Route 53 health check.

Route 53 publishes ``AWS/Route53 HealthCheckStatus`` in us-east-1 only, so the alarms
are made there, whatever the configured regions. Each region's calculated health check
(the one its records use: execute-api ``/health`` and the shopper-path canary) belongs to
its search stack; that stack writes the check's id to the SSM parameter
:func:`health_check_parameter` in us-east-1 (:class:`PublishHealthCheckId`), and this
stack reads it when it deploys (a ``AWS::SSM::Parameter::Value`` parameter, resolved
at every deploy: a replaced health check is picked up by the next deploy of this stack,
with no cross-stack export to block the replacement). It deploys after every search
stack. Alarms notify this stack's own topic ``<prefix>-health-alarms`` (an alarm can
notify only a topic in its own region), encrypted like the regional topics.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Duration, RemovalPolicy, Stack
from aws_cdk import aws_cloudwatch as cw
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_ssm as ssm
from aws_cdk import custom_resources as cr
from constructs import Construct

from infra.constructs.alarms import GUIDE, allow_cloudwatch_alarms
from infra.settings import Deployment

METRICS_REGION = "us-east-1"  # where Route 53 publishes health check metrics


def health_check_alarm_name(dep: Deployment, region: str) -> str:
    return f"{dep.config.name_prefix}-health-check-{region}"


def health_check_alarm_arn(dep: Deployment, region: str, partition: str) -> str:
    return f"arn:{partition}:cloudwatch:{METRICS_REGION}:{dep.aws.account}:alarm:{health_check_alarm_name(dep, region)}"


def health_check_parameter(dep: Deployment, region: str) -> str:
    return f"/{dep.config.name_prefix}/{region}/health-check-id"


class PublishHealthCheckId(Construct):
    """Writes a region's health check id to its SSM parameter in us-east-1 (and removes it on delete)."""

    def __init__(self, scope: Construct, cid: str, *, dep: Deployment, region: str, health_check_id: str) -> None:
        super().__init__(scope, cid)
        stack = Stack.of(self)
        name = health_check_parameter(dep, region)
        put = cr.AwsSdkCall(
            service="SSM", action="putParameter", region=METRICS_REGION,
            parameters={"Name": name, "Value": health_check_id, "Type": "String", "Overwrite": True},
            physical_resource_id=cr.PhysicalResourceId.of(f"{name}@{METRICS_REGION}"),
        )
        arn = f"arn:{stack.partition}:ssm:{METRICS_REGION}:{dep.aws.account}:parameter{name}"
        cr.AwsCustomResource(
            self, "Put",
            on_create=put, on_update=put,
            on_delete=cr.AwsSdkCall(service="SSM", action="deleteParameter", region=METRICS_REGION,
                                    parameters={"Name": name}),
            install_latest_aws_sdk=False,
            policy=cr.AwsCustomResourcePolicy.from_statements([iam.PolicyStatement(
                actions=["ssm:PutParameter", "ssm:DeleteParameter"], resources=[arn])]),
        )


class HealthAlarmsStack(Stack):
    def __init__(self, scope: Construct, cid: str, *, dep: Deployment, **kwargs: Any) -> None:
        super().__init__(scope, cid, **kwargs)
        cfg = dep.config
        name = f"{cfg.name_prefix}-health-alarms"
        key = kms.Key(self, "TopicKey", enable_key_rotation=True, removal_policy=RemovalPolicy.DESTROY,
                      pending_window=Duration.days(7), description=f"Encrypts the {name} topic")
        self.topic = sns.Topic(self, "Topic", topic_name=name, master_key=key, enforce_ssl=True,
                               display_name="storefront-search Route 53 health check alarms")
        allow_cloudwatch_alarms(self.topic, key, account=dep.aws.account,
                                alarm_names=f"{cfg.name_prefix}-health-check-*")
        if dep.aws.alarm_email:
            self.topic.add_subscription(subscriptions.EmailSubscription(dep.aws.alarm_email))
        notify = cw_actions.SnsAction(self.topic)
        minutes = cfg.alarms.health_check_minutes
        self.alarms: dict[str, cw.Alarm] = {}
        for region in cfg.regions:
            check_id = ssm.StringParameter.value_for_string_parameter(self, health_check_parameter(dep, region))
            metric = cw.Metric(namespace="AWS/Route53", metric_name="HealthCheckStatus", statistic="Minimum",
                               period=Duration.minutes(1), dimensions_map={"HealthCheckId": check_id},
                               label=f"{region} healthy (1) / unhealthy (0)")
            alarm = cw.Alarm(
                self, f"HealthCheck{region}",
                alarm_name=health_check_alarm_name(dep, region),
                alarm_description=GUIDE["health-check-R"].meaning.replace("region R", region),
                metric=metric, threshold=1, comparison_operator=cw.ComparisonOperator.LESS_THAN_THRESHOLD,
                evaluation_periods=minutes, datapoints_to_alarm=minutes,
                # no data means Route 53 stopped reporting the check: treat it as unhealthy
                treat_missing_data=cw.TreatMissingData.BREACHING,
            )
            alarm.add_alarm_action(notify)
            alarm.add_ok_action(notify)
            self.alarms[region] = alarm
        CfnOutput(self, "TopicArn", value=self.topic.topic_arn,
                  description="Route 53 health check alarms notify this topic: subscribe your paging to it")
