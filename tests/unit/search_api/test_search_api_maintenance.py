"""The maintenance switch against SSM (moto): value, cache, missing parameter, read failures."""

from __future__ import annotations

import boto3
import pytest
from moto import mock_aws

from search_api.maintenance import MaintenanceSwitch

NAME = "/storefront/us-east-1/maintenance"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def ssm():
    with mock_aws():
        yield boto3.client("ssm", region_name="us-east-1")


def switch(clock, **kwargs):
    return MaintenanceSwitch(NAME, "us-east-1", cache_seconds=5, clock=clock, **kwargs)


def test_on_off_and_cache(ssm):
    clock = Clock()
    sw = switch(clock)
    assert sw.read().on is False and sw.read().value is None  # missing parameter: off
    ssm.put_parameter(Name=NAME, Value="on", Type="String")
    clock.now += 4.9
    assert sw.read().on is False  # still cached
    clock.now += 0.2
    state = sw.read()
    assert state.on is True and state.as_check() == {"ok": False, "value": "on"}
    ssm.put_parameter(Name=NAME, Value="off", Type="String", Overwrite=True)
    clock.now += 5
    assert sw.read().on is False


def test_value_is_case_and_space_insensitive(ssm):
    ssm.put_parameter(Name=NAME, Value=" ON ", Type="String")
    assert switch(Clock()).read().on is True


def test_client_is_created_on_first_read_only():
    made = []
    sw = switch(Clock(), client_factory=lambda region: made.append(region) or _Broken())
    assert made == []
    sw.read()
    assert made == ["us-east-1"]


class _Broken:
    """Stands in for an SSM client whose calls fail (network down); nothing real can fail on cue."""

    def __init__(self) -> None:
        self.fail = True
        self.value = "on"

    def get_parameter(self, Name):
        if self.fail:
            raise ConnectionError("endpoint unreachable")
        return {"Parameter": {"Name": Name, "Value": self.value}}


def test_read_failure_is_reported_and_keeps_the_last_value():
    clock = Clock()
    client = _Broken()
    sw = switch(clock, client_factory=lambda region: client)
    first = sw.read()
    assert first.on is False and "endpoint unreachable" in first.error and first.stale is False
    assert first.as_check()["ok"] is True  # a failure to read does not fail the check
    client.fail = False
    clock.now += 6
    assert sw.read().on is True
    client.fail = True
    clock.now += 6
    kept = sw.read()
    assert kept.on is True and kept.stale is True and kept.error


def test_unreachable_ssm_endpoint_is_reported_not_raised(monkeypatch):
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{port}")
    state = switch(Clock()).read()
    assert state.on is False and state.error and "Endpoint" in state.error
