"""Quality gates on the synthesized app: cdk-nag AwsSolutions and cfn-lint."""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.xdist_group("cdk")
STACKS = [f"shop-{kind}-{region}" for kind in ("storage", "replication", "search")
          for region in ("us-east-1", "eu-west-1", "ap-southeast-2")] + [
              "shop-table", "shop-site", "shop-health-alarms"]


def _aws_solutions(report):
    (plugin,) = [p for p in report["pluginReports"] if p["pluginName"] == "AwsSolutions"]
    return plugin


def test_cdk_nag_aws_solutions_has_no_unacknowledged_finding(synth):
    assert synth.report is not None, "cdk-nag did not run"
    plugin = _aws_solutions(synth.report)
    open_findings = [(v["ruleName"], c["constructPath"]) for v in plugin.get("violations", [])
                     for c in v["violatingConstructs"]]
    assert open_findings == [], synth.validation_error
    assert synth.validation_error is None


def test_every_acknowledgment_has_a_specific_reason(synth):
    suppressed = _aws_solutions(synth.report).get("suppressedViolations", [])
    assert suppressed, "expected acknowledged findings (anonymous API, X-Ray '*', ...)"
    reasons: dict[str, set[str]] = {}
    for v in suppressed:
        reason = v["reason"]
        assert len(reason) >= 60, f"{v['ruleName']}: reason too short: {reason!r}"
        assert not any(w in reason.lower() for w in ("todo", "tbd", "n/a", "suppress")), reason
        reasons.setdefault(reason, set()).add(v["ruleName"].split("[")[0])
    # a reason explains one kind of finding, not every kind at once
    for reason, rules in reasons.items():
        assert len(rules) <= 2, f"one reason used for {sorted(rules)}: {reason!r}"


def test_acknowledgments_are_scoped_to_constructs_not_stacks(synth):
    for v in _aws_solutions(synth.report).get("suppressedViolations", []):
        for c in v["violatingConstructs"]:
            assert c["constructPath"].count("/") >= 1
    # and a deployment with dedicated masters gets no OS4 acknowledgment to hide behind
    rules = {(v["ruleName"], c["constructPath"].split("/")[0])
             for v in _aws_solutions(synth.report).get("suppressedViolations", []) for c in v["violatingConstructs"]}
    assert ("AwsSolutions-OS4", "shop-search-ap-southeast-2") not in rules
    assert ("AwsSolutions-OS4", "shop-search-us-east-1") in rules


@pytest.mark.parametrize("stack", STACKS)
def test_cfn_lint_reports_no_error(synth, stack):
    from cfnlint.api import ManualArgs, lint

    template = synth.templates[stack]
    region = synth.manifest["artifacts"][stack]["environment"].rsplit("/", 1)[1]
    matches = lint(json.dumps(template), config=ManualArgs(regions=[region]))
    errors = [f"{m.rule.id} {m.message} ({'/'.join(map(str, m.path))})" for m in matches
              if m.rule.severity == "error"]
    assert errors == []
    assert len(synth.templates) == len(STACKS)
