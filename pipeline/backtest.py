"""Replay dated headlines through import -> score -> index and compare with the GPR index.

    escalation-watch backtest --headlines headlines.csv --gpr gpr_daily.csv [--out backtest.html]

Prints the Spearman rank correlation between our daily Russia–Ukraine index
and the Caldara–Iacoviello daily GPR index (both as 7-day means), the lead or
lag with the best correlation, the index level in a few windows around the
invasion (24 February 2022), and saves a Plotly chart of both series.

Nothing here is fitted to GPR: the scorer and the index formula are frozen;
GPR is only the yardstick (its README forbids using it as a fitting target).
When the headlines file has a ``collection`` column, each collection is also
replayed on its own, because collections differ in coverage (see the data's
README: a Ukraine-only feed replaces a general one mid-window).

Must not touch: the live poller and the store's live data; GPR is a reference, never a fitting target.
"""

from __future__ import annotations

import csv
import tempfile
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd

from . import trend
from .errors import EscalationWatchError
from .history import import_csv
from .store import Store

INVASION = pd.Timestamp("2022-02-24")
MAX_LAG_DAYS = 14
ROLL_DAYS = 7


@dataclass
class BacktestResult:
    label: str
    days: int
    spearman: float | None
    best_lag_days: int | None
    best_lag_spearman: float | None
    windows: dict[str, float | None] = field(default_factory=dict)
    series: pd.DataFrame | None = None


def load_gpr(path: str | Path) -> pd.Series:
    """GPRD_MA7 by day (the authors' own 7-day mean of the daily GPR)."""
    try:
        df = pd.read_csv(path, usecols=["date", "GPRD", "GPRD_MA7"], parse_dates=["date"])
    except (OSError, ValueError) as e:
        raise EscalationWatchError(f"cannot read the GPR file {path}: {e}") from e
    return df.set_index("date")["GPRD_MA7"].astype(float)


#: how the daily index is normalised (see :func:`series_for`)
BASES = ("trailing", "fixed", "per-source")


def our_series(store: Store, theatre: str, base_period: tuple[datetime, datetime] | None = None) -> pd.Series:
    pts = trend.index_series(store, theatre=theatre, granularity="day", base_period=base_period)
    s = pd.Series(
        {pd.Timestamp(p.bucket_start.date()): (p.index if p.index is not None else float("nan")) for p in pts},
        dtype=float,
    )
    # 7-day mean over the days that have an index (gaps stay gaps, never zeros)
    return s.rolling(ROLL_DAYS, min_periods=3).mean()


def per_source_series(store: Store, theatre: str) -> pd.Series:
    """Each source's daily share of ``theatre`` against that source's own mean share,
    averaged over the sources of the day (weighted by their articles).

    A Ukraine-only feed carries a far higher share than a general one; with one
    pooled share, a change in the mix of sources (a general feed stops, a Ukraine
    feed starts) moves the index although nothing happened. Against its own level,
    each source only says whether *it* reports more escalation than usual. Sources
    whose mean share is below the floor (they never report the theatre) say nothing
    about it and are left out. Computed from the stored articles and their signals
    (stories are not de-duplicated across sources here).
    """
    from .signals import load_lexicon
    from .store.aggregates import load_batch

    scale = load_lexicon().score_scale
    per: dict[tuple[int, pd.Timestamp], list[float]] = {}
    after = None
    with store.engine.connect() as conn:
        while True:
            batch = load_batch(conn, after, 5000)
            if not batch:
                break
            for art in batch:
                day = pd.Timestamp(art.published_at.date())
                cell = per.setdefault((art.feed_id, day), [0, 0.0])
                cell[0] += 1
                if art.theatre == theatre:
                    cell[1] += trend.contribution(art.signals, scale).intensity
            after = (batch[-1].published_at, batch[-1].id)
    if not per:
        return pd.Series(dtype=float)
    df = pd.DataFrame([(f, d, n, e) for (f, d), (n, e) in per.items()], columns=["feed", "day", "n", "esc"])
    totals = df.groupby("day")["n"].sum()
    df = df[df["day"].map(totals) >= trend.MIN_VOLUME["day"]]
    df["share"] = df["esc"] / df["n"]
    base = df.groupby("feed").apply(lambda g: g["esc"].sum() / g["n"].sum(), include_groups=False)
    df = df[df["feed"].map(base) >= trend.BASELINE_FLOOR]
    df["rel"] = df["share"] / df["feed"].map(base)
    daily = df.groupby("day").apply(lambda g: 100.0 * (g["rel"] * g["n"]).sum() / g["n"].sum(), include_groups=False)
    daily = daily.reindex(pd.date_range(daily.index.min(), daily.index.max(), freq="D"))
    return daily.rolling(ROLL_DAYS, min_periods=3).mean()


def series_for(store: Store, theatre: str, base: str) -> pd.Series:
    """Our daily index of ``theatre`` (7-day mean) with one of :data:`BASES`:
    ``trailing`` the product's (each day against the previous 365), ``fixed`` the
    whole replay as one base period (GPR's way), ``per-source`` see
    :func:`per_source_series`."""
    if base == "trailing":
        return our_series(store, theatre)
    if base == "fixed":
        rows = store.trend_rows("day", [trend.ALL]).get(trend.ALL, [])
        if not rows:
            return pd.Series(dtype=float)
        return our_series(store, theatre, base_period=(rows[0]["bucket_start"], rows[-1]["bucket_start"]))
    if base == "per-source":
        return per_source_series(store, theatre)
    raise EscalationWatchError(f"unknown base {base!r} ({', '.join(BASES)})")


def spearman(a: pd.Series, b: pd.Series) -> float:
    """Spearman's rho: Pearson correlation of the ranks (ties get their average rank)."""
    return float(a.rank().corr(b.rank()))


def compare(ours: pd.Series, gpr: pd.Series, label: str) -> BacktestResult:
    df = pd.DataFrame({"ours": ours, "gpr": gpr}).dropna()
    if len(df) < 10:
        return BacktestResult(label, len(df), None, None, None)
    rho = spearman(df["ours"], df["gpr"])
    best = (None, None)
    for lag in range(-MAX_LAG_DAYS, MAX_LAG_DAYS + 1):
        # lag > 0: our index moves `lag` days before GPR does
        shifted = pd.DataFrame({"ours": ours.shift(lag, freq="D"), "gpr": gpr}).dropna()
        if len(shifted) < 10:
            continue
        r = spearman(shifted["ours"], shifted["gpr"])
        if best[1] is None or r > best[1]:
            best = (lag, r)
    windows = {}
    for name, lo, hi in (
        ("Nov 16 – Dec 7, 2021", "2021-11-16", "2021-12-07"),
        ("Jan 16 – Feb 10, 2022", "2022-01-16", "2022-02-10"),
        ("Feb 11 – Feb 23, 2022", "2022-02-11", "2022-02-23"),
        ("Feb 24 – Mar 13, 2022", "2022-02-24", "2022-03-13"),
    ):
        w = ours.loc[lo:hi].dropna()
        windows[name] = round(float(w.mean()), 1) if len(w) else None
    full = pd.DataFrame({"ours": ours, "gpr": gpr}).loc[df.index.min() : df.index.max()]
    return BacktestResult(label, len(df), round(rho, 3), best[0], None if best[1] is None else round(best[1], 3),
                          windows, full)  # fmt: skip


def replay(headlines: Path, db_url: str, theatre: str, now: datetime) -> dict[str, pd.Series]:
    with Store.open(db_url) as store:
        import_csv(store, headlines, now=now)
        return {base: series_for(store, theatre, base) for base in BASES}


def _split_by_collection(headlines: Path, tmp: Path) -> dict[str, Path]:
    with headlines.open(newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        if not reader.fieldnames or "collection" not in reader.fieldnames:
            return {}
        writers: dict[str, tuple] = {}
        for row in reader:
            name = row["collection"] or "unknown"
            if name not in writers:
                out = (tmp / f"{name}.csv").open("w", newline="", encoding="utf-8")
                w = csv.DictWriter(out, fieldnames=reader.fieldnames)
                w.writeheader()
                writers[name] = (out, w)
            writers[name][1].writerow(row)
    for out, _ in writers.values():
        out.close()
    return {name: tmp / f"{name}.csv" for name in writers}


def run_backtest(
    headlines: str | Path, gpr_path: str | Path, *, theatre: str = "RUS-UKR", out: str | Path | None = None
) -> list[BacktestResult]:
    headlines = Path(headlines)
    if not headlines.exists():
        raise EscalationWatchError(f"headlines file not found: {headlines}")
    gpr = load_gpr(gpr_path)
    now = datetime.now(timezone.utc)
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        ours = replay(headlines, f"sqlite:///{tmp_path}/all.db", theatre, now)
        results.append(compare(ours["trailing"], gpr, "all headlines"))
        extra = [compare(ours[b], gpr, f"all headlines, {b} base") for b in BASES if b != "trailing"]
        for name, path in _split_by_collection(headlines, tmp_path).items():
            series = replay(path, f"sqlite:///{tmp_path}/{name}.db", theatre, now)
            results.append(compare(series["trailing"], gpr, f"collection {name}"))
            extra += [compare(series[b], gpr, f"collection {name}, {b} base") for b in BASES if b != "trailing"]
        results += extra
    if out is not None:
        save_chart(results[0], gpr, Path(out), theatre)
    return results


def save_chart(result: BacktestResult, gpr: pd.Series, out: Path, theatre: str) -> None:
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    if result.series is None:
        raise EscalationWatchError("not enough overlapping days to chart")
    df = result.series  # every day in range: NaN days (data gaps) break the line
    df = df.reindex(pd.date_range(df.index.min(), df.index.max(), freq="D"))
    lo, hi = df.index.min(), df.index.max()
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    fig.add_trace(go.Scatter(x=df.index, y=df["ours"], name=f"Escalation Watch {theatre} index (7-day mean)",
                             line=dict(color="#c0392b", width=2.5), connectgaps=False), secondary_y=False)  # fmt: skip
    g = gpr.loc[lo:hi]
    fig.add_trace(go.Scatter(x=g.index, y=g.values, name="GPR daily index, 7-day mean (Caldara & Iacoviello)",
                             line=dict(color="#34495e", width=2, dash="dot")), secondary_y=True)  # fmt: skip
    fig.add_vline(x=INVASION, line=dict(color="#7f8c8d", dash="dash"))
    fig.add_annotation(x=INVASION, y=1, yref="paper", text="24 Feb 2022", showarrow=False, yanchor="bottom")
    lag = f", best lag {result.best_lag_days:+d} d (ρ={result.best_lag_spearman})" if result.best_lag_days is not None else ""
    fig.update_layout(
        title=f"Backtest: {theatre} index vs GPR — Spearman ρ={result.spearman} over {result.days} days{lag}",
        template="plotly_white", legend=dict(orientation="h", y=-0.12), height=540, width=1100,
        margin=dict(b=130),
    )  # fmt: skip
    fig.update_yaxes(title_text="Escalation Watch index (baseline = 100)", secondary_y=False)
    fig.update_yaxes(title_text="GPR (1985–2019 = 100)", secondary_y=True)
    fig.add_annotation(
        text="GPR: Caldara, D. and Iacoviello, M. (2022), Measuring Geopolitical Risk, AER 112(4). Headlines: fwd/news, Guardian Ukraine tag.",
        xref="paper", yref="paper", x=0, y=-0.26, showarrow=False, font=dict(size=10, color="#7f8c8d"),
    )  # fmt: skip
    out.parent.mkdir(parents=True, exist_ok=True)
    # plotly.js embedded: the chart must open offline
    fig.write_html(out, include_plotlyjs=True)


def format_results(results: list[BacktestResult]) -> str:
    lines = [f"{'series':<58} {'days':>5} {'spearman':>9} {'best lag':>9} {'rho@lag':>8}"]
    for r in results:
        lag = "" if r.best_lag_days is None else f"{r.best_lag_days:+d} d"
        lines.append(
            f"{r.label:<58} {r.days:>5} {_f(r.spearman):>9} {lag:>9} {_f(r.best_lag_spearman):>8}"
        )
    lines.append("(trailing: the product's index, each day against the 365 before it; fixed: the replay as one "
                 "base period; per-source: each source against its own level, then averaged)")
    lines.append("")
    by_label = {r.label: r for r in results}
    for label in ("all headlines", "all headlines, fixed base", "all headlines, per-source base"):
        if label not in by_label:
            continue
        lines.append(f"mean index (7-day mean) by window, {label}:")
        for name, v in by_label[label].windows.items():
            lines.append(f"  {name:<24} {_f(v)}")
    lines.append("(lag > 0: our index moves that many days before GPR)")
    return "\n".join(lines)


def _f(x: float | None) -> str:
    return "n/a" if x is None else f"{x}"


__all__ = ["BacktestResult", "run_backtest", "format_results", "compare", "load_gpr"]
