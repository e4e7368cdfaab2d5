"""A small scored store for dashboard, reads and export tests: real store writes, real scoring."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta, timezone

from pipeline.score import score_article
from pipeline.store import Store
from pipeline.types import Article, FeedSpec, FeedUpdate

NOW = datetime(2024, 6, 10, 12, 0, tzinfo=timezone.utc)

#: (feed, hours before NOW, title, summary)
ITEMS = [
    ("Wire", 1, "Russia threatens to strike Ukraine with missiles", "Officials said troops were massing at the border."),
    ("Wire", 5, "China launches drills near Taiwan", "The exercises began at dawn, the ministry said."),
    ("Wire", 30, "Russia and Ukraine agree ceasefire after talks", "Both sides signed in Geneva."),
    ("Gazette", 2, "=HYPERLINK(\"http://evil\") Iran warns Israel of retaliation", "Tehran said it would respond."),
    ("Gazette", 50, "India imposes sanctions on Pakistan", "New sanctions target banks."),
    ("Gazette", 200, "Weather report for the weekend", "Sunny with light winds."),
]


def article(feed_url: str, i: int, hours: float, title: str, summary: str, now: datetime = NOW,
            language: str = "en") -> Article:
    return Article(
        feed_url=feed_url,
        guid=f"{feed_url}#{i}",
        url=f"https://news.example/{i}",
        canonical_url=f"https://news.example/{i}",
        title=title,
        summary=summary,
        published_at=now - timedelta(hours=hours),
        published_estimated=False,
        language=language,
        author=None,
        content_hash=hashlib.sha256(f"{title}{summary}".encode()).hexdigest(),
    )


def build_store(db_url: str, items=ITEMS, now: datetime = NOW, tags: dict[str, tuple[str, ...]] | None = None,
                languages: dict[str, str] | None = None) -> None:
    """Write ``items`` through the poller's own store verbs (with scores), then close;
    ``now`` is the time the hours of ``items`` count back from, ``tags`` each feed's tags,
    ``languages`` the language each feed declares (default en)."""
    feeds = sorted({f for f, *_ in items})
    urls = {f: f"http://feeds.example/{f.lower()}.xml" for f in feeds}
    with Store.open(db_url) as store:
        store.sync_feeds([FeedSpec(f, urls[f], tags=(tags or {}).get(f, ())) for f in feeds], now)
        for f in feeds:
            lang = (languages or {}).get(f, "en")
            arts = tuple(article(urls[f], i, h, t, s, now, lang) for i, (ff, h, t, s) in enumerate(items) if ff == f)
            scores = tuple(score_article(a.title, a.summary, hint=a.language) for a in arts)
            store.record_update(
                FeedUpdate(urls[f], now, now, "ok", status=200, articles=arts, scores=scores),
                next_due_at=now + timedelta(minutes=15),
                status="ok",
            )
