import tomllib
from pathlib import Path

import pytest

from catalog.config import ConfigError, load_config, parse_config

ROOT = Path(__file__).resolve().parents[3]


def base(**over):
    data = {"regions": ["us-east-1", "eu-west-1"]}
    data.update(over)
    return data


def test_repo_config_is_valid_and_derives_names():
    cfg = load_config(ROOT / "storefront.toml")
    assert cfg.primary == cfg.regions[0]
    assert len(cfg.regions) >= 2
    assert cfg.maintenance_parameter("eu-west-1") == f"/{cfg.name_prefix}/eu-west-1/maintenance"
    assert cfg.bucket_name("eu-west-1").endswith("-eu-west-1")
    assert cfg.bucket_name("eu-west-1") != cfg.bucket_name("us-east-1")
    assert cfg.aws is not None
    assert all(cfg.aws.certificate(r) == "dns" or cfg.aws.certificate(r).startswith("arn:") for r in cfg.regions)


def test_defaults_apply():
    cfg = parse_config(base())
    assert cfg.name_prefix == "storefront"
    assert cfg.routing == "failover"
    assert cfg.health_check.interval_seconds == 30
    assert cfg.health_check.detection_budget_seconds == 30 * 3 + 1
    assert cfg.aws is None
    assert cfg.secondaries == ("eu-west-1",)


@pytest.mark.parametrize(
    ("data", "field", "words"),
    [
        (base(regions=["us-east-1"]), "regions", "two or more"),
        (base(regions=["us-east-1", "eu-west"]), "regions[1]", "not an AWS region"),
        (base(regions=["us-east-1", "us-east-1"]), "regions", "twice"),
        (base(routing="geo"), "routing", "failover, latency"),
        (base(name_prefix="Bad_Prefix"), "name_prefix", "lowercase"),
        (base(health_check={"interval_seconds": 0}), "health_check.interval_seconds", "between"),
        (base(health_check={"failure_threshold": "3"}), "health_check.failure_threshold", "integer"),
        (base(health_check={"interval_seconds": True}), "health_check.interval_seconds", "boolean"),
        (base(engine={"index_alias": "Products!"}), "engine.index_alias", "lowercase"),
        (base(sandbox={"host": "0.0.0.0"}), "sandbox.host", "loopback"),
        (base(sandbox={"aws_port": 8080, "global_port": 8080}), "sandbox", "overlap"),
        (base(surprise=1), "surprise", "unknown setting"),
        (base(engine={"shard": 2}), "engine.shard", "unknown setting"),
    ],
)
def test_errors_name_the_field(data, field, words):
    with pytest.raises(ConfigError) as err:
        parse_config(data, "x.toml")
    assert err.value.field == field
    assert words in str(err.value)
    assert str(err.value).startswith("x.toml: ")


AWS = {
    "account": "123456789012",
    "domain_name": "search.example.com",
    "hosted_zone_id": "Z0123456789ABC",
    "hosted_zone_name": "example.com",
}


@pytest.mark.parametrize(
    ("aws", "field"),
    [
        ({**AWS, "account": "12345"}, "aws.account"),
        ({**AWS, "domain_name": "not a domain"}, "aws.domain_name"),
        ({**AWS, "hosted_zone_id": "abc"}, "aws.hosted_zone_id"),
        ({**AWS, "hosted_zone_name": "other.org"}, "aws.hosted_zone_name"),
        ({**AWS, "certificates": {"us-east-1": "arn:aws:acm:eu-west-1:123456789012:certificate/"
                                                "12345678-1234-1234-1234-123456789012"}}, "aws.certificates.us-east-1"),
        ({**AWS, "opensearch": {"eu-west-1": {"instance_type": "m5.large"}}}, "aws.opensearch.eu-west-1.instance_type"),
        ({**AWS, "opensearch": {"eu-west-1": {"instance_count": 0}}}, "aws.opensearch.eu-west-1.instance_count"),
        ({**AWS, "site_domain_name": "shop.other.org"}, "aws.site_domain_name"),
        ({**AWS, "site_domain_name": "search.example.com"}, "aws.site_domain_name"),
    ],
)
def test_aws_errors_name_the_field(aws, field):
    with pytest.raises(ConfigError) as err:
        parse_config(base(aws=aws))
    assert err.value.field == field


def test_aws_section_parses_per_region_settings():
    cert = "arn:aws:acm:eu-west-1:123456789012:certificate/12345678-1234-1234-1234-123456789012"
    cfg = parse_config(base(aws={**AWS, "certificates": {"eu-west-1": cert},
                                 "opensearch": {"eu-west-1": {"instance_count": 6}}}))
    assert cfg.aws.certificate("eu-west-1") == cert
    assert cfg.aws.certificate("us-east-1") == "dns"
    assert cfg.aws.sizing("eu-west-1").instance_count == 6
    assert cfg.aws.sizing("us-east-1").instance_count == 3


def test_opensearch_defaults_to_the_production_profile_that_survives_losing_a_zone():
    sizing = parse_config(base(aws=AWS)).aws.sizing("eu-west-1")
    assert (sizing.profile, sizing.availability_zones, sizing.instance_count) == ("production", 3, 3)
    assert sizing.master_instance_type.endswith(".search")


def test_dev_profile_gives_up_zones_and_masters_by_name():
    dev = {"profile": "dev-2az-no-dedicated-masters"}
    sizing = parse_config(base(aws={**AWS, "opensearch": {"eu-west-1": dev}})).aws.sizing("eu-west-1")
    assert (sizing.availability_zones, sizing.instance_count, sizing.master_instance_type) == (2, 2, "")
    # the dev profile accepts what production refuses
    parse_config(base(engine={"replicas": 0}, aws={**AWS, "opensearch": {r: dev for r in ("us-east-1", "eu-west-1")}}))


@pytest.mark.parametrize(
    ("opensearch", "engine", "field"),
    [
        ({"availability_zones": 2, "instance_count": 4}, {}, "aws.opensearch.eu-west-1.availability_zones"),
        ({"master_instance_type": ""}, {}, "aws.opensearch.eu-west-1.master_instance_type"),
        ({"instance_count": 4}, {}, "aws.opensearch.eu-west-1.instance_count"),
        ({}, {"replicas": 0}, "engine.replicas"),
        ({"profile": "cheap"}, {}, "aws.opensearch.eu-west-1.profile"),
    ],
)
def test_production_profile_refuses_what_cannot_survive_a_zone(opensearch, engine, field):
    with pytest.raises(ConfigError) as err:
        parse_config(base(engine=engine, aws={**AWS, "opensearch": {"eu-west-1": opensearch}}))
    assert err.value.field == field


def test_alarm_thresholds_default_once_and_are_validated():
    from catalog.config import AlarmThresholds

    assert parse_config(base()).alarms == AlarmThresholds()
    assert parse_config(base(alarms={"free_storage_percent": 30})).alarms.free_storage_percent == 30
    with pytest.raises(ConfigError) as err:
        parse_config(base(alarms={"jvm_memory_pressure_percent": 101}))
    assert err.value.field == "alarms.jvm_memory_pressure_percent"


def test_load_config_reports_missing_file_and_bad_toml(tmp_path, monkeypatch):
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "nope.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("regions = [\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(bad)
    good = tmp_path / "good.toml"
    good.write_text('regions = ["eu-central-1", "ap-southeast-2"]\n')
    monkeypatch.setenv("STOREFRONT_CONFIG", str(good))
    assert load_config().primary == "eu-central-1"


def test_repo_config_file_is_plain_toml():
    # the file a user edits must stay parseable by any TOML reader, not only ours
    tomllib.loads((ROOT / "storefront.toml").read_text())


def test_one_account_names_everything_and_replication_reaches_every_other_bucket():
    three = base(regions=["us-east-1", "eu-west-1", "ap-southeast-2"])
    sandbox_only = parse_config(three)
    assert sandbox_only.account == sandbox_only.sandbox.account
    cfg = parse_config({**three, "aws": {**AWS, "account": "210987654321"}})
    assert cfg.account == "210987654321"  # the sandbox runs as the configured account too
    assert cfg.bucket_name("eu-west-1") == "storefront-content-210987654321-eu-west-1"
    rep = cfg.bucket_replication("eu-west-1", partition="aws-cn")
    assert rep["Role"] == "arn:aws-cn:iam::210987654321:role/storefront-content-replication-eu-west-1"
    assert [r["ID"] for r in rep["Rules"]] == ["to-us-east-1", "to-ap-southeast-2"]
    assert [r["Priority"] for r in rep["Rules"]] == [0, 1]
    assert [r["Destination"]["Bucket"] for r in rep["Rules"]] == [
        "arn:aws-cn:s3:::storefront-content-210987654321-us-east-1",
        "arn:aws-cn:s3:::storefront-content-210987654321-ap-southeast-2",
    ]
    assert all(r["DeleteMarkerReplication"]["Status"] == "Enabled" for r in rep["Rules"])


def test_the_search_page_site_defaults_to_shop_in_the_zone():
    assert parse_config(base(aws=AWS)).aws.site_domain() == "shop.example.com"
    cfg = parse_config(base(aws={**AWS, "site_domain_name": "Www.Example.com."}))
    assert cfg.aws.site_domain() == "www.example.com"


def test_canary_names_fit_synthetics_21_characters():
    cfg = parse_config(base(name_prefix="a-very-long-prefix-22c"))
    for kind in ("regional", "global"):
        name = cfg.canary_name(kind)
        assert len(name) <= 21 and name.endswith(f"-{kind}") and name.startswith("a-very")
