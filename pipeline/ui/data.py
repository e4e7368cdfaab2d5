"""Cached reads for the dashboard. Pages call these; none of them builds SQL."""

from __future__ import annotations

import os

import pandas as pd
import streamlit as st

from pipeline.errors import StoreError
from pipeline.store import Store, resolve_db_url

#: how often the live parts of a page re-read the store
REFRESH_S = 5


def db_url() -> str:
    return resolve_db_url(os.environ.get("ESCALATION_WATCH_DB"))


@st.cache_resource(show_spinner=False)
def _store(url: str) -> Store:
    return Store.open(url, readonly=True)


def store() -> Store | None:
    """The read-only store, or None (with the reason shown) when it is not there yet."""
    url = db_url()
    try:
        return _store(url)
    except StoreError as e:
        st.info(f"No data yet. {e}")
        return None


def safe_link(url: object) -> str | None:
    """Only http(s) links are ever rendered clickable (no javascript:, data:)."""
    if isinstance(url, str) and url.lower().startswith(("http://", "https://")):
        return url
    return None


@st.cache_data(ttl=REFRESH_S, show_spinner=False)
def article_count(url: str) -> int:
    return _store(url).article_count()


@st.cache_data(ttl=REFRESH_S, show_spinner=False)
def latest_articles(url: str, limit: int = 100) -> pd.DataFrame:
    rows = _store(url).latest_articles(limit)
    df = pd.DataFrame(rows, columns=["id", "published_at", "title", "url", "summary", "source", "published_estimated"])
    df["url"] = df["url"].map(safe_link)
    return df


@st.cache_data(ttl=REFRESH_S, show_spinner=False)
def feed_health(url: str) -> pd.DataFrame:
    rows = _store(url).feed_health()
    return pd.DataFrame(
        rows,
        columns=[
            "name", "url", "enabled", "status", "last_success_at", "last_error_at", "last_error",
            "error_streak", "items_total", "next_due_at", "disabled_reason", "ill_formed",
        ],
    )  # fmt: skip


_MD_SPECIAL = set("\\`*_{}[]()#+-.!|<>~$&:")


def md_escape(text: object) -> str:
    """Text from a feed, made inert for st.markdown: every markup character escaped."""
    s = "" if text is None else str(text)
    return "".join("\\" + c if c in _MD_SPECIAL else c for c in s.replace("\n", " "))


def md_link(label: object, url: object) -> str:
    """A markdown link for http(s) URLs; plain escaped text for anything else."""
    link = safe_link(url)
    if link is None:
        return md_escape(label)
    # parentheses and spaces would end the markdown link target early
    target = link.replace(" ", "%20").replace("(", "%28").replace(")", "%29").replace("<", "%3C").replace(">", "%3E")
    return f"[{md_escape(label)}]({target})"
