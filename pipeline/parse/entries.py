"""Entries -> articles: dates, languages, identities, duplicates and refusals.

Nothing is dropped silently (issue 12): every entry is an article, a duplicate
(same identity and text as an earlier entry of the document) or a refusal with
its reason. An entry's identity is its id; else its link, unless the link names
no single story (the feed's home page, a site's root, or a link entries with
different titles share, as scraper-written feeds do): then the link plus a hash
of the normalised title and the entry's own date.

Owns: the feedparser-shaped entry dicts read into :class:`Article` records, the
refusal reasons and the feed's TTL. Must not touch: the bytes and which parser
read them (pipeline.parse.sniff, .reference, .fast). Pure: ``now`` is passed in.
"""

from __future__ import annotations

import calendar
import hashlib
from datetime import UTC, datetime, timedelta
from urllib.parse import urljoin, urlsplit

from ..types import Article
from .text import (
    MAX_SUMMARY_CHARS,
    MAX_TITLE_CHARS,
    _clean_chars,
    _content_hash,
    _first_sentence,
    _title_key,
    plain_text,
)
from .urls import _http_url, canonicalize_url

#: guids longer than this are replaced by a hash (a store key, not content)
_MAX_GUID_CHARS = 2_000
_MAX_AUTHOR_CHARS = 300

#: dates more than this far ahead of ``now`` are clock errors or embargo typos
_FUTURE_SLACK = timedelta(days=1)
#: before any news feed existed; usually a zero or a parse accident
_OLDEST_PLAUSIBLE = datetime(1990, 1, 1, tzinfo=UTC)

#: RSS 1.0 syndication module (sy:updatePeriod) periods, in seconds
_SY_PERIOD_S = {
    "hourly": 3600, "daily": 86400, "weekly": 7 * 86400, "monthly": 30 * 86400, "yearly": 365 * 86400,
}  # fmt: skip

#: the feed-health warning when entries share one link and got identities from their titles
SHARED_LINK_WARNING = "items share one link; identities derived from titles"
#: why an entry was not kept (ParsedFeed.refused): one text per kind, so health notes can count them
REFUSED_EMPTY = "no title and no text"
REFUSED_SAME_ID = "same id as an earlier item, different text (the first is kept)"


def _date(entry, now: datetime) -> tuple[datetime, bool]:
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        parsed = dict.get(entry, key)  # plain get: no deprecated updated->published fallback warning
        if not parsed:
            continue
        try:
            # feedparser's struct_time is already UTC
            when = datetime.fromtimestamp(calendar.timegm(parsed), UTC)
        except (OverflowError, ValueError, OSError, TypeError):
            continue
        if when > now + _FUTURE_SLACK or when < _OLDEST_PLAUSIBLE:
            return now, True
        return when, False
    return now, True


def _language(entry, feed_language: str | None, default: str | None) -> str | None:
    for detail in ("title_detail", "summary_detail"):
        lang = (entry.get(detail) or {}).get("language")
        if lang:
            return _norm_language(lang)
    return _norm_language(feed_language) or _norm_language(default)


def _norm_language(value: str | None) -> str | None:
    if not value or not isinstance(value, str):
        return None
    value = value.strip().replace("_", "-").lower()
    return value[:35] or None


def _summary_markup(entry) -> str:
    summary = entry.get("summary") or ""
    if not summary.strip():
        for content in entry.get("content") or ():
            if content.get("value"):
                return content["value"]
    return summary


class _Draft:
    """One entry's fields before its identity is settled (that needs the other entries)."""

    __slots__ = ("position", "title", "title_derived", "summary", "url", "canonical_url", "guid",
                 "published_at", "estimated", "dated", "language", "author", "content_hash")  # fmt: skip


def _draft(entry, position: int, *, base_url: str, now: datetime, feed_language: str | None,
           language: str | None, stamps: frozenset[datetime]) -> _Draft:  # fmt: skip
    d = _Draft()
    d.position = position
    d.title = plain_text(entry.get("title"), MAX_TITLE_CHARS)
    d.summary = plain_text(_summary_markup(entry), MAX_SUMMARY_CHARS)
    d.title_derived = not d.title and bool(d.summary)
    if d.title_derived:
        # a blank headline is unreadable in every list; the summary's first sentence is not
        d.title = _first_sentence(d.summary)
    d.url = _http_url(entry.get("link"), base_url)
    d.canonical_url = canonicalize_url(d.url)
    d.content_hash = _content_hash(d.title, d.summary)
    d.guid = _clean_chars(str(entry.get("id") or "")).strip()
    d.published_at, d.estimated = _date(entry, now)
    # the date is part of a derived identity only if it is the entry's own: not the
    # first-seen time, and not the build time a scraper stamps on every item
    # (python-feedgen feeds such as holod_1.xml in the realfeeds corpus)
    d.dated = not d.estimated and d.published_at not in stamps
    d.language = _language(entry, feed_language, language)
    d.author = plain_text(entry.get("author"), _MAX_AUTHOR_CHARS) or None
    return d


def _is_site_root(canonical_url: str) -> bool:
    parts = urlsplit(canonical_url)
    return parts.path in ("", "/") and not parts.query


def _shared_links(drafts: list[_Draft], feed_link: str | None) -> set[str]:
    """Canonical links that do not name one story: the feed's own home page or a site's
    root, or a link that entries with different titles share (a scraper that gives every
    item the outlet's home page, as meduza_2.xml in the realfeeds corpus does)."""
    titles: dict[str, set[str]] = {}
    for d in drafts:
        if d.canonical_url is not None:
            titles.setdefault(d.canonical_url, set()).add(_title_key(d.title))
    return {
        link
        for link, seen in titles.items()
        if link == feed_link or _is_site_root(link) or len(seen) > 1
    }


def _identify(d: _Draft, shared: set[str]) -> bool:
    """Set the draft's guid (its identity in the feed); True when it was derived from the title.

    The entry's own id when it has one; else its link, unless that link is shared
    (:func:`_shared_links`): then the link plus a hash of the normalised title and the
    entry's own date, which are the same at every poll; else a hash of the text.
    A shared link is no cross-feed identity either, so its canonical URL is dropped
    (the store keeps one article per canonical URL).
    """
    derived = False
    if d.canonical_url in shared:
        d.canonical_url = None
        if not d.guid:
            key = _title_key(d.title) + ("\n" + d.published_at.isoformat() if d.dated else "")
            d.guid = f"{d.url}#title-sha256:{hashlib.sha256(key.encode('utf-8')).hexdigest()[:32]}"
            derived = True
    if not d.guid:
        d.guid = d.url or f"sha256:{d.content_hash}"
    if len(d.guid) > _MAX_GUID_CHARS:
        d.guid = "sha256:" + hashlib.sha256(d.guid.encode("utf-8", "replace")).hexdigest()
    return derived


def _article(d: _Draft, feed_url: str) -> Article:
    return Article(
        feed_url=feed_url,
        guid=d.guid,
        url=d.url,
        canonical_url=d.canonical_url,
        title=d.title,
        summary=d.summary,
        published_at=d.published_at,
        published_estimated=d.estimated,
        language=d.language,
        author=d.author,
        content_hash=d.content_hash,
        title_derived=d.title_derived,
    )


def _stamps(feed) -> frozenset[datetime]:
    """The feed's own build/publication times, as UTC datetimes."""
    out = set()
    for key in ("updated_parsed", "published_parsed"):
        parsed = dict.get(feed, key)
        if parsed:
            try:
                out.add(datetime.fromtimestamp(calendar.timegm(parsed), UTC))
            except (OverflowError, ValueError, OSError, TypeError):
                pass
    return frozenset(out)


def _ttl_s(feed) -> int | None:
    ttl = str(feed.get("ttl") or "").strip()
    if ttl.isdigit() and int(ttl) > 0:
        return int(ttl) * 60
    period = str(feed.get("sy_updateperiod") or "").strip().lower()
    if period in _SY_PERIOD_S:
        frequency = str(feed.get("sy_updatefrequency") or "1").strip()
        frequency_n = int(frequency) if frequency.isdigit() and int(frequency) > 0 else 1
        return max(_SY_PERIOD_S[period] // frequency_n, 1)
    return None


def _drafts(entries: list, feed, headers: dict[str, str], feed_url: str, now: datetime,
            language: str | None) -> tuple[list[_Draft], str | None]:  # fmt: skip
    """Every entry as a draft (positions from 1), and the feed's own canonical link."""
    feed_language = feed.get("language")
    # relative links resolve against Content-Location (RFC 9110 8.7) or the feed URL
    content_location = {k.lower(): v for k, v in (headers or {}).items()}.get("content-location")
    base_url = urljoin(feed_url, content_location) if content_location else feed_url
    feed_link = canonicalize_url(_http_url(feed.get("link"), base_url))
    stamps = _stamps(feed)
    drafts = [
        _draft(entry, i, base_url=base_url, now=now, feed_language=feed_language, language=language, stamps=stamps)
        for i, entry in enumerate(entries, 1)
    ]
    return drafts, feed_link


def _keep(drafts: list[_Draft], feed_link: str | None,
          feed_url: str) -> tuple[list[Article], int, list[tuple[int, str]], int]:  # fmt: skip
    """The articles of a document, each identity once: ``(articles, duplicates folded,
    (position, reason) refused, identities derived from titles)``."""
    shared = _shared_links(drafts, feed_link)
    articles: list[Article] = []
    first: dict[str, _Draft] = {}
    duplicates = 0
    refused: list[tuple[int, str]] = []
    derived = 0
    for d in drafts:
        if not d.title and not d.summary:
            # nothing to show or score (e.g. items collapsed to "..." in a browser's XML view,
            # dw_ukrainian_1.xml in the realfeeds corpus)
            refused.append((d.position, REFUSED_EMPTY))
            continue
        derived += _identify(d, shared)
        earlier = first.get(d.guid)
        if earlier is None:
            first[d.guid] = d
            articles.append(_article(d, feed_url))
        elif earlier.content_hash == d.content_hash:
            duplicates += 1  # the same entry twice in one document
        else:
            # the same id with other text (an edited headline left beside the old one):
            # the first one is kept, as the store keeps the first version it saw
            refused.append((d.position, REFUSED_SAME_ID))
    return articles, duplicates, refused, derived
