"""checkov suppressions: each a design choice, on the resources it concerns, with its reason.

checkov (an independent scanner, run by ``tests/infra/cdk/test_checkov.py`` over the
synthesized templates) reads suppressions from a resource's CloudFormation metadata
(``Metadata.checkov.skip: [{id, comment}]``). :class:`CheckovSuppressions` is an aspect
that writes them from :data:`SUPPRESSIONS`, so the reason lives here, in one place, and
travels with the template. What checkov found that was not a design choice was fixed
instead (the WAF known-bad-inputs rule set and WAF logging).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from fnmatch import fnmatch

import jsii
from aws_cdk import CfnResource, IAspect, Stack
from constructs import IConstruct

from infra.nag import AWS_CUSTOM_RESOURCE_ID


@dataclass(frozen=True)
class Suppression:
    check: str
    resource_type: str
    reason: str
    path: str = "*"  # fnmatch pattern on the construct path inside its stack
    applies: Callable[[CfnResource], bool] = lambda _res: True


def _no_reserved_concurrency(res: CfnResource) -> bool:
    return getattr(res, "reserved_concurrent_executions", None) is None


FUNCTION = "AWS::Lambda::Function"
# CDK's singleton provider function behind every s3_deployment.BucketDeployment (the search page)
BUCKET_DEPLOYMENT_ID = "Custom::CDKBucketDeployment*"
DEPLOY_TIME_ONLY = ("Runs only while CloudFormation deploys the stack (a custom resource handler), once per "
                    "create or update: there is no traffic to bound with reserved concurrency")

SUPPRESSIONS: tuple[Suppression, ...] = (
    Suppression("CKV_AWS_117", FUNCTION,
                "No function needs a VPC: OpenSearch is reached over HTTPS with SigV4 and admits only the two "
                "Lambda roles by ARN; a VPC would add NAT gateways and ENIs per zone for no narrower boundary"),
    Suppression("CKV_AWS_116", FUNCTION,
                "No function is invoked asynchronously by an event it could lose: the indexer's stream has an "
                "on-failure destination and its queue a redrive policy (both to the DLQ), API Gateway invokes "
                "the search function synchronously, and custom resource handlers fail the deploy"),
    Suppression("CKV_AWS_173", FUNCTION,
                "The environment holds no secret (an endpoint URL, names, numbers): Lambda encrypts it at rest "
                "with its own key; a customer-managed key would protect nothing more"),
    Suppression("CKV_AWS_115", FUNCTION,
                "The search function's traffic is bounded by the stage throttling (aws.api_throttle_rate and "
                "burst) and the WAF rate rule; reserving concurrency would take it from the account's pool "
                "and turn a burst into 5xx instead of latency", path="Search/Function/Resource"),
    Suppression("CKV_AWS_115", FUNCTION, DEPLOY_TIME_ONLY, path="IndexBootstrap/Function/Resource"),
    Suppression("CKV_AWS_115", FUNCTION, DEPLOY_TIME_ONLY, path=f"{AWS_CUSTOM_RESOURCE_ID}/Resource"),
    Suppression("CKV_AWS_115", FUNCTION,
                "No reserved concurrency is configured for the indexer: its stream side is bounded by the "
                "replica's shards x aws.stream_parallelization_factor; set a reservation with the indexer's "
                "concurrency settings", path="Indexer/Function/Resource", applies=_no_reserved_concurrency),
    Suppression("CKV_AWS_158", "AWS::Logs::LogGroup",
                "CloudWatch Logs encrypts every log group at rest; a customer-managed key per log group adds "
                "key policies and cost but does not change who can read the logs, which IAM decides"),
    Suppression("CKV_AWS_59", "AWS::ApiGateway::Method",
                "The search API is anonymous and read-only by design (anonymous product search); abuse is "
                "bounded by the WAF rate rule, stage throttling and the bounded cost of every request"),
    Suppression("CKV_AWS_120", "AWS::ApiGateway::Stage",
                "No API cache: results must follow the index within seconds (the indexer's lag budget), and "
                "a cache cluster is billed per hour per region for queries that are cheap to answer"),
    Suppression("CKV_AWS_27", "AWS::SQS::Queue",
                "The queues use SSE-SQS (SQS-managed keys); their messages are S3 event notifications and "
                "failed record references, no content, and S3 cannot send to a KMS-encrypted queue without "
                "a customer-managed key shared with it"),
    Suppression("CKV_AWS_18", "AWS::S3::Bucket",
                "This is the access-log bucket: logging its own access would log the log writes themselves",
                path="Content/AccessLogs/Resource"),
    Suppression("CKV_AWS_21", "AWS::S3::Bucket",
                "Access logs are written once by S3 and expire after 365 days; versions would keep nothing "
                "that is ever overwritten", path="Content/AccessLogs/Resource"),
    Suppression("CKV_AWS_18", "AWS::S3::Bucket",
                "The canaries' run artifacts expire after 30 days and only the canary roles write them; access "
                "logs of them would audit the canaries themselves", path="Canary/Artifacts/Resource"),
    Suppression("CKV_AWS_21", "AWS::S3::Bucket",
                "Canary runs are written once under new keys and expire after 30 days: nothing to version",
                path="Canary/Artifacts/Resource"),
    Suppression("CKV_AWS_18", "AWS::S3::Bucket",
                "This is the search page's CloudFront log bucket: logging its own access would log the log "
                "writes themselves", path="Site/Logs/Resource"),
    Suppression("CKV_AWS_21", "AWS::S3::Bucket",
                "CloudFront writes each log object once under a new key: versions would keep nothing that is "
                "ever overwritten", path="Site/Logs/Resource"),
    Suppression("CKV_AWS_21", "AWS::S3::Bucket",
                "The search page's files are built from the repository (web/) and rewritten by every deploy: "
                "the repository is their history, and a rollback is a deploy of the previous commit",
                path="Site/Bucket/Resource"),
    Suppression("CKV_AWS_68", "AWS::CloudFront::Distribution",
                "The distribution serves only the static, cached search page; every dynamic request goes to the "
                "search API, whose regional WAF (rate rule, common and known-bad-inputs rule sets) guards it",
                path="Site/Distribution/Resource"),
    Suppression("CKV_AWS_111", "AWS::IAM::Policy",
                "CDK's BucketDeployment provider: its only unconstrained grant is cloudfront:CreateInvalidation "
                "and GetInvalidation on '*' (as CDK writes it), used at deploy time to invalidate the page",
                path=f"{BUCKET_DEPLOYMENT_ID}/ServiceRole/DefaultPolicy/Resource"),
    Suppression("CKV_AWS_115", FUNCTION, DEPLOY_TIME_ONLY, path=f"{BUCKET_DEPLOYMENT_ID}/Resource"),
    Suppression("CKV_AWS_317", "AWS::OpenSearchService::Domain",
                "OpenSearch publishes audit logs only with fine-grained access control; this domain authorizes "
                "with its IAM resource policy (two Lambda roles, SigV4) instead (README, OpenSearch profiles)"),
)


@jsii.implements(IAspect)
class CheckovSuppressions:
    """Writes :data:`SUPPRESSIONS` into each matching resource's ``Metadata.checkov.skip``."""

    def visit(self, node: IConstruct) -> None:
        if not isinstance(node, CfnResource):
            return
        stack_path = Stack.of(node).node.path
        path = node.node.path.removeprefix(stack_path + "/")
        skips = [{"id": s.check, "comment": s.reason} for s in SUPPRESSIONS
                 if s.resource_type == node.cfn_resource_type and fnmatch(path, s.path) and s.applies(node)]
        if skips:
            node.add_metadata("checkov", {"skip": skips})
