"""Overview: a KPI per watched theatre, the risk trend, signal mix, theatre x day heatmap,
source volume, and a drill-down from any point of the trend to the articles behind it.

Owns: the page's layout, widgets and their state (the trend pick, the index base,
the drill-down). Must not touch: how a figure is drawn (pipeline.ui.overview_figures),
SQL and scoring (it reads through pipeline.ui.data).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from . import access, data, evidence, palette, period, state
from .data import md_escape, md_link

# the figures (pure Plotly); re-exported: tests and benchmarks use them as overview.<name>
from .overview_figures import (
    ALERT_Z,
    DENSE_BUCKETS,
    TOP_THEATRES,
    _x,
    is_dense,
    is_noisy,
    language_figure,
    md_safe,
    signal_mix,
    top_theatres,
    trend_figure,
)

#: charts re-read the store this often (the version check is cheap; a redraw is not)
CHART_REFRESH_S = 15
#: the strip of recent articles under the charts
LATEST_N = 15

_CONFIG = {"displaylogo": False, "modeBarButtonsToRemove": ["lasso2d", "select2d"]}


def page() -> None:
    st.title("Overview")
    live()


def _granularity(f) -> str:
    return "hour" if f.period == "24h" else "day"


@st.fragment(run_every=CHART_REFRESH_S)
def live() -> None:
    s, reason = data.open_store()
    if s is None:
        empty_state(reason)
        return
    url = data.db_url()
    ver = data.version(url)
    if data.article_count(url, ver) == 0:
        empty_state(None)
        return
    f = state.filters()
    now = data.utcnow()
    since, until = f.window(now)
    gran = _granularity(f)
    labels = data.theatre_labels()
    st.caption(
        f"{data.article_count(url, ver):,} articles stored · data as of {now:%Y-%m-%d %H:%M} UTC · "
        f"{md_escape(' · '.join(f.describe(labels)))}"
    )
    period.notice(url, ver, since, until, key="history_notice")
    kpi_row(url, ver)
    driving_now(url, ver, f.theatre, labels)

    st.subheader("Risk trend")
    trend_picker(labels)
    baseline_picker(now)
    f = state.filters()
    base = f.base_period()
    trend_chart(url, ver, f.theatre, gran, since, until, labels, base)
    drill_down(url, ver, labels)
    language_split(url, ver, f.theatre, gran, since, until, labels, base)

    st.subheader("Signal mix")
    categories_chart(url, ver, f.theatre, gran, since)
    st.subheader("Theatres by day")
    heatmap(url, ver, since, until, labels, base)
    latest(url, ver)


# -- empty states --------------------------------------------------------------------


def empty_state(reason: str | None) -> None:
    """Say plainly why there is nothing to chart, with the feeds' own errors."""
    with st.container(key="empty_state"):
        if reason is not None:
            st.warning(f"**No data yet.** {md_escape(reason)}")
        cfg_path = data.config_path()
        s, _ = data.open_store()
        health = data.feed_health(data.db_url(), data.version(data.db_url())) if s is not None else None
        if health is None or health.empty:
            if not cfg_path.exists():
                st.info(f"No feeds file at {md_escape(cfg_path)}: create one, or add feeds on **Sources**.")
            else:
                st.info("No feed has been polled yet. Add feeds on **Sources**; the poller fetches them on its next pass.")
            return
        enabled = health[health["enabled"].fillna(False).astype(bool)]
        failing = enabled[enabled["last_success_at"].isna() & enabled["last_error"].notna()]
        answered = int(enabled["last_success_at"].notna().sum())
        if reason is None:
            if answered == 0 and len(failing) == 0:
                st.info(f"**Nothing stored yet.** {len(enabled):,} enabled feeds are waiting for their first poll.")
            elif answered == 0:
                st.warning(
                    f"**No feed could be reached.** {len(failing):,} of {len(enabled):,} enabled feeds failed "
                    "and none has answered yet; their errors are below."
                )
            else:
                st.info(
                    f"**Nothing stored yet.** {answered:,} of {len(enabled):,} enabled feeds answered, "
                    "but no article has been stored so far."
                )
        if len(failing):
            shown = failing[["name", "url", "error_streak", "last_error"]]
            if not access.current().can_edit:  # a viewer sees each error's kind, not its detail
                shown = shown.assign(last_error=shown["last_error"].map(access.public_error))
            st.markdown("Latest errors:")
            st.dataframe(
                shown,
                hide_index=True,
                width="stretch",
                column_config={
                    "name": "Feed",
                    "url": "URL",
                    "error_streak": st.column_config.NumberColumn("Failures in a row", format="%d"),
                    "last_error": st.column_config.TextColumn("Last error", width="large"),
                },
            )


# -- KPIs ----------------------------------------------------------------------------


def _fmt_change(x: float | None) -> str | None:
    return None if x is None else f"{x:+.1f}"


def kpi_row(url: str, ver) -> None:
    now = data.now_minute()
    rows = data.kpis(url, ver, now)
    if not rows:
        return
    spark = data.index_series(url, ver, None, "day", now.replace(hour=0, minute=0) - timedelta(days=14), None)
    per_row = 4
    with st.container(key="kpis"):
        for i in range(0, len(rows), per_row):
            cols = st.columns(per_row)
            for col, k in zip(cols, rows[i : i + per_row], strict=False):
                with col:
                    kpi_card(k, spark)


def kpi_card(k: dict[str, Any], spark: pd.DataFrame) -> None:
    values = None
    if not spark.empty:
        mine = spark[(spark["theatre"] == k["theatre"]) & spark["index"].notna()]
        if len(mine) >= 2:
            values = [round(float(v), 1) for v in mine["index"]]
    index = k.get("index")
    alert = k.get("alert")
    label = k["label"]
    with st.container(border=True, key=f"kpi_{k['theatre']}"):
        st.metric(
            label,
            "—" if index is None else f"{index:.0f}",
            delta=_fmt_change(k.get("change_24h")),
            delta_color="inverse",  # a rising risk index is bad news
            delta_description="vs 24 h ago",
            chart_data=values,
            chart_type="area",
            help="Risk index: 100 = the theatre's own baseline share of escalation news.",
        )
        bits = []
        if k.get("change_7d") is not None:
            bits.append(f"7 d: {k['change_7d']:+.1f}")
        if k.get("zscore") is not None:
            bits.append(f"z {k['zscore']:+.1f}")
        if bits:
            st.caption(" · ".join(bits))
        if alert:
            st.markdown(f":red-badge[:material/warning: Alert] {md_escape(alert)}")
        else:
            st.markdown(":green-badge[No alert]" if index is not None else ":gray-badge[Not enough data]")


# -- driving now ---------------------------------------------------------------------

#: stories shown under "Driving now": the few an analyst reads before the charts, two a row
DRIVING_N = 4


def _names(signals: list[str], n: int = 4) -> str:
    shown = ", ".join(md_escape(palette.signal_label(x)) for x in signals[:n])
    return shown + (f" and {len(signals) - n} more" if len(signals) > n else "")


def driving_now(url: str, ver, theatre: str | None, labels: dict[str, str]) -> None:
    """The stories of the last 24 hours adding most to the index, with their evidence: no click needed."""
    now = data.now_minute()
    rows = data.driving_now(url, ver, theatre, now, DRIVING_N)
    where = labels.get(theatre, theatre) if theatre else "all theatres"
    st.subheader("Driving now")
    with st.container(key="driving_now"):
        new, stopped = data.signal_changes(url, ver, theatre, now)
        bits = []
        if new:
            bits.append(f"new: {_names(new)}")
        if stopped:
            bits.append(f"stopped: {_names(stopped)}")
        st.caption(
            f"Since yesterday ({md_escape(where)}): " + ("; ".join(bits) if bits else "the same signals as the 24 hours before.")
        )
        if not rows:
            _, last = data.article_span(url, ver)
            if last is not None and last < now - timedelta(hours=24):
                st.info(
                    f"No story in the last 24 hours: the newest stored article is from {last:%d %b %Y %H:%M} UTC "
                    "(an imported history, or the poller has stopped; see **Sources**)."
                )
            else:
                st.info(f"No story with an escalation signal in the last 24 hours in {md_escape(where)}.")
            return
        st.caption(
            "The stories of the last 24 hours that add most to the index, each once however many outlets "
            "carried it, with its strongest signal."
        )
        for i in range(0, len(rows), 2):
            for j, (col, r) in enumerate(zip(st.columns(2), rows[i : i + 2], strict=False)):
                with col:
                    driving_card(r, labels, key=f"driving_{i + j}")


def driving_card(r: dict[str, Any], labels: dict[str, str], *, key: str) -> None:
    with st.container(border=True, key=key):
        outlets = int(r.get("outlets") or 1)
        meta = [
            md_escape(labels.get(r["theatre"], r["theatre"])),
            " ".join([md_escape(r.get("source") or ""), *(f":blue-badge[{md_escape(t)}]" for t in r.get("tags") or ())]),
            evidence.fmt_time(r.get("published_at")),
            f"{outlets} outlet{'s' if outlets != 1 else ''}",
            f"adds {float(r['intensity']):.2f}",
        ]
        st.markdown(f"**{md_link(r.get('title') or '(untitled)', r.get('url'))}**  \n" + " · ".join(meta))
        sig = r.get("strongest")
        if sig is not None:
            st.markdown(f"{evidence.signal_line(sig)}  \n{evidence.highlight(sig, r.get('title'), r.get('summary'))}")


# -- the trend chart -------------------------------------------------------------------


def _on_trend_pick() -> None:
    value = st.session_state.get("w_trend_theatre")
    value = None if value in (None, "ALL") else value
    # the sidebar selectbox shows the same choice ("*" is its "all")
    st.session_state[state.widget_key("theatre")] = value or "*"
    state.update(theatre=value, drill=None)
    # the sidebar (outside this fragment) must redraw with the new theatre
    st.session_state["_overview_full_rerun"] = True


def trend_picker(labels: dict[str, str]) -> None:
    if st.session_state.pop("_overview_full_rerun", False):
        st.rerun(scope="app")
    f = state.filters()
    options = ["ALL", *labels]
    current = f.theatre if f.theatre in labels else "ALL"
    if st.session_state.get("w_trend_theatre") != current:
        st.session_state["w_trend_theatre"] = current
    st.segmented_control(
        "Theatre",
        options,
        format_func=lambda v: "All theatres" if v == "ALL" else labels.get(v, v),
        key="w_trend_theatre",
        on_change=_on_trend_pick,
        label_visibility="collapsed",
    )


BASELINES = {"trailing": "Trailing 365 days", "fixed": "Fixed base period"}


def _on_baseline() -> None:
    if st.session_state.get("w_baseline") != "fixed":  # "trailing", or the pill clicked off
        state.update(base_start=None, base_end=None)


def _on_base_dates() -> None:
    picked = st.session_state.get("w_base_dates") or ()
    if isinstance(picked, (list, tuple)) and len(picked) == 2 and picked[0] <= picked[1]:
        state.update(base_start=picked[0], base_end=picked[1])


def baseline_picker(now) -> None:
    """Which base the index is normalised to: the trailing 365 days (each day against the year
    before it: a new crisis stands out, a crisis that lasts fades into its own baseline) or a
    fixed period the analyst picks (a long crisis stays visible, as GPR's fixed base keeps it)."""
    f = state.filters()
    fixed = f.base_period() is not None
    if "w_baseline" not in st.session_state:
        st.session_state["w_baseline"] = "fixed" if fixed else "trailing"
    cols = st.columns([2, 3])
    with cols[0]:
        choice = st.segmented_control(
            "Index base", list(BASELINES), format_func=BASELINES.__getitem__, key="w_baseline",
            on_change=_on_baseline,
            help="100 = the theatre's usual share of escalation news. Trailing: the usual is the 365 days "
                 "before each day, so a long crisis becomes its own baseline. Fixed: the usual is one period "
                 "you choose (e.g. a calm year), so a long crisis stays high.",
        )  # fmt: skip
    if choice != "fixed":
        return
    with cols[1]:
        today = now.date()
        default = (f.base_start, f.base_end) if fixed else (today - timedelta(days=365), today - timedelta(days=1))
        if "w_base_dates" not in st.session_state:
            st.session_state["w_base_dates"] = default
        st.date_input("Base period", key="w_base_dates", max_value=today, on_change=_on_base_dates,
                      format="YYYY-MM-DD")  # fmt: skip
    if not fixed:
        _on_base_dates()
    if state.filters().base_period() is None:
        st.caption("Pick the first and the last day of the base period.")


def trend_chart(url: str, ver, theatre: str | None, gran: str, since, until, labels: dict[str, str],
                base=None) -> None:
    series = data.index_series(url, ver, theatre, gran, since, until, base)
    if series.empty or series["index"].notna().sum() == 0:
        if base is not None:
            st.info("No risk index against this base period: the store has too few articles in it. Pick a "
                    "base period the poller has covered, or go back to the trailing base.")
            return
        st.info(
            "Not enough data in this period for a risk index yet (a bucket needs a minimum number of "
            "articles). Widen the period in the sidebar, or wait for more polls."
        )
        return
    volume = data.source_volume(url, ver, gran, since)
    if until is not None and not volume.empty:
        volume = volume[pd.to_datetime(volume["bucket_start"], utc=True) < until]
    shown = None
    if theatre is None:
        ranked = top_theatres(series, len(labels) + 1)
        if len(ranked) > TOP_THEATRES:
            everything = st.toggle(
                f"All {len(ranked)} theatres", key="w_trend_all",
                help=f"By default the {TOP_THEATRES} theatres with the highest mean index in the period.",
            )  # fmt: skip
            if not everything:
                shown = ranked[:TOP_THEATRES]
                rest = ", ".join(md_escape(labels.get(t, t)) for t in ranked[TOP_THEATRES:])
                st.caption(f"The {TOP_THEATRES} highest theatres of the period; not drawn: {rest}.")
    fig = trend_figure(series, volume, theatre, labels, gran, shown)
    event = st.plotly_chart(
        fig, key="trend_chart", on_select="rerun", selection_mode=("points",), config=_CONFIG, width="stretch",
    )  # fmt: skip
    pick = _picked(event)
    if pick is not None:
        token = f"{pick[0]}@{pick[1]}"
        if st.session_state.get("_last_pick") != token:
            st.session_state["_last_pick"] = token
            state.update(drill=token)
    if is_dense(series):
        st.caption(
            f"Click an alert marker to list the articles and the evidence behind it; for any single "
            f"{'hour' if gran == 'hour' else 'day'}, pick a shorter period (up to {DENSE_BUCKETS} points a line)."
        )
    else:
        st.caption("Click a bar or a point to list the articles and the evidence behind it.")


def language_split(url: str, ver, theatre: str | None, gran: str, since, until, labels: dict[str, str],
                   base=None) -> None:
    """The risk trend split by language: does Russian-language coverage move with Ukrainian?"""
    if not st.toggle("Split by language", key="w_trend_languages",
                     help="Each language's coverage of the theatre against its own volume and baseline."):  # fmt: skip
        return
    if theatre is None:
        st.info("Pick a theatre above to split its trend by the language of its coverage.")
        return
    df = data.language_series(url, ver, theatre, gran, since, until, base)
    if df.empty or df["index"].notna().sum() == 0:
        st.info("No language has enough articles on this theatre in this period for an index of its own.")
        return
    st.plotly_chart(language_figure(df, theatre, labels, gran), key="language_chart", config=_CONFIG,
                    width="stretch")  # fmt: skip
    st.caption("A language is drawn when it has articles on the theatre in the period; each line is that "
               "coverage's share of its own news, normalised to its own baseline (100).")  # fmt: skip


def _picked(event: Any) -> tuple[str, str] | None:
    for p in state.clicked_points(event):
        cd = p.get("customdata")
        if isinstance(cd, list | tuple) and len(cd) >= 2 and cd[0] and cd[1]:
            return str(cd[0]), str(cd[1])
    return None


# -- drill-down ----------------------------------------------------------------------


def _clear_drill() -> None:
    st.session_state["_last_pick"] = None
    state.update(drill=None)


def drill_down(url: str, ver, labels: dict[str, str]) -> None:
    point = state.filters().drill_point()
    if point is None:
        return
    theatre, day = point
    rows = data.explain_point(url, ver, theatre, day, "day")
    with st.container(border=True, key="drill_down"):
        head, btn = st.columns([5, 1], vertical_alignment="center")
        head.markdown(f"### {md_escape(labels.get(theatre, theatre))} · {day:%a %d %b %Y}")
        btn.button("Close", icon=":material/close:", on_click=_clear_drill, key="drill_close", width="stretch")
        if not rows:
            st.info("No scored article with signals in this bucket.")
            return
        st.caption(f"The {len(rows)} strongest stories of the day, one article per story, with the evidence found.")
        for i, row in enumerate(rows):
            evidence.article_card(row, labels=labels, key=f"drill_{i}")


# -- signal mix and heatmap -------------------------------------------------------------


def categories_chart(url: str, ver, theatre: str | None, gran: str, since) -> None:
    df = data.category_series(url, ver, theatre, gran, since)
    if df.empty:
        st.info("No signals in this period.")
        return
    pivot, weekly = signal_mix(df, gran)
    when = "week of %{x|%d %b %Y}" if weekly else "%{x|%d %b %Y}"
    per = "weight per day" if weekly else "weight"
    fig = go.Figure()
    for sig in pivot.columns:
        label = palette.signal_label(sig)
        fig.add_trace(
            go.Scatter(
                x=pivot.index, y=pivot[sig], name=label, stackgroup="signals", mode="lines",
                line=dict(width=0.5, color=palette.signal_colour(sig)), fillcolor=palette.signal_colour(sig),
                hovertemplate=f"{md_safe(label)}<br>{when}<br>{per} %{{y:.1f}}<extra></extra>",
            )
        )  # fmt: skip
    fig.update_layout(
        height=420, margin=dict(l=10, r=10, t=10, b=10),
        legend=dict(yanchor="top", y=1, xanchor="left", x=1.01, font=dict(size=11)),
        hovermode="x unified",
    )  # fmt: skip
    st.plotly_chart(fig, key="categories_chart", config=_CONFIG, width="stretch")
    if weekly:
        st.caption(f"Mean weight per day of each week: the period has more than {DENSE_BUCKETS} days.")


def heatmap(url: str, ver, since, until, labels: dict[str, str], base=None) -> None:
    df = data.index_series(url, ver, None, "day", since, until, base)
    if df.empty or df["index"].notna().sum() == 0:
        st.info("Not enough data for the heatmap yet.")
        return
    df = df.assign(day=_x(df).dt.strftime("%Y-%m-%d"))
    order = [t for t in labels if t in set(df["theatre"])]
    pivot = df.pivot_table(index="theatre", columns="day", values="index", aggfunc="max").reindex(order)
    fig = go.Figure(
        go.Heatmap(
            z=pivot.values, x=list(pivot.columns), y=[labels.get(t, t) for t in pivot.index],
            colorscale=palette.HEATMAP_SCALE, zmin=0, hoverongaps=False, xgap=1, ygap=1,
            colorbar=dict(title="index", thickness=12),
            hovertemplate="%{y}<br>%{x}<br>index %{z:.0f}<extra></extra>",
        )
    )  # fmt: skip
    fig.update_layout(height=60 + 34 * len(pivot), margin=dict(l=10, r=10, t=10, b=10), yaxis=dict(autorange="reversed"))
    st.plotly_chart(fig, key="heatmap_chart", config=_CONFIG, width="stretch")


# -- latest --------------------------------------------------------------------------------


def latest(url: str, ver) -> None:
    st.subheader("Latest articles")
    df = data.latest_articles(url, ver, LATEST_N)
    lines = [
        f"- {row.published_at:%Y-%m-%d %H:%M} · **{md_escape(row.source)}** · {md_link(row.title, row.url)}"
        for row in df.itertuples()
    ]
    with st.container(key="latest_list"):
        st.markdown("\n".join(lines) if lines else "_Nothing stored yet._")
