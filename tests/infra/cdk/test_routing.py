"""Route 53: a health check per region on its own execute-api /health, and the records."""

from __future__ import annotations

import pytest

from tests.infra.cdk.conftest import resources

pytestmark = pytest.mark.xdist_group("cdk")


def _checks(template, check_type):
    return {k: v for k, v in resources(template, "AWS::Route53::HealthCheck").items()
            if v["Properties"]["HealthCheckConfig"]["Type"] == check_type}


def _records(synth, region):
    return [r["Properties"] for r in resources(synth.template("search", region), "AWS::Route53::RecordSet").values()]


@pytest.mark.parametrize("region", ["us-east-1", "eu-west-1", "ap-southeast-2"])
def test_health_check_probes_the_regions_own_execute_api_and_is_tagged(synth, region):
    template = synth.template("search", region)
    (check,) = _checks(template, "HTTPS").values()
    cfg = check["Properties"]["HealthCheckConfig"]
    (api_id,) = resources(template, "AWS::ApiGateway::RestApi")
    assert cfg["FullyQualifiedDomainName"] == {"Fn::Join": ["", [{"Ref": api_id},
                                                                 f".execute-api.{region}.amazonaws.com"]]}
    assert (cfg["Type"], cfg["Port"], cfg["ResourcePath"]) == ("HTTPS", 443, "/prod/health")
    assert (cfg["RequestInterval"], cfg["FailureThreshold"]) == (30, 2)
    tags = {t["Key"]: t["Value"] for t in check["Properties"]["HealthCheckTags"]}
    assert tags["Name"] == synth.config.health_check_name(region)
    assert tags["storefront:region"] == region


def test_failover_primary_and_secondary_through_a_latency_set_of_the_secondaries(synth):
    primary = {r["SetIdentifier"]: r for r in _records(synth, "us-east-1")}
    assert set(primary) == {"us-east-1", "secondaries"}
    assert primary["us-east-1"]["Failover"] == "PRIMARY"
    assert primary["us-east-1"]["Name"] == "search.shop.example."
    assert primary["us-east-1"]["AliasTarget"]["EvaluateTargetHealth"] is True
    assert "HealthCheckId" in primary["us-east-1"]
    secondary = primary["secondaries"]
    assert secondary["Failover"] == "SECONDARY"
    assert secondary["AliasTarget"] == {"DNSName": "secondaries.search.shop.example", "HostedZoneId": "Z0HOSTEDZONE1",
                                        "EvaluateTargetHealth": True}
    for region in ("eu-west-1", "ap-southeast-2"):
        (record,) = _records(synth, region)
        assert (record["Name"], record["Region"], record["SetIdentifier"]) == \
            ("secondaries.search.shop.example.", region, region)
        assert record["AliasTarget"]["EvaluateTargetHealth"] is True
        (domain_id,) = resources(synth.template("search", region), "AWS::ApiGateway::DomainName")
        assert record["AliasTarget"]["DNSName"] == {"Fn::GetAtt": [domain_id, "RegionalDomainName"]}
        assert record["HostedZoneId"] == "Z0HOSTEDZONE1"
    # Route 53 refuses an alias to a record that does not exist yet: the primary deploys last
    assert {"shop-search-eu-west-1", "shop-search-ap-southeast-2"} <= synth.dependencies("shop-search-us-east-1")


def test_latency_routing_has_one_record_per_region(latency_synth):
    for region in ("eu-central-1", "us-west-2"):
        (record,) = _records(latency_synth, region)
        assert (record["Name"], record["Region"], record["SetIdentifier"]) == ("search.shop.example.", region, region)
        assert "Failover" not in record
        assert record["AliasTarget"]["EvaluateTargetHealth"] is True
        (check,) = _checks(latency_synth.template("search", region), "CALCULATED")
        assert record["HealthCheckId"] == {"Ref": check}  # see test_operable_region: what it combines
        cfg = next(iter(_checks(latency_synth.template("search", region), "HTTPS").values()))
        assert cfg["Properties"]["HealthCheckConfig"]["RequestInterval"] == 10


def test_the_shipped_storefront_toml_synthesizes_cleanly_with_failover(tmp_path_factory):
    """The repository's own configuration (2 regions, failover) passes every gate too."""
    import tomllib

    from infra.settings import PROJECT_ROOT
    from tests.infra.cdk.conftest import synthesize

    raw = tomllib.loads((PROJECT_ROOT / "storefront.toml").read_text())
    shipped = synthesize(raw, tmp_path_factory.mktemp("cdk-shipped"))
    assert shipped.validation_error is None  # cdk-nag: nothing unacknowledged
    cfg = shipped.config
    if cfg.routing != "failover" or len(cfg.regions) != 2:
        pytest.skip("storefront.toml is no longer the 2-region failover example")
    (primary,) = [r["Properties"] for r in resources(shipped.template("search", cfg.primary),
                                                     "AWS::Route53::RecordSet").values()]
    (secondary,) = [r["Properties"] for r in resources(shipped.template("search", cfg.secondaries[0]),
                                                       "AWS::Route53::RecordSet").values()]
    assert (primary["Failover"], secondary["Failover"]) == ("PRIMARY", "SECONDARY")
    assert primary["Name"] == secondary["Name"] == f"{cfg.aws.domain_name}."
