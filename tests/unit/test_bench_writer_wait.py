"""Smoke test: the writer-wait diagnostic runs on tiny input and splits the writer's busy time."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.skipif(not Path("/proc/self/schedstat").exists(), reason="needs Linux schedstats")
@pytest.mark.timeout(120)
def test_writer_wait_benchmark_runs_on_tiny_input():
    r = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks/writer_wait.py"), "--feeds", "6", "--items", "4", "--corpus", "dense"],
        capture_output=True, text=True, timeout=110,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr  # it checks that every article was stored
    assert r.stdout.startswith("dense 6x4: cold cycle ") and ", 24 articles; " in r.stdout
    m = re.search(r"writer busy ([\d.]+) s: on a core ([\d.]+) s, waiting for a core ([\d.]+) s, "
                  r"the rest \(GIL, disk\) ([\d.]+) s", r.stdout)  # fmt: skip
    assert m, r.stdout
    busy, cpu, queued, rest = map(float, m.groups())
    assert busy > 0 and 0 < cpu <= busy + 0.01 and queued >= 0 and rest >= 0
