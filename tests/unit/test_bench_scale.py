"""Smoke test: the scale benchmark runs end to end on tiny input (SQLite and PostgreSQL)
and checks its own counts (no item stored twice, no feed fetched twice)."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.postgresql
@pytest.mark.timeout(180)
def test_scale_benchmark_runs_on_tiny_input(postgres_server):
    r = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks/scale.py"), "--feeds", "8", "--items", "3", "--latency-ms", "5",
         "--workers", "1,2", "--start-delay", "1", "--pg", postgres_server],
        capture_output=True, text=True, timeout=170,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr[-3000:]
    table = r.stdout.splitlines()
    head = table.index(next(line for line in table if line.startswith("backend")))
    rows = [line.split() for line in table[head + 1 :]]
    assert [(b, w, f, i) for b, w, f, i, *_ in rows] == [
        ("sqlite", "1", "8", "24"),
        ("postgresql", "1", "8", "24"),
        ("postgresql", "2", "8", "24"),
    ]
    assert all(float(r[4]) > 0 and float(r[6]) > 0 for r in rows)
