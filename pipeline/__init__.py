"""Escalation Watch: poll news feeds, score escalation signals, chart the risk trend.

The public API is the names in ``__all__``; everything else is private. Heavy
stages (fetch, parse, score) are imported on first use, and ``import pipeline``
never imports streamlit or plotly.

Must not touch: Streamlit or Plotly (import pipeline must stay light), logic of its own.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from .errors import (
    ConfigError,
    EscalationWatchError,
    FetchError,
    ParseError,
    StoreError,
)
from .types import Article, FeedSpec, FeedsConfig, ScoredArticle, Settings, Signal

__version__ = "0.1.0"

_LAZY = {
    "load_config": ("pipeline.config", "load"),
    "Store": ("pipeline.store", "Store"),
    "poll_once": ("pipeline.poller", "poll_once"),
    "parse_feed": ("pipeline.parse", "parse_feed"),
    "score_text": ("pipeline.score", "score_text"),
    "score_article": ("pipeline.score", "score_article"),
}

__all__ = [
    "Article",
    "ConfigError",
    "EscalationWatchError",
    "FeedSpec",
    "FeedsConfig",
    "FetchError",
    "ParseError",
    "ScoredArticle",
    "Settings",
    "Signal",
    "Store",
    "StoreError",
    "load_config",
    "parse_feed",
    "poll_once",
    "score_article",
    "score_text",
    "__version__",
]


def __getattr__(name: str) -> Any:
    try:
        module, attr = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module 'pipeline' has no attribute {name!r}") from None
    value = getattr(import_module(module), attr)
    globals()[name] = value
    return value
