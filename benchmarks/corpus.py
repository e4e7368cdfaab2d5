"""A synthetic scored-article store for benchmarks: N articles over D days and 5+ theatres.

Articles go through the real ingest path (``Store.add_articles``: articles,
signals, stories and index aggregates in one transaction per batch). Scoring
runs on a few hundred templates once; each article reuses the score of its
template (the text differs by a serial number, so stories stay distinct unless
a template is repeated within the story window on purpose, as syndication).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone

from pipeline.score import score_article
from pipeline.store import Store
from pipeline.types import Article

START = datetime(2024, 1, 1, tzinfo=timezone.utc)

ACTORS = {
    "RUS-UKR": [("Russia", "Ukraine"), ("Moscow", "Kyiv"), ("Russian forces", "Ukrainian")],
    "CHN-TWN": [("China", "Taiwan"), ("Beijing", "Taipei")],
    "ISR-IRN": [("Israel", "Iran"), ("Iran", "Israel")],
    "KOR-PRK": [("North Korea", "South Korea"), ("Pyongyang", "Seoul")],
    "IND-PAK": [("India", "Pakistan"), ("Pakistan", "India")],
}
VERBS = [
    "{a} masses troops near the border with {b}",
    "{a} shells positions in {b} overnight",
    "{a} warns {b} of a military response",
    "{a} threatens sanctions against {b} if the attack goes ahead",
    "{a} and {b} agree to hold talks next week",
    "{a} expels diplomats from {b}",
    "{a} launches drone strikes on {b}",
    "{a} denies plans to invade {b}",
    "{a} holds military exercises near {b}",
    "{a} and {b} agree a ceasefire",
]
CALM = [
    "Markets close higher as tech stocks rally",
    "City council approves new cycling lanes",
    "Film festival opens with record attendance",
    "Scientists discover a new species of frog",
    "Football club signs a young striker",
    "Central bank holds interest rates steady",
]


def templates(seed: int = 0) -> list[tuple[str, object]]:
    """(title, ScoredArticle) pairs: geopolitical and calm, scored once."""
    out = []
    for pairs in ACTORS.values():
        for a, b in pairs:
            for v in VERBS:
                t = v.format(a=a, b=b)
                out.append((t, score_article(t, "")))
    for c in CALM:
        out.append((c, score_article(c, "")))
    return out


def build(
    store: Store,
    n_articles: int,
    *,
    days: int = 730,
    sources: int = 50,
    batch: int = 5000,
    seed: int = 1,
    geo_share: float = 0.3,
    on_progress: Callable[[int, float], None] | None = None,
) -> float:
    """Add ``n_articles`` articles; return the seconds spent in the store."""
    rng = random.Random(seed)
    tpl = templates()
    geo = [t for t in tpl if t[1].signals]
    calm = [t for t in tpl if not t[1].signals]
    span = days * 86400
    now = START + timedelta(days=days + 1)
    spent = 0.0
    done = 0
    serial = 0
    while done < n_articles:
        k = min(batch, n_articles - done)
        by_src: dict[int, tuple[list[Article], list]] = {}
        for _ in range(k):
            serial += 1
            title, scored = rng.choice(geo) if rng.random() < geo_share else rng.choice(calm)
            when = START + timedelta(seconds=rng.randrange(span))
            src = rng.randrange(sources)
            text = f"{title} ({serial})"
            art = Article(
                feed_url=f"import:bench-{src}", guid=f"b{serial}", url=f"https://bench{src}.example/{serial}",
                canonical_url=f"https://bench{src}.example/{serial}", title=text, summary="",
                published_at=when, published_estimated=False, language="en", author=None, content_hash=str(serial),
            )  # fmt: skip
            arts, scores = by_src.setdefault(src, ([], []))
            arts.append(art)
            scores.append(scored)
        groups = [(f"import:bench-{s}", f"Bench source {s}", a, sc) for s, (a, sc) in by_src.items()]
        t0 = time.perf_counter()
        store.add_articles(groups, now)
        spent += time.perf_counter() - t0
        done += k
        if on_progress:
            on_progress(done, spent)
    return spent
