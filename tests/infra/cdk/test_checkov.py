"""checkov, an independent scanner, over the synthesized templates (issue 11 section 5).

checkov runs from its own venv (``make test`` creates ``.venv-checkov``: it pins old
boto3/packaging that the project's venv must not take). Every finding must be either
fixed or suppressed in ``infra/checkov.py`` with its reason.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from infra.checkov import SUPPRESSIONS

pytestmark = pytest.mark.xdist_group("cdk")
CHECKOV = Path(__file__).resolve().parents[3] / ".venv-checkov" / "bin" / "checkov"


@pytest.fixture(scope="session")
def checkov(synth) -> dict:
    if not CHECKOV.exists():
        pytest.skip("checkov is not installed: `make checkov` (run by `make test`) creates .venv-checkov")
    files = sorted(str(p) for p in synth.outdir.glob("*.template.json"))
    assert len(files) == len(synth.templates)
    args = [str(CHECKOV), "--framework", "cloudformation", "--output", "json", "--skip-download", "--compact"]
    for f in files:
        args += ["--file", f]
    env = {**os.environ, "BC_SKIP_MAPPING": "TRUE", "CHECKOV_RUN_SCA_PACKAGE_SCAN_V2": "false"}
    proc = subprocess.run(args, capture_output=True, text=True, env=env, timeout=600)
    assert proc.returncode in (0, 1), proc.stderr[-2000:]
    report = json.loads(proc.stdout)
    return report[0] if isinstance(report, list) else report


def test_checkov_scanned_every_template(checkov, synth):
    summary = checkov["summary"]
    assert summary["parsing_errors"] == 0
    assert summary["passed"] > 100
    scanned = {Path(c["file_path"]).name.removesuffix(".template.json") for c in checkov["results"]["passed_checks"]}
    assert scanned == set(synth.templates)


def test_checkov_reports_no_finding_without_a_reason(checkov):
    failed = [f"{f['check_id']} {f['file_path']} {f['resource']}" for f in checkov["results"]["failed_checks"]]
    assert failed == []
    reasons = {s.reason for s in SUPPRESSIONS}
    skipped = checkov["results"]["skipped_checks"]
    assert skipped, "the suppressions in infra/checkov.py did not reach the templates"
    for s in skipped:
        assert s["check_result"]["suppress_comment"] in reasons, s["check_id"]


def test_waf_blocks_known_bad_inputs_and_logs(checkov, synth):
    passed = {(c["check_id"], c["resource"].split(".")[0]) for c in checkov["results"]["passed_checks"]}
    assert ("CKV_AWS_192", "AWS::WAFv2::WebACL") in passed  # Log4j lookups: the known-bad-inputs rule set
    template = synth.template("search", "eu-west-1")
    ((acl_id, _acl),) = [(k, v) for k, v in template["Resources"].items() if v["Type"] == "AWS::WAFv2::WebACL"]
    (logging,) = [v["Properties"] for v in template["Resources"].values()
                  if v["Type"] == "AWS::WAFv2::LoggingConfiguration"]
    assert logging["ResourceArn"] == {"Fn::GetAtt": [acl_id, "Arn"]}
    (destination,) = logging["LogDestinationConfigs"]
    assert "log-group:aws-waf-logs-shop-search-eu-west-1" in json.dumps(destination)
    assert not json.dumps(destination).endswith(':*"]}')
