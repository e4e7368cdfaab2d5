"""Smoke test: the per-stage CPU benchmark runs on tiny input, on both generated corpora."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
STAGES = ["parse_feed", "score_article", "simhash", "pack scores (parse process)", "pickle dumps (parse process)",
          "pickle loads (poller process)", "store (record_updates)"]  # fmt: skip


@pytest.mark.timeout(120)
@pytest.mark.parametrize("corpus, min_signals", [("synthetic", 1), ("dense", 10)])
def test_stages_benchmark_runs_on_tiny_input(corpus, min_signals):
    r = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks/stages.py"), "--feeds", "3", "--items", "5", "--corpus", corpus],
        capture_output=True, text=True, timeout=110,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr  # it checks that every article was stored
    lines = r.stdout.splitlines()
    assert lines[0].startswith(f"{corpus}: 15 articles, ")
    assert float(lines[0].split(", ")[1].split()[0]) >= min_signals
    figures = {line[:32].strip(): float(line[32:]) for line in lines[2:]}
    assert list(figures) == STAGES
    assert figures["parse_feed"] > 0 and figures["score_article"] > 0 and figures["store (record_updates)"] > 0
