"""Cold and warm poll cycles of N local feeds x M items into a fresh SQLite store.

    .venv/bin/python benchmarks/poll.py --feeds 1000 --items 50
    .venv/bin/python benchmarks/poll.py --feeds 1000 --corpus real   # ../shared/data/realfeeds

``--corpus synthetic`` (the default, the light corpus) serves generated RSS/Atom
(tests/feedgen.py), M items each, headline-like text with a signal or two;
``--corpus dense`` the same feeds with crisis-dense wire stories instead (benchmarks/corpus.py
``dense_texts``: ~1.6 KB of ``<p>`` paragraphs, ~20 signals per article, issue 17);
``--corpus real`` serves the real saved news feeds of ../shared/data/realfeeds
replicated with fresh identities to N feeds (benchmarks/realfeeds.py): real text, encodings
and quirks, their own item counts (``--items`` is ignored).

Serves generated RSS/Atom (with ETag and Last-Modified) from a local server on
127.0.0.1, runs one cold cycle (everything new: fetch, parse, store) and one
warm cycle (everything answers 304), and prints feeds, items stored, seconds
and items/s for each; then the store's bytes per article on disk after the cold
cycle (SQLite file plus WAL; and the file alone once the store is closed,
the WAL checkpointed into it) and the share of the cold cycle's wall time the
poller's single writer thread was busy (PollStats.writer_busy_s), and how much of that
it ran on a core (writer_cpu_s; the rest it waited for the GIL, a core or the disk).
"""

from __future__ import annotations

import argparse
import contextlib
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pipeline.poller import poll_once  # noqa: E402
from pipeline.store import Store  # noqa: E402
from pipeline.types import FeedsConfig, FeedSpec, Settings  # noqa: E402
from tests.feedgen import make_atom, make_rss  # noqa: E402
from tests.feedserver import FeedServer  # noqa: E402


#: corpora generated here (``real`` is served by benchmarks/realfeeds.py)
GENERATED = ("synthetic", "dense")
#: the dense corpus's summary size: issue 17's long wire stories
DENSE_ITEM_BYTES = 1600


def build(srv: FeedServer, n_feeds: int, n_items: int, corpus: str = "synthetic") -> list[FeedSpec]:
    if corpus == "dense":
        from benchmarks.corpus import dense_texts

        kw = dict(item_texts=dense_texts, item_bytes=DENSE_ITEM_BYTES)
    else:
        kw = {}
    specs = []
    for i in range(n_feeds):
        gen = make_atom if i % 4 == 3 else make_rss
        body = gen(f"f{i}", n_items, **kw)
        if i % 2:
            url = srv.route(f"/f{i}.xml", body, etag=f'"f{i}-v1"')
        else:
            url = srv.route(f"/f{i}.xml", body, last_modified="Fri, 03 Dec 2021 10:00:00 GMT")
        specs.append(FeedSpec(name=f"feed {i}", url=url))
    return specs


def run(n_feeds: int, n_items: int, concurrency: int = 16, corpus: str = "synthetic",
        realfeeds_dir: Path | None = None) -> list[dict]:  # fmt: skip
    rows = []
    with FeedServer() as srv, tempfile.TemporaryDirectory() as tmp:
        if corpus == "real":
            from benchmarks import realfeeds

            specs, expected = realfeeds.build(srv, n_feeds, realfeeds_dir or realfeeds.REALFEEDS)
            want = expected["articles"]
            print(f"real corpus: {expected['files']} files served as {n_feeds} feeds, {expected['entries']:,} entries, "
                  f"{want:,} articles to store", file=sys.stderr)  # fmt: skip
        else:
            specs = build(srv, n_feeds, n_items, corpus)
            want = n_feeds * n_items
        config = FeedsConfig(tuple(specs), Settings(concurrency=concurrency))
        db = Path(tmp) / "bench.db"
        with Store.open(f"sqlite:///{db}") as store:
            for cycle in ("cold", "warm"):
                t0 = time.perf_counter()
                stats = poll_once(store, config, parse_pool=True)
                secs = time.perf_counter() - t0
                rows.append(
                    dict(
                        cycle=cycle,
                        feeds=n_feeds,
                        items_stored=stats.new_articles,
                        not_modified=stats.not_modified,
                        errors=stats.errors,
                        seconds=secs,
                        items_per_s=want / secs if cycle == "cold" else float("nan"),
                        writer_busy_s=stats.writer_busy_s,
                        writer_cpu_s=stats.writer_cpu_s,
                    )
                )
                if cycle == "cold":
                    # while the store is open: closing it checkpoints and deletes the WAL
                    rows[-1].update(disk_bytes(db))
            total = store.article_count()
        # closed: the WAL is checkpointed into the file, which then holds the store alone
        rows[0]["closed_db_bytes"] = db.stat().st_size
        # what the writer stored per article (the dense corpus should carry ~20 signals each)
        with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as conn:
            rows[0]["signals"] = conn.execute("SELECT count(*) FROM signals").fetchone()[0]
        if total != want:
            raise SystemExit(f"expected {want} articles, stored {total}")
    return rows


def disk_bytes(db: Path) -> dict[str, int]:
    """The SQLite file's and its WAL's sizes now (the -shm index, 32 KiB, is left out)."""
    wal = db.with_name(db.name + "-wal")
    return dict(db_bytes=db.stat().st_size, wal_bytes=wal.stat().st_size if wal.exists() else 0)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--feeds", type=int, default=1000)
    ap.add_argument("--items", type=int, default=50)
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--corpus", choices=(*GENERATED, "real"), default="synthetic",
                    help="synthetic (light), dense (crisis wire stories) or real (saved news feeds)")  # fmt: skip
    ap.add_argument("--realfeeds", type=Path, default=None, help="the real corpus (default ../shared/data/realfeeds)")
    args = ap.parse_args(argv)
    rows = run(args.feeds, args.items, args.concurrency, args.corpus, args.realfeeds)
    print(f"{'cycle':<6} {'feeds':>6} {'stored':>8} {'304s':>6} {'errors':>6} {'seconds':>8} {'items/s':>9}")
    for r in rows:
        print(
            f"{r['cycle']:<6} {r['feeds']:>6} {r['items_stored']:>8} {r['not_modified']:>6} {r['errors']:>6} "
            f"{r['seconds']:>8.2f} {r['items_per_s']:>9.0f}"
        )
    cold = rows[0]
    n = cold["items_stored"]
    disk = cold["db_bytes"] + cold["wal_bytes"]
    print(f"bytes/article on disk after the cold cycle: {disk / n:.0f} "
          f"(db {cold['db_bytes']:,} + WAL {cold['wal_bytes']:,} bytes, {n} articles); "
          f"{cold['closed_db_bytes'] / n:.0f} once closed (checkpointed, no WAL)")  # fmt: skip
    print(f"signals stored per article: {cold['signals'] / n:.1f}")
    print(f"writer busy in the cold cycle: {cold['writer_busy_s']:.2f} s of {cold['seconds']:.2f} s "
          f"({100 * cold['writer_busy_s'] / cold['seconds']:.0f} %), on a core {cold['writer_cpu_s']:.2f} s")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
