"""Nothing lost after the stream's retries, end to end in the real two-region sandbox: the
indexer fails for one product (sandbox.faults) until the stream event source gives the
batch up and sends Lambda's on-failure pointer to each region's DLQ; `storefront dlq
redrive` brings the product's current state back into both indexes. And a record the
indexer cannot transform is dead-lettered, kept by the redrive until the item is fixed.

One sandbox for this module, on free ports with a private state dir, always stopped.
"""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from catalog.config import load_config
from catalog.versioning import VersionClock
from sandbox.aws import client
from sandbox.client import get, table, wait_until
from sandbox.demo import change_price
from sandbox.faults import set_faults
from sandbox.state import Endpoints, private_sandbox_toml
from storefront_cli.main import run_subprocess

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("sandbox")]

# The keys the CDK app deploys the stream event source with; the sandbox honours them.
AWS = """
[aws]
account = "123456789012"
domain_name = "search.example.com"
hosted_zone_id = "Z0123456789ABC"
hosted_zone_name = "example.com"
stream_max_retries = 2
"""

storefront = run_subprocess


@pytest.fixture(scope="module")
def sbx(tmp_path_factory):
    root = tmp_path_factory.mktemp("dlq-sandbox")
    config = root / "storefront.toml"
    config.write_text(private_sandbox_toml("dlqe2e", head=AWS))
    up = storefront(config, "sandbox", "up", "--detach", "--json")
    assert up.returncode == 0, up.stderr + up.stdout
    try:
        load = storefront(config, "catalog", "load", "--products", "20", "--wait")
        assert load.returncode == 0, load.stderr + load.stdout
        yield {"config": config, "cfg": load_config(config), "ep": Endpoints.from_json(json.loads(up.stdout))}
    finally:
        down = storefront(config, "sandbox", "down", timeout=120)
        assert down.returncode == 0, down.stderr


def _price(url: str, pid: str) -> float | None:
    answer = get(url, f"/products/{pid}")
    return answer.body["price"] if answer.status == 200 else None


def _depth(sbx, region: str) -> int:
    cfg, ep = sbx["cfg"], sbx["ep"]
    sqs = client("sqs", region, ep.aws)
    url = sqs.get_queue_url(QueueName=cfg.dlq_name(region))["QueueUrl"]
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])["Attributes"]
    return int(attrs["ApproximateNumberOfMessages"])


def _listed(sbx) -> list[dict]:
    out = storefront(sbx["config"], "dlq", "list", "--json")
    assert out.returncode in (0, 1), out.stderr
    return json.loads(out.stdout)["messages"]


def test_a_record_given_up_by_the_stream_is_redriven_into_both_indexes(sbx):
    cfg, ep = sbx["cfg"], sbx["ep"]
    clock = VersionClock()
    set_faults(cfg, ["p000005"])
    try:
        change_price(cfg, ep.aws, cfg.primary, "p000005", 77.77, clock)
        change_price(cfg, ep.aws, cfg.primary, "p000006", 66.66, clock)
        # 1 + 2 retries in each region (the global table replicates the writes), then the pointer
        assert wait_until(lambda: all(_depth(sbx, r) >= 1 for r in cfg.regions), timeout=60, interval=0.2) \
            is not None
    finally:
        set_faults(cfg, [])  # the fix
    stream = [m for m in _listed(sbx) if m["kind"] == "stream"]
    assert sorted(m["region"] for m in stream) == sorted(cfg.regions), stream
    assert all(m["condition"] == "RetryAttemptsExhausted" and m["invokes"] == 3 for m in stream), stream
    for url in ep.regions.values():
        assert _price(url, "p000005") != 77.77  # given up: the index never got it

    redrive = storefront(sbx["config"], "dlq", "redrive", "--json")
    assert redrive.returncode == 0, redrive.stdout + redrive.stderr
    results = json.loads(redrive.stdout)["results"]
    assert all(r["ok"] and r["deleted"] for r in results) and len(results) == 2, results
    assert all("p000005" in r["product_ids"] and r["applied"] >= 1 for r in results), results
    for url in ep.regions.values():
        assert _price(url, "p000005") == 77.77 and _price(url, "p000006") == 66.66
    assert _listed(sbx) == []

    again = storefront(sbx["config"], "dlq", "redrive")
    assert again.returncode == 0 and "0 of 0" in again.stdout


def test_a_poison_record_is_kept_until_the_item_is_fixed(sbx):
    cfg, ep = sbx["cfg"], sbx["ep"]
    region = cfg.primary
    clock = VersionClock()
    primary = table(cfg, ep.aws, region)
    item = primary.get_item(Key={"id": "p000007"})["Item"]
    primary.put_item(Item={**item, "price": "twelve", "version": clock.next()})
    assert wait_until(lambda: _depth(sbx, region) >= 1, timeout=30, interval=0.2) is not None
    poison = [m for m in _listed(sbx) if m["region"] == region and m["kind"] == "poison"]
    assert poison and poison[0]["product_id"] == "p000007" and poison[0]["field"] == "price", poison
    mid = poison[0]["id"]

    kept = storefront(sbx["config"], "dlq", "redrive", mid, "--region", region)
    assert kept.returncode == 1 and "still invalid" in kept.stdout and "message kept" in kept.stdout
    shown = storefront(sbx["config"], "dlq", "show", mid, "--region", region, "--json")
    assert shown.returncode == 0 and json.loads(shown.stdout)["message"]["reason"]

    primary.put_item(Item={**item, "price": Decimal("12.5"), "version": clock.next()})
    assert wait_until(lambda: _price(ep.regions[region], "p000007") == 12.5, timeout=30) is not None
    fixed = storefront(sbx["config"], "dlq", "redrive", "--region", region, "--json")
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    assert [r["id"] for r in json.loads(fixed.stdout)["results"] if r["deleted"]] == [mid]
    # the other region dead-lettered its replica's record too: redriven the same way
    other = storefront(sbx["config"], "dlq", "redrive")
    assert other.returncode == 0, other.stdout + other.stderr
    assert _listed(sbx) == []
