"""``--method region-down`` on AWS, against moto's API Gateway: the region's stage is
throttled to 0 (rate and burst) and the restore puts the previous settings back."""

from __future__ import annotations

import dataclasses
from types import SimpleNamespace

import pytest

from replication.drill_faults import region_down
from replication.drill_plan import DrillError


@pytest.fixture
def aws_target(target):
    """The moto target with the [aws] settings region-down reads (the harness has none)."""
    aws = SimpleNamespace(stage_name="prod", api_throttle_rate=200, api_throttle_burst=400)
    return dataclasses.replace(target, config=dataclasses.replace(target.config, aws=aws))


def _stage(clients, cfg, region, rate, burst):
    apigw = clients("apigateway", region)
    api = apigw.create_rest_api(name=f"{cfg.name_prefix}-search-{region}")["id"]
    root = apigw.get_resources(restApiId=api)["items"][0]["id"]
    apigw.put_method(restApiId=api, resourceId=root, httpMethod="GET", authorizationType="NONE")
    apigw.put_integration(restApiId=api, resourceId=root, httpMethod="GET", type="MOCK")
    apigw.create_deployment(restApiId=api, stageName=cfg.aws.stage_name)
    apigw.update_stage(restApiId=api, stageName=cfg.aws.stage_name, patchOperations=[
        {"op": "replace", "path": "/*/*/throttling/rateLimit", "value": str(rate)},
        {"op": "replace", "path": "/*/*/throttling/burstLimit", "value": str(burst)}])
    return lambda: apigw.get_stage(restApiId=api, stageName=cfg.aws.stage_name)["methodSettings"]["*/*"]


def test_region_down_throttles_the_regions_stage_to_zero_and_restores_it(aws_target, clients):
    cfg = aws_target.config
    settings = _stage(clients, cfg, "us-east-1", 150, 300)
    other = _stage(clients, cfg, "eu-west-1", 150, 300)
    restore = region_down(aws_target, "us-east-1")
    assert (settings()["throttlingRateLimit"], settings()["throttlingBurstLimit"]) == (0, 0)
    assert (other()["throttlingRateLimit"], other()["throttlingBurstLimit"]) == (150, 300)
    restore()
    assert (settings()["throttlingRateLimit"], settings()["throttlingBurstLimit"]) == (150, 300)


def test_region_down_names_a_missing_api(aws_target):
    with pytest.raises(DrillError, match=f"no REST API named {aws_target.config.name_prefix}-search-us-east-1"):
        region_down(aws_target, "us-east-1")
