"""Smoke test: the scoring benchmark runs end to end on tiny input."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BENCH = ROOT / "benchmarks/score.py"


@pytest.mark.timeout(120)
def test_score_benchmark_runs_on_tiny_input():
    r = subprocess.run(
        [sys.executable, str(BENCH), "--n", "40", "--min-seconds", "0"],
        capture_output=True, text=True, timeout=110,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].startswith("40 synthetic title+summary texts")
    assert "articles/s" in lines[1] and "articles/s" in lines[2]
    assert lines[3].startswith("ratio:")


@pytest.mark.timeout(120)
def test_score_benchmark_json_and_headlines_file(tmp_path):
    f = tmp_path / "h.csv"
    f.write_text("id,title\n1,Russia masses troops near Ukraine border\n2,Local team wins cup\n", encoding="utf-8")
    r = subprocess.run(
        [sys.executable, str(BENCH), "--n", "10", "--min-seconds", "0", "--headlines", str(f), "--json"],
        capture_output=True, text=True, timeout=110,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    assert d["texts"] == 10 and d["ours_articles_per_s"] > 0 and d["re_articles_per_s"] > 0
    # the automaton scorer beats a plain re loop over the same patterns
    assert d["ours_articles_per_s"] > d["re_articles_per_s"]


def test_score_benchmark_missing_file_exits_2(tmp_path):
    r = subprocess.run(
        [sys.executable, str(BENCH), "--n", "5", "--headlines", str(tmp_path / "nope.csv")],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert r.returncode == 2 and "no such file" in r.stderr
