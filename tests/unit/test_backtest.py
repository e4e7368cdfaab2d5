"""Backtest arithmetic on synthetic series, and the real replay when ../shared is present."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pipeline.backtest import compare, spearman

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared" / "data"


def test_spearman_matches_definition():
    a = pd.Series([1, 2, 3, 4, 5.0])
    assert spearman(a, a**3) == pytest.approx(1.0)
    assert spearman(a, -a) == pytest.approx(-1.0)
    assert spearman(pd.Series([1, 2, 2, 3.0]), pd.Series([1, 3, 2, 4.0])) == pytest.approx(0.9487, abs=1e-4)


def test_compare_finds_the_lead():
    days = pd.date_range("2022-01-01", periods=80, freq="D")
    rng = np.random.default_rng(0)
    gpr = pd.Series(np.cumsum(rng.normal(size=80)) + 50, index=days)
    ours = gpr.shift(-5, freq="D")  # ours moves 5 days earlier
    r = compare(ours, gpr, "synthetic")
    assert r.best_lag_days == 5 and r.best_lag_spearman == pytest.approx(1.0)
    assert r.spearman < 1.0


@pytest.mark.shared
@pytest.mark.timeout(300)
def test_backtest_on_shared_headlines(tmp_path):
    headlines, gpr = SHARED / "headlines/headlines.csv", SHARED / "gpr/gpr_daily.csv"
    if not (headlines.exists() and gpr.exists()):
        pytest.skip("../shared/data is optional and absent")
    out = tmp_path / "bt.html"
    r = subprocess.run(
        [sys.executable, "-m", "pipeline", "backtest", "--headlines", str(headlines), "--gpr", str(gpr),
         "--out", str(out)],
        capture_output=True, text=True, timeout=280,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert "all headlines" in r.stdout and "spearman" in r.stdout
    assert out.stat().st_size > 100_000  # plotly.js embedded: opens offline
