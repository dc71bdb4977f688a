"""Pure logic of the sandbox emulators: Route 53 decisions, replication rules, the API
Gateway event shape, the global-table write signature, the state checks."""

from __future__ import annotations

import base64
import socket

import pytest

from catalog.config import parse_config
from sandbox.apigw import proxy_event, response_parts
from sandbox.global_tables import signature
from sandbox.route53 import CheckState, apply_result, choose
from sandbox.s3_replication import matching_rules
from sandbox.state import SandboxError, check_ports, planned_endpoints


# ---------------------------------------------------------------- Route 53
def test_status_flips_only_after_threshold_consecutive_results():
    s = CheckState("hc", "us-east-1")
    apply_result(s, False, 3)
    apply_result(s, False, 3)
    assert s.status == "healthy" and s.consecutive_failures == 2
    apply_result(s, True, 3)  # a success breaks the run
    apply_result(s, False, 3)
    apply_result(s, False, 3)
    assert s.status == "healthy"
    apply_result(s, False, 3)
    assert s.status == "unhealthy"
    apply_result(s, True, 3)
    apply_result(s, True, 3)
    assert s.status == "unhealthy"
    apply_result(s, True, 3)
    assert s.status == "healthy" and s.consecutive_failures == 0


FAILOVER = [
    {"SetIdentifier": "eu-west-1", "Failover": "SECONDARY", "HealthCheckId": "b"},
    {"SetIdentifier": "us-east-1", "Failover": "PRIMARY", "HealthCheckId": "a"},
]


@pytest.mark.parametrize(("healthy", "expected"), [
    ({"a": True, "b": True}, "us-east-1"),
    ({"a": False, "b": True}, "eu-west-1"),
    ({"a": True, "b": False}, "us-east-1"),
    ({"a": False, "b": False}, "us-east-1"),  # Route 53 answers the primary when both are unhealthy
])
def test_failover_answer(healthy, expected):
    assert choose(FAILOVER, healthy, ["us-east-1", "eu-west-1"]) == expected


def test_latency_answer_is_the_nearest_healthy_in_configuration_order():
    records = [{"SetIdentifier": r, "Region": r, "HealthCheckId": r} for r in ("ap-south-1", "eu-west-1", "us-east-1")]
    order = ["us-east-1", "eu-west-1", "ap-south-1"]
    assert choose(records, {}, order) == "us-east-1"
    assert choose(records, {"us-east-1": False}, order) == "eu-west-1"
    assert choose(records, {"us-east-1": False, "eu-west-1": False}, order) == "ap-south-1"
    everything_down = {"us-east-1": False, "eu-west-1": False, "ap-south-1": False}
    assert choose(records, everything_down, order) == "us-east-1"


def test_no_records_no_answer_and_records_without_checks_are_healthy():
    assert choose([], {}, ["us-east-1"]) is None
    no_check = [{"SetIdentifier": "us-east-1", "Failover": "PRIMARY"},
                {"SetIdentifier": "eu-west-1", "Failover": "SECONDARY", "HealthCheckId": "b"}]
    assert choose(no_check, {"b": True}, []) == "us-east-1"


# ---------------------------------------------------------------- S3 replication rules
RULES = {"Role": "arn:aws:iam::1:role/r", "Rule": [
    {"ID": "to-eu", "Priority": "1", "Status": "Enabled", "Filter": {"Prefix": "products/"},
     "DeleteMarkerReplication": {"Status": "Enabled"}, "Destination": {"Bucket": "arn:aws:s3:::dest-eu"}},
    {"ID": "to-ap", "Priority": "2", "Status": "Enabled", "Filter": {"Prefix": "products/"},
     "DeleteMarkerReplication": {"Status": "Disabled"}, "Destination": {"Bucket": "arn:aws:s3:::dest-ap"}},
    {"ID": "off", "Priority": "3", "Status": "Disabled", "Filter": {"Prefix": ""},
     "Destination": {"Bucket": "arn:aws:s3:::dest-off"}},
]}


def test_rules_match_prefix_status_and_delete_marker_setting():
    assert sorted(matching_rules(RULES, "products/p1.json", False)) == [("to-ap", "dest-ap"), ("to-eu", "dest-eu")]
    assert matching_rules(RULES, "products/p1.json", True) == [("to-eu", "dest-eu")]
    assert matching_rules(RULES, "other/p1.json", False) == []
    assert matching_rules(None, "products/p1.json", False) == []


def test_overlapping_rules_to_one_destination_use_the_highest_priority():
    rules = {"Rule": [
        {"ID": "low", "Priority": "1", "Status": "Enabled", "Filter": {"Prefix": ""},
         "Destination": {"Bucket": "arn:aws:s3:::d"}},
        {"ID": "high", "Priority": "5", "Status": "Enabled", "Filter": {"And": {"Prefix": "products/"}},
         "Destination": {"Bucket": "arn:aws:s3:::d"}},
    ]}
    assert matching_rules(rules, "products/x.json", False) == [("high", "d")]
    assert matching_rules(rules, "misc/x.json", False) == [("low", "d")]


# ---------------------------------------------------------------- API Gateway
def test_proxy_event_has_rest_v1_shape_with_multi_values():
    event = proxy_event("GET", "/search?q=men%27s+shoes&brand=Nike&brand=Adidas&empty=", [
        ("Host", "127.0.0.1:8081"), ("Accept", "a"), ("Accept", "b")], b"", "127.0.0.9")
    assert event["path"] == "/search" and event["httpMethod"] == "GET"
    assert event["multiValueQueryStringParameters"] == {"q": ["men's shoes"], "brand": ["Nike", "Adidas"],
                                                        "empty": [""]}
    assert event["queryStringParameters"]["brand"] == "Adidas"  # API Gateway keeps the last value
    assert event["multiValueHeaders"]["Accept"] == ["a", "b"] and event["headers"]["Accept"] == "b"
    assert event["requestContext"]["identity"]["sourceIp"] == "127.0.0.9"
    assert event["requestContext"]["stage"] == "prod" and event["body"] is None
    assert event["isBase64Encoded"] is False


def test_proxy_event_without_query_has_none_and_binary_body_is_base64():
    event = proxy_event("POST", "/x", [], b"\xff\xfe", "127.0.0.1")
    assert event["queryStringParameters"] is None and event["multiValueQueryStringParameters"] is None
    assert event["isBase64Encoded"] is True and base64.b64decode(event["body"]) == b"\xff\xfe"


def test_an_execute_api_request_names_the_template_stage_and_is_its_own_domain():
    event = proxy_event("GET", "/v1/health", [("Host", "abc123.execute-api.eu-west-1.amazonaws.com")], b"",
                        "127.0.0.1", stage="v1", domain_name="search.example.com", clock=lambda: 1714641439.127)
    ctx = event["requestContext"]
    assert event["path"] == "/health" and ctx["path"] == "/v1/health" and ctx["stage"] == "v1"
    assert ctx["domainName"] == "abc123.execute-api.eu-west-1.amazonaws.com" and ctx["domainPrefix"] == "abc123"
    assert ctx["requestTimeEpoch"] == 1714641439127 and ctx["requestTime"] == "02/May/2024:09:17:19 +0000"
    assert ctx["identity"]["userAgent"] is None  # no User-Agent header, nothing to report


def test_a_custom_domain_request_keeps_its_path_and_the_root_is_its_own_resource():
    event = proxy_event("GET", "/prod/health", [("Host", "127.0.0.1:8081")], b"", "127.0.0.1",
                        domain_name="search.sandbox.localhost")
    assert event["path"] == "/prod/health" and event["requestContext"]["path"] == "/prod/health"  # no stage here
    assert event["requestContext"]["domainName"] == "search.sandbox.localhost"
    root = proxy_event("GET", "/?q=x", [], b"", "127.0.0.1")
    assert (root["resource"], root["requestContext"]["resourcePath"], root["pathParameters"]) == ("/", "/", None)
    assert root["requestContext"]["domainName"] == "localhost"  # no domain, no Host
    assert root["requestContext"]["resourceId"] != event["requestContext"]["resourceId"]


def test_the_api_front_sends_the_callers_user_agent_address_and_the_clock_time():
    import urllib.request

    from sandbox.apigw import ApiGatewayServer

    events = []

    def invoke(event):
        events.append(event)
        return {"statusCode": 204, "body": ""}

    server = ApiGatewayServer("127.0.0.1", 0, invoke, stage="prod", domain_name="search.sandbox.localhost",
                              clock=lambda: 1714641439.127).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/search?q=a"
        request = urllib.request.Request(url, headers={"User-Agent": "shopper/1.0"})
        with urllib.request.urlopen(request, timeout=10) as reply:
            assert reply.status == 204
    finally:
        server.stop()
    identity = events[0]["requestContext"]["identity"]
    assert identity["userAgent"] == "shopper/1.0" and identity["sourceIp"] == "127.0.0.1"
    assert events[0]["requestContext"]["requestTimeEpoch"] == 1714641439127
    assert events[0]["requestContext"]["domainName"] == "search.sandbox.localhost"


def test_the_api_front_takes_the_stage_and_domain_from_the_template():
    from infra.deployed import TemplateError
    from sandbox.deployed import sandbox_api

    cfg = parse_config({"name_prefix": "test", "regions": ["us-east-1", "eu-west-1"]})
    stage = {"Type": "AWS::ApiGateway::Stage", "Properties": {"StageName": "v2", "RestApiId": {"Ref": "Api"}}}
    domain = {"Type": "AWS::ApiGateway::DomainName", "Properties": {"DomainName": "search.example.com"}}
    stack = cfg.stack_name("search", "eu-west-1")
    api = sandbox_api({stack: {"Resources": {"Stage": stage, "Domain": domain}}}, cfg, "eu-west-1")
    assert (api.stage, api.domain_name) == ("v2", "search.example.com")
    assert sandbox_api({stack: {"Resources": {"Stage": stage}}}, cfg, "eu-west-1").domain_name == ""
    with pytest.raises(TemplateError, match="one AWS::ApiGateway::Stage"):
        sandbox_api({stack: {"Resources": {"Domain": domain}}}, cfg, "eu-west-1")


def test_response_parts_merge_headers_and_decode_base64():
    status, headers, body = response_parts({"statusCode": 200, "headers": {"A": "1", "B": "2"},
                                            "multiValueHeaders": {"B": ["x", "y"]},
                                            "body": base64.b64encode(b"hi").decode(), "isBase64Encoded": True})
    assert status == 200 and body == b"hi"
    assert sorted(headers) == [("A", "1"), ("B", "x"), ("B", "y")]
    with pytest.raises(ValueError, match="statusCode"):
        response_parts({"body": "no status"})


# ---------------------------------------------------------------- global tables
def test_signature_distinguishes_puts_and_deletes_by_version():
    put = {"eventName": "MODIFY", "dynamodb": {"Keys": {"id": {"S": "p1"}}, "NewImage": {"version": {"N": "7"}}}}
    rm = {"eventName": "REMOVE", "dynamodb": {"Keys": {"id": {"S": "p1"}}, "OldImage": {"version": {"N": "7"}}}}
    assert signature(put)[1:] == ("put", "7")
    assert signature(rm)[1:] == ("delete", "7")
    assert signature(put)[0] == signature(rm)[0]


# ---------------------------------------------------------------- state
def _cfg(tmp_path, aws_port: int) -> object:
    return parse_config({"regions": ["us-east-1", "eu-west-1"], "sandbox": {
        "aws_port": aws_port, "global_port": aws_port + 1, "first_region_port": aws_port + 2,
        "state_dir": str(tmp_path)}}, "test.toml")


def test_port_in_use_is_named_with_its_setting(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        with pytest.raises(SandboxError, match=rf"port {port} .*sandbox.aws_port"):
            check_ports(_cfg(tmp_path, port))


def test_planned_endpoints_follow_the_configuration(tmp_path):
    ep = planned_endpoints(_cfg(tmp_path, 20000), 123)
    assert ep.aws == "http://127.0.0.1:20000" and ep.global_url == "http://127.0.0.1:20001"
    assert ep.regions == {"us-east-1": "http://127.0.0.1:20002", "eu-west-1": "http://127.0.0.1:20003"}
    assert ep.index_dirs["eu-west-1"] == str(tmp_path / "index" / "eu-west-1")
    assert ep.to_json()["pid"] == 123


def test_moto_tuning_is_undone_for_other_users_of_moto_in_the_process():
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication
    from moto.sqs.models import Queue, SQSBackend

    from sandbox.moto_host import tune_moto, untune_moto

    before = (Queue.__dict__["approximate_number_of_messages"],
              SQSBackend.__dict__["is_message_valid_based_on_retention_period"],
              DomainDispatcherApplication.__dict__["get_backend_for_host"])
    tune_moto()
    try:
        assert Queue.__dict__["approximate_number_of_messages"] is not before[0]
        assert DomainDispatcherApplication.__dict__["get_backend_for_host"] is not before[2]
    finally:
        untune_moto()
    after = (Queue.__dict__["approximate_number_of_messages"],
             SQSBackend.__dict__["is_message_valid_based_on_retention_period"],
             DomainDispatcherApplication.__dict__["get_backend_for_host"])
    assert after == before


def test_remembered_backend_lookup_answers_as_moto_does(monkeypatch):
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication

    from sandbox.moto_host import tune_moto, untune_moto

    app = DomainDispatcherApplication(lambda backend: None)
    hosts = [None, "moto_api", "s3", "dynamodb.us-east-1.amazonaws.com", "sqs.eu-west-1.amazonaws.com",
             "streams.dynamodb.eu-west-1.amazonaws.com", "route53.amazonaws.com", "ssm.us-east-1.amazonaws.com"]
    expected = {h: app.get_backend_for_host(h) for h in hosts}
    assert expected["dynamodb.us-east-1.amazonaws.com"] == "dynamodb"
    tune_moto()
    try:
        calls = []
        original = DomainDispatcherApplication.get_backend_for_host
        for host in hosts * 3:
            calls.append(original(app, host))
        assert calls == [expected[h] for h in hosts * 3]
        # remembered: moto's package directory is not listed again for a known host
        monkeypatch.setattr("moto.backends.list_of_moto_modules", lambda: (_ for _ in ()).throw(AssertionError))
        assert [original(app, h) for h in hosts] == [expected[h] for h in hosts]
    finally:
        untune_moto()


@pytest.mark.parametrize("command, hint", [(["sandbox", "up", "--detach"], ""),
                                           (["demo", "--products", "5"], "the demo starts its own")])
def test_starting_while_a_sandbox_runs_is_refused_in_one_line(tmp_path, capsys, monkeypatch, command, hint):
    import os

    from sandbox.state import write_endpoints
    from storefront_cli.main import main

    def must_not_start(*_a, **_k):
        raise AssertionError("a second sandbox was started")

    monkeypatch.setattr("sandbox.cli._up_detached", must_not_start)
    monkeypatch.setattr("sandbox.demo.run_demo", must_not_start)

    cfg = _cfg(tmp_path, 20000)
    config = tmp_path / "storefront.toml"
    config.write_text(f'regions = ["us-east-1", "eu-west-1"]\n[sandbox]\naws_port = 20000\n'
                      f'state_dir = "{tmp_path}"\n')
    write_endpoints(cfg, planned_endpoints(cfg, os.getpid()))  # "running": this live process
    assert main(["--config", str(config), *command]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and f"already running (pid {os.getpid()}" in err
    assert hint in err and err.endswith("stop it with `storefront sandbox down`")


# ---------------------------------------------------------------- the supervisor as a child process
def _recording_popen(monkeypatch) -> list:
    """Record every process :func:`sandbox.child.start_supervisor` starts."""
    import subprocess

    started: list = []

    class Recording(subprocess.Popen):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            started.append(self)

    monkeypatch.setattr("sandbox.child.subprocess.Popen", Recording)
    return started


def _fake_supervisor(tmp_path, monkeypatch, script: str) -> None:
    """``sys.executable -m sandbox.supervisor ...`` runs this shell script instead."""
    import sys

    exe = tmp_path / "fake-python"
    exe.write_text("#!/bin/sh\n" + script)
    exe.chmod(0o755)
    monkeypatch.setattr(sys, "executable", str(exe))


def test_a_supervisor_that_exits_early_is_named_by_its_logs_last_line_and_reaped(tmp_path, monkeypatch):
    from catalog.config import load_config
    from sandbox.child import start_supervisor
    from sandbox.state import private_sandbox_toml

    started = _recording_popen(monkeypatch)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        config = tmp_path / "storefront.toml"
        config.write_text(private_sandbox_toml("unit", aws_port=port))
        shown: list[str] = []
        with pytest.raises(SandboxError) as failure:  # the real supervisor refuses the taken port
            start_supervisor(load_config(config), detach=False, progress=shown.append)
    message = str(failure.value)
    assert message.startswith(f"the sandbox did not start: port {port} on 127.0.0.1 is in use (sandbox.aws_port)")
    assert message.endswith(f"(log: {tmp_path / 'state' / 'sandbox.log'})") and "storefront: error" not in message
    assert shown == []
    assert len(started) == 1 and started[0].returncode == 2  # exited and reaped: nothing left running


def test_a_supervisor_start_interrupted_stops_the_child(tmp_path, monkeypatch):
    from sandbox.child import start_supervisor

    started = _recording_popen(monkeypatch)
    _fake_supervisor(tmp_path, monkeypatch, 'echo "sandbox: synthesizing the CDK app"\nexec sleep 60\n')

    def interrupted(message: str) -> None:
        assert message == "synthesizing the CDK app"
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        start_supervisor(_cfg(tmp_path, 20000), detach=False, progress=interrupted)
    assert len(started) == 1 and started[0].returncode == -15  # SIGTERM, waited for


def test_a_supervisor_that_never_serves_is_stopped_after_the_timeout_and_stop_is_idempotent(tmp_path, monkeypatch):
    from sandbox.child import SupervisorChild, start_supervisor

    started = _recording_popen(monkeypatch)
    _fake_supervisor(tmp_path, monkeypatch, "trap '' TERM\nwhile :; do sleep 0.1; done\n")
    monkeypatch.setattr("sandbox.child.STOP_WAIT_SECONDS", 0.5)
    with pytest.raises(SandboxError, match=r"did not start within 1 s \(log: .*sandbox.log\)"):
        start_supervisor(_cfg(tmp_path, 20000), detach=True, timeout=1.0)
    assert len(started) == 1 and started[0].returncode == -9  # ignored SIGTERM: killed

    child = SupervisorChild(started[0], _cfg(tmp_path, 20000), planned_endpoints(_cfg(tmp_path, 20000), 1), 0.0,
                            tmp_path / "sandbox.log", tmp_path)
    assert child.stop() == -9 and child.stop() == -9


class _FakeChild:
    def __init__(self, cfg) -> None:
        self.endpoints = planned_endpoints(cfg, 123)
        self.started_seconds = 1.0
        self.state = cfg.sandbox.state_dir
        self.stopped = 0

    def stop(self) -> int:
        self.stopped += 1
        return 0


@pytest.mark.parametrize("failure", [KeyboardInterrupt, RuntimeError])
def test_the_demo_stops_its_sandbox_however_it_ends(tmp_path, monkeypatch, capsys, failure):
    from sandbox.demo import run_demo

    cfg = _cfg(tmp_path, 20000)
    child = _FakeChild(cfg)
    starts: list[bool] = []

    def start(cfg, *, detach, progress):
        starts.append(detach)
        progress("synthesized in 1.0 s")
        return child

    def load(*_a, **_k):
        raise failure

    monkeypatch.setattr("sandbox.child.start_supervisor", start)
    monkeypatch.setattr("sandbox.demo.load_catalog", load)
    with pytest.raises(failure):
        run_demo(cfg, 5)
    assert starts == [False] and child.stopped == 1  # in the demo's process group, and stopped
    out = capsys.readouterr().out
    assert "sandbox: synthesized in 1.0 s" in out and out.rstrip().endswith("== 6. stop\nsandbox stopped")
