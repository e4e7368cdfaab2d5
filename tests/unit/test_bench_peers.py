"""Smoke tests: the peer poll benchmark and the dashboard store cache run end to end on tiny input.

100 feeds, so ours takes its process-pool path (poller.PARSE_POOL_MIN_FEEDS) and the
run checks its own counts (every item stored, zero parse calls when warm).
"""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.timeout(180)
def test_peers_benchmark_runs_on_tiny_input():
    r = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks/peers.py"), "--feeds", "100", "--items", "2", "--rounds", "1",
         "--reader-workers", "4"],
        capture_output=True, text=True, timeout=170,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert "ours warm cycle: 0 parse calls" in out
    assert "feedparser loop" in out


@pytest.mark.timeout(120)
def test_dashboard_store_is_built_once_and_cached(tmp_path):
    cmd = [sys.executable, str(ROOT / "benchmarks/dashboard.py"), "--articles", "300", "--cache-dir", str(tmp_path),
           "--build-only"]  # fmt: skip
    first = subprocess.run(cmd, capture_output=True, text=True, timeout=110)
    assert first.returncode == 0, first.stderr
    path = Path(first.stdout.strip())
    assert path.exists() and path.parent == tmp_path and "dashboard-300-" in path.name
    assert "building" in first.stderr
    again = subprocess.run(cmd, capture_output=True, text=True, timeout=110)
    assert again.stdout.strip() == str(path) and "building" not in again.stderr
