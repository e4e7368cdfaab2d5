"""Deterministic, news-like RSS 2.0 and Atom feeds for tests and benchmarks.

Same arguments, same bytes: items are drawn from a ``random.Random`` seeded
with the feed id and ``seed``. Each item has a unique guid and link, a date,
a headline and an HTML description (``<p>``, ``<a>``, entities) padded to about
``item_bytes``.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from xml.sax.saxutils import escape

__all__ = ["make_rss", "make_atom", "DEFAULT_BASE_TIME", "ItemTexts"]

#: (rng, item_bytes) -> (title, HTML description) of one item; benchmarks pass their own
#: (benchmarks/corpus.py's dense crisis text) to reuse the feed markup and identities
ItemTexts = Callable[[random.Random, int], tuple[str, str]]

DEFAULT_BASE_TIME = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)

_ACTORS = [
    "Russia", "Ukraine", "China", "Taiwan", "Israel", "Iran", "India", "Pakistan",
    "North Korea", "South Korea", "the United States", "NATO", "Hezbollah", "Serbia",
    "Kosovo", "Armenia", "Azerbaijan", "Venezuela", "Guyana", "the Philippines",
]
_VERBS = [
    "warns", "threatens", "mobilises troops near", "holds talks with", "shells",
    "signs ceasefire with", "expels diplomats from", "launches drills near",
    "accuses", "recalls ambassador from", "agrees prisoner swap with", "sanctions",
]
_TAILS = [
    "amid border tensions", "after overnight strikes", "as talks stall",
    "ahead of summit", "in disputed waters", "despite ceasefire", "officials say",
]
_WORDS = (
    "the ministry said on Tuesday that forces had been placed on alert while diplomats "
    "sought to reduce tensions and analysts cautioned that the situation remained fluid "
    "with reports of artillery fire near the line of contact and calls for restraint "
    "from regional partners and the security council scheduled an emergency session"
).split()


def _sentence_pool(n: int = 512) -> list[str]:
    rng = random.Random(0)
    pool = []
    for _ in range(n):
        sentence = " ".join(rng.choice(_WORDS) for _ in range(rng.randint(8, 18)))
        chunk = sentence.capitalize() + ". "
        if rng.random() < 0.2:
            chunk += '<a href="https://news.example/context?id=1&amp;utm_source=x">background</a> '
        pool.append(chunk)
    return pool


# built once: choosing whole sentences keeps 50,000 items well under a second
_SENTENCES = _sentence_pool()


def _item_texts(rng: random.Random, item_bytes: int) -> tuple[str, str]:
    a, b = rng.sample(_ACTORS, 2)
    title = f"{a} {rng.choice(_VERBS)} {b} {rng.choice(_TAILS)}"
    title = title[0].upper() + title[1:]
    parts = [f"<p><strong>{escape(a)}</strong> &amp; {escape(b)}: "]
    size = len(parts[0])
    # the rest of the item's markup (link, guid, date, escaping) is ~400 bytes
    target = max(item_bytes - 400, 60)
    while size < target:
        chunk = rng.choice(_SENTENCES)
        parts.append(chunk)
        size += len(chunk)
    parts.append("</p>")
    return title, "".join(parts)


def make_rss(
    feed_id: str,
    n_items: int,
    *,
    item_bytes: int = 1500,
    base_time: datetime = DEFAULT_BASE_TIME,
    seed: int = 0,
    interval_s: int = 3600,
    item_texts: ItemTexts | None = None,
) -> bytes:
    """An RSS 2.0 feed of ``n_items`` items, newest first, one every ``interval_s``."""
    rng = random.Random(f"{feed_id}:{seed}")
    out = [
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/">\n<channel>\n'
        f"<title>Test feed {escape(feed_id)}</title>\n"
        f"<link>https://news.example/{escape(feed_id)}/</link>\n"
        "<description>Generated news-like feed</description>\n<language>en</language>\n"
    ]
    for i in range(n_items):
        title, html = (item_texts or _item_texts)(rng, item_bytes)
        when = format_datetime(base_time - timedelta(seconds=i * interval_s), usegmt=True)
        link = f"https://news.example/{feed_id}/{seed}-{i}?utm_source=rss&amp;utm_medium=feed"
        out.append(
            "<item>\n"
            f"<title>{escape(title)}</title>\n"
            f"<link>{link}</link>\n"
            f'<guid isPermaLink="false">urn:test:{escape(feed_id)}:{seed}:{i}</guid>\n'
            f"<pubDate>{when}</pubDate>\n"
            f"<dc:creator>Reporter {i % 7}</dc:creator>\n"
            f"<description>{escape(html)}</description>\n"
            "</item>\n"
        )
    out.append("</channel>\n</rss>\n")
    return "".join(out).encode("utf-8")


def make_atom(
    feed_id: str,
    n_items: int,
    *,
    item_bytes: int = 1500,
    base_time: datetime = DEFAULT_BASE_TIME,
    seed: int = 0,
    interval_s: int = 3600,
    item_texts: ItemTexts | None = None,
) -> bytes:
    """An Atom 1.0 feed with the same content model as :func:`make_rss`."""
    rng = random.Random(f"{feed_id}:{seed}")
    updated = base_time.strftime("%Y-%m-%dT%H:%M:%SZ")
    out = [
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="en">\n'
        f"<title>Test feed {escape(feed_id)}</title>\n"
        f"<id>urn:test:{escape(feed_id)}</id>\n<updated>{updated}</updated>\n"
        f'<link href="https://news.example/{escape(feed_id)}/"/>\n'
    ]
    for i in range(n_items):
        title, html = (item_texts or _item_texts)(rng, item_bytes)
        when = (base_time - timedelta(seconds=i * interval_s)).strftime("%Y-%m-%dT%H:%M:%SZ")
        out.append(
            "<entry>\n"
            f"<title>{escape(title)}</title>\n"
            f'<link href="https://news.example/{escape(feed_id)}/{seed}-{i}?utm_source=atom"/>\n'
            f"<id>urn:test:{escape(feed_id)}:{seed}:{i}</id>\n"
            f"<published>{when}</published>\n<updated>{when}</updated>\n"
            f"<author><name>Reporter {i % 7}</name></author>\n"
            f'<summary type="html">{escape(html)}</summary>\n'
            "</entry>\n"
        )
    out.append("</feed>\n")
    return "".join(out).encode("utf-8")
