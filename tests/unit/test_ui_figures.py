"""The Overview's trend figure: markers and bars a click can select for short periods,
lines and areas for periods too dense to click one bucket of (a browser draws thousands of
SVG markers and bars slowly; benchmarks/dashboard.py)."""

from __future__ import annotations

from dataclasses import fields
from datetime import datetime, timedelta, timezone

import pandas as pd
import plotly.graph_objects as go
import pytest

from pipeline.trend import TrendPoint
from pipeline.ui import overview

START = datetime(2021, 1, 1, tzinfo=timezone.utc)
LABELS = {"RUS-UKR": "Russia–Ukraine", "CHN-TWN": "China–Taiwan"}


def series(days: int) -> pd.DataFrame:
    rows = []
    for t in LABELS:
        for d in range(days):
            rows.append(TrendPoint(t, START + timedelta(days=d), "day", 100.0 + d % 7, 60.0, 40.0 + d % 7, 20.0,
                                   100.0, 3.0 if d == days - 1 else 0.0, 50, 4, 10))  # fmt: skip
    names = [f.name for f in fields(TrendPoint)]
    return pd.DataFrame({n: [getattr(p, n) for p in rows] for n in names}, columns=names)


def volume(days: int) -> pd.DataFrame:
    return pd.DataFrame(
        [(START + timedelta(days=d), src, 10) for d in range(days) for src in ("Wire", "Broadcaster")],
        columns=["bucket_start", "source", "articles"],
    )


def kinds(fig: go.Figure) -> list[tuple[str, str | None, str | None]]:
    return [(tr.type, getattr(tr, "mode", None), getattr(tr, "stackgroup", None)) for tr in fig.data]


@pytest.mark.parametrize("theatre", [None, "RUS-UKR"])
def test_short_periods_keep_clickable_markers_and_bars(theatre):
    days = overview.DENSE_BUCKETS
    fig = overview.trend_figure(series(days), volume(days), theatre, LABELS, "day")
    assert not overview.is_dense(series(days))
    if theatre is None:
        lines = [tr for tr in fig.data if tr.type == "scatter" and tr.name in LABELS.values()]
        assert len(lines) == 2 and all(tr.mode == "lines+markers" for tr in lines)
        # every point carries what the drill-down needs
        assert {tuple(line.customdata[0][:2]) for line in lines} == {("RUS-UKR", "2021-01-01"), ("CHN-TWN", "2021-01-01")}
    else:
        bars = [tr for tr in fig.data if tr.type == "bar" and tr.name in ("Threats", "Acts", "De-escalation")]
        assert len(bars) == 3 and min(bars[2].y) < 0  # de-escalation below the axis
    assert sum(1 for tr in fig.data if tr.type == "bar" and tr.legendgroup == "sources") == 2


@pytest.mark.parametrize("theatre", [None, "RUS-UKR"])
def test_dense_periods_draw_lines_and_areas(theatre):
    days = overview.DENSE_BUCKETS + 1
    s = series(days)
    fig = overview.trend_figure(s, volume(days), theatre, LABELS, "day")
    assert overview.is_dense(s)
    # no bar anywhere, and only the alert markers are markers
    assert not [tr for tr in fig.data if tr.type == "bar"]
    marked = [tr for tr in fig.data if tr.type == "scatter" and "markers" in (tr.mode or "")]
    assert [tr.name for tr in marked] == [f"Alert (z ≥ {overview.ALERT_Z:g})"]
    assert len(marked[0].x) == (2 if theatre is None else 1)  # the last day of each line is an alert
    if theatre is not None:
        areas = {tr.name: tr.stackgroup for tr in fig.data if tr.name in ("Threats", "Acts", "De-escalation")}
        assert areas == {"Threats": "up", "Acts": "up", "De-escalation": "down"}
    sources = [tr for tr in fig.data if tr.legendgroup == "sources"]
    assert len(sources) == 2 and {tr.stackgroup for tr in sources} == {"volume"}
    # the same numbers are drawn either way
    assert sum(sum(tr.y) for tr in sources) == 10 * 2 * days


def _theatres(levels: dict[str, list[float]]) -> pd.DataFrame:
    rows = []
    for t, values in levels.items():
        for d, v in enumerate(values):
            ewma = sum(values[: d + 1]) / (d + 1)  # any smoother will do for the figure
            rows.append(TrendPoint(t, START + timedelta(days=d), "day", v, 1.0, 1.0, 0.0, ewma, 0.0, 50, 4, 10))
    names = [f.name for f in fields(TrendPoint)]
    return pd.DataFrame({n: [getattr(p, n) for p in rows] for n in names}, columns=names)


def test_all_theatres_draws_the_top_ones_unless_asked():
    levels = {f"T{i}": [10.0 * i + (d % 2) for d in range(5)] for i in range(1, 7)}
    s = _theatres(levels)
    labels = {t: t for t in levels}
    assert overview.top_theatres(s, 3) == ["T6", "T5", "T4"]
    fig = overview.trend_figure(s, volume(0).iloc[:0], None, labels, "day", shown=["T6", "T5", "T4"])
    assert sorted(tr.name for tr in fig.data) == ["T4", "T5", "T6"]
    fig = overview.trend_figure(s, volume(0).iloc[:0], None, labels, "day")
    assert len(fig.data) == 6


def test_a_noisy_daily_series_is_drawn_smoothed_with_the_raw_value_on_hover():
    noisy = [100.0 if d % 2 else 20.0 for d in range(20)]
    calm = [100.0 + d % 3 for d in range(20)]
    assert overview.is_noisy(pd.Series(noisy)) and not overview.is_noisy(pd.Series(calm))
    assert not overview.is_noisy(pd.Series(noisy[:5]))  # too short to tell
    s = _theatres({"RUS-UKR": noisy, "CHN-TWN": calm})
    fig = overview.trend_figure(s, volume(0).iloc[:0], None, LABELS, "day")
    by_name = {tr.name: tr for tr in fig.data}
    smooth = by_name["Russia–Ukraine (7-day EWMA)"]
    assert list(smooth.y) == list(s[s["theatre"] == "RUS-UKR"]["index_ewma"])
    assert [c[2] for c in smooth.customdata] == noisy and "customdata[2]" in smooth.hovertemplate
    assert list(by_name["China–Taiwan"].y) == calm


def test_dashboard_server_preloads_libraries_but_no_streamlit_cache():
    """pipeline.ui.serve imports what the first page needs before Streamlit's runtime
    exists, but nothing that defines a Streamlit cache, and hands its arguments to Streamlit."""
    import subprocess
    import sys

    probe = (
        "import sys; from pipeline.ui import serve; serve.preload(); "
        "print(sorted(m for m in ('pandas', 'plotly.graph_objects', 'pipeline.trend', 'pipeline.ui.data', "
        "'pipeline.ui.overview') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "['pandas', 'pipeline.trend', 'plotly.graph_objects']"
    assert "No runtime found" not in out.stderr
    version = subprocess.run([sys.executable, "-m", "pipeline.ui.serve", "version"], capture_output=True, text=True,
                             timeout=60)  # fmt: skip
    assert version.returncode == 0 and "Streamlit, version" in version.stdout, version.stderr


def _category_rows(days: int) -> pd.DataFrame:
    rows = [(START + timedelta(days=d), sig, w, 1) for d in range(days) for sig, w in (("troop_buildup", 2.0),
            ("talks", 0.5))]  # fmt: skip
    return pd.DataFrame(rows, columns=["bucket_start", "signal", "weight", "count"])


def test_signal_mix_is_daily_for_short_periods_and_weekly_means_for_long_ones():
    short, weekly = overview.signal_mix(_category_rows(overview.DENSE_BUCKETS), "day")
    assert not weekly and len(short) == overview.DENSE_BUCKETS
    assert list(short.columns) == ["troop_buildup", "talks"]  # strongest first
    days = overview.DENSE_BUCKETS + 60
    long, weekly = overview.signal_mix(_category_rows(days), "day")
    assert weekly
    # weeks start on a Monday; a week's value is its mean per day, partial weeks included
    assert all(ts.weekday() == 0 for ts in long.index)
    assert set(long["troop_buildup"]) == {2.0} and set(long["talks"]) == {0.5}
    assert len(long) == len(pd.date_range(START.replace(tzinfo=None), periods=days, freq="D").to_period("W-SUN").unique())
    # a day without any signal counts as zero in its week
    gappy = _category_rows(days)
    gappy = gappy[gappy["bucket_start"] != START + timedelta(days=10)]  # a Monday
    g, _ = overview.signal_mix(gappy, "day")
    assert g.loc[pd.Timestamp(START + timedelta(days=10))]["troop_buildup"] == 2.0 * 6 / 7
    # hours are never summed into weeks
    _, weekly = overview.signal_mix(_category_rows(days), "hour")
    assert not weekly


def test_matrix_splits_threats_and_acts_and_names_the_unknown_actor():
    from pipeline.ui import actors

    pairs = pd.DataFrame(
        [("RUS", "UKR", "threat", 4.0, 1, 2), ("RUS", "UKR", "act", 6.0, 1, 1), (None, None, "act", 2.0, 1, 1),
         ("CHN", "TWN", "act", 3.0, 1, 1)],
        columns=["source", "target", "kind", "weight", "stories", "articles"],
    )  # fmt: skip
    sources, targets, grids = actors.matrix_frames(pairs)
    assert sources == ["RUS", "CHN", "?"] and targets == ["UKR", "TWN", "?"]
    assert grids["threat"].at["RUS", "UKR"] == 4.0 and pd.isna(grids["threat"].at["CHN", "TWN"])
    assert grids["act"].at["RUS", "UKR"] == 6.0 and grids["act"].at["?", "?"] == 2.0
    fig = actors.matrix_figure(pairs)
    clickable = [tr for tr in fig.data if tr.type == "scatter"]
    # one clickable marker per filled cell, carrying what the Articles filter needs
    assert sorted(tuple(c[:3]) for tr in clickable for c in tr.customdata) == [
        ("?", "?", "act"), ("CHN", "TWN", "act"), ("RUS", "UKR", "act"), ("RUS", "UKR", "threat")]
    assert actors.weights(pairs) == {"RUS": 10.0, "UKR": 10.0, "CHN": 3.0, "TWN": 3.0}


def test_map_colours_every_shipped_country_and_fetches_nothing():
    from pipeline.ui import actors

    fig = actors.map_figure({"RUS": 10.0, "NATO": 5.0})
    (trace,) = fig.data
    assert trace.type == "choroplethmap" and len(trace.locations) > 150
    assert dict(zip(trace.locations, trace.z, strict=True))["RUS"] == 10.0
    assert "NATO" not in trace.locations  # no shape: listed beside the map instead
    assert fig.layout.map.style == "white-bg"  # no tile source to fetch
    assert trace.featureidkey == "id" and {f["id"] for f in trace.geojson["features"]} == set(trace.locations)
