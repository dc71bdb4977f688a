"""``storefront load`` against the real search API over HTTP on 127.0.0.1: the search
function's resolver over the generated catalog behind the sandbox's API Gateway emulation.
Bounded by count (rate x duration), not by time."""

from __future__ import annotations

import json

import pytest

from loadgen.mix import KINDS, RequestMix, sample_catalog
from loadgen.runner import get_json_from, load
from sandbox.apigw import ApiGatewayServer
from storefront_cli.main import main
from tests.doubles.apigw import LambdaContext


@pytest.fixture(scope="module")
def url(api):
    server = ApiGatewayServer("127.0.0.1", 0, lambda event: api(event, LambdaContext())).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.stop()


def test_every_kind_of_the_mix_is_a_valid_request_to_the_real_api(url):
    sample = sample_catalog(get_json_from(url))
    assert sample.ids and sample.brands and sample.categories and sample.cursors
    get = get_json_from(url)
    mix = RequestMix(sample, seed=3)
    seen = set()
    for _ in range(120):
        req = mix.next()
        seen.add(req.kind)
        get(req.path)  # raises on any 4xx/5xx
    assert seen == set(KINDS)


def test_load_reports_every_request_sent_with_its_region_and_no_error(url):
    report = load(url, rps=40, duration=1.0, seed=7)
    f = report.figures
    assert f.sent == 40 and f.failed == 0 and f.ok == 40
    assert f.regions == {"eu-west-1": 40}
    assert f.statuses == {"200": 40}
    assert sum(k["sent"] for k in f.by_kind.values()) == 40
    assert 0 < f.latency_ms["p50"] <= f.latency_ms["p99"] <= f.latency_ms["max"]
    assert report.passed


def test_cli_json_and_a_missed_objective_exits_1_naming_it(url, capsys):
    code = main(["load", "--url", url, "--rps", "20", "--duration", "0.5", "--json", "--p99-ms", "0.001",
                 "--max-error-rate", "0"])
    out = json.loads(capsys.readouterr().out)
    assert code == 1
    assert out["sent"] == 10 and out["failed"] == 0 and out["passed"] is False
    assert any("--p99-ms" in f for f in out["failures"])
    assert not any("--max-error-rate" in f for f in out["failures"])


def test_unreachable_url_is_a_clear_error(capsys):
    code = main(["load", "--url", "http://127.0.0.1:9", "--rps", "1", "--duration", "1"])
    assert code == 1
    assert "cannot sample the catalog through http://127.0.0.1:9" in capsys.readouterr().err
