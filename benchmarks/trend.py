"""Ingest cost and trend-query time as the store grows: 10k, 100k, 1M scored articles.

    .venv/bin/python benchmarks/trend.py                 # 10k, 100k, 1M (a few minutes)
    .venv/bin/python benchmarks/trend.py --sizes 2000 20000

One SQLite store grows through the real ingest path (articles, signals, stories
and index aggregates; see benchmarks/corpus.py) over 2 years and 5 theatres.
At each size it measures the marginal ingest cost (µs per article for the
next batch of 5,000) and the median of 7 runs of each trend query. The target:
trend queries ≤ 200 ms at 1M articles, and both figures growing ≤ 1.5× from
the smallest to the largest size. Writes a Plotly chart of the curve next to
the database (``--chart``).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.corpus import START, build  # noqa: E402
from pipeline import trend  # noqa: E402
from pipeline.store import Store  # noqa: E402

PROBE = 5000
DAYS = 730


def _median_ms(fn, runs: int = 7) -> float:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def queries(store: Store) -> dict[str, float]:
    end = START + timedelta(days=DAYS)
    last_month = end - timedelta(days=30)
    day = START + timedelta(days=DAYS // 2)
    trend.watched_theatres()  # load the lexicon outside the timings
    return {
        "index RUS-UKR daily, 2 y": _median_ms(lambda: trend.index_series(store, theatre="RUS-UKR")),
        "index all theatres daily, 2 y": _median_ms(lambda: trend.index_series(store)),
        "index RUS-UKR hourly, 30 d": _median_ms(
            lambda: trend.index_series(store, theatre="RUS-UKR", granularity="hour", since=last_month)
        ),
        "explain one day": _median_ms(lambda: trend.explain_point(store, theatre="RUS-UKR", bucket_start=day)),
        "KPIs": _median_ms(lambda: trend.kpis(store, now=end)),
    }


def run(sizes: list[int], db_dir: Path, seed: int = 1) -> list[dict]:
    rows = []
    db = db_dir / "trend-bench.db"
    db.unlink(missing_ok=True)
    with Store.open(f"sqlite:///{db}") as store:
        have = 0
        for i, size in enumerate(sorted(sizes)):
            if size - PROBE > have:
                build(store, size - PROBE - have, days=DAYS, seed=seed + i)
            have = size - PROBE
            spent = build(store, PROBE, days=DAYS, seed=1000 + i)
            have += PROBE
            q = queries(store)
            rows.append({"articles": have, "ingest_us": spent / PROBE * 1e6, **q})
            print(f"  {have:>9,} articles: ingest {rows[-1]['ingest_us']:.0f} µs/article, "
                  f"index daily {q['index RUS-UKR daily, 2 y']:.1f} ms", file=sys.stderr, flush=True)  # fmt: skip
    return rows


def print_table(rows: list[dict]) -> None:
    keys = [k for k in rows[0] if k != "articles"]
    print(f"{'articles':>10} " + " ".join(f"{k[:26]:>27}" for k in keys))
    for r in rows:
        print(f"{r['articles']:>10,} " + " ".join(f"{r[k]:>27.1f}" for k in keys))
    first, last = rows[0], rows[-1]
    print(f"growth {first['articles']:,} -> {last['articles']:,}: " + ", ".join(
        f"{k.split(',')[0]} x{last[k] / first[k]:.2f}" for k in keys))  # fmt: skip
    print("(ingest in µs per article for the next 5,000 articles; queries in ms, median of 7)")


def chart(rows: list[dict], out: Path) -> None:
    import plotly.graph_objects as go

    fig = go.Figure()
    xs = [r["articles"] for r in rows]
    for k in rows[0]:
        if k == "articles":
            continue
        fig.add_trace(go.Scatter(x=xs, y=[r[k] for r in rows], mode="lines+markers", name=k))
    fig.update_layout(
        title="Escalation Watch: ingest (µs/article) and trend queries (ms) vs stored articles",
        xaxis=dict(type="log", title="articles stored"), yaxis=dict(type="log", title="µs / ms"),
        template="plotly_white", width=1000, height=520,
    )  # fmt: skip
    fig.write_html(out, include_plotlyjs=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    ap.add_argument("--dir", type=Path, default=None, help="where to build the store (default: a temp dir)")
    ap.add_argument("--chart", type=Path, default=None, help="write the growth chart here (HTML)")
    args = ap.parse_args(argv)
    sizes = sorted(args.sizes)
    if sizes[0] <= PROBE or any(b - a < PROBE for a, b in zip(sizes, sizes[1:])):
        ap.error(f"sizes must exceed {PROBE} and be at least {PROBE} apart (each is measured on its last {PROBE})")
    with tempfile.TemporaryDirectory() as tmp:
        d = args.dir or Path(tmp)
        d.mkdir(parents=True, exist_ok=True)
        rows = run(args.sizes, d)
    print_table(rows)
    if args.chart:
        chart(rows, args.chart)
        print(f"chart: {args.chart}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
