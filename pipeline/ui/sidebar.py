"""The shared sidebar: the filters every page uses (theatre, period) and where the data comes from.

Must not touch: SQL and scoring (pages read through pipeline.ui.data).
"""

from __future__ import annotations

from datetime import date

import streamlit as st

from . import access, data, state
from .data import md_escape
from .filters import PERIODS


#: selectboxes treat None as "nothing chosen" (a placeholder), so "any" is a sentinel string
ANY = "*"


def _theatre_choice(value: str | None) -> str | None:
    return None if value in (None, ANY) else value


def render() -> None:
    f = state.filters()
    with st.sidebar:
        st.markdown("### Filters")
        try:
            theatres = data.watched_theatres()
        except Exception:  # noqa: BLE001 - the trend module failing must not take the sidebar down
            theatres = []
        ids = [ANY] + [t["id"] for t in theatres]
        labels = {t["id"]: t["label"] for t in theatres}
        if f.theatre and f.theatre not in ids:
            ids.append(f.theatre)
        st.selectbox(
            "Theatre",
            ids,
            format_func=lambda v: "All theatres" if v == ANY else labels.get(v, v),
            key=state.seed("theatre", f.theatre or ANY),
            on_change=state.from_widget,
            args=("theatre", _theatre_choice),
        )
        st.selectbox(
            "Period",
            list(PERIODS),
            format_func=lambda p: PERIODS[p][0],
            key=state.seed("period", f.period),
            on_change=state.from_widget,
            args=("period",),
        )
        if state.filters().period == "custom":
            today = data.utcnow().date()
            st.date_input(
                "From (UTC)", key=state.seed("start", f.start or date(today.year, today.month, 1)),
                on_change=state.from_widget, args=("start",), max_value=today,
            )  # fmt: skip
            st.date_input(
                "To (UTC, inclusive)", key=state.seed("end", f.end or today),
                on_change=state.from_widget, args=("end",),
            )  # fmt: skip
            cur = state.filters()
            if cur.start is None or cur.end is None:
                state.update(start=cur.start or st.session_state[state.widget_key("start")],
                             end=cur.end or st.session_state[state.widget_key("end")])  # fmt: skip
        st.divider()
        who = access.current()
        with st.container(key="role"):
            st.caption(f"Editor: {md_escape(who.who)}" if who.can_edit else "Viewer (read-only)")
        st.caption(
            f"Live: pages re-read the store every {data.REFRESH_S} s. "
            "Filters are in the address bar: copy it to share this view."
        )
    state.sync_url()
