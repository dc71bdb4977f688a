"""The Synthetics canary's script (infra/canary) against the real search API over HTTP.

The API is the search function's resolver over the generated catalog, served by the
sandbox's API Gateway emulation; the canary connects to it while naming the shoppers'
domain (as it does with a region's custom domain target).
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest

from sandbox.apigw import ApiGatewayServer
from tests.doubles.apigw import LambdaContext

SCRIPT = Path(__file__).resolve().parents[3] / "infra" / "canary" / "python" / "shopper_path.py"
DOMAIN = "search.shop.example"


def _canary():
    spec = importlib.util.spec_from_file_location("shopper_path", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def serve():
    servers = []

    def start(invoke):
        server = ApiGatewayServer("127.0.0.1", 0, invoke).start()
        servers.append(server)
        return server.server_address[1]

    yield start
    for s in servers:
        s.stop()


def test_shopper_path_searches_with_filters_and_looks_a_product_up_under_the_shoppers_name(api, serve):
    hosts = []

    def invoke(event):
        hosts.append(event["headers"].get("Host") or event["headers"].get("host"))
        return api(event, LambdaContext())

    port = serve(invoke)
    steps = _canary().shopper_path(f"http://{DOMAIN}:{port}", connect_host="127.0.0.1")
    assert steps[0].startswith("search in stock: ") and steps[1].startswith("search in '")
    assert re.fullmatch(r"product \S+ from eu-west-1", steps[2])
    assert len(hosts) == 3 and all(h.split(":")[0] == DOMAIN for h in hosts)


def test_a_broken_product_lookup_fails_the_run_naming_the_step(api, serve):
    def invoke(event):
        if event["path"].startswith("/products/"):
            return {"statusCode": 403, "body": '{"message": "Forbidden"}'}  # e.g. a missing base path mapping
        return api(event, LambdaContext())

    canary = _canary()
    with pytest.raises(canary.CanaryFailure, match=r"product lookup: .* answered 403"):
        canary.shopper_path(f"http://{DOMAIN}:{serve(invoke)}", connect_host="127.0.0.1")


def test_an_unreachable_endpoint_fails_the_run(serve):
    canary = _canary()
    with pytest.raises(canary.CanaryFailure, match="search in stock"):
        canary.shopper_path(f"http://{DOMAIN}:9", connect_host="127.0.0.1")
