"""Articles and their evidence as safe markdown: every feed string escaped, spans highlighted.

Signal spans are offsets into ``pipeline.score.article_text(title, summary)``
(the text the scorer read); the highlight is cut from that same text, so what
is marked is exactly what matched. When the summary is not at hand (the
Overview's drill-down rows) the evidence is found inside its sentence instead.
Links are only ever http/https (``data.md_link``); nothing from a feed reaches
the page as HTML.

Must not touch: SQL and scoring (pages read through pipeline.ui.data).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import streamlit as st

from pipeline.language import SCORED_LANGUAGES

from . import data, palette
from .filters import STATE_MEDIA_TAG
from .data import md_escape, md_link

#: names of the languages the scorer reads, and of a few it lists unscored
LANGUAGE_NAMES = {"en": "English", "ru": "Russian", "uk": "Ukrainian", "fr": "French", "de": "German",
                  "es": "Spanish", "ar": "Arabic", "zh": "Chinese", "be": "Belarusian", "he": "Hebrew"}  # fmt: skip
#: Streamlit markdown directive for the highlighted span; readable in light and dark themes
_MARK = ":orange-background[{}]"
#: context kept around a span when its sentence cannot be found
_CONTEXT_CHARS = 140


def fmt_time(t: datetime | None) -> str:
    if t is None:
        return "—"
    return f"{t:%Y-%m-%d %H:%M} UTC"


def fmt_score(x: float | None) -> str:
    return "—" if x is None else f"{x:.0f}"


def highlight(sig: dict[str, Any], title: str | None = None, summary: str | None = None) -> str:
    """The signal's sentence as markdown with the matched span highlighted."""
    start, end = int(sig.get("span_start") or 0), int(sig.get("span_end") or 0)
    sentence = sig.get("sentence") or ""
    evidence = sig.get("evidence") or ""
    if title is not None and summary is not None:
        from pipeline.score import article_text

        text = article_text(title, summary)
        if 0 <= start < end <= len(text) and text[start:end] == evidence:
            # the sentence holding the span starts in [end - len(sentence), start]
            pos = text.find(sentence, max(0, end - len(sentence))) if sentence else -1
            if pos < 0 or pos > start:
                pos = max(0, start - _CONTEXT_CHARS)
                stop = min(len(text), end + _CONTEXT_CHARS)
            else:
                stop = pos + len(sentence)
            return _marked(text[pos:start], text[start:end], text[end:stop])
    # no text to index: find the evidence in its sentence (first occurrence)
    at = sentence.find(evidence) if evidence else -1
    if at < 0:
        return _marked("", evidence, "") if not sentence else md_escape(sentence)
    return _marked(sentence[:at], evidence, sentence[at + len(evidence) :])


def _marked(before: str, hit: str, after: str) -> str:
    return md_escape(before) + _MARK.format(md_escape(hit)) + md_escape(after)


def signal_line(sig: dict[str, Any]) -> str:
    """'Threat of force · threat · RUS → UKR · weight 1.2' as escaped markdown."""
    parts = [f"**{md_escape(palette.signal_label(sig['signal']))}**"]
    modality = sig.get("modality") or ""
    colour = palette.MODALITY_BADGE.get(modality, "gray")
    parts.append(f":{colour}-badge[{md_escape(palette.MODALITY_LABELS.get(modality, modality))}]")
    if sig.get("source") or sig.get("target"):
        parts.append(f"{md_escape(sig.get('source') or '?')} → {md_escape(sig.get('target') or '?')}")
    if sig.get("weight") is not None:
        parts.append(f"weight {float(sig['weight']):.2f}")
    return " · ".join(parts)


def article_card(row: dict[str, Any], *, labels: dict[str, str], key: str) -> None:
    """One article: linked title, source and time, score, theatre, signals with highlighted evidence."""
    with st.container(border=True, key=key):
        top, right = st.columns([5, 1], vertical_alignment="top")
        top.markdown(f"#### {md_link(row.get('title') or '(untitled)', row.get('url'))}")
        source = md_escape(row.get("source") or "")
        # the feed's tags (feeds.yaml) as badges: a wire, state media, a think tank read differently
        tags = list(row.get("tags") or ())
        badges = [":red-badge[:material/campaign: state media]"] if STATE_MEDIA_TAG in tags else []
        badges += [f":blue-badge[{md_escape(t)}]" for t in tags if t != STATE_MEDIA_TAG]
        badges += language_badges(row.get("language"))
        meta = [f"{source} {' '.join(badges)}".strip(), fmt_time(row.get("published_at"))]
        if row.get("published_estimated"):
            meta[-1] += " (first seen)"
        if row.get("title_derived"):
            meta.append("headline from the summary (the feed gave none)")
        theatre = row.get("theatre")
        if theatre:
            meta.append(md_escape(labels.get(theatre, theatre)))
        if row.get("cluster_size") and row["cluster_size"] > 1:
            meta.append(f"{int(row['cluster_size'])} outlets")
        top.caption(" · ".join(m for m in meta if m))
        right.metric("Score", fmt_score(row.get("score")))
        sigs = row.get("signals") or []
        if not sigs:
            lang = row.get("language")
            if lang and lang not in SCORED_LANGUAGES:
                st.caption(f"Not scored: the scorer does not read {md_escape(LANGUAGE_NAMES.get(lang, lang))}; "
                           "the article is kept and counts in no index.")  # fmt: skip
            else:
                st.caption("No signals.")
            return
        lines = []
        for sig in sigs:
            lines.append(f"- {signal_line(sig)}  \n  {highlight(sig, row.get('title'), row.get('summary'))}")
        st.markdown("\n".join(lines))


def language_badges(language: str | None) -> list[str]:
    """A badge for an article not in English: its language, and "not scored" when the
    scorer does not read it."""
    if not language or language == "en":
        return []
    name = md_escape(LANGUAGE_NAMES.get(language, language))
    if language in SCORED_LANGUAGES:
        return [f":violet-badge[:material/translate: {name}]"]
    return [f":gray-badge[:material/block: {name}, not scored]"]


def safe_link(url: object) -> str | None:
    return data.safe_link(url)
