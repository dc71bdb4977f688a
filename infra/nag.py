"""cdk-nag AwsSolutions acknowledgments: each on the narrowest construct, with its reason.

The app runs the AwsSolutions pack as a policy validation plugin (``infra.app``); a
finding that is not acknowledged here fails ``cdk synth``. ``tests/infra`` checks that
there are none and that every acknowledgment below carries a specific reason.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import cast

from aws_cdk import Acknowledgment, CfnElement, Stack, Validations
from constructs import IConstruct

from catalog.model import CONTENT_PREFIX
from infra.settings import Deployment

PACK = "AwsSolutions"
# the singleton Lambda behind every AwsCustomResource in a stack
AWS_CUSTOM_RESOURCE_ID = "AWS679f53fac002430cb0da5b7982bd2287"

ANONYMOUS_API = ("The search API is anonymous and read-only by design (issue 5: anonymous product search); "
                 "abuse is bounded by the WAF per-IP rate rule, stage throttling and the bounded cost of "
                 "every request")
PINNED_RUNTIME = ("Python 3.13 is pinned on purpose: the assets' dependencies are installed for cp313 "
                  "manylinux2014_aarch64 (infra/bundling.py) and the code is tested on it; move both together")
XRAY_ONLY_STAR = ("Only xray:PutTraceSegments/PutTelemetryRecords use Resource '*' (X-Ray supports no narrower "
                  "resource); added by Lambda active tracing. Every other statement names its resource")
CUSTOM_RESOURCE_ROLE = ("CDK's AwsCustomResource provider role uses AWSLambdaBasicExecutionRole only to write its "
                        "own logs; its SDK permissions are a separate policy scoped to one bucket or table")


def _ack(scope: IConstruct, rule: str, reason: str) -> None:
    Validations.of(scope).acknowledge(Acknowledgment(id=f"{PACK}::{PACK}-{rule}", reason=reason))


def _find(scope: IConstruct, path: str) -> IConstruct:
    node: IConstruct = scope
    for part in path.split("/"):
        node = node.node.find_child(part)
    return node


def _logical_id(stack: Stack, resource: IConstruct | None) -> str:
    """The logical id of an L1 resource found by path (CDK types its child lookups as IConstruct)."""
    return stack.get_logical_id(cast(CfnElement, resource))


def acknowledge(stacks: Iterable[Stack], dep: Deployment) -> None:
    cfg = dep.config
    for stack in stacks:
        region = stack.region
        provider = stack.node.try_find_child(AWS_CUSTOM_RESOURCE_ID)
        if provider is not None:
            _ack(provider, "IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
                           "AWSLambdaBasicExecutionRole]", CUSTOM_RESOURCE_ROLE)
        if stack.stack_name == cfg.stack_name("storage", region):
            bucket = cfg.bucket_name(region, dep.aws.account)
            _ack(_find(stack, "Content/ReplicationRole"),
                 f"IAM5[Resource::arn:<AWS::Partition>:s3:::{bucket}/*]",
                 "S3 replication reads every object version of this content bucket (the rule covers all keys); "
                 "the role can read nothing else")
            for other in (r for r in cfg.regions if r != region):
                _ack(_find(stack, "Content/ReplicationRole"),
                     f"IAM5[Resource::arn:<AWS::Partition>:s3:::{cfg.bucket_name(other, dep.aws.account)}/*]",
                     f"S3 replication writes replicas under any key of the {other} content bucket, and only there")
        if stack.stack_name == cfg.stack_name("search", region):
            _acknowledge_search(stack, dep, region)
        if stack.stack_name == cfg.stack_name("site"):
            _acknowledge_site(stack, dep)


def _acknowledge_site(stack: Stack, dep: Deployment) -> None:
    """The search page's stack: CDK's BucketDeployment provider, and the distribution."""
    distribution = _find(stack, "Site/Distribution")
    _ack(distribution, "CFR1", "The storefront sells to every country it ships to; the page is public, static "
                               "and holds no data, so there is nothing to restrict by geography")
    _ack(distribution, "CFR2", "The page is static, cached files from a private bucket; the search API it calls "
                               "has its own regional WAF with the per-IP rate rule")
    deployment = next(c for c in stack.node.children if c.node.id.startswith("Custom::CDKBucketDeployment"))
    reason = ("CDK's BucketDeployment provider copies the page's files from the CDK asset bucket into the site "
              "bucket: CDK grants it read on the asset objects and read/write/delete on the site bucket's "
              "objects only (s3:GetObject*, s3:List*, s3:DeleteObject*, s3:Abort* on those two resources)")
    _ack(deployment, "IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]",
         "CDK's BucketDeployment provider uses AWSLambdaBasicExecutionRole only to write its own logs")
    assets = f"cdk-hnb659fds-assets-{dep.aws.account}-{stack.region}"
    for finding in ("Action::s3:GetObject*", "Action::s3:GetBucket*", "Action::s3:List*", "Action::s3:DeleteObject*",
                    "Action::s3:Abort*", f"Resource::arn:<AWS::Partition>:s3:::{assets}/*",
                    f"Resource::<{_logical_id(stack, _find(stack, 'Site/Bucket/Resource'))}.Arn>/*"):
        _ack(deployment, f"IAM5[{finding}]", reason)
    _ack(deployment, "IAM5[Resource::*]", "CDK's BucketDeployment provider invalidates the site's CloudFront "
                                          "distribution; cloudfront:CreateInvalidation/GetInvalidation take no "
                                          "narrower resource in the policy CDK generates")
    _ack(deployment, "L1", "CDK's BucketDeployment provider runtime is chosen and tested by the CDK release "
                           "(aws-cdk-lib is pinned in pyproject.toml); it runs only at deployment")


def _acknowledge_search(stack: Stack, dep: Deployment, region: str) -> None:
    cfg = dep.config
    alias = cfg.engine.index_alias
    domain = f"arn:<AWS::Partition>:es:{region}:{dep.aws.account}:domain/{dep.domain_name()}"
    api = _find(stack, "Api/Api")
    _ack(api, "APIG2", "Requests are validated by the search function, which answers 400 naming the parameter "
                       "and why; API Gateway validators cannot express the query grammar and limits")
    for method in ("Default/GET", "Default/{proxy+}/GET"):
        node = _find(api, method)
        _ack(node, "APIG4", ANONYMOUS_API)
        _ack(node, "COG4", ANONYMOUS_API)

    for role_path in ("IndexerRole/Role", "SearchRole/Role"):
        _ack(_find(stack, role_path), "IAM5[Resource::*]", XRAY_ONLY_STAR)
    _ack(_find(stack, "IndexerRole/Role"), f"IAM5[Resource::{domain}/{alias}-*]",
         f"HEAD/PUT on '{alias}-*': the index bootstrap creates the versioned physical index behind the alias "
         f"({dep.physical_index_name()}; reindexing adds newer ones) and nothing else on the domain")
    _ack(_find(stack, "IndexerRole/Role"),
         f"IAM5[Resource::arn:<AWS::Partition>:s3:::{cfg.bucket_name(region, dep.aws.account)}/{CONTENT_PREFIX}*]",
         f"The indexer reads {CONTENT_PREFIX}<id>.json content objects of any product id, only under that "
         "prefix of its own region's bucket")

    operator = _find(stack, "Domain/Access/OperatorPolicy")
    for path in (f"{alias}-*", f"{alias}-*/_bulk", f"{alias}-*/_search", f"{alias}-*/_count", f"{alias}-*/_mget",
                 f"_cat/indices/{alias}-*"):
        _ack(operator, f"IAM5[Resource::{domain}/{path}]",
             f"'{alias}-*' is the versioned physical indices behind the alias: reindex creates, fills, reads, "
             "counts and lists them; nothing else on the domain")

    for fn in ("Indexer/Function", "Search/Function", "IndexBootstrap/Function"):
        _ack(_find(stack, fn), "L1", PINNED_RUNTIME)

    artifacts = _find(stack, "Canary/Artifacts")
    _ack(artifacts, "S1", "The canaries' run artifacts (screenshots, logs) expire after 30 days and are written only "
                          "by the two canary roles; access logs of them would audit the canaries themselves")
    artifacts_arn = f"<{stack.resolve(_logical_id(stack, artifacts.node.default_child))}.Arn>"
    for kind in ("Regional", "Global"):
        role = _find(stack, f"Canary/{kind}/ServiceRole")
        _ack(role, "IAM5[Resource::*]", "CloudWatch Synthetics' canary role needs s3:ListAllMyBuckets and "
                                        "cloudwatch:PutMetricData (limited to the CloudWatchSynthetics namespace by "
                                        "a condition), which accept no narrower resource")
        _ack(role, f"IAM5[Resource::{artifacts_arn}/{kind.lower()}/*]",
             f"The canary writes its runs under its own '{kind.lower()}/' prefix of the artifacts bucket, any key")
        _ack(role, f"IAM5[Resource::arn:<AWS::Partition>:logs:{region}:{dep.aws.account}:log-group:"
                   "/aws/lambda/cwsyn-*]",
             "Synthetics names the canary's function cwsyn-<canary>-<random id> when it creates it; the prefix "
             "limits the role to canary log groups")

    os_domain = _find(stack, "Domain/Domain")
    _ack(os_domain, "OS1", "The domain admits only the two Lambda roles (SigV4; the resource policy names their "
                           "role ARNs). Outside a VPC the functions need no NAT or ENIs; a VPC domain is a "
                           "follow-up if the network boundary is required")
    _ack(os_domain, "OS3", "Access is granted to IAM principals (the two Lambda roles), not IP addresses: "
                           "Lambda functions have no fixed source IPs")
    if not dep.aws.sizing(region).master_instance_type:
        _ack(os_domain, "OS4", f"No dedicated master nodes: aws.opensearch.{region}.master_instance_type is "
                               "empty for this small data-node count; set it for larger clusters")
