"""Cold and warm poll of N local feeds x M items: escalation-watch vs lemon24/reader vs a serial feedparser loop.

    .venv/bin/python benchmarks/peers.py                       # 1000 x 50, 3 rounds (a few minutes)
    .venv/bin/python benchmarks/peers.py --feeds 100 --items 20 --rounds 1 --reader-workers 1 16
    .venv/bin/python benchmarks/peers.py --corpus real --rounds 1   # ../shared/data/realfeeds x 1000

All contenders poll the same generated RSS/Atom feeds (tests/feedgen.py) from
one local server (tests/feedserver.py, with ETag or Last-Modified per feed) that
runs in its own process, so serving does not share the contenders' GIL. Each
round runs every contender once, in turn, on a fresh store: a cold cycle
(everything new) and a warm one (everything answers 304). Reported: the median
seconds over rounds and the ratio to ours (same run, same machine: the ratio is
the figure to read on a noisy machine).

- **ours**: ``poll_once`` into a fresh SQLite store: fetch, parse, score, store
  articles, signals and index aggregates. Warm: the number of parse calls is
  checked to be zero (every feed answered 304 and nothing was parsed).
- **reader**: lemon24/reader ``update_feeds(workers=W)`` into a fresh reader
  database, for each W of ``--reader-workers``; the best W is the one compared.
  Stores entries, no scoring.
- **feedparser loop**: ``feedparser.parse(url, etag=..., modified=...)`` per
  feed, serially; nothing stored.

``--corpus dense`` serves the same generated feeds with crisis-dense wire stories instead of
light items (~1.6 KB of ``<p>`` paragraphs, ~20 signals per article; benchmarks/corpus.py
``dense_texts``, issue 17). For ours the table also gives the store's bytes per article on disk
after the cold cycle (SQLite file plus WAL) and the share of the cold cycle the single writer
thread was busy (``PollStats.writer_busy_s``; of which on a core: ``writer_cpu_s``).

``--corpus real`` serves the real saved news feeds of ../shared/data/realfeeds, replicated
with fresh identities to N feeds (benchmarks/realfeeds.py), instead of generated ones; ours
must store every article parse_feed finds in them and the loop parse every entry; reader
keeps entries by its own rules, so its count is reported, not checked.

``reader`` is in the ``bench`` extra: ``.venv/bin/pip install -e '.[test,bench]'``.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def _serve(n_feeds: int, n_items: int, corpus: str, conn, stop) -> None:
    from benchmarks import realfeeds
    from benchmarks.poll import build
    from tests.feedserver import FeedServer

    with FeedServer() as srv:
        if corpus == "real":
            specs, expected = realfeeds.build(srv, n_feeds)
        else:
            specs = build(srv, n_feeds, n_items, corpus)
            expected = dict(files=0, entries=n_feeds * n_items, articles=n_feeds * n_items)
        conn.send(([s.url for s in specs], expected))
        stop.wait()


class ServerProcess:
    """tests/feedserver.py serving the generated feeds, in a child process."""

    def __init__(self, n_feeds: int, n_items: int, corpus: str = "synthetic"):
        ctx = mp.get_context("spawn")
        self._stop = ctx.Event()
        parent, child = ctx.Pipe()
        self._proc = ctx.Process(target=_serve, args=(n_feeds, n_items, corpus, child, self._stop), daemon=True)
        self._proc.start()
        if not parent.poll(120):
            raise SystemExit("feed server did not start")
        self.urls: list[str]
        #: what the farm holds: entries (feedparser's count) and articles (what ours must store)
        self.expected: dict[str, int]
        self.urls, self.expected = parent.recv()

    def close(self) -> None:
        self._stop.set()
        self._proc.join(10)
        if self._proc.is_alive():
            self._proc.kill()


# --- contenders -------------------------------------------------------------------


def run_ours(urls: list[str], want: int, tmp: Path, concurrency: int = 16) -> dict:
    from benchmarks.poll import disk_bytes
    from pipeline import parse
    from pipeline.poller import poll_once
    from pipeline.store import Store
    from pipeline.types import FeedsConfig, FeedSpec, Settings

    specs = tuple(FeedSpec(name=f"feed {i}", url=u) for i, u in enumerate(urls))
    config = FeedsConfig(specs, Settings(concurrency=concurrency))
    out = {}
    db = tmp / "ours.db"
    with Store.open(f"sqlite:///{db}") as store:
        t0 = time.perf_counter()
        cold = poll_once(store, config, parse_pool=True)
        out["cold_s"] = time.perf_counter() - t0
        stored = store.article_count()
        out["writer_busy_s"] = cold.writer_busy_s
        out["writer_cpu_s"] = cold.writer_cpu_s
        # now, while the store is open: closing it checkpoints and deletes the WAL
        sizes = disk_bytes(db)
        out["disk_bytes_per_article"] = (sizes["db_bytes"] + sizes["wal_bytes"]) / max(stored, 1)
        # a warm cycle that parsed anything would have called parse_feed in this process
        # (the pool only starts for cold-size cycles; 304s never reach it): count the calls
        calls = [0]
        real = parse.parse_feed

        def counting(*a, **k):
            calls[0] += 1
            return real(*a, **k)

        import pipeline.poller.parsing as parsing_mod  # where parse_and_score looks up parse_feed

        parsing_mod.parse_feed = counting
        try:
            t0 = time.perf_counter()
            warm = poll_once(store, config, parse_pool=True)
            out["warm_s"] = time.perf_counter() - t0
        finally:
            parsing_mod.parse_feed = real
    if cold.errors or warm.errors or stored != want:
        raise SystemExit(f"ours: {cold.errors}+{warm.errors} errors, {stored} articles stored")
    out.update(items=stored, warm_304=warm.not_modified, warm_parse_calls=calls[0] + warm.ok)
    return out


def run_reader(urls: list[str], want: int | None, tmp: Path, workers: int) -> dict:
    from reader import make_reader

    out = {}
    reader = make_reader(str(tmp / f"reader-{workers}.sqlite"))
    try:
        for u in urls:
            reader.add_feed(u)
        for cycle in ("cold", "warm"):
            t0 = time.perf_counter()
            reader.update_feeds(workers=workers, scheduled=False)  # every feed, due or not
            out[f"{cycle}_s"] = time.perf_counter() - t0
        out["items"] = reader.get_entry_counts().total
    finally:
        reader.close()
    if want is not None and out["items"] != want:
        raise SystemExit(f"reader: {out['items']} entries stored")
    return out


def run_feedparser(urls: list[str], want: int) -> dict:
    import feedparser

    out = {}
    validators: dict[str, tuple[str | None, str | None]] = {}
    for cycle in ("cold", "warm"):
        items = 0
        t0 = time.perf_counter()
        for u in urls:
            etag, modified = validators.get(u, (None, None))
            d = feedparser.parse(u, etag=etag, modified=modified)
            validators[u] = (d.get("etag"), d.get("modified"))
            items += len(d.entries)
        out[f"{cycle}_s"] = time.perf_counter() - t0
        if cycle == "cold":
            out["items"] = items
    if out["items"] != want:
        raise SystemExit(f"feedparser: {out['items']} entries parsed")
    return out


def run(n_feeds: int, n_items: int, rounds: int, reader_workers: list[int], concurrency: int = 16,
        log=sys.stderr, corpus: str = "synthetic") -> dict:  # fmt: skip
    try:
        import reader  # noqa: F401
    except ImportError:
        reader_workers = []
        print("reader not installed (pip install -e '.[test,bench]'): skipped", file=log)
    results: dict[str, list[dict]] = {}
    server = ServerProcess(n_feeds, n_items, corpus)
    expected = server.expected
    if corpus == "real":
        print(f"real corpus: {expected['files']} files served as {n_feeds} feeds, {expected['entries']:,} entries, "
              f"{expected['articles']:,} articles", file=log)  # fmt: skip
    reader_want = expected["entries"] if corpus != "real" else None
    try:
        for r in range(rounds):
            jobs = [("ours", lambda tmp: run_ours(server.urls, expected["articles"], tmp, concurrency))]
            jobs += [(f"reader w={w}", lambda tmp, w=w: run_reader(server.urls, reader_want, tmp, w))
                     for w in reader_workers]  # fmt: skip
            jobs += [("feedparser loop", lambda tmp: run_feedparser(server.urls, expected["entries"]))]
            if r % 2:  # alternate the order: no contender always runs first on a warming machine
                jobs.reverse()
            for name, job in jobs:
                with tempfile.TemporaryDirectory() as tmp:
                    res = job(Path(tmp))
                results.setdefault(name, []).append(res)
                print(f"  round {r + 1}: {name:<16} cold {res['cold_s']:6.2f} s  warm {res['warm_s']:5.2f} s",
                      file=log, flush=True)  # fmt: skip
    finally:
        server.close()
    summary = {name: {k: statistics.median(x[k] for x in rs) for k in ("cold_s", "warm_s")}
               | {"rounds": len(rs), "items": rs[-1]["items"]}
               for name, rs in results.items()}  # fmt: skip
    summary["ours"]["warm_parse_calls"] = max(x["warm_parse_calls"] for x in results["ours"])
    for k in ("writer_busy_s", "writer_cpu_s", "disk_bytes_per_article"):
        summary["ours"][k] = statistics.median(x[k] for x in results["ours"])
    # the share of each round's own cold cycle, then the median (not a ratio of medians)
    summary["ours"]["writer_busy_share"] = statistics.median(x["writer_busy_s"] / x["cold_s"] for x in results["ours"])
    readers = {k: v for k, v in summary.items() if k.startswith("reader")}
    if readers:
        best = min(readers, key=lambda k: readers[k]["cold_s"])
        summary["reader (best)"] = {**readers[best], "workers": best}
    return {"feeds": n_feeds, "items": n_items, "corpus": corpus, "expected": expected, "results": summary}


def print_table(r: dict) -> None:
    res = r["results"]
    ours = res["ours"]
    n = r["expected"]["entries"]
    if r.get("corpus") == "real":
        print(f"{r['feeds']} feeds of the real corpus ({r['expected']['files']} files; {n:,} entries), "
              f"median of {ours['rounds']} rounds")  # fmt: skip
    else:
        kind = " of dense crisis text" if r.get("corpus") == "dense" else ""
        print(f"{r['feeds']} feeds x {r['items']} items{kind} ({n:,} items), median of {ours['rounds']} rounds")
    print(f"{'contender':<18} {'cold s':>8} {'items/s':>8} {'vs ours':>8} {'warm s':>8} {'vs ours':>8} {'items':>8}")
    for name, v in res.items():
        if name == "reader (best)":
            continue
        print(f"{name:<18} {v['cold_s']:>8.2f} {n / v['cold_s']:>8.0f} {v['cold_s'] / ours['cold_s']:>7.2f}x "
              f"{v['warm_s']:>8.2f} {v['warm_s'] / ours['warm_s']:>7.2f}x {v['items']:>8}")  # fmt: skip
    print(f"ours warm cycle: {ours['warm_parse_calls']} parse calls")
    print(f"ours cold cycle: writer busy {ours['writer_busy_s']:.2f} s ({100 * ours['writer_busy_share']:.0f} % of the "
          f"cycle, on a core {ours['writer_cpu_s']:.2f} s); {ours['disk_bytes_per_article']:.0f} bytes/article on disk "
          f"(db + WAL)")  # fmt: skip
    if "reader (best)" in res:
        b = res["reader (best)"]
        print(f"cold: ours is {b['cold_s'] / ours['cold_s']:.2f}x faster than {b['workers']} (target >= 3x), "
              f"{res['feedparser loop']['cold_s'] / ours['cold_s']:.2f}x faster than the feedparser loop")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--feeds", type=int, default=1000)
    ap.add_argument("--items", type=int, default=50)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--reader-workers", type=int, nargs="*", default=[16])
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--corpus", choices=("synthetic", "dense", "real"), default="synthetic",
                    help="generated feeds (light items, or dense crisis text), or ../shared/data/realfeeds "
                         "replicated to --feeds")  # fmt: skip
    args = ap.parse_args(argv)
    r = run(args.feeds, args.items, args.rounds, args.reader_workers, args.concurrency, corpus=args.corpus)
    if args.json:
        print(json.dumps(r))
    else:
        print_table(r)
    return 0


if __name__ == "__main__":
    sys.exit(main())
