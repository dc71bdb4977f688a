"""A full failover drill against the real two-region sandbox (``storefront sandbox up``):
the emulated Route 53 probes each region's real /health, the global port routes by its
answer, global-table replication and the real indexer carry the canaries.

One sandbox for this module, on free ports with a private state dir, always stopped.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from catalog.config import load_config
from replication.drill import run_drill
from replication.routing import HEALTHY
from replication.targets import resolve_target
from sandbox.state import private_sandbox_toml
from storefront_cli.main import run_subprocess

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("sandbox")]

THRESHOLDS = """
[thresholds]
# generous: the preflight judges the lag of the catalog load just before, on a shared CI machine;
# detection speed (interval x threshold + 1 s = 4 s) is measured by bench/bench_replication.py,
# and tests/integration/replication/test_drill_moto.py shows a missed target fails the drill
replication_latency_ms = 60000
index_lag_seconds = 30.0
drill_detection_seconds = 30.0
"""


DNS_TTL = 2


def _storefront(config: Path, *args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    return run_subprocess(config, *args, timeout=timeout)


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory):
    root = tmp_path_factory.mktemp("drill-sandbox")
    config = root / "storefront.toml"
    # [sandbox] is the last section: the global port caches Route 53's answer for DNS_TTL s
    config.write_text(private_sandbox_toml("drille2e", head=THRESHOLDS) + f"dns_ttl_seconds = {DNS_TTL}\n")
    up = _storefront(config, "sandbox", "up", "--detach", "--json")
    assert up.returncode == 0, up.stderr
    try:
        endpoints = json.loads(up.stdout)
        load = _storefront(config, "catalog", "load", "--products", "60", "--wait")
        assert load.returncode == 0, load.stderr
        yield config, endpoints
    finally:
        _storefront(config, "sandbox", "down", timeout=60)


def test_drill_of_the_primary_fails_over_and_back(sandbox):
    config, endpoints = sandbox
    cfg = load_config(config)
    target = resolve_target(cfg)  # the running sandbox is the default target
    try:
        assert target.kind == "sandbox" and target.global_url == endpoints["global"]
        report = run_drill(target, "us-east-1", "health-check", canary_interval=0.5)
    finally:
        target.close()
    assert report.passed, report.render()
    assert report.detection_target == 30.0 and 0 < report.detection_seconds <= report.detection_target
    assert report.answer_during == "eu-west-1" and report.lost_writes == 0
    assert report.failback_seconds is not None
    target = resolve_target(cfg, "sandbox")
    try:
        assert target.observer.health_status("us-east-1") == HEALTHY
        assert target.observer.answer() == "us-east-1"
    finally:
        target.close()


def test_drill_command_reports_json(sandbox):
    config, _ = sandbox
    run = _storefront(config, "drill", "run", "--region", "us-east-1", "--method", "maintenance", "--execute",
                      "--json")
    data = json.loads(run.stdout)
    assert run.returncode == (0 if data["passed"] else 1), run.stderr
    assert data["passed"], data["failures"]
    assert data["lost_writes"] == 0 and data["timeline"] and data["rto_seconds"] >= data["detection_seconds"]


def test_drill_under_load_with_the_region_down_shows_errors_only_until_traffic_moved_and_ttl(sandbox):
    config, _ = sandbox
    chart = config.parent / "drill.svg"
    run = _storefront(config, "drill", "run", "--region", "us-east-1", "--method", "region-down", "--execute",
                      "--load", "20", "--json", "--chart", str(chart))
    data = json.loads(run.stdout)
    assert run.returncode == 0 and data["passed"], (data["failures"], run.stderr[-2000:])
    assert data["lost_writes"] == 0 and data["canaries_written"] >= 3
    sh = data["shoppers"]
    marks, phases = sh["marks"], {p["name"]: p for p in sh["phases"]}
    assert list(phases) == ["before", "failover", "failed over", "failback", "after"]
    assert marks["inject"] < marks["detected"] <= marks["moved"] < marks["restore"] < marks["failback"]
    # the region's front failed: shoppers saw it until the name's answer moved and their cached answer
    # expired. "moved" (the answer changed), not "detected": the drill's status poll can see the check
    # turn unhealthy a poll or more before the answer it serves changes, longer on a busy machine
    assert phases["failover"]["failed"] > 0 and set(phases["failover"]["errors"]) == {"http_503"}
    assert phases["before"]["failed"] == phases["after"]["failed"] == phases["failed over"]["failed"] == 0
    for second in sh["series"]:
        if second["failed"]:
            assert marks["inject"] - 1 <= second["t"] <= marks["moved"] + DNS_TTL + 1, second
    assert sh["whole"]["failed"] == sum(p["failed"] for p in phases.values())
    assert sh["whole"]["sent"] == sum(p["sent"] for p in phases.values())
    assert sh["whole"]["longest_failure_seconds"] <= marks["moved"] - marks["inject"] + 1
    assert phases["failed over"]["regions"] == {"eu-west-1": phases["failed over"]["sent"]}
    assert sh["regions_over_time"][0]["region"] == "us-east-1"
    assert sh["regions_over_time"][-1]["region"] == "us-east-1"
    assert "eu-west-1" in [s["region"] for s in sh["regions_over_time"]]
    svg = chart.read_text()
    assert svg.startswith("<svg") and "inject" in svg and "eu-west-1" in svg
