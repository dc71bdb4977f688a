"""The benchmark still runs (tiny sizes, in its own process, nothing recorded): it asserts
its own requests answered 200 and prints both tables. Figures are not checked here."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]


@pytest.mark.slow
def test_bench_search_api_runs(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "bench", "search_api", "--products", "300",
                           "--requests", "40", "--imports", "1", "--index-dir", str(tmp_path / "index"),
                           "--no-record"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "| cpu | p50 |" in proc.stdout and "| embedded | cpu |" in proc.stdout and "| opensearch | wall |" in \
        proc.stdout
