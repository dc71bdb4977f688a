"""The app's entry point, its configuration checks, and the bundling inputs."""

from __future__ import annotations

import pytest

from catalog.config import ConfigError, parse_config
from infra import app as infra_app
from infra.bundling import LocalPythonBundler, asset_for
from infra.settings import for_aws
from tests.infra.cdk.conftest import MAIN_CONFIG

pytestmark = pytest.mark.xdist_group("cdk")


@pytest.mark.parametrize(("change", "field"), [
    ({"health_check": {"interval_seconds": 20}}, "health_check.interval_seconds"),
    ({"aws": None}, "aws"),
    ({"aws": {**MAIN_CONFIG["aws"], "opensearch": {"us-east-1": {"instance_count": 3, "availability_zones": 2}}}},
     "aws.opensearch.us-east-1.instance_count"),
    ({"aws": {**MAIN_CONFIG["aws"], "opensearch": {"eu-west-1": {"serverless": True}}}},
     "aws.opensearch.eu-west-1.serverless"),
    ({"aws": {**MAIN_CONFIG["aws"], "opensearch": {"eu-west-1": {"availability_zones": 4}}}},
     "aws.opensearch.eu-west-1.availability_zones"),
    ({"aws": {**MAIN_CONFIG["aws"], "log_retention_days": 31}}, "aws.log_retention_days"),
    ({"aws": {**MAIN_CONFIG["aws"], "api_throttle_burst": 10}}, "aws.api_throttle_burst"),
    ({"aws": {**MAIN_CONFIG["aws"], "stream_max_record_age_seconds": 10}}, "aws.stream_max_record_age_seconds"),
    ({"aws": {**MAIN_CONFIG["aws"], "retry_margin_ms": 60_000}}, "aws.retry_margin_ms"),
    ({"aws": {**MAIN_CONFIG["aws"], "stage_name": "prod-1"}}, "aws.stage_name"),
    ({"aws": {**MAIN_CONFIG["aws"], "queue_batch_size": 10_001}}, "aws.queue_batch_size"),
    ({"aws": {**MAIN_CONFIG["aws"], "queue_batching_window_seconds": 301}}, "aws.queue_batching_window_seconds"),
    ({"aws": {**MAIN_CONFIG["aws"], "alarm_email": "oncall at shop"}}, "aws.alarm_email"),
])
def test_config_errors_name_the_field(change, field):
    raw = {k: v for k, v in {**MAIN_CONFIG, **change}.items() if v is not None}
    with pytest.raises(ConfigError) as err:
        for_aws(parse_config(raw, "test.toml"))
    assert err.value.field == field


@pytest.mark.parametrize(("size", "window", "ok"), [(10, 0, True), (11, 0, False), (11, 1, True),
                                                      (10_000, 1, True), (1, 300, True)])
def test_a_queue_batch_above_10_needs_a_batching_window(size, window, ok):
    raw = {**MAIN_CONFIG, "aws": {**MAIN_CONFIG["aws"], "queue_batch_size": size,
                                  "queue_batching_window_seconds": window}}
    if ok:
        aws = for_aws(parse_config(raw, "test.toml")).config.aws
        assert (aws.queue_batch_size, aws.queue_batching_window_seconds) == (size, window)
        return
    with pytest.raises(ConfigError) as err:
        for_aws(parse_config(raw, "test.toml"))
    assert err.value.field == "aws.queue_batch_size"
    assert "aws.queue_batching_window_seconds" in str(err.value) and "at least 1" in str(err.value)


def test_main_exits_2_naming_the_field_for_a_bad_config(tmp_path, monkeypatch, capsys):
    bad = tmp_path / "storefront.toml"
    bad.write_text('regions = ["us-east-1", "eu-west-1"]\n[health_check]\ninterval_seconds = 15\n'
                   '[aws]\naccount = "111122223333"\ndomain_name = "s.example.com"\n'
                   'hosted_zone_id = "Z0ABC"\nhosted_zone_name = "example.com"\n')
    monkeypatch.setenv("STOREFRONT_CONFIG", str(bad))
    monkeypatch.setenv("CDK_OUTDIR", str(tmp_path / "out"))
    assert infra_app.main() == 2
    err = capsys.readouterr().err
    assert "health_check.interval_seconds" in err and "10 or 30" in err
    assert "Traceback" not in err


def test_an_unknown_handler_has_no_asset_and_the_error_names_it():
    with pytest.raises(ValueError, match=r"nope\.handler"):
        asset_for("nope.handler")


def test_local_bundler_builds_the_bootstrap_module_alone(tmp_path):
    assert LocalPythonBundler(asset_for("index_bootstrap.lambda_handler")).try_bundle(str(tmp_path), None) is True
    assert sorted(p.name for p in tmp_path.iterdir()) == ["index_bootstrap.py"]
