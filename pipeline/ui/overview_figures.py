"""The Overview page's figures: the risk trend, the language split and the signal mix.

Plain functions from DataFrames to Plotly figures (or to the frame a chart
draws), with no Streamlit in them, so they can be tested and benchmarked
without a page (tests/unit/test_ui_figures.py, benchmarks/dashboard.py).

Owns: how the index is drawn (dense series as lines and areas, noisy ones as
their EWMA, alerts as triangles) and the hover texts, escaped (``md_safe``).
Must not touch: data reads (pipeline.ui.data), widgets and page state
(pipeline.ui.overview).
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from . import palette

#: a point whose z-score reaches this is marked on the trend (two standard
#: deviations above the theatre's recent mean: rare by chance, ~2 % of days)
ALERT_Z = 2.0
#: a series with more buckets than this is drawn as lines and areas, without a marker or a
#: bar per bucket: two years of days is ~1.6 px a day on a wide screen, too dense to click one
#: day, and thousands of SVG markers and bars made the browser take seconds to draw the chart
#: (benchmarks/dashboard.py). Shorter periods keep markers and bars, which a click selects.
DENSE_BUCKETS = 150


def _x(df: pd.DataFrame) -> pd.Series:
    return pd.to_datetime(df["bucket_start"], utc=True)


def _day_key(ts: Any) -> str:
    return pd.Timestamp(ts).tz_convert("UTC").strftime("%Y-%m-%d") if pd.Timestamp(ts).tzinfo else pd.Timestamp(ts).strftime("%Y-%m-%d")


def is_dense(series: pd.DataFrame) -> bool:
    """More buckets than anyone can click one of: draw lines and areas (see DENSE_BUCKETS)."""
    return not series.empty and series["bucket_start"].nunique() > DENSE_BUCKETS


#: the "All theatres" trend draws this many theatres unless the user asks for all of them:
#: eight overlapping lines read as noise
TOP_THEATRES = 3
#: a daily index whose typical day-to-day change is this share of its typical level or more
#: is drawn as its 7-day EWMA (the raw value stays in the hover): a line that jumps by a
#: third from one day to the next hides its own trend
NOISY_CHANGE = 0.3
#: below this many points a series is too short to call noisy or to smooth
NOISY_MIN_POINTS = 10


def is_noisy(index: pd.Series) -> bool:
    """Median absolute day-to-day change over the median level reaches NOISY_CHANGE."""
    v = index.dropna()
    if len(v) < NOISY_MIN_POINTS:
        return False
    level = float(v.abs().median())
    if level <= 0:
        return False
    return float(v.diff().abs().median()) / level >= NOISY_CHANGE


def top_theatres(series: pd.DataFrame, n: int) -> list[str]:
    """The ``n`` theatres with the highest mean index in the period, highest first."""
    if series.empty:
        return []
    means = series[series["index"].notna()].groupby("theatre")["index"].mean().sort_values(ascending=False)
    return list(means.index[:n])


def trend_figure(
    series: pd.DataFrame,
    volume: pd.DataFrame,
    theatre: str | None,
    labels: dict[str, str],
    granularity: str,
    shown: list[str] | None = None,
) -> go.Figure:
    """The trend; ``shown``: the theatres to draw on the "All theatres" view (None: every one)."""
    dense = is_dense(series)
    fig = make_subplots(
        rows=2, cols=1, shared_xaxes=True, row_heights=[0.72, 0.28], vertical_spacing=0.06,
        subplot_titles=("Risk index", "Articles per source"),
    )  # fmt: skip
    hover_time = "%{x|%Y-%m-%d %H:%M} UTC" if granularity == "hour" else "%{x|%a %d %b %Y}"
    if theatre is None:
        if shown is not None:
            series = series[series["theatre"].isin(shown)]
        _add_theatre_lines(fig, series, labels, granularity, dense, hover_time)
    else:
        _add_theatre_parts(fig, series, theatre, granularity, dense, hover_time)
    _add_alerts(fig, series, theatre, hover_time)
    if not volume.empty:
        _add_source_volume(fig, volume, dense, hover_time)
    fig.update_layout(
        barmode="relative", height=520, margin=dict(l=10, r=10, t=40, b=10),
        legend=dict(yanchor="top", y=1, xanchor="left", x=1.01, font=dict(size=12)),
        hovermode="closest", clickmode="event+select", dragmode=False,
    )  # fmt: skip
    fig.update_yaxes(rangemode="tozero", row=2, col=1)
    return fig


def _add_theatre_lines(fig: go.Figure, series: pd.DataFrame, labels: dict[str, str], granularity: str,
                       dense: bool, hover_time: str) -> None:  # fmt: skip
    """"All theatres": one index line per theatre (a noisy daily one as its EWMA)."""
    for t, df in series.groupby("theatre", sort=False):
        df = df[df["index"].notna()]
        if df.empty:
            continue
        name = labels.get(t, t)
        smooth = granularity == "day" and is_noisy(df["index"])
        y = df["index_ewma"] if smooth else df["index"]
        hover = f"<b>{md_safe(name)}</b><br>{hover_time}<br>index %{{customdata[2]:.0f}}"
        if smooth:
            hover += "<br>7-day EWMA %{y:.0f}"
        fig.add_trace(
            go.Scatter(
                x=_x(df), y=y, mode="lines" if dense else "lines+markers",
                name=f"{name} (7-day EWMA)" if smooth else name,
                line=dict(color=palette.theatre_colour(t), width=2), marker=dict(size=7),
                customdata=[[t, _day_key(b), v] for b, v in zip(df["bucket_start"], df["index"], strict=True)],
                hovertemplate=hover + "<extra></extra>",
            ),
            row=1, col=1,
        )  # fmt: skip


def _add_theatre_parts(fig: go.Figure, series: pd.DataFrame, theatre: str, granularity: str, dense: bool,
                       hover_time: str) -> None:  # fmt: skip
    """One theatre: threats, acts and de-escalation (bars, or areas when dense) and the smoothed index."""
    df = series[series["theatre"] == theatre]
    cd = [[theatre, _day_key(b), v] for b, v in zip(df["bucket_start"], df["index"], strict=True)]
    x = _x(df)
    for col, name, colour, sign in (
        ("threats", "Threats", palette.THREATS, 1),
        ("acts", "Acts", palette.ACTS, 1),
        ("deescalation", "De-escalation", palette.DEESCALATION, -1),
    ):
        hover = f"{name}<br>{hover_time}<br>%{{y:.0f}}<extra></extra>"
        if dense:
            # threats and acts stack up from zero, de-escalation hangs below it
            trace = go.Scatter(
                x=x, y=sign * df[col].fillna(0), name=name, mode="lines", line=dict(width=0, color=colour),
                fillcolor=colour, stackgroup="up" if sign > 0 else "down", customdata=cd, hovertemplate=hover,
            )  # fmt: skip
        else:
            trace = go.Bar(x=x, y=sign * df[col].fillna(0), name=name, marker_color=colour, customdata=cd,
                           hovertemplate=hover)  # fmt: skip
        fig.add_trace(trace, row=1, col=1)
    fig.add_trace(
        go.Scatter(
            x=x, y=df["index_ewma"], mode="lines", name="Index (smoothed)", customdata=cd,
            line=dict(color=palette.theatre_colour(theatre), width=2.5),
            hovertemplate=f"smoothed index (EWMA, {7 if granularity == 'day' else 24} {granularity}s)<br>"
                          f"{hover_time}<br>%{{y:.0f}} · raw %{{customdata[2]:.0f}}<extra></extra>",
        ),
        row=1, col=1,
    )  # fmt: skip


def _add_alerts(fig: go.Figure, series: pd.DataFrame, theatre: str | None, hover_time: str) -> None:
    """A triangle on every point whose z-score reaches ALERT_Z."""
    # the alerts of the drawn theatres only (``series`` is already cut to them)
    alerts = series[(series["zscore"].fillna(0) >= ALERT_Z) & series["index"].notna()]
    if theatre is not None:
        alerts = alerts[alerts["theatre"] == theatre]
    if not alerts.empty:
        fig.add_trace(
            go.Scatter(
                x=_x(alerts), y=alerts["index"], mode="markers", name=f"Alert (z ≥ {ALERT_Z:g})",
                marker=dict(symbol="triangle-up", size=14, color=palette.ALERT, line=dict(width=1, color="white")),
                customdata=[[t, _day_key(b)] for t, b in zip(alerts["theatre"], alerts["bucket_start"], strict=True)],
                hovertemplate="<b>alert</b><br>" + hover_time + "<br>index %{y:.0f}<extra></extra>",
            ),
            row=1, col=1,
        )  # fmt: skip


def _add_source_volume(fig: go.Figure, volume: pd.DataFrame, dense: bool, hover_time: str) -> None:
    """The lower panel: articles per source, biggest first (bars, or stacked areas when dense)."""
    totals = volume.groupby("source")["articles"].sum().sort_values(ascending=False)
    for i, src in enumerate(totals.index):
        v = volume[volume["source"] == src]
        colour = palette._FALLBACK[i % len(palette._FALLBACK)]
        hover = f"{md_safe(src)}<br>{hover_time}<br>%{{y}} articles<extra></extra>"
        if dense:
            trace = go.Scatter(
                x=_x(v), y=v["articles"], name=str(src), legendgroup="sources", showlegend=False, mode="lines",
                line=dict(width=0, color=colour), fillcolor=colour, stackgroup="volume", hovertemplate=hover,
            )  # fmt: skip
        else:
            trace = go.Bar(
                x=_x(v), y=v["articles"], name=str(src), legendgroup="sources", showlegend=False,
                marker_color=colour, opacity=0.85, hovertemplate=hover,
            )  # fmt: skip
        fig.add_trace(trace, row=2, col=1)


def md_safe(text: object) -> str:
    """Plotly renders a subset of HTML in hover text: escape feed-derived names."""
    import html

    return html.escape("" if text is None else str(text)).replace("%", "%%")


#: line colours of the languages in the split (English the index's own blue)
_LANGUAGE_COLOURS = {"en": "#1f77b4", "ru": "#d62728", "uk": "#e6b400"}


def language_figure(df: pd.DataFrame, theatre: str, labels: dict[str, str], gran: str) -> go.Figure:
    """One line per language: the theatre's index over the articles in that language alone."""
    from .evidence import LANGUAGE_NAMES

    fig = go.Figure()
    hover_time = "%{x|%Y-%m-%d %H:%M} UTC" if gran == "hour" else "%{x|%a %d %b %Y}"
    for i, (lang, part) in enumerate(df.groupby("language", sort=False)):
        name = LANGUAGE_NAMES.get(str(lang), str(lang))
        fig.add_trace(go.Scatter(
            x=_x(part), y=part["index"], name=f"{name}-language coverage", mode="lines+markers",
            line=dict(width=2, color=_LANGUAGE_COLOURS.get(str(lang), palette._FALLBACK[i % len(palette._FALLBACK)])),
            customdata=part[["articles"]].to_numpy(),
            hovertemplate=f"{md_safe(name)}<br>{hover_time}<br>index %{{y:.0f}} · %{{customdata[0]}} articles"
                          "<extra></extra>",
        ))  # fmt: skip
    fig.add_hline(y=100, line=dict(width=1, dash="dot", color="gray"))
    fig.update_layout(
        height=320, margin=dict(l=10, r=10, t=30, b=10), hovermode="x unified", dragmode=False,
        title=dict(text=f"{md_safe(labels.get(theatre, theatre))} by language of coverage", font=dict(size=14)),
        legend=dict(orientation="h", yanchor="bottom", y=1.02, xanchor="right", x=1),
    )  # fmt: skip
    fig.update_yaxes(rangemode="tozero", title_text="index (100 = own baseline)")
    return fig


def signal_mix(df: pd.DataFrame, granularity: str) -> tuple[pd.DataFrame, bool]:
    """Signal weight per bucket (rows) and signal (columns, strongest first), and whether the
    days were averaged by week: a daily period of more than DENSE_BUCKETS days is shown as the
    mean weight per day of each week (two years of days is 25 stacked areas of 730 points, noise
    at 1.6 px a day). A mean, not a sum, so the week under way is not drawn as a collapse."""
    df = df.assign(x=_x(df))
    pivot = df.pivot_table(index="x", columns="signal", values="weight", aggfunc="sum", fill_value=0.0).sort_index()
    weekly = granularity == "day" and len(pivot) > DENSE_BUCKETS
    if weekly:
        # a day without signals is a zero, not a gap; weeks start on Monday, labelled by it
        days = pd.date_range(pivot.index.min(), pivot.index.max(), freq="D")
        pivot = pivot.reindex(days, fill_value=0.0).resample("W-MON", label="left", closed="left").mean()
    return pivot[pivot.sum().sort_values(ascending=False).index], weekly
