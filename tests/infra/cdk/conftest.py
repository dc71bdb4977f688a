"""One synth of the whole CDK app per test session, shared by every infra test.

Tests here are marked ``xdist_group("cdk")`` so that one xdist worker runs them all and
synthesizes once. Bundling is skipped (context ``skip_bundling``) and CDK's built-in
CloudFormation validator is off; cdk-nag's AwsSolutions pack runs, and its report is
kept for ``test_nag``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from catalog.config import parse_config

ACCOUNT = "111122223333"
CERT_EU = f"arn:aws:acm:eu-west-1:{ACCOUNT}:certificate/12345678-1234-1234-1234-123456789012"

# Three regions, failover routing: covers PRIMARY, SECONDARY over a latency set, an
# existing certificate (eu-west-1), DNS-validated ones, the production OpenSearch profile
# (eu-west-1 by default, ap-southeast-2 sized) and the dev profile (us-east-1).
MAIN_CONFIG: dict[str, Any] = {
    "name_prefix": "shop",
    "regions": ["us-east-1", "eu-west-1", "ap-southeast-2"],
    "routing": "failover",
    "health_check": {"interval_seconds": 30, "failure_threshold": 2, "path": "/health"},
    "engine": {"index_alias": "products", "shards": 2, "replicas": 1},
    "thresholds": {"replication_latency_ms": 3000, "iterator_age_ms": 90000, "dlq_depth": 0},
    "aws": {
        "account": ACCOUNT,
        "domain_name": "search.shop.example",
        "hosted_zone_id": "Z0HOSTEDZONE1",
        "hosted_zone_name": "shop.example",
        "indexer_memory_mb": 1536,
        "search_memory_mb": 768,
        "stream_batch_size": 250,
        "stream_batching_window_seconds": 2,
        "stream_max_retries": 7,
        "stream_max_record_age_seconds": 7200,
        "stream_parallelization_factor": 3,
        "queue_batch_size": 250,
        "queue_batching_window_seconds": 3,
        "api_throttle_rate": 150,
        "api_throttle_burst": 300,
        "api_rate_limit_per_5min": 1200,
        "alarm_email": "oncall@shop.example",
        "certificates": {"eu-west-1": CERT_EU},
        "opensearch": {
            "us-east-1": {"profile": "dev-2az-no-dedicated-masters", "instance_type": "r7g.large.search",
                          "instance_count": 2, "volume_gb": 30},
            "ap-southeast-2": {"instance_type": "m7g.large.search", "instance_count": 3,
                               "master_instance_type": "m7g.large.search"},
        },
    },
}

# Two regions, latency routing.
LATENCY_CONFIG: dict[str, Any] = {
    **MAIN_CONFIG,
    "regions": ["eu-central-1", "us-west-2"],
    "routing": "latency",
    "health_check": {"interval_seconds": 10, "failure_threshold": 3},
    "aws": {k: v for k, v in MAIN_CONFIG["aws"].items() if k not in ("certificates", "opensearch", "alarm_email")},
}


@dataclass
class Synth:
    """The synthesized cloud assembly: templates by stack name, the manifest and the nag report."""

    config: Any
    outdir: Path
    templates: dict[str, dict[str, Any]]
    manifest: dict[str, Any]
    validation_error: str | None
    report: dict[str, Any] | None
    _cdk_templates: dict[str, Any] = field(default_factory=dict)

    def template(self, kind: str, region: str | None = None) -> dict[str, Any]:
        return self.templates[self.config.stack_name(kind, region)]

    def assertions(self, kind: str, region: str | None = None):  # -> aws_cdk.assertions.Template
        from aws_cdk.assertions import Template

        name = self.config.stack_name(kind, region)
        if name not in self._cdk_templates:
            self._cdk_templates[name] = Template.from_json(self.templates[name])
        return self._cdk_templates[name]

    def dependencies(self, stack_name: str) -> set[str]:
        artifact = self.manifest["artifacts"][stack_name]
        return {d for d in artifact.get("dependencies", []) if not d.endswith(".assets")}


def synthesize(raw: dict[str, Any], outdir: Path) -> Synth:
    from infra.app import create_app, new_app
    from infra.settings import for_aws

    dep = for_aws(parse_config(raw, "test"))
    app = new_app(outdir=str(outdir), context={"skip_bundling": True}, validation=False)
    create_app(dep, app)
    error = None
    try:
        app.synth()
    except RuntimeError as exc:  # cdk-nag findings: the report says which
        if "ValidationFailed" not in str(exc):
            raise
        error = str(exc)
    report_path = outdir / "validation-report.json"
    report = json.loads(report_path.read_text()) if report_path.exists() else None
    manifest = json.loads((outdir / "manifest.json").read_text())
    templates = {p.name.removesuffix(".template.json"): json.loads(p.read_text())
                 for p in outdir.glob("*.template.json")}
    return Synth(dep.config, outdir, templates, manifest, error, report)


@pytest.fixture(scope="session")
def synth(tmp_path_factory) -> Synth:
    return synthesize(MAIN_CONFIG, tmp_path_factory.mktemp("cdk-main"))


@pytest.fixture(scope="session")
def latency_synth(tmp_path_factory) -> Synth:
    return synthesize(LATENCY_CONFIG, tmp_path_factory.mktemp("cdk-latency"))


# ---------------------------------------------------------------- template helpers
def resources(template: dict[str, Any], rtype: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == rtype}


def one(template: dict[str, Any], rtype: str, **match: Any) -> dict[str, Any]:
    """The single resource of ``rtype`` whose Properties contain ``match`` (top-level keys)."""
    found = [v for v in resources(template, rtype).values()
             if all(v.get("Properties", {}).get(k) == val for k, val in match.items())]
    assert len(found) == 1, f"expected one {rtype} with {match}, found {len(found)}"
    return found[0]


_PSEUDO = {"AWS::Partition": "aws", "AWS::URLSuffix": "amazonaws.com"}


def flat(value: Any) -> Any:
    """Resolve ``Fn::Join`` of literals, ``AWS::Partition`` and ``AWS::URLSuffix`` into strings (else leave as is)."""
    if isinstance(value, dict):
        if set(value) == {"Ref"} and value["Ref"] in _PSEUDO:
            return _PSEUDO[value["Ref"]]
        if set(value) == {"Fn::Join"}:
            sep, parts = value["Fn::Join"]
            parts = [flat(p) for p in parts]
            if all(isinstance(p, str) for p in parts):
                return sep.join(parts)
            return {"Fn::Join": [sep, parts]}
        return {k: flat(v) for k, v in value.items()}
    if isinstance(value, list):
        return [flat(v) for v in value]
    return value


def statements(template: dict[str, Any], role_logical_id: str) -> list[dict[str, Any]]:
    """Every statement of every inline policy attached to the role (policies and the role's own)."""
    out: list[dict[str, Any]] = []
    role = template["Resources"][role_logical_id]
    for policy in role["Properties"].get("Policies", []):
        out += policy["PolicyDocument"]["Statement"]
    for res in resources(template, "AWS::IAM::Policy").values():
        if {"Ref": role_logical_id} in res["Properties"].get("Roles", []):
            out += res["Properties"]["PolicyDocument"]["Statement"]
    return [flat(s) for s in out]


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]
