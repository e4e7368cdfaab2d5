"""Smoke test: the trend benchmark runs end to end on tiny sizes and prints its table."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.timeout(180)
def test_trend_benchmark_runs_on_tiny_input(tmp_path):
    chart = tmp_path / "growth.html"
    r = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks/trend.py"), "--sizes", "5500", "11000", "--chart", str(chart)],
        capture_output=True, text=True, timeout=170,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[1].split()[0] == "5,500" and lines[2].split()[0] == "11,000"
    assert all(float(x) > 0 for x in lines[2].split()[1:])
    assert "growth 5,500 -> 11,000" in r.stdout
    assert chart.stat().st_size > 100_000
