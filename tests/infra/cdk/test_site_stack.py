"""``shop-site``: the storefront search page on a private bucket behind CloudFront (OAC).

Checked in the synthesized template and the staged asset files that BucketDeployment
uploads (what deploys), against catalog.site's build and AWS's published managed-policy id.
"""

from __future__ import annotations

import io
import json
import re
import zipfile

import pytest

from catalog.site import CACHE_ASSET, CACHE_INDEX, build_site, content_security_policy
from tests.infra.cdk.conftest import MAIN_CONFIG, flat, one, resources

pytestmark = pytest.mark.xdist_group("cdk")

SITE = "shop-site"
SITE_DOMAIN = f"shop.{MAIN_CONFIG['aws']['hosted_zone_name']}"
API_BASE = f"https://{MAIN_CONFIG['aws']['domain_name']}"
# AWS's managed cache policy "Managed-CachingOptimized" (documented id, the same in every account)
CACHING_OPTIMIZED_ID = "658327ea-f89d-4fab-a63d-7e88639e58f6"


@pytest.fixture(scope="module")
def site(synth):
    return synth.templates[SITE]


def _distribution(site) -> dict:
    (dist,) = resources(site, "AWS::CloudFront::Distribution").values()
    return dist["Properties"]["DistributionConfig"]


def _deployed_files(synth, site) -> dict[str, tuple[bytes, dict]]:
    """Key -> (bytes, system metadata) of every file the BucketDeployments upload."""
    manifest = json.loads((synth.outdir / f"{SITE}.assets.json").read_text())["files"]
    out: dict[str, tuple[bytes, dict]] = {}
    for res in resources(site, "Custom::CDKBucketDeployment").values():
        props = res["Properties"]
        for key in props["SourceObjectKeys"]:
            source = manifest[key.removesuffix(".zip")]["source"]
            path = synth.outdir / source["path"]
            if path.is_dir():
                files = {str(p.relative_to(path)): p.read_bytes() for p in path.rglob("*") if p.is_file()}
            else:
                with zipfile.ZipFile(io.BytesIO(path.read_bytes())) as zf:
                    files = {n: zf.read(n) for n in zf.namelist() if not n.endswith("/")}
            for name, body in files.items():
                out[name] = (body, props["SystemMetadata"])
    return out


def test_the_site_stack_is_in_us_east_1_and_depends_on_nothing(synth):
    assert synth.manifest["artifacts"][SITE]["environment"].endswith("/us-east-1")
    assert synth.dependencies(SITE) == set()


def test_the_bucket_is_private_and_read_only_by_this_distribution_through_oac(site):
    buckets = resources(site, "AWS::S3::Bucket")
    for bucket in buckets.values():
        assert bucket["Properties"]["PublicAccessBlockConfiguration"] == {
            "BlockPublicAcls": True, "BlockPublicPolicy": True, "IgnorePublicAcls": True,
            "RestrictPublicBuckets": True}
    config = _distribution(site)
    (origin,) = config["Origins"]
    assert origin["S3OriginConfig"] == {"OriginAccessIdentity": ""} and "OriginAccessControlId" in origin
    (oac,) = resources(site, "AWS::CloudFront::OriginAccessControl").values()
    assert oac["Properties"]["OriginAccessControlConfig"]["SigningBehavior"] == "always"
    site_bucket = origin["DomainName"]["Fn::GetAtt"][0]
    policy = one(site, "AWS::S3::BucketPolicy", Bucket={"Ref": site_bucket})
    allows = [s for s in policy["Properties"]["PolicyDocument"]["Statement"] if s["Effect"] == "Allow"]
    assert len(allows) == 1
    (allow,) = allows
    (dist_id,) = resources(site, "AWS::CloudFront::Distribution")
    assert allow["Principal"] == {"Service": "cloudfront.amazonaws.com"} and allow["Action"] == "s3:GetObject"
    assert flat(allow["Condition"]["StringEquals"]["AWS:SourceArn"])["Fn::Join"][1][-1] == {"Ref": dist_id}


def test_https_custom_domain_with_aliases_in_the_zone(site):
    config = _distribution(site)
    assert config["Aliases"] == [SITE_DOMAIN]
    assert config["ViewerCertificate"]["MinimumProtocolVersion"] == "TLSv1.2_2021"
    assert config["DefaultRootObject"] == "index.html"
    cert = one(site, "AWS::CertificateManager::Certificate", DomainName=SITE_DOMAIN)
    assert cert["Properties"]["ValidationMethod"] == "DNS"
    records = resources(site, "AWS::Route53::RecordSet").values()
    assert sorted(r["Properties"]["Type"] for r in records) == ["A", "AAAA"]
    for r in records:
        assert r["Properties"]["Name"] == SITE_DOMAIN + "."
        zone = r["Properties"]["AliasTarget"]["HostedZoneId"]
        if isinstance(zone, dict):  # CDK maps the partition to CloudFront's zone
            table, _partition, key = zone["Fn::FindInMap"]
            zone = site["Mappings"][table]["aws"][key]
        assert zone == "Z2FDTNDATAQYW2"  # CloudFront's alias hosted zone (AWS documentation)
    for behavior in [config["DefaultCacheBehavior"], *config["CacheBehaviors"]]:
        assert behavior["ViewerProtocolPolicy"] == "redirect-to-https"
        assert behavior["AllowedMethods"] == ["GET", "HEAD"] and behavior["Compress"] is True


def test_security_headers_allow_exactly_the_api_origin(site):
    (policy,) = resources(site, "AWS::CloudFront::ResponseHeadersPolicy").values()
    headers = policy["Properties"]["ResponseHeadersPolicyConfig"]["SecurityHeadersConfig"]
    csp = headers["ContentSecurityPolicy"]["ContentSecurityPolicy"]
    assert csp == content_security_policy(API_BASE)
    assert re.search(r"(^|; )connect-src https://search\.shop\.example(;|$)", csp)
    assert headers["StrictTransportSecurity"]["AccessControlMaxAgeSec"] >= 31536000
    assert headers["FrameOptions"]["FrameOption"] == "DENY"
    assert headers["ReferrerPolicy"]["ReferrerPolicy"] == "strict-origin-when-cross-origin"
    config = _distribution(site)
    policy_ref = {"Ref": next(iter(resources(site, "AWS::CloudFront::ResponseHeadersPolicy")))}
    for behavior in [config["DefaultCacheBehavior"], *config["CacheBehaviors"]]:
        assert behavior["ResponseHeadersPolicyId"] == policy_ref


def test_hashed_assets_cache_long_and_the_index_revalidates(site):
    config = _distribution(site)
    (assets,) = config["CacheBehaviors"]
    assert assets["PathPattern"] == "/assets/*" and assets["CachePolicyId"] == CACHING_OPTIMIZED_ID
    index_policy = site["Resources"][config["DefaultCacheBehavior"]["CachePolicyId"]["Ref"]]
    ttl = index_policy["Properties"]["CachePolicyConfig"]
    assert (ttl["MinTTL"], ttl["DefaultTTL"]) == (0, 0) and ttl["MaxTTL"] <= 60


def test_the_deployed_files_are_the_page_built_for_the_failover_name(synth, site):
    deployed = _deployed_files(synth, site)
    built = build_site(API_BASE)
    assert set(deployed) == set(built)
    for name, (body, metadata) in deployed.items():
        assert body == built[name].body, name
        assert metadata["cache-control"] == (CACHE_INDEX if name == "index.html" else CACHE_ASSET)
    index = deployed["index.html"][0].decode()
    assert f'<meta name="storefront-api" content="{API_BASE}">' in index
    (index_deployment,) = [r for r in resources(site, "Custom::CDKBucketDeployment").values()
                           if "DistributionId" in r["Properties"]]
    assert index_deployment["Properties"]["DistributionPaths"] == ["/", "/index.html"]
    assert all(r["Properties"]["Prune"] is False for r in resources(site, "Custom::CDKBucketDeployment").values())


def test_every_search_api_answers_cors_to_the_site_origin(synth):
    for region in synth.config.regions:
        search = synth.template("search", region)
        fn = one(search, "AWS::Lambda::Function", FunctionName=synth.config.search_function_name(region))
        assert fn["Properties"]["Environment"]["Variables"]["CORS_ALLOW_ORIGIN"] == f"https://{SITE_DOMAIN}"
