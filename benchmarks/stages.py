"""CPU per article of each stage of a cold poll, one thread, no network: where a cycle's time goes.

    .venv/bin/python benchmarks/stages.py --corpus dense --feeds 40 --items 50
    .venv/bin/python benchmarks/stages.py --corpus synthetic

The feeds are the ones benchmarks/poll.py serves (``--corpus synthetic`` light items or
``dense`` crisis wire stories). Each stage runs over all of them in turn, as the poller's
workers would: ``parse_feed``, ``score_article`` per article, the story SimHash of each
signalled article, packing the scores as the store writes them (``PackedScore``), the pickle round trip of the results from a parse process to the poller
(``dumps`` in the worker, ``loads`` in the poller's process, which holds the GIL the writer
needs), and the writer's ``Store.record_updates`` into a fresh SQLite file, 16 feeds a
commit as a cold cycle groups them. Figures are CPU time of this process (``time.process_time``:
less noisy than wall time on a shared machine), in µs per article.
"""

from __future__ import annotations

import argparse
import pickle
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.poll import DENSE_ITEM_BYTES, GENERATED  # noqa: E402
from pipeline import trend  # noqa: E402
from pipeline.parse import parse_feed  # noqa: E402
from pipeline.score import score_article  # noqa: E402
from pipeline.store import Store, UpdateWrite  # noqa: E402
from pipeline.types import FeedSpec, FeedUpdate, PackedScore, article_text  # noqa: E402
from tests.feedgen import make_atom, make_rss  # noqa: E402

#: feeds per group commit: a cold cycle of 16 concurrent fetches commits ~16 feeds at a time
COMMIT_FEEDS = 16


def bodies(n_feeds: int, n_items: int, corpus: str) -> list[tuple[str, bytes]]:
    kw = {}
    if corpus == "dense":
        from benchmarks.corpus import dense_texts

        kw = dict(item_texts=dense_texts, item_bytes=DENSE_ITEM_BYTES)
    gens = [make_atom if i % 4 == 3 else make_rss for i in range(n_feeds)]
    return [(f"https://bench.example/f{i}.xml", gen(f"f{i}", n_items, **kw)) for i, gen in enumerate(gens)]


def run(n_feeds: int, n_items: int, corpus: str) -> dict[str, float]:
    now = datetime(2024, 6, 2, tzinfo=UTC)
    feeds = bodies(n_feeds, n_items, corpus)
    # warm up: the first score loads the relevance gate (~0.3 s), which a poll pays once per process
    warm = parse_feed(feeds[0][1], feed_url=feeds[0][0], now=now).articles[0]
    score_article(warm.title, warm.summary)
    trend.simhash(trend.story_text(warm.title, warm.summary))
    cpu: dict[str, float] = {}

    def timed(name: str, fn):
        t0 = time.process_time()
        out = fn()
        cpu[name] = time.process_time() - t0
        return out

    parsed = timed("parse_feed", lambda: [parse_feed(b, feed_url=u, now=now) for u, b in feeds])
    scores = timed("score_article", lambda: [tuple(score_article(a.title, a.summary, hint=a.language)
                                                   for a in p.articles) for p in parsed])  # fmt: skip
    hashes = timed("simhash", lambda: [tuple(
        trend.simhash(trend.story_text(a.title, a.summary)) if s.theatre is not None and s.signals else None
        for a, s in zip(p.articles, sc, strict=True)) for p, sc in zip(parsed, scores, strict=True)])  # fmt: skip
    # what parse_and_score sends: the scores packed as the store writes them (PackedScore)
    packed = timed("pack scores (parse process)", lambda: [tuple(
        PackedScore.of(s, article_text(a.title, a.summary)) for a, s in zip(p.articles, sc, strict=True))
        for p, sc in zip(parsed, scores, strict=True)])  # fmt: skip
    results = list(zip(parsed, packed, hashes, strict=True))
    blobs = timed("pickle dumps (parse process)", lambda: [pickle.dumps(r, pickle.HIGHEST_PROTOCOL) for r in results])
    timed("pickle loads (poller process)", lambda: [pickle.loads(b) for b in blobs])
    n = sum(len(p.articles) for p in parsed)
    signals = sum(len(s.signals) for sc in scores for s in sc)
    with tempfile.TemporaryDirectory() as tmp, Store.open(f"sqlite:///{tmp}/stages.db") as store:
        store.sync_feeds([FeedSpec(name=f"feed {i}", url=u) for i, (u, _) in enumerate(feeds)], now)
        writes = [
            UpdateWrite(
                FeedUpdate(u, now, now, "ok", status=200, articles=p.articles, scores=sc, simhashes=h,
                           body_bytes=len(b)),
                now + timedelta(hours=1), "ok",
            )  # fmt: skip
            for (u, b), (p, sc, h) in zip(feeds, results, strict=True)
        ]

        def write() -> None:
            for i in range(0, len(writes), COMMIT_FEEDS):
                store.record_updates(writes[i : i + COMMIT_FEEDS])

        timed("store (record_updates)", write)
        if store.article_count() != n:
            raise SystemExit(f"expected {n} articles, stored {store.article_count()}")
    return dict(articles=n, signals_per_article=signals / n, mean_blob_bytes=sum(map(len, blobs)) / len(blobs)) | {
        k: 1e6 * v / n for k, v in cpu.items()
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--feeds", type=int, default=40)
    ap.add_argument("--items", type=int, default=50)
    ap.add_argument("--corpus", choices=GENERATED, default="dense")
    args = ap.parse_args(argv)
    r = run(args.feeds, args.items, args.corpus)
    print(f"{args.corpus}: {r['articles']} articles, {r['signals_per_article']:.1f} signals each, "
          f"{r['mean_blob_bytes'] / 1024:.0f} KiB pickled per feed")  # fmt: skip
    print(f"{'stage':<32} {'CPU µs/article':>14}")
    for k, v in r.items():
        if k not in ("articles", "signals_per_article", "mean_blob_bytes"):
            print(f"{k:<32} {v:>14.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
