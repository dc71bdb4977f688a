"""A function in its own interpreter (:class:`sandbox.function_process.FunctionProcess`): only its
asset on the import path, only its environment, the invoker's remaining time as its budget."""

from __future__ import annotations

import pytest

from sandbox.function_process import FunctionError, FunctionInitError, FunctionProcess

HANDLER = '''
import os, sys
def handler(event, context):
    if event.get("sleep"):
        import time
        time.sleep(event["sleep"])
    if event.get("raise"):
        raise ValueError("boom")
    return {"left": context.get_remaining_time_in_millis(), "name": context.function_name,
            "var": os.environ.get("ONLY_MINE"), "path": [p for p in sys.path if p.endswith("asset")]}
'''


class Context:
    function_name = "fn"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:fn"
    memory_limit_in_mb = 128
    aws_request_id = "r-1"
    log_group_name = "/aws/lambda/fn"
    log_stream_name = "s"

    def __init__(self, remaining_ms: int) -> None:
        self.remaining_ms = remaining_ms

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


@pytest.fixture
def fn(tmp_path):
    asset = tmp_path / "asset"
    asset.mkdir()
    (asset / "h.py").write_text(HANDLER)
    process = FunctionProcess("h.handler", [asset], {"ONLY_MINE": "yes"}).start()
    yield process
    process.stop()


def test_the_handler_gets_its_environment_its_path_and_the_remaining_budget(fn):
    result = fn({}, Context(60_000))
    assert result["var"] == "yes" and result["name"] == "fn" and len(result["path"]) == 1
    assert 0 < result["left"] <= 60_000


def test_an_error_is_reported_as_lambda_does_and_the_instance_stays_warm(fn):
    with pytest.raises(FunctionError, match="ValueError: boom"):
        fn({"raise": True}, Context(60_000))
    assert fn({}, Context(60_000))["var"] == "yes" and fn.cold_starts == 1


def test_a_spent_budget_times_out_and_the_next_invocation_starts_cold(fn):
    # the handler outlasts its budget whatever the machine's load (a 0 ms budget raced a fast answer)
    with pytest.raises(FunctionError, match="Task timed out"):
        fn({"sleep": 5}, Context(200))
    assert fn({}, Context(60_000))["var"] == "yes" and fn.cold_starts == 2


def test_a_missing_module_fails_the_start_naming_it(tmp_path):
    asset = tmp_path / "asset"
    asset.mkdir()
    (asset / "h.py").write_text("import not_in_the_asset\ndef handler(event, context):\n    return 1\n")
    with pytest.raises(FunctionInitError, match="No module named 'not_in_the_asset'"):
        FunctionProcess("h.handler", [asset], {}).start()


def test_the_init_error_is_named_however_late_its_stderr_is_read(tmp_path, monkeypatch):
    """The runtime's INIT-FAILED line comes on stderr, read by a thread of its own; on a busy
    machine that thread may not have read it when the process is seen to exit."""
    import time

    relay = FunctionProcess._relay

    def slow_relay(self, stream):
        time.sleep(0.5)
        relay(self, stream)

    monkeypatch.setattr(FunctionProcess, "_relay", slow_relay)
    test_a_missing_module_fails_the_start_naming_it(tmp_path)
