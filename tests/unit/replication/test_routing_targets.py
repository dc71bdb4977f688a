"""Route 53 observers and target resolution (a real local HTTP server for the sandbox routes)."""

from __future__ import annotations

import json
import os
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from catalog.config import parse_config
from replication.routing import (
    HEALTHY,
    UNHEALTHY,
    UNKNOWN,
    SandboxRoutingObserver,
    probe_search,
    status_from_observations,
)
from replication.targets import TargetError, endpoints_path, resolve_target


def obs(*statuses):
    return [{"StatusReport": {"Status": s}} for s in statuses]


def test_route53_verdict_needs_more_than_18_percent_of_checkers():
    assert status_from_observations(obs(*["Success: HTTP Status Code 200"] * 2, *["Failure: timeout"] * 8)) == HEALTHY
    assert status_from_observations(obs("Success: HTTP Status Code 200", *["Failure: 503"] * 8)) == UNHEALTHY
    assert status_from_observations([]) == UNKNOWN


class _Admin(BaseHTTPRequestHandler):
    answer = "eu-west-1"

    def do_GET(self):
        if self.path == "/_sandbox/route53/health-checks":
            body = {"health_checks": [
                {"id": "a", "region": "us-east-1", "status": "unhealthy", "inverted": True, "disabled": False,
                 "consecutive_failures": 3, "last_checked": 1.0},
                {"id": "b", "region": "eu-west-1", "status": "healthy", "inverted": False, "disabled": False,
                 "consecutive_failures": 0, "last_checked": 1.0}]}
        elif self.path == "/_sandbox/route53/answer":
            body = {"name": "search.sandbox.localhost", "routing": "failover", "region": self.answer}
        elif self.path.startswith("/search?"):
            body = {"hits": [{"id": "p1"}, {"id": "p2"}], "region": "ignored-when-header-present"}
        else:
            self.send_response(503)
            self.send_header("X-Served-Region", "us-east-1")
            self.end_headers()
            return
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("X-Served-Region", "eu-west-1")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture
def admin():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Admin)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_sandbox_observer_reads_the_admin_routes(admin):
    o = SandboxRoutingObserver(admin)
    assert o.health_status("us-east-1") == UNHEALTHY
    assert o.health_status("eu-west-1") == HEALTHY
    assert o.health_status("ap-south-1") == UNKNOWN
    assert o.answer() == "eu-west-1"


def test_probe_reports_the_serving_region(admin):
    r = probe_search(admin, "usb-c hub")
    assert r.ok and r.status == 200 and r.region == "eu-west-1" and r.ids == ["p1", "p2"]


def test_probe_never_raises():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    r = probe_search(f"http://127.0.0.1:{port}", "x", timeout=0.5)
    assert not r.ok and r.status is None and r.error


def _cfg(tmp_path, **extra):
    return parse_config({"regions": ["us-east-1", "eu-west-1"], "sandbox": {"state_dir": "state"}, **extra},
                        source=str(tmp_path / "storefront.toml"))


def _write_endpoints(cfg, pid, admin="http://127.0.0.1:9"):
    path = endpoints_path(cfg)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"aws": "http://127.0.0.1:5055", "global": admin,
                                "regions": {"us-east-1": "http://127.0.0.1:1", "eu-west-1": "http://127.0.0.1:2"},
                                "index_dirs": {r: str(path.parent / r) for r in cfg.regions},
                                "domain": "search.sandbox.localhost", "pid": pid}))


def test_state_dir_is_relative_to_the_config_file(tmp_path):
    assert endpoints_path(_cfg(tmp_path)) == tmp_path / "state" / "endpoints.json"


def test_running_sandbox_is_the_default_target(tmp_path, admin):
    cfg = _cfg(tmp_path)
    _write_endpoints(cfg, os.getpid(), admin)
    t = resolve_target(cfg)
    assert t.kind == "sandbox" and t.global_url == admin and t.poll_seconds < 1
    # the sandbox's probe interval x the template's threshold ([health_check]) + 1
    assert t.health.detection_budget_seconds == cfg.sandbox.health_check_interval_seconds * \
        cfg.health_check.failure_threshold + 1
    assert t.observer.answer() == "eu-west-1"
    assert t.client("ssm", "eu-west-1").meta.endpoint_url == "http://127.0.0.1:5055"


def test_stale_endpoints_file_means_aws_or_a_clear_error(tmp_path):
    cfg = _cfg(tmp_path)
    _write_endpoints(cfg, 2**22 + 12345)  # no such process
    with pytest.raises(TargetError, match="sandbox up"):
        resolve_target(cfg, "sandbox")
    with pytest.raises(TargetError, match=r"\[aws\]"):
        resolve_target(cfg)  # falls back to AWS, which this config does not describe


def test_the_target_reads_the_record_the_sandbox_writes(tmp_path):
    from catalog.sandbox_endpoints import pid_alive
    from sandbox.state import planned_endpoints, write_endpoints

    cfg = _cfg(tmp_path)
    written = planned_endpoints(cfg, os.getpid())
    assert write_endpoints(cfg, written) == endpoints_path(cfg)
    t = resolve_target(cfg, "sandbox")
    assert (t.global_url, dict(t.region_urls)) == (written.global_url, dict(written.regions))
    assert t.client("s3", "us-east-1").meta.endpoint_url == written.aws
    assert not pid_alive(0) and not pid_alive(-1)  # process groups, not a supervisor
    _write_endpoints(cfg, 0)
    with pytest.raises(TargetError, match="sandbox up"):
        resolve_target(cfg, "sandbox")
