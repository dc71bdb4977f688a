"""Bounded fan-in to the domain: the content queue's maximum concurrency, the indexer's
reserved concurrency and the stream's parallelization factor come from ``[aws]``."""

from __future__ import annotations

import pytest

from catalog.config import ConfigError, parse_config
from infra.settings import for_aws
from tests.infra.cdk.conftest import LATENCY_CONFIG, MAIN_CONFIG, one, resources

pytestmark = pytest.mark.xdist_group("cdk")


def _mappings(template):
    return [m["Properties"] for m in resources(template, "AWS::Lambda::EventSourceMapping").values()]


@pytest.mark.parametrize("region", MAIN_CONFIG["regions"])
def test_defaults_bound_the_queue_and_the_indexer(synth, region):
    template = synth.template("search", region)
    (queue,) = [m for m in _mappings(template) if "StartingPosition" not in m]
    (stream,) = [m for m in _mappings(template) if "StartingPosition" in m]
    assert queue["ScalingConfig"] == {"MaximumConcurrency": 4}
    assert stream["ParallelizationFactor"] == 3  # MAIN_CONFIG's
    indexer = one(template, "AWS::Lambda::Function", FunctionName=f"shop-indexer-{region}")["Properties"]
    assert indexer["ReservedConcurrentExecutions"] == 10
    search = one(template, "AWS::Lambda::Function", FunctionName=f"shop-search-{region}")["Properties"]
    assert "ReservedConcurrentExecutions" not in search  # the API scales with its traffic (throttled by the stage)


def test_configured_values_reach_the_templates(tmp_path_factory):
    from tests.infra.cdk.conftest import synthesize

    aws = {**LATENCY_CONFIG["aws"], "queue_max_concurrency": 7, "indexer_reserved_concurrency": -1,
           "stream_parallelization_factor": 1}
    synth = synthesize({**LATENCY_CONFIG, "aws": aws}, tmp_path_factory.mktemp("fan"))
    template = synth.template("search", "eu-central-1")
    (queue,) = [m for m in _mappings(template) if "StartingPosition" not in m]
    (stream,) = [m for m in _mappings(template) if "StartingPosition" in m]
    assert (queue["ScalingConfig"], stream["ParallelizationFactor"]) == ({"MaximumConcurrency": 7}, 1)
    indexer = one(template, "AWS::Lambda::Function", FunctionName="shop-indexer-eu-central-1")["Properties"]
    assert "ReservedConcurrentExecutions" not in indexer  # -1: no reservation


def _parse(**aws):
    return for_aws(parse_config({**MAIN_CONFIG, "aws": {**MAIN_CONFIG["aws"], **aws}}, "test.toml")).config.aws


def test_defaults():
    raw = {k: v for k, v in MAIN_CONFIG["aws"].items() if k != "stream_parallelization_factor"}
    aws = for_aws(parse_config({**MAIN_CONFIG, "aws": raw}, "test.toml")).config.aws
    assert (aws.queue_max_concurrency, aws.indexer_reserved_concurrency, aws.stream_parallelization_factor) == \
        (4, 10, 2)


@pytest.mark.parametrize(("aws", "field", "words"), [
    ({"queue_max_concurrency": 1}, "aws.queue_max_concurrency", "between 2 and 1000"),
    ({"queue_max_concurrency": 1001}, "aws.queue_max_concurrency", "between 2 and 1000"),
    ({"indexer_reserved_concurrency": 0}, "aws.indexer_reserved_concurrency", "-1 (no reservation)"),
    ({"indexer_reserved_concurrency": 6, "queue_max_concurrency": 4}, "aws.indexer_reserved_concurrency",
     "at least queue_max_concurrency + stream_parallelization_factor (7"),
    ({"stream_parallelization_factor": 11}, "aws.stream_parallelization_factor", "between 1 and 10"),
])
def test_errors_name_the_key(aws, field, words):
    with pytest.raises(ConfigError) as err:
        _parse(**aws)
    assert err.value.field == field and words in str(err.value)


def test_reservation_may_be_exactly_the_fan_in_or_absent():
    assert _parse(indexer_reserved_concurrency=7, queue_max_concurrency=4).indexer_reserved_concurrency == 7
    assert _parse(indexer_reserved_concurrency=-1, queue_max_concurrency=900).indexer_reserved_concurrency == -1
