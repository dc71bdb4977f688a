"""Exit codes and messages of the replication commands for user mistakes (no AWS needed)."""

from __future__ import annotations

import pytest

from storefront_cli.main import main


@pytest.fixture
def config(tmp_path, monkeypatch):
    path = tmp_path / "storefront.toml"
    path.write_text('regions = ["us-east-1", "eu-west-1"]\n[sandbox]\nstate_dir = "st"\n')
    monkeypatch.setenv("STOREFRONT_CONFIG", str(path))
    return path


@pytest.mark.parametrize("argv, message", [
    (["audit", "--sandbox"], "no running sandbox"),
    (["replication", "status", "--sandbox"], "sandbox up"),
    (["drill", "plan", "--region", "us-east-1", "--sandbox"], "no running sandbox"),
    (["reindex", "--rollback", "--sandbox"], "no running sandbox"),
    (["audit", "--sample", "0"], "--sample must be 1 or more"),
    (["replication", "status", "--minutes", "0"], "--minutes must be 1 or more"),
])
def test_usage_errors_exit_2_with_one_line(config, capsys, argv, message):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_bad_config_is_exit_2(tmp_path, monkeypatch, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text('regions = ["us-east-1"]\n')
    assert main(["--config", str(bad), "audit"]) == 2
    assert "regions" in capsys.readouterr().err


def test_argparse_rejects_unknown_method(config, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["drill", "run", "--region", "us-east-1", "--method", "unplug"])
    assert exc.value.code == 2
