"""Smoke test: the per-process CPU split of a cold poll runs on tiny input."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="needs Linux /proc")
@pytest.mark.timeout(120)
def test_cpu_split_benchmark_runs_on_tiny_input():
    r = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks/cpu_split.py"), "--feeds", "6", "--items", "4", "--corpus", "dense"],
        capture_output=True, text=True, timeout=110,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr  # it checks that every article was stored
    assert r.stdout.startswith("dense 6 x 4: cold ") and ", 24 articles, " in r.stdout
    assert re.search(r"^poller process +[\d.]+ +\d+$", r.stdout, re.M), r.stdout
    assert re.search(r"^total +[\d.]+ +\d+$", r.stdout, re.M), r.stdout
