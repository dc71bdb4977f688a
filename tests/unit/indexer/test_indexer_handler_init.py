"""The handler's init: what it imports (cold start) and how it runs without a Lambda context."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
ENV = {
    "AWS_REGION": "us-east-1", "DLQ_URL": "https://sqs.us-east-1.amazonaws.com/123456789012/dlq",
    "CONTENT_BUCKET": "storefront-content-123456789012-us-east-1", "OPENSEARCH_ENDPOINT": "http://127.0.0.1:9",
    "OPENSEARCH_AUTH": "none",
}
PROBE = ("import json, sys, indexer.handler as h\n"
         "mods = ['tantivy', 'moto', 'aws_cdk', 'sandbox', 'aws_xray_sdk', 'boto3', 'catalog.engine.embedded']\n"
         "seen = {m: m in sys.modules for m in mods} | {'tracer': h.tracer is not None}\n"
         "assert h.lambda_handler({'Records': []}) == {'batchItemFailures': []}\n"
         "print(json.dumps(seen))")


def _probe(**extra: str) -> dict[str, bool]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("POWERTOOLS_")} | ENV | extra
    out = subprocess.run([sys.executable, "-c", PROBE], env=env, cwd=ROOT, capture_output=True, text=True,
                         check=True, timeout=120)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_opensearch_init_imports_no_local_only_library_and_no_tracer_when_disabled():
    seen = _probe(SEARCH_ENGINE="opensearch", POWERTOOLS_TRACE_DISABLED="true")
    assert seen == {"tantivy": False, "moto": False, "aws_cdk": False, "sandbox": False, "aws_xray_sdk": False,
                    "boto3": False, "catalog.engine.embedded": False, "tracer": False}


def test_tracing_on_creates_the_powertools_tracer():
    seen = _probe(SEARCH_ENGINE="opensearch", POWERTOOLS_TRACE_DISABLED="false")
    assert seen["tracer"] is True and seen["aws_xray_sdk"] is True and seen["tantivy"] is False


def test_embedded_engine_is_imported_only_when_configured(tmp_path):
    seen = _probe(SEARCH_ENGINE="embedded", EMBEDDED_INDEX_DIR=str(tmp_path), POWERTOOLS_TRACE_DISABLED="true")
    assert seen["tantivy"] is True and seen["catalog.engine.embedded"] is True and seen["moto"] is False


@pytest.mark.parametrize(("variable", "value"), [("EMBEDDED_INDEX_DIR", ""), ("DLQ_URL", "")])
def test_init_error_in_a_fresh_process_names_the_variable(tmp_path, variable, value):
    env = {k: v for k, v in os.environ.items() if not k.startswith("POWERTOOLS_")} | ENV | {
        "SEARCH_ENGINE": "embedded", "EMBEDDED_INDEX_DIR": str(tmp_path), variable: value}
    out = subprocess.run([sys.executable, "-c", "import indexer.handler"], env=env, cwd=ROOT, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode != 0
    assert variable in out.stderr.strip().splitlines()[-1]


def test_handler_runs_without_a_lambda_context(tmp_path, monkeypatch, capsys):
    for k, v in (ENV | {"SEARCH_ENGINE": "embedded", "EMBEDDED_INDEX_DIR": str(tmp_path),
                        "POWERTOOLS_TRACE_DISABLED": "true"}).items():
        monkeypatch.setenv(k, v)
    sys.modules.pop("indexer.handler", None)
    import indexer.handler as handler

    try:
        note = {"Service": "Amazon S3", "Event": "s3:TestEvent", "Bucket": ENV["CONTENT_BUCKET"]}
        event = {"Records": [{"messageId": "m1", "body": json.dumps(note), "eventSource": "aws:sqs"}]}
        assert handler.lambda_handler(event, None) == {"batchItemFailures": []}
        blobs = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
        assert [b["Ignored"] for b in blobs if "Ignored" in b] in ([1], [1.0], [[1.0]], [[1]])
        assert handler.lambda_handler({"Records": []}) == {"batchItemFailures": []}
    finally:
        handler.RUNTIME.engine.close()
        sys.modules.pop("indexer.handler", None)
