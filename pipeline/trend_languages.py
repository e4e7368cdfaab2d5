"""The risk index per language: which trend_buckets keys hold which series.

Besides a theatre's series over every language (key ``"RUS-UKR"``, volume
``"*"``), the store keeps one per scored language (``"RUS-UKR@ru"``,
``"*@ru"``), so each language's coverage has an index of its own. The base
language's series is not stored but derived: the theatre's sums less every
other language's. Over all languages a theatre's volume leaves out the
languages that never report on it while others do (*silent* languages): a
Russian feed added beside English ones moves no theatre that only English news
covers.

Owns: the keys, the derived base-language rows and the silent languages. Must
not touch: the index arithmetic (pipeline.trend), SQL (the store's
``trend_rows`` is called, never written). Pure but for that one read.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from .language import SCORED_LANGUAGES

#: the row of trend_buckets that holds all articles of a bucket
ALL = "*"
#: joins a theatre (or ALL) and a language in the key of its per-language series
LANGUAGE_SEP = "@"
#: the language whose series is not stored but derived: the theatre's sums less every other
#: language's (most articles are English; storing its series would double the index writes)
BASE_LANGUAGE = "en"
_SUMS = ("articles", "stories", "escalation", "threats", "acts", "deescalation")


def language_series(theatre: str, language: str) -> str:
    """The trend_buckets key of ``theatre``'s series in one language: ``"RUS-UKR@ru"``,
    ``"*@ru"`` (its volume). The share of a language's series is its stories over
    the articles in that language. The :data:`BASE_LANGUAGE`'s keys are never stored:
    :func:`_trend_rows` derives them."""
    return f"{theatre}{LANGUAGE_SEP}{language}"


def stored_language(language: str | None) -> bool:
    """Does a language have series of its own in trend_buckets? (None: stored before
    languages were told apart, read as the base language.)"""
    return language is not None and language != BASE_LANGUAGE


def _derive(rows: dict[str, list[dict[str, Any]]], parent: str) -> list[dict[str, Any]]:
    """The base language's rows of ``parent`` (a theatre or ALL): its sums less those of
    every other scored language in ``rows``, bucket by bucket."""
    sums: dict[datetime, dict[str, Any]] = {r["bucket_start"]: dict(r) for r in rows.get(parent, ())}
    for lang in SCORED_LANGUAGES:
        if lang == BASE_LANGUAGE:
            continue
        for r in rows.get(language_series(parent, lang), ()):
            d = sums.get(r["bucket_start"])
            if d is not None:
                for f in _SUMS:
                    d[f] -= r[f]
    out = []
    for b in sorted(sums):
        d = sums[b]
        for f in _SUMS:  # float sums less float sums: clear the rounding dust
            d[f] = 0 if abs(d[f]) < 1e-9 else d[f]
        if any(d[f] for f in _SUMS):
            out.append(d)
    return out


def _trend_rows(
    store, granularity: str, keys: Sequence[str], since: datetime | None, until: datetime | None
) -> dict[str, list[dict[str, Any]]]:
    """store.trend_rows for ``keys``, deriving the base language's series (``"T@en"``)."""
    base_suffix = LANGUAGE_SEP + BASE_LANGUAGE
    derived = [k for k in keys if k.endswith(base_suffix)]
    if not derived:
        return store.trend_rows(granularity, list(keys), since=since, until=until)
    parents = [k[: -len(base_suffix)] for k in derived]
    fetch = set(keys) - set(derived) | set(parents) | set(_language_keys(parents, with_all=False))
    rows = store.trend_rows(granularity, sorted(fetch), since=since, until=until)
    for key, parent in zip(derived, parents, strict=True):
        rows[key] = _derive(rows, parent)
    return rows


def _language_keys(theatres: Sequence[str], with_all: bool = True) -> list[str]:
    """The stored per-language keys of ``theatres`` (and of ALL): every scored language
    but the base one, which is derived."""
    keys = [ALL, *theatres] if with_all else list(theatres)
    return [language_series(t, lang) for lang in SCORED_LANGUAGES if lang != BASE_LANGUAGE for t in keys]


def _total(rows: dict[str, list[dict[str, Any]]], key: str) -> int:
    return sum(r["articles"] for r in rows.get(key, ()))


def _silent_languages(rows: dict[str, list[dict[str, Any]]], theatre: str) -> tuple[str, ...]:
    """The languages with news in ``rows`` but none on ``theatre``, when some other
    language does report on it (a theatre no one reports on keeps the whole volume:
    it is calm, not unmeasured). ``rows`` holds ALL, the theatre and their stored
    per-language keys; the base language's totals are what the others leave."""
    others = [lang for lang in SCORED_LANGUAGES if lang != BASE_LANGUAGE]
    news = {lang: _total(rows, language_series(ALL, lang)) for lang in others}
    if not any(news.values()):
        return ()  # one language only (the usual store): nothing to leave out
    on_theatre = {lang: _total(rows, language_series(theatre, lang)) for lang in others}
    news[BASE_LANGUAGE] = _total(rows, ALL) - sum(news.values())
    on_theatre[BASE_LANGUAGE] = _total(rows, theatre) - sum(on_theatre.values())
    with_news = [lang for lang in SCORED_LANGUAGES if news[lang] > 0]
    reporting = {lang for lang in with_news if on_theatre[lang] > 0}
    if not reporting:
        return ()
    return tuple(lang for lang in with_news if lang not in reporting)


def _with_base_volume(rows: dict[str, list[dict[str, Any]]], silent: Iterable[Sequence[str]]) -> None:
    """Add the base language's volume rows to ``rows`` when some theatre leaves it out."""
    if any(BASE_LANGUAGE in langs for langs in silent):
        rows[language_series(ALL, BASE_LANGUAGE)] = _derive(rows, ALL)


def _volume(
    volume: dict[datetime, int], rows: dict[str, list[dict[str, Any]]], silent: Sequence[str] | None
) -> dict[datetime, int]:
    """``volume`` less the articles of the ``silent`` languages, bucket by bucket."""
    if not silent:
        return volume
    out = dict(volume)
    for lang in silent:
        for r in rows.get(language_series(ALL, lang), ()):
            b = r["bucket_start"]
            if b in out:
                out[b] = max(0, out[b] - r["articles"])
    return out
