"""The whole benchmark suite in one run (what `make bench` calls), with one summary table.

    .venv/bin/python benchmarks/run_all.py            # ~9-12 minutes on 2 cores
    .venv/bin/python benchmarks/run_all.py --quick    # tiny sizes: a smoke run (~1 minute)

Sizes are chosen to fit about 10 minutes: the peer poll runs the full 1,000 x 50 once
(reader with 16 workers) on each corpus, the light generated items and the dense
crisis text (benchmarks/poll.py --corpus), growth goes to 200k articles (the 1M figures come
from ``benchmarks/trend.py`` and ``benchmarks/dashboard.py`` directly, see
docs/performance.md), the dashboard runs on the cached store under ``.bench/``
if one was built, else on 20k articles.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import dashboard, peers, score, startup, trend  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="tiny sizes (smoke run)")
    args = ap.parse_args(argv)
    q = args.quick
    rows: list[tuple[str, str, str, str]] = []  # (benchmark, figure, value, target)
    t_all = time.perf_counter()

    def section(name: str, fn) -> None:
        t0 = time.perf_counter()
        print(f"== {name}", file=sys.stderr, flush=True)
        try:
            fn()
        except (Exception, SystemExit) as e:  # one failing benchmark must not hide the others
            traceback.print_exc()
            rows.append((name, "FAILED", f"{type(e).__name__}: {e}"[:60], ""))
        print(f"   ({time.perf_counter() - t0:.0f} s)", file=sys.stderr, flush=True)

    def poll(corpus: str) -> None:
        feeds, items = (40, 10) if q else (1000, 50)
        r = peers.run(feeds, items, 1, [4] if q else [16], corpus=corpus)["results"]
        ours, fp = r["ours"], r["feedparser loop"]
        tag = "" if corpus == "synthetic" else f" {corpus}"
        rows.append((f"poll cold{tag}", f"ours, {feeds}x{items}", f"{ours['cold_s']:.1f} s",
                     f"writer busy {100 * ours['writer_busy_share']:.0f} % of it, "
                     f"{ours['writer_cpu_s']:.1f} s of that on a core"))  # fmt: skip
        b = r.get("reader (best)")
        if b:
            rows.append((f"poll cold{tag}", f"{b['workers']}", f"{b['cold_s']:.1f} s",
                         f"ours {b['cold_s'] / ours['cold_s']:.2f}x faster (>= 3x)"))  # fmt: skip
        rows.append((f"poll cold{tag}", "feedparser loop", f"{fp['cold_s']:.1f} s",
                     f"ours {fp['cold_s'] / ours['cold_s']:.2f}x faster (> 1x)"))  # fmt: skip
        rows.append((f"poll warm{tag}", f"ours, {feeds} feeds", f"{ours['warm_s']:.2f} s",
                     f"<= 1 s; {ours['warm_parse_calls']} parse calls"))  # fmt: skip
        if b:
            rows.append((f"poll warm{tag}", f"{b['workers']}", f"{b['warm_s']:.2f} s",
                         f"ours {b['warm_s'] / ours['warm_s']:.2f}x faster"))  # fmt: skip
        rows.append((f"store{tag}", "bytes/article on disk (db + WAL)", f"{ours['disk_bytes_per_article']:,.0f}",
                     "after the cold cycle"))  # fmt: skip

    def scoring() -> None:
        r = score.bench(score.synthesise(2000 if q else 20000), 0.2 if q else 1.0)
        rows.append(("score", "articles/s, one core", f"{r['ours_articles_per_s']:,.0f}",
                     f">= 20,000; re baseline {r['re_articles_per_s']:,.0f}/s"))  # fmt: skip

    def start() -> None:
        r = startup.bench(1 if q else 3)
        rows.append(("start-up", "poll --once, 1 dead feed", f"{r['warm cache']:.2f} s",
                     f"<= {startup.TARGET_S} s; cold cache {r['cold cache']:.2f} s, no cache {r['no cache']:.2f} s"))  # fmt: skip

    def growth() -> None:
        sizes = [6000, 12000] if q else [10_000, 50_000, 200_000]
        with tempfile.TemporaryDirectory() as tmp:
            r = trend.run(sizes, Path(tmp))
        first, last = r[0], r[-1]
        key = "index RUS-UKR daily, 2 y"
        for k, unit in (("ingest_us", "µs/article"), (key, "ms")):
            rows.append(("growth", f"{k.split(',')[0]} {first['articles']:,}->{last['articles']:,}",
                         f"{first[k]:.0f} -> {last[k]:.0f} {unit}", f"x{last[k] / first[k]:.2f} (<= 1.5x)"))  # fmt: skip

    def dash() -> None:
        cached = sorted(Path(dashboard.ROOT / ".bench").glob("dashboard-1000000-*.db"))
        n = 1_000_000 if cached and not q else (5000 if q else 20_000)
        r = dashboard.run(n, runs=1)
        rows.append(("dashboard", f"{n:,} articles, chart visible", f"{r['chart_cold_s']:.2f} s",
                     f"<= 3 s (warm reload {r['chart_warm_s']:.2f} s)"))  # fmt: skip
        rows.append(("dashboard", f"{n:,} articles, RSS peak", f"{r['rss_hwm_mb']:.0f} MB", "<= 500 MB"))

    section("scoring", scoring)
    section("start-up", start)
    section("poll: ours vs reader vs feedparser", lambda: poll("synthetic"))
    # issue 17: long wire stories dense with crisis language, ~20 signals an article
    section("poll, dense corpus: ours vs reader vs feedparser", lambda: poll("dense"))
    section("growth", growth)
    section("dashboard", dash)

    w = [max(len(r[i]) for r in rows) for i in range(4)]
    print(f"\nEscalation Watch benchmarks ({time.perf_counter() - t_all:.0f} s)")
    for r in rows:
        print("  ".join(c.ljust(w[i]) for i, c in enumerate(r)).rstrip())
    return 1 if any(r[1] == "FAILED" for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
