"""``<prefix>-site``: the storefront search page (S3 + CloudFront), in us-east-1.

CloudFront takes its certificate from us-east-1, so the stack lives there whatever the
configured regions are. It depends on no other stack: the page calls the search API by
its shared name, and the API's CORS origin is the site's configured name.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Stack
from constructs import Construct

from infra.constructs.storefront_site import StorefrontSite
from infra.settings import Deployment

SITE_REGION = "us-east-1"


class SiteStack(Stack):
    def __init__(self, scope: Construct, cid: str, *, dep: Deployment, **kwargs: Any) -> None:
        super().__init__(scope, cid, **kwargs)
        self.site = StorefrontSite(self, "Site", dep=dep)
        CfnOutput(self, "SiteUrl", value=dep.site_origin() + "/")
        CfnOutput(self, "DistributionDomain", value=self.site.distribution.distribution_domain_name)
        CfnOutput(self, "BucketName", value=self.site.bucket.bucket_name)
