"""Cold and warm poll cycles of N local feeds x M items into a fresh SQLite store.

    .venv/bin/python benchmarks/poll.py --feeds 1000 --items 50
    .venv/bin/python benchmarks/poll.py --feeds 1000 --corpus real   # ../shared/data/realfeeds

``--corpus synthetic`` (the default) serves generated RSS/Atom (tests/feedgen.py), M items
each; ``--corpus real`` serves the real saved news feeds of ../shared/data/realfeeds
replicated with fresh identities to N feeds (benchmarks/realfeeds.py): real text, encodings
and quirks, their own item counts (``--items`` is ignored).

Serves generated RSS/Atom (with ETag and Last-Modified) from a local server on
127.0.0.1, runs one cold cycle (everything new: fetch, parse, store) and one
warm cycle (everything answers 304), and prints feeds, items stored, seconds
and items/s for each.
"""

from __future__ import annotations

import argparse
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


def build(srv: FeedServer, n_feeds: int, n_items: int) -> list[FeedSpec]:
    specs = []
    for i in range(n_feeds):
        gen = make_atom if i % 4 == 3 else make_rss
        body = gen(f"f{i}", n_items)
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
            specs = build(srv, n_feeds, n_items)
            want = n_feeds * n_items
        config = FeedsConfig(tuple(specs), Settings(concurrency=concurrency))
        with Store.open(f"sqlite:///{tmp}/bench.db") as store:
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
                    )
                )
            total = store.article_count()
        if total != want:
            raise SystemExit(f"expected {want} articles, stored {total}")
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--feeds", type=int, default=1000)
    ap.add_argument("--items", type=int, default=50)
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--corpus", choices=("synthetic", "real"), default="synthetic")
    ap.add_argument("--realfeeds", type=Path, default=None, help="the real corpus (default ../shared/data/realfeeds)")
    args = ap.parse_args(argv)
    rows = run(args.feeds, args.items, args.concurrency, args.corpus, args.realfeeds)
    print(f"{'cycle':<6} {'feeds':>6} {'stored':>8} {'304s':>6} {'errors':>6} {'seconds':>8} {'items/s':>9}")
    for r in rows:
        print(
            f"{r['cycle']:<6} {r['feeds']:>6} {r['items_stored']:>8} {r['not_modified']:>6} {r['errors']:>6} "
            f"{r['seconds']:>8.2f} {r['items_per_s']:>9.0f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
