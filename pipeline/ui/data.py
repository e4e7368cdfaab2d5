"""Cached reads for the dashboard. Pages call these; none of them builds SQL or scores text.

The store is opened once per database URL (``st.cache_resource``), read-only.
Every read is ``st.cache_data`` with typed arguments and a ``version`` argument:
:func:`version` is the store's (latest article id, latest fetch id, latest
scoring time), re-read every :data:`REFRESH_S` seconds, so a cached chart is
dropped as soon as the poller lands new data and otherwise lives for
:data:`TTL_S`.

Must not touch: SQL of its own (it calls pipeline.trend and pipeline.store.reads), scoring.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from pipeline.errors import StoreError
from pipeline.store import Store, resolve_db_url
from pipeline.store import reads

#: how often the live parts of a page re-read the store's data version
REFRESH_S = 5
#: longest life of a cached read whose version did not change
TTL_S = 600

ENV_CONFIG = "ESCALATION_WATCH_CONFIG"  # set by `escalation-watch dashboard`
DEFAULT_CONFIG = "feeds.yaml"

Version = tuple[int, int, str]


def db_url() -> str:
    return resolve_db_url(os.environ.get("ESCALATION_WATCH_DB"))


def config_path() -> Path:
    return Path(os.environ.get(ENV_CONFIG) or DEFAULT_CONFIG)


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


@st.cache_resource(show_spinner=False)
def _store(url: str) -> Store:
    return Store.open(url, readonly=True)


def open_store() -> tuple[Store | None, str | None]:
    """(store, None) or (None, the reason it cannot be read yet)."""
    try:
        return _store(db_url()), None
    except StoreError as e:
        return None, str(e)


def store() -> Store | None:
    """The read-only store, or None (with the reason shown) when it is not there yet."""
    s, reason = open_store()
    if s is None:
        st.info(f"No data yet. {reason}")
    return s


def safe_link(url: object) -> str | None:
    """Only http(s) links are ever rendered clickable (no javascript:, data:)."""
    if isinstance(url, str) and url.lower().startswith(("http://", "https://")):
        return url
    return None


# -- versions ---------------------------------------------------------------------


@st.cache_data(ttl=REFRESH_S, show_spinner=False)
def version(url: str) -> Version:
    return reads.data_version(_store(url))


# -- articles and signals -----------------------------------------------------------


@st.cache_data(ttl=TTL_S, show_spinner=False, max_entries=64)
def search(url: str, ver: Version, *, limit: int, offset: int, **filters: Any) -> list[dict[str, Any]]:
    """:func:`pipeline.store.reads.search_articles` with the filters of
    :meth:`pipeline.ui.filters.Filters.reads_kwargs` (an unknown one is a TypeError there)."""
    return reads.search_articles(_store(url), limit=limit, offset=offset, **filters)


@st.cache_data(ttl=TTL_S, show_spinner=False, max_entries=64)
def count(url: str, ver: Version, **filters: Any) -> int:
    return reads.count_articles(_store(url), **filters)


@st.cache_data(ttl=TTL_S, show_spinner=False)
def sources(url: str, ver: Version) -> list[str]:
    return reads.article_sources(_store(url))


@st.cache_data(ttl=TTL_S, show_spinner=False)
def article_count(url: str, ver: Version | None = None) -> int:
    return _store(url).article_count()


@st.cache_data(ttl=TTL_S, show_spinner=False)
def latest_articles(url: str, ver: Version | None = None, limit: int = 100) -> pd.DataFrame:
    rows = _store(url).latest_articles(limit)
    df = pd.DataFrame(rows, columns=["id", "published_at", "title", "url", "summary", "source", "published_estimated"])
    df["url"] = df["url"].map(safe_link)
    return df


# -- feeds --------------------------------------------------------------------------

HEALTH_COLUMNS = [
    "name", "url", "enabled", "status", "last_success_at", "last_error_at", "last_error",
    "error_streak", "items_total", "next_due_at", "disabled_reason", "ill_formed", "parse_notes",
]  # fmt: skip


@st.cache_data(ttl=TTL_S, show_spinner=False)
def feed_health(url: str, ver: Version | None = None) -> pd.DataFrame:
    return pd.DataFrame(_store(url).feed_health(), columns=HEALTH_COLUMNS)


@st.cache_data(ttl=TTL_S, show_spinner=False)
def items_per_day(url: str, ver: Version, since: datetime, days: int) -> dict[str, float]:
    counts = reads.feed_item_counts(_store(url), since=since)
    return {u: n / days for u, n in counts.items()}


# -- the risk index (pipeline.trend) -----------------------------------------------


@st.cache_data(ttl=TTL_S, show_spinner=False)
def watched_theatres() -> list[dict[str, str]]:
    from pipeline import trend

    return trend.watched_theatres()


def theatre_labels() -> dict[str, str]:
    return {t["id"]: t["label"] for t in watched_theatres()}


@st.cache_data(ttl=TTL_S, show_spinner=False, max_entries=32)
def index_series(
    url: str, ver: Version, theatre: str | None, granularity: str, since: datetime | None, until: datetime | None,
    base: tuple[datetime, datetime] | None = None,
) -> pd.DataFrame:
    """``base``: a fixed base period (see :func:`pipeline.trend.compute_series`); None: trailing."""
    from dataclasses import fields

    from pipeline import trend

    points = trend.index_series(_store(url), theatre=theatre, granularity=granularity, since=since, until=until,
                                base_period=base)
    # column-wise from the attributes: dataclasses.asdict deep-copies every value (slow at 6k points)
    names = [f.name for f in fields(trend.TrendPoint)]
    return pd.DataFrame({n: [getattr(p, n) for p in points] for n in names}, columns=names)


@st.cache_data(ttl=TTL_S, show_spinner=False, max_entries=32)
def language_series(
    url: str, ver: Version, theatre: str, granularity: str, since: datetime | None, until: datetime | None,
    base: tuple[datetime, datetime] | None = None,
) -> pd.DataFrame:
    """The theatre's index per scored language that reports on it in the period:
    bucket_start, language, index, articles."""
    from pipeline import trend
    from pipeline.language import SCORED_LANGUAGES

    frames = []
    for lang in SCORED_LANGUAGES:
        points = trend.index_series(_store(url), theatre=theatre, granularity=granularity, since=since, until=until,
                                    language=lang, base_period=base)  # fmt: skip
        if not any(p.theatre_articles for p in points):
            continue
        frames.append(pd.DataFrame({
            "bucket_start": [p.bucket_start for p in points], "language": lang,
            "index": [p.index for p in points], "articles": [p.articles for p in points],
        }))  # fmt: skip
    if not frames:
        return pd.DataFrame(columns=["bucket_start", "language", "index", "articles"])
    return pd.concat(frames, ignore_index=True)


@st.cache_data(ttl=TTL_S, show_spinner=False, max_entries=32)
def category_series(url: str, ver: Version, theatre: str | None, granularity: str, since: datetime | None) -> pd.DataFrame:
    from pipeline import trend

    rows = trend.category_series(_store(url), theatre=theatre, granularity=granularity, since=since)
    return pd.DataFrame(rows, columns=["bucket_start", "signal", "weight", "count"])


@st.cache_data(ttl=TTL_S, show_spinner=False, max_entries=32)
def source_volume(url: str, ver: Version, granularity: str, since: datetime | None) -> pd.DataFrame:
    from pipeline import trend

    # the biggest sources by name, the rest as one bar: 50 sources x 730 days would be
    # 36,500 bars, which takes a browser tens of seconds to draw
    rows = trend.source_volume(_store(url), granularity=granularity, since=since, top=TOP_SOURCES)
    return pd.DataFrame(rows, columns=["bucket_start", "source", "articles"])


#: the volume chart stacks this many sources by name and folds the rest into one bar
TOP_SOURCES = 8


@st.cache_data(ttl=TTL_S, show_spinner=False, max_entries=16)
def kpis(url: str, ver: Version, now_minute: datetime) -> list[dict[str, Any]]:
    from pipeline import trend

    return trend.kpis(_store(url), now=now_minute)


@st.cache_data(ttl=TTL_S, show_spinner=False, max_entries=32)
def explain_point(url: str, ver: Version, theatre: str, bucket_start: datetime, granularity: str) -> list[dict[str, Any]]:
    from pipeline import trend

    return trend.explain_point(_store(url), theatre=theatre, bucket_start=bucket_start, granularity=granularity, limit=20)


@st.cache_data(ttl=TTL_S, show_spinner=False, max_entries=16)
def driving_now(url: str, ver: Version, theatre: str | None, now_minute: datetime, limit: int) -> list[dict[str, Any]]:
    from pipeline import trend

    rows = trend.driving_now(_store(url), now=now_minute, theatre=theatre, limit=limit)
    for r in rows:
        r["url"] = safe_link(r["url"])
        r["tags"] = reads.feed_tags(r.pop("feed_tags", None))
    return rows


@st.cache_data(ttl=TTL_S, show_spinner=False, max_entries=16)
def signal_changes(url: str, ver: Version, theatre: str | None, now_minute: datetime) -> tuple[list[str], list[str]]:
    from pipeline import trend

    return trend.signal_changes(_store(url), now=now_minute, theatre=theatre)


@st.cache_data(ttl=TTL_S, show_spinner=False, max_entries=32)
def actor_pairs(url: str, ver: Version, theatre: str | None, since: datetime | None, until: datetime | None) -> pd.DataFrame:
    rows = reads.actor_pairs(_store(url), theatre=theatre, since=since, until=until)
    return pd.DataFrame(rows, columns=["source", "target", "kind", "weight", "stories", "articles"])


@st.cache_data(ttl=TTL_S, show_spinner=False)
def feed_tags(url: str, ver: Version) -> list[str]:
    return reads.feed_tag_names(_store(url))


@st.cache_data(ttl=TTL_S, show_spinner=False)
def article_span(url: str, ver: Version) -> tuple[datetime | None, datetime | None]:
    return reads.article_span(_store(url))


# -- exports ------------------------------------------------------------------------


def export_bytes(url: str, table: str, fmt: str, filters: dict[str, Any]) -> bytes:
    """Not cached: called only when the user clicks a download (deferred data)."""
    from pipeline.export import export_table

    return export_table(_store(url), table, fmt, **filters)


@st.cache_data(ttl=TTL_S, show_spinner=False, max_entries=32)
def export_rows(url: str, ver: Version, table: str, filters: tuple[tuple[str, Any], ...]) -> int:
    """How many rows a download will hold (shown next to its buttons)."""
    f = dict(filters)
    if table == "articles":
        return reads.count_articles(_store(url), **f)
    if table == "signals":
        return len(reads.signals_table(_store(url), **f))
    from pipeline import trend

    return len(trend.index_series(_store(url), theatre=f.get("theatre"), granularity="day",
                                  since=f.get("since"), until=f.get("until")))  # fmt: skip


def now_minute() -> datetime:
    return utcnow().replace(second=0, microsecond=0)


def hours_ago(h: float) -> datetime:
    return utcnow() - timedelta(hours=h)


# -- safe text for st.markdown ------------------------------------------------------

_MD_SPECIAL = set("\\`*_{}[]()#+-.!|<>~$&:=\"'")


def md_escape(text: object) -> str:
    """Text from a feed, made inert for st.markdown: every markup character escaped."""
    s = "" if text is None else str(text)
    return "".join("\\" + c if c in _MD_SPECIAL else c for c in s.replace("\n", " ").replace("\r", " "))


def md_link(label: object, url: object) -> str:
    """A markdown link for http(s) URLs; plain escaped text for anything else."""
    link = safe_link(url)
    if link is None:
        return md_escape(label)
    # parentheses and spaces would end the markdown link target early
    target = link.replace(" ", "%20").replace("(", "%28").replace(")", "%29").replace("<", "%3C").replace(">", "%3E")
    return f"[{md_escape(label)}]({target})"
