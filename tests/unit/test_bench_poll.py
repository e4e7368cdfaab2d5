"""Smoke test: the poll benchmark runs end to end on tiny input and checks its own counts."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.timeout(120)
def test_poll_benchmark_runs_on_tiny_input():
    r = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks/poll.py"), "--feeds", "6", "--items", "4"],
        capture_output=True, text=True, timeout=110,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    cold = next(line for line in lines if line.startswith("cold")).split()
    warm = next(line for line in lines if line.startswith("warm")).split()
    assert cold[1:5] == ["6", "24", "0", "0"]
    assert warm[1:5] == ["6", "0", "6", "0"]
