"""Drill under load, without a sandbox: the phases and shopper figures from records and
moments, their markdown, the region-down front, and the global router's DNS caching."""

from __future__ import annotations

import json
import time
import xml.etree.ElementTree as ET

import pytest

from loadgen.runner import Record
from replication.drill_chart import timeline_svg
from replication.drill_report import render_shoppers
from replication.drill_shoppers import phase_bounds, shopper_figures
from sandbox.faults import FAULTS_FILE, RegionDownFront, set_faults, set_region_down
from sandbox.router import GlobalRouter

MARKS = {"inject": 3.0, "detected": 5.0, "moved": 5.5, "restore": 8.0, "failback": 10.0}


def test_phases_follow_the_moments_and_skip_those_never_reached():
    assert phase_bounds(MARKS, 13.0) == [("before", 0.0, 3.0), ("failover", 3.0, 5.5), ("failed over", 5.5, 8.0),
                                         ("failback", 8.0, 10.0), ("after", 10.0, 13.0)]
    assert phase_bounds({"inject": 3.0, "restore": 8.0}, 9.0) == [
        ("before", 0.0, 3.0), ("failover", 3.0, 8.0), ("failback", 8.0, 9.0)]


def _records():
    """10 req/s for 13 s: us-east-1 serves, fails with 503 from 3.0 to 5.4, eu-west-1 serves
    from 5.5 until the failback at 10.0."""
    out = []
    for i in range(130):
        t = i / 10
        if 3.0 <= t < 5.5:
            out.append(Record(t, 0.002, "text", 503, "http_503", "us-east-1"))
        elif 5.5 <= t < 10.0:
            out.append(Record(t, 0.004, "suggest", 200, None, "eu-west-1"))
        else:
            out.append(Record(t, 0.001, "text", 200, None, "us-east-1"))
    return out


def test_a_request_in_flight_when_the_injection_began_is_not_counted_before_it():
    records = [Record(2.0, 0.5, "text", 200, None, "us-east-1"),  # answered before the injection
               Record(2.9, 0.3, "text", 503, "http_503", "us-east-1")]  # due before, answered after it
    phases = {p["name"]: p for p in shopper_figures(records, MARKS, 10, 13.0)["phases"]}
    assert (phases["before"]["sent"], phases["before"]["failed"]) == (1, 0)
    assert (phases["failover"]["sent"], phases["failover"]["failed"]) == (1, 1)


def test_shopper_figures_per_phase_and_over_time():
    sh = shopper_figures(_records(), MARKS, 10, 13.0)
    phases = {p["name"]: p for p in sh["phases"]}
    assert [p["sent"] for p in sh["phases"]] == [30, 25, 25, 20, 30]
    assert phases["before"]["failed"] == 0 and phases["after"]["failed"] == 0
    assert phases["failover"]["failed"] == 25 and phases["failover"]["errors"] == {"http_503": 25}
    assert phases["failover"]["error_rate"] == 1.0
    assert phases["failed over"]["regions"] == {"eu-west-1": 25}
    assert sh["whole"]["sent"] == 130 and sh["whole"]["failed"] == 25
    assert (sh["whole"]["longest_failure_run"], sh["whole"]["longest_failure_seconds"]) == (25, 2.4)
    assert [(s["from"], s["to"], s["region"]) for s in sh["regions_over_time"]] == [
        (0, 3, "us-east-1"), (3, 5, None), (5, 10, "eu-west-1"), (10, 13, "us-east-1")]
    assert len(sh["series"]) == 13 and sh["series"][4] == {"t": 4, "sent": 10, "failed": 10, "p99_ms": 2.0,
                                                         "region": None}
    text = "\n".join(render_shoppers(sh))
    assert "| failover | 3.00 | 5.50 | 25 | 25 | 100.00% | http_503 25 | 2.0 | 25 over 2.40 s |" in text
    assert "3-5 s none (all failed); 5-10 s eu-west-1" in text
    json.dumps(sh)  # the JSON report carries it as is


def test_region_down_front_answers_503_while_listed_and_keeps_indexer_faults(tmp_path, monkeypatch):
    calls = []
    front = RegionDownFront(lambda event: calls.append(event) or {"statusCode": 200}, tmp_path / FAULTS_FILE,
                            "us-east-1")
    assert front({"path": "/health"}) == {"statusCode": 200}

    class Cfg:  # what faults_path needs
        pass

    monkeypatch.setattr("sandbox.faults.state_dir", lambda cfg: tmp_path)
    set_faults(Cfg(), ["p1"])
    set_region_down(Cfg(), ["us-east-1"])
    data = json.loads((tmp_path / FAULTS_FILE).read_text())
    assert data == {"indexer": {"fail_product_ids": ["p1"]}, "region_down": ["us-east-1"]}
    down = front({"path": "/health"})
    assert down["statusCode"] == 503 and json.loads(down["body"])["region_down"] == "us-east-1"
    assert RegionDownFront(lambda e: {"statusCode": 200}, tmp_path / FAULTS_FILE, "eu-west-1")({})["statusCode"] == 200
    time.sleep(0.01)  # a new mtime for the restore (the front re-reads the file when it changes)
    set_region_down(Cfg(), [])
    assert front({"path": "/search"}) == {"statusCode": 200} and len(calls) == 2


class Clock:
    now = 0.0

    def __call__(self):
        return self.now


@pytest.mark.parametrize("ttl, expect", [(0, ["a", "b", "b", "c"]), (60, ["a", "a", "a", "b"])])
def test_router_keeps_an_answer_for_the_ttl_like_a_caching_resolver(ttl, expect):
    answers = iter(["a", "b", "b", "c"])
    clock = Clock()
    router = GlobalRouter("127.0.0.1", 0, {}, lambda: {"region": next(answers)}, list, dns_ttl_seconds=ttl,
                          clock=clock, site={})
    try:
        seen = []
        for t in (0.0, 10.0, 59.9, 60.0):
            clock.now = t
            seen.append(router.answer())
        assert seen == expect  # with a TTL: Route 53's new answer reaches shoppers when it expires
    finally:
        router.server_close()


def test_chart_is_svg_with_failed_seconds_in_red_the_regions_and_the_moments():
    sh = shopper_figures(_records(), MARKS, 10, 13.0)
    svg = timeline_svg(sh, "drill: us-east-1 via region-down")
    root = ET.fromstring(svg)
    ns = "{http://www.w3.org/2000/svg}"
    rects = root.findall(f"{ns}rect")
    texts = " ".join(t.text or "" for t in root.iter(f"{ns}text"))
    failed_bars = [r for r in rects if r.get("fill") == "#d62728" and r.find(f"{ns}title") is None
                   and float(r.get("y")) < 200]
    assert len(failed_bars) == 3  # seconds 3, 4 and 5 had failures
    assert [r.find(f"{ns}title").text for r in rects if r.find(f"{ns}title") is not None] == [
        "us-east-1", "all failed", "eu-west-1", "us-east-1"]
    for label in ("inject 3.0 s", "detected 5.0 s", "traffic moved 5.5 s", "restore 8.0 s", "failback 10.0 s"):
        assert label in texts
    assert len(root.findall(f"{ns}line")) == 5


def test_chart_needs_load(capsys):
    from storefront_cli.main import main

    assert main(["drill", "run", "--region", "us-east-1", "--chart", "x.svg"]) == 2
    assert "--chart needs --load" in capsys.readouterr().err


@pytest.mark.parametrize("make", ["router", "apigw"])
def test_sandbox_fronts_queue_a_burst_of_connections_instead_of_dropping_them(make):
    """With socketserver's backlog of 5, the connections of a burst beyond it are dropped
    (the client retries its SYN after 1 s): the server here is listening but not yet
    accepting, so every connection must wait in the backlog."""
    import socket

    from sandbox.apigw import ApiGatewayServer

    server = (GlobalRouter("127.0.0.1", 0, {}, dict, list, site={}) if make == "router"
              else ApiGatewayServer("127.0.0.1", 0, lambda event: {"statusCode": 200}))
    socks = []
    try:
        for _ in range(40):
            socks.append(socket.create_connection(server.server_address, timeout=0.5))  # not accepted: backlog
    finally:
        for s in socks:
            s.close()
        server.server_close()
