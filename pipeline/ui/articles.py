"""Articles: filter, search, and read the evidence behind each score.

Must not touch: SQL and scoring (pages read through pipeline.ui.data).
"""

from __future__ import annotations

import streamlit as st

from pipeline.language import SCORED_LANGUAGES
from pipeline.store.reads import UNSCORED

from . import data, evidence, palette, period, state
from .filters import SCORE_MAX, STATE_MEDIA

PAGE_SIZE = 25
MODALITIES = list(palette.MODALITY_LABELS)


ANY = "*"  # selectboxes show None as an empty placeholder: "any" is a sentinel


def _none_if_blank(v):
    return None if v in (None, "", ANY) else v


def _language_label(code: str) -> str:
    if code == ANY:
        return "Any language"
    if code == UNSCORED:
        return "Not scored (other languages)"
    return evidence.LANGUAGE_NAMES.get(code, code)


def _score_range(v) -> tuple[float | None, float | None]:
    lo, hi = v
    return (None if lo <= 0 else float(lo)), (None if hi >= SCORE_MAX else float(hi))


def _on_score() -> None:
    lo, hi = _score_range(st.session_state[state.widget_key("score")])
    state.update(min_score=lo, max_score=hi)


def _on_text() -> None:
    state.update(text=(st.session_state[state.widget_key("text")] or "")[:200])


def _clear_actor() -> None:
    for key in ("_last_map_pick", "_last_cell_pick"):
        st.session_state.pop(key, None)
    state.update(actor=None, pair=None, kind=None)


def filter_bar(sources: list[str], tags: list[str]) -> None:
    """The filters over the list, in two rows; each widget writes its choice to the URL state."""
    f = state.filters()
    if f.actor or f.pair:
        _actor_banner(f)
    c1, c2, c3, c4, c5 = st.columns([3, 2, 2, 2, 2])
    c1.text_input(
        "Search titles and summaries",
        key=state.seed("text", f.text),
        on_change=_on_text,
        placeholder="e.g. missile strike, sanctions, Kharkiv",
    )
    _signal_and_modality(f, c2, c3)
    _source_and_label(f, c4, c5, sources, tags)
    _language_media_score(f)


def _actor_banner(f) -> None:
    """The actor or pair filter the Map page set, with a button that drops it."""
    # set from the Map page (a country, a cell of who threatens whom): say so, one click to drop it
    what = f"naming **{data.md_escape(f.actor)}**" if f.actor else (
        f"from **{data.md_escape(f.pair.split('>')[0])}** against **{data.md_escape(f.pair.split('>')[-1])}**")
    if f.kind:
        what += f" ({'threats' if f.kind == 'threat' else 'acts'})"
    c1, c2 = st.columns([5, 1], vertical_alignment="center")
    with c1, st.container(key="actor_filter"):
        st.markdown(f":material/public: Articles with counted escalation {what}")
    c2.button("Clear", icon=":material/close:", key="actor_clear", on_click=_clear_actor, width="stretch")


def _signal_and_modality(f, c2, c3) -> None:
    """First row: the signal category and its modality."""
    signals = [ANY, *sorted(palette.signal_labels(), key=palette.signal_label)]
    if f.signal and f.signal not in signals:
        signals.append(f.signal)
    c2.selectbox(
        "Signal",
        signals,
        format_func=lambda s: "Any signal" if s == ANY else palette.signal_label(s),
        key=state.seed("signal", f.signal or ANY),
        on_change=state.from_widget,
        args=("signal", _none_if_blank),
    )
    c3.selectbox(
        "Modality",
        [ANY, *MODALITIES],
        format_func=lambda m: "Any modality" if m == ANY else palette.MODALITY_LABELS.get(m, m),
        key=state.seed("modality", f.modality if f.modality in MODALITIES else ANY),
        on_change=state.from_widget,
        args=("modality", _none_if_blank),
    )


def _source_and_label(f, c4, c5, sources: list[str], tags: list[str]) -> None:
    """First row: the source and the feed label (tags in feeds.yaml)."""
    srcs = [ANY, *sources]
    if f.source and f.source not in srcs:
        srcs.append(f.source)
    c4.selectbox(
        "Source",
        srcs,
        format_func=lambda s: "Any source" if s == ANY else s,
        key=state.seed("source", f.source or ANY),
        on_change=state.from_widget,
        args=("source", _none_if_blank),
    )
    tag_options = [ANY, *tags]
    if f.tag and f.tag not in tag_options:
        tag_options.append(f.tag)
    c5.selectbox(
        "Source label",
        tag_options,
        format_func=lambda t: "Any label" if t == ANY else t,
        key=state.seed("tag", f.tag or ANY),
        on_change=state.from_widget,
        args=("tag", _none_if_blank),
        help="The feed's tags in feeds.yaml, e.g. wire, state-media, think-tank.",
    )


def _language_media_score(f) -> None:
    """The second row: language, state media, and the score range under them."""
    l1, l2, l3 = st.columns([2, 2, 6])
    languages = [ANY, *SCORED_LANGUAGES, UNSCORED]
    if f.language and f.language not in languages:
        languages.append(f.language)
    l1.selectbox(
        "Language",
        languages,
        format_func=_language_label,
        key=state.seed("language", f.language or ANY),
        on_change=state.from_widget,
        args=("language", _none_if_blank),
        help="The language each article was read in, from its letters (the feed's language breaks ties).",
    )
    l2.selectbox(
        "State media",
        [ANY, *STATE_MEDIA],
        format_func=lambda v: {"hide": "Hidden", "only": "Only state media"}.get(v, "Shown"),
        key=state.seed("state_media", f.state_media or ANY),
        on_change=state.from_widget,
        args=("state_media", _none_if_blank),
        help="Outlets whose editorial line the state controls (feeds tagged state-media in feeds.yaml).",
    )
    st.slider(
        "Score",
        min_value=0.0,
        max_value=SCORE_MAX,
        step=1.0,
        key=state.seed("score", (f.min_score or 0.0, f.max_score if f.max_score is not None else SCORE_MAX)),
        on_change=_on_score,
        format="%.0f",
        help="The article's escalation score, 0 (none) to 100.",
    )


def page() -> None:
    st.title("Articles")
    st.caption("Every stored article with its score, its signals and the sentences they were found in.")
    s = data.store()
    if s is None:
        return
    url = data.db_url()
    ver = data.version(url)
    filter_bar(data.sources(url, ver), data.feed_tags(url, ver))
    results()


@st.fragment(run_every=data.REFRESH_S)
def results() -> None:
    url = data.db_url()
    ver = data.version(url)
    f = state.filters()
    kw = f.reads_kwargs(data.utcnow())
    total = data.count(url, ver, **kw)
    labels = data.theatre_labels()
    pages = max(1, -(-total // PAGE_SIZE))
    head, pager = st.columns([4, 1], vertical_alignment="bottom")
    shown = " · ".join(f.describe(labels))
    head.markdown(f"**{total:,}** matching article{'s' if total != 1 else ''} · {data.md_escape(shown)}")
    page_no = 1
    if pages > 1:
        page_no = int(pager.number_input("Page", min_value=1, max_value=pages, value=1, step=1, key="articles_page"))
    rows = data.search(url, ver, **kw, limit=PAGE_SIZE, offset=(page_no - 1) * PAGE_SIZE)
    if not rows:
        if data.article_count(url, ver) == 0:
            st.info("Nothing stored yet: the poller has not stored any article. See Sources for feed health.")
        elif period.notice(url, ver, kw["since"], kw["until"], key="articles_history"):
            pass
        else:
            st.info("No article matches these filters. Widen the period or clear a filter.")
        return
    with st.container(key="article_list"):
        for row in rows:
            evidence.article_card(row, labels=labels, key=f"article_{row['id']}")
    if pages > 1:
        st.caption(f"Page {page_no} of {pages:,}")
