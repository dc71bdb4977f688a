"""The regional REST API in front of the search function, its custom domain and its WAF.

Regional endpoint, GET only (the API is read-only), stage throttling, JSON access logs,
X-Ray tracing; the custom domain (``[aws].domain_name``, the same name in every region)
with TLS 1.2 and a certificate from config (an ARN, or created and DNS-validated in the
hosted zone); a WAF web ACL with a per-client-IP rate rule and the AWS managed common
and known-bad-inputs rule sets (the latter blocks Log4j-style lookups), logging every
request to the log group ``aws-waf-logs-<prefix>-search-<region>`` (WAF's required prefix).
"""

from __future__ import annotations

from aws_cdk import ArnFormat, RemovalPolicy, Stack
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_route53 as route53
from aws_cdk import aws_wafv2 as wafv2
from constructs import Construct

from infra.settings import Deployment, log_retention


class SearchApi(Construct):
    def __init__(self, scope: Construct, cid: str, *, dep: Deployment, region: str,
                 handler: lambda_.IFunction, zone: route53.IHostedZone) -> None:
        super().__init__(scope, cid)
        aws = dep.aws
        prefix = dep.config.name_prefix
        self.access_logs = logs.LogGroup(
            self, "AccessLogs",
            log_group_name=f"/aws/apigateway/{prefix}-search-{region}/access",
            retention=log_retention(aws.log_retention_days),
            removal_policy=RemovalPolicy.DESTROY,
        )
        self.api = apigw.RestApi(
            self, "Api",
            rest_api_name=f"{prefix}-search-{region}",
            description="storefront-search: read-only, anonymous product search",
            endpoint_types=[apigw.EndpointType.REGIONAL],
            # The account's API Gateway CloudWatch role is an account-level setting
            # (AWS::ApiGateway::Account) that a regional stack must not own or delete
            # with itself; it is set once per region (README "Deploy to AWS").
            cloud_watch_role=False,
            deploy_options=apigw.StageOptions(
                stage_name=aws.stage_name,
                throttling_rate_limit=aws.api_throttle_rate,
                throttling_burst_limit=aws.api_throttle_burst,
                access_log_destination=apigw.LogGroupLogDestination(self.access_logs),
                access_log_format=apigw.AccessLogFormat.json_with_standard_fields(
                    caller=False, http_method=True, ip=True, protocol=True, request_time=True,
                    resource_path=True, response_length=True, status=True, user=False),
                tracing_enabled=True,
                logging_level=apigw.MethodLoggingLevel.ERROR,
                metrics_enabled=True,
            ),
        )
        integration = apigw.LambdaIntegration(handler, proxy=True)
        self.api.root.add_method("GET", integration)
        self.api.root.add_resource("{proxy+}").add_method("GET", integration)

        cert_setting = aws.certificate(region)
        if cert_setting == "dns":
            self.certificate: acm.ICertificate = acm.Certificate(
                self, "Certificate",
                domain_name=aws.domain_name,
                validation=acm.CertificateValidation.from_dns(zone),
            )
        else:
            self.certificate = acm.Certificate.from_certificate_arn(self, "Certificate", cert_setting)
        self.domain = apigw.DomainName(
            self, "Domain",
            domain_name=aws.domain_name,
            certificate=self.certificate,
            endpoint_type=apigw.EndpointType.REGIONAL,
            security_policy=apigw.SecurityPolicy.TLS_1_2,
        )
        self.domain.add_base_path_mapping(self.api, stage=self.api.deployment_stage)
        # Route 53 checks this region's own execute-api URL, not the shared custom domain.
        self.execute_api_host = f"{self.api.rest_api_id}.execute-api.{region}.amazonaws.com"
        self.health_path = f"/{aws.stage_name}{dep.config.health_check.path}"

        self.web_acl = wafv2.CfnWebACL(
            self, "WebAcl",
            name=f"{prefix}-search-{region}",
            scope="REGIONAL",
            default_action=wafv2.CfnWebACL.DefaultActionProperty(allow={}),
            visibility_config=_visibility(f"{prefix}-search-{region}"),
            rules=[
                wafv2.CfnWebACL.RuleProperty(
                    name="rate-per-client-ip",
                    priority=0,
                    action=wafv2.CfnWebACL.RuleActionProperty(block={}),
                    statement=wafv2.CfnWebACL.StatementProperty(
                        rate_based_statement=wafv2.CfnWebACL.RateBasedStatementProperty(
                            limit=aws.api_rate_limit_per_5min, aggregate_key_type="IP",
                            evaluation_window_sec=300)),
                    visibility_config=_visibility("rate-per-client-ip"),
                ),
                _aws_managed("aws-common-rule-set", 1, "AWSManagedRulesCommonRuleSet"),
                # blocks request patterns known to exploit vulnerabilities (Log4j lookups among them)
                _aws_managed("aws-known-bad-inputs", 2, "AWSManagedRulesKnownBadInputsRuleSet"),
            ],
        )
        waf_log_name = f"aws-waf-logs-{prefix}-search-{region}"
        self.waf_logs = logs.LogGroup(
            self, "WafLogs",
            log_group_name=waf_log_name,
            retention=log_retention(aws.log_retention_days),
            removal_policy=RemovalPolicy.DESTROY,
        )
        waf_logging = wafv2.CfnLoggingConfiguration(
            self, "WafLogging",
            resource_arn=self.web_acl.attr_arn,
            # WAF wants the log group's ARN without the ":*" that LogGroup.log_group_arn ends with
            log_destination_configs=[Stack.of(self).format_arn(
                service="logs", resource="log-group", resource_name=waf_log_name,
                arn_format=ArnFormat.COLON_RESOURCE_NAME)],
        )
        waf_logging.node.add_dependency(self.waf_logs)
        wafv2.CfnWebACLAssociation(
            self, "WebAclAssociation",
            resource_arn=self.api.deployment_stage.stage_arn,
            web_acl_arn=self.web_acl.attr_arn,
        )


def _aws_managed(name: str, priority: int, group: str) -> wafv2.CfnWebACL.RuleProperty:
    """A rule that applies the AWS managed rule group ``group`` as it is (its own actions)."""
    return wafv2.CfnWebACL.RuleProperty(
        name=name,
        priority=priority,
        override_action=wafv2.CfnWebACL.OverrideActionProperty(none={}),
        statement=wafv2.CfnWebACL.StatementProperty(
            managed_rule_group_statement=wafv2.CfnWebACL.ManagedRuleGroupStatementProperty(
                vendor_name="AWS", name=group)),
        visibility_config=_visibility(name),
    )


def _visibility(name: str) -> wafv2.CfnWebACL.VisibilityConfigProperty:
    return wafv2.CfnWebACL.VisibilityConfigProperty(
        cloud_watch_metrics_enabled=True, metric_name=name, sampled_requests_enabled=True)
