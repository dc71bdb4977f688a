"""The storefront search page on S3 behind CloudFront, at ``[aws].site_domain_name``.

* A private bucket (all public access blocked, TLS only, encrypted, access-logged) that only
  the distribution reads, through origin access control (OAC).
* The files of :func:`catalog.site.build_site`, rendered with the API base
  ``https://<aws.domain_name>`` (the Route 53 failover/latency name, so a region failover
  is invisible to the page): hashed ``assets/*`` stored ``immutable`` and cached for a
  year at the edge; ``index.html`` stored ``no-cache`` and revalidated, and invalidated on
  each deployment.
* A response headers policy with the page's security headers from
  :func:`catalog.site.security_headers` (the content security policy allows connections
  to exactly the API's origin) plus HSTS.
* The custom domain with a DNS-validated certificate (the stack is in us-east-1, where
  CloudFront takes certificates from) and A/AAAA alias records.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_cloudfront_origins as origins
from aws_cdk import aws_route53 as route53
from aws_cdk import aws_route53_targets as targets
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_deployment as s3deploy
from constructs import Construct

from catalog.site import ASSET_PREFIX, CACHE_ASSET, CACHE_INDEX, build_site, content_security_policy, security_headers
from infra.settings import Deployment

# the header values of catalog.site -> CloudFront's enums (strict-origin-when-cross-origin -> STRICT_...)
REFERRER_POLICIES = {p.name.lower().replace("_", "-"): p for p in cloudfront.HeadersReferrerPolicy}
FRAME_OPTIONS = {o.name: o for o in cloudfront.HeadersFrameOption}


class StorefrontSite(Construct):
    def __init__(self, scope: Construct, cid: str, *, dep: Deployment) -> None:
        super().__init__(scope, cid)
        aws = dep.aws
        base = dep.api_base()
        site = build_site(base)
        zone = route53.HostedZone.from_hosted_zone_attributes(
            self, "Zone", hosted_zone_id=aws.hosted_zone_id, zone_name=aws.hosted_zone_name)

        private: dict[str, Any] = {"block_public_access": s3.BlockPublicAccess.BLOCK_ALL, "enforce_ssl": True,
                   "encryption": s3.BucketEncryption.S3_MANAGED}
        self.logs = s3.Bucket(
            self, "Logs", **private,
            # CloudFront standard logs are delivered with an ACL
            object_ownership=s3.ObjectOwnership.OBJECT_WRITER,
            lifecycle_rules=[s3.LifecycleRule(id="expire-logs", expiration=Duration.days(365))],
            removal_policy=RemovalPolicy.RETAIN,
        )
        self.bucket = s3.Bucket(
            self, "Bucket", **private,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            server_access_logs_bucket=self.logs,
            server_access_logs_prefix="s3/",
            removal_policy=RemovalPolicy.DESTROY,
            auto_delete_objects=False,
        )

        headers = security_headers(base)
        self.headers_policy = cloudfront.ResponseHeadersPolicy(
            self, "SecurityHeaders",
            response_headers_policy_name=f"{dep.config.name_prefix}-site-security",
            comment="storefront search page: CSP allowing exactly the search API's origin, and the usual headers",
            security_headers_behavior=cloudfront.ResponseSecurityHeadersBehavior(
                content_security_policy=cloudfront.ResponseHeadersContentSecurityPolicy(
                    content_security_policy=content_security_policy(base), override=True),
                content_type_options=cloudfront.ResponseHeadersContentTypeOptions(override=True),
                frame_options=cloudfront.ResponseHeadersFrameOptions(
                    frame_option=FRAME_OPTIONS[headers["X-Frame-Options"]], override=True),
                referrer_policy=cloudfront.ResponseHeadersReferrerPolicy(
                    referrer_policy=REFERRER_POLICIES[headers["Referrer-Policy"]], override=True),
                strict_transport_security=cloudfront.ResponseHeadersStrictTransportSecurity(
                    access_control_max_age=Duration.days(730), include_subdomains=True, override=True),
            ),
        )
        # index.html: stored no-cache, so the edge revalidates it; never kept more than a minute
        self.index_cache = cloudfront.CachePolicy(
            self, "IndexCache",
            cache_policy_name=f"{dep.config.name_prefix}-site-index",
            comment="storefront search page: index.html revalidated (no-cache), at most 60 s",
            min_ttl=Duration.seconds(0), default_ttl=Duration.seconds(0), max_ttl=Duration.seconds(60),
            enable_accept_encoding_gzip=True, enable_accept_encoding_brotli=True,
        )
        origin = origins.S3BucketOrigin.with_origin_access_control(self.bucket)
        self.certificate = acm.Certificate(
            self, "Certificate", domain_name=aws.site_domain(),
            validation=acm.CertificateValidation.from_dns(zone))
        self.distribution = cloudfront.Distribution(
            self, "Distribution",
            comment=f"{dep.config.name_prefix}: storefront search page",
            default_root_object="index.html",
            domain_names=[aws.site_domain()],
            certificate=self.certificate,
            minimum_protocol_version=cloudfront.SecurityPolicyProtocol.TLS_V1_2_2021,
            http_version=cloudfront.HttpVersion.HTTP2_AND_3,
            enable_logging=True,
            log_bucket=self.logs,
            log_file_prefix="cloudfront/",
            default_behavior=cloudfront.BehaviorOptions(
                origin=origin,
                viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
                allowed_methods=cloudfront.AllowedMethods.ALLOW_GET_HEAD,
                cache_policy=self.index_cache,
                response_headers_policy=self.headers_policy,
                compress=True,
            ),
            additional_behaviors={
                f"/{ASSET_PREFIX}*": cloudfront.BehaviorOptions(
                    origin=origin,
                    viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
                    allowed_methods=cloudfront.AllowedMethods.ALLOW_GET_HEAD,
                    cache_policy=cloudfront.CachePolicy.CACHING_OPTIMIZED,  # content-hashed names: cache long
                    response_headers_policy=self.headers_policy,
                    compress=True,
                ),
            },
        )
        # hashed assets first (never pruned: pages still open keep their files), then the index
        assets = s3deploy.BucketDeployment(
            self, "Assets",
            sources=[s3deploy.Source.data(path, f.body.decode("utf-8"))
                     for path, f in sorted(site.items()) if path.startswith(ASSET_PREFIX)],
            destination_bucket=self.bucket,
            cache_control=[s3deploy.CacheControl.from_string(CACHE_ASSET)],
            prune=False,
        )
        index = s3deploy.BucketDeployment(
            self, "Index",
            sources=[s3deploy.Source.data("index.html", site["index.html"].body.decode("utf-8"))],
            destination_bucket=self.bucket,
            cache_control=[s3deploy.CacheControl.from_string(CACHE_INDEX)],
            content_type=site["index.html"].content_type,
            prune=False,
            distribution=self.distribution,
            distribution_paths=["/", "/index.html"],
        )
        index.node.add_dependency(assets)
        for cid, record in (("A", route53.ARecord), ("Aaaa", route53.AaaaRecord)):
            record(self, cid, zone=zone, record_name=aws.site_domain(),
                   target=route53.RecordTarget.from_alias(targets.CloudFrontTarget(self.distribution)))
