"""Smoke tests: the peer poll benchmark and the dashboard store cache run end to end on tiny input.

100 feeds, so ours takes its process-pool path (poller.PARSE_POOL_MIN_FEEDS) and the
run checks its own counts (every item stored, zero parse calls when warm).
"""

import importlib.util
import re
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


@pytest.mark.timeout(180)
def test_peers_benchmark_runs_on_the_dense_corpus():
    r = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks/peers.py"), "--feeds", "100", "--items", "2", "--rounds", "1",
         "--reader-workers", "4", "--corpus", "dense"],
        capture_output=True, text=True, timeout=170,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr  # it checks that ours and reader stored every item
    out = r.stdout
    assert "100 feeds x 2 items of dense crisis text (200 items)" in out
    assert "ours warm cycle: 0 parse calls" in out
    m = re.search(r"ours cold cycle: writer busy ([\d.]+) s \((\d+) % of the cycle, on a core ([\d.]+) s\); "
                  r"(\d+) bytes/article on disk", out)  # fmt: skip
    assert m, out
    busy, share, cpu, per_article = float(m[1]), int(m[2]), float(m[3]), int(m[4])
    assert busy > 0 and 0 < share <= 100 and 0 < cpu <= busy + 0.01 and per_article > 0
    # both ratios, cold and warm, in each peer's row: reader's when the bench extra is
    # installed (make bench), the plain feedparser loop's always
    peers = ["feedparser loop"] + (["reader w=4"] if importlib.util.find_spec("reader") else [])
    for name in peers:
        row = next(line for line in out.splitlines() if line.startswith(name))[len(name):].split()
        assert row[2].endswith("x") and row[4].endswith("x") and row[5] == "200", row
    if len(peers) == 1:
        assert "reader not installed" in r.stderr + out


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
