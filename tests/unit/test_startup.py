"""Start-up: what a command that scores nothing pays before it polls (issue 17).

No timing here (benchmarks/startup.py measures it); these check the reasons a
start is quick: modules a poll of nothing does not need are not imported.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_the_poller_imports_neither_numpy_nor_alembic():
    code = ("import sys, pipeline.cli, pipeline.poller; "
            "print(sorted(m for m in ('numpy', 'alembic', 'pandas', 'streamlit', 'plotly', 'simplemma') "
            "if m in sys.modules))")  # fmt: skip
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == "[]", out.stderr


@pytest.mark.timeout(180)
def test_the_startup_benchmark_runs():
    r = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "startup.py"), "--runs", "1"],
                       capture_output=True, text=True, timeout=170)  # fmt: skip
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].startswith("poll --once, one dead feed, whole process, median of 1")
    assert [ln.split()[0] for ln in lines[1:4]] == ["warm", "cold", "no"]
    assert all(float(ln.split()[-2]) > 0 for ln in lines[1:4])
