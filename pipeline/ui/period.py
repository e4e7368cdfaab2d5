"""History is never hidden: when the chosen period holds no article but the store does
(an imported history, a stale store), say where the data is and offer one click to it.

Must not touch: SQL and scoring (pages read through pipeline.ui.data).
"""

from __future__ import annotations

from datetime import date, datetime

import streamlit as st

from . import data, state


def outside(since: datetime | None, until: datetime | None, first: datetime | None, last: datetime | None) -> bool:
    """The window [since, until) misses every stored article (first..last); False on an empty store.

    From the span alone (two index lookups, not a count over a million rows): a gap
    inside the span is a quiet period, shown as such by the charts."""
    if first is None or last is None:
        return False
    return (since is not None and last < since) or (until is not None and first >= until)


def fmt_day(d: datetime | date) -> str:
    return f"{d:%d %b %Y}".lstrip("0")


def _jump(start: date, end: date) -> None:
    # the sidebar's widgets show the filters: give them the new values too
    st.session_state[state.widget_key("period")] = "custom"
    st.session_state[state.widget_key("start")] = start
    st.session_state[state.widget_key("end")] = end
    state.update(period="custom", start=start, end=end, drill=None)
    # the click reruns only the fragment the button is in, where the notice is then gone:
    # the next notice() call reruns the whole app, so the sidebar shows the new dates
    st.session_state[_FULL_RERUN] = True


_FULL_RERUN = "_period_full_rerun"


def notice(url: str, ver, since: datetime | None, until: datetime | None, *, key: str) -> bool:
    """Show where the stored articles are when the period holds none of them; True when shown."""
    if st.session_state.pop(_FULL_RERUN, False):
        st.rerun(scope="app")
    first, last = data.article_span(url, ver)
    if not outside(since, until, first, last):
        return False
    with st.container(border=True, key=key):
        st.warning(
            f"**Nothing in this period.** Stored articles run from {fmt_day(first)} to {fmt_day(last)}."
        )
        st.button(
            f"Show {fmt_day(first)} – {fmt_day(last)}", key=f"{key}_jump", icon=":material/history:",
            on_click=_jump, args=(first.date(), last.date()), type="primary",
        )  # fmt: skip
    return True
