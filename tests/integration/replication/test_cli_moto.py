"""The commands end to end through ``storefront`` (target: moto + embedded engines)."""

from __future__ import annotations

import dataclasses
import json

import pytest

import replication.targets
from catalog.engine import UpsertItem
from catalog.generator import generate
from storefront_cli.main import main
from tests.integration.replication.replication_harness import index_everything, write_products


@pytest.fixture
def cli(cfg, target, monkeypatch):
    monkeypatch.setattr(replication.targets, "resolve_target", lambda config, mode=None: target)
    monkeypatch.setattr(target, "close", lambda: None)  # the fixture owns the engines

    def run(*argv):
        return main(list(argv))

    return run


@pytest.fixture
def loaded(cfg, clients, target):
    gen = list(generate(40, seed=11))
    for region in cfg.regions:
        write_products(cfg, clients, region, [g.product for g in gen], [g.content for g in gen])
        index_everything(target, region, [g.product for g in gen], [g.content for g in gen])
    return gen


def test_audit_json_and_exit_codes(cli, target, loaded, capsys):
    assert cli("audit", "--json") == 0
    assert json.loads(capsys.readouterr().out)["ok"] is True
    extra = dataclasses.replace(loaded[1].product, id="only-in-index")
    target.engine("eu-west-1").apply([UpsertItem(extra)])
    assert cli("audit", "--region", "eu-west-1") == 1
    out = capsys.readouterr().out
    assert "extra: 1" in out and "only-in-index" in out
    assert cli("audit", "--region", "eu-west-1", "--repair") == 0
    assert "(1 repaired)" in capsys.readouterr().out
    assert cli("audit", "--region", "eu-west-1") == 0


def test_reindex_and_rollback_commands(cli, target, loaded, capsys):
    before = target.engine("us-east-1").alias_target()
    assert cli("reindex", "--region", "us-east-1", "--json") == 0
    data = json.loads(capsys.readouterr().out)
    assert data["ok"] and data["regions"][0]["new_count"] == 40
    assert cli("reindex", "--region", "us-east-1", "--rollback") == 0
    assert target.engine("us-east-1").alias_target() == before
    assert "rollback us-east-1: alias -> " in capsys.readouterr().out


def test_status_and_drill_plan(cli, cfg, clients, target, loaded, capsys):
    assert cli("replication", "status") == 1  # the primary bucket has no replication rule here
    assert "no enabled rule replicates products/" in capsys.readouterr().out
    assert cli("drill", "plan", "--region", "us-east-1", "--json") == 0
    data = json.loads(capsys.readouterr().out)
    assert data["executed"] is False and data["preflight_ok"] and len(data["plan"]) == 5
    assert cli("drill", "run", "--region", "us-east-1", "--method", "maintenance") == 0  # no --execute: plan only
    out = capsys.readouterr().out
    assert "PLAN (not executed)" in out and "--execute" in out
    value = clients("ssm", "us-east-1").get_parameter(Name=cfg.maintenance_parameter("us-east-1"))
    assert value["Parameter"]["Value"] == "off"
