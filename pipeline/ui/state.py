"""The user's choices: one :class:`Filters` in ``st.session_state``, mirrored into the URL.

Widgets get their own keys (``w_<field>``) and copy their value into the
filters in an ``on_change`` callback, so the choice survives pages that do not
draw that widget (Streamlit forgets a widget's state when it is not drawn) and
the timer reruns of live fragments. The first run of a session reads the URL,
so a shared link opens the same view.

Must not touch: SQL and scoring (pages read through pipeline.ui.data).
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from .filters import Filters

_KEY = "filters"


def filters() -> Filters:
    if _KEY not in st.session_state:
        st.session_state[_KEY] = Filters.from_query(st.query_params.to_dict())
    return st.session_state[_KEY]


def update(**changes: Any) -> Filters:
    f = filters().replace(**changes)
    st.session_state[_KEY] = f
    sync_url(f)
    return f


def sync_url(f: Filters | None = None) -> None:
    """Write the filters into the URL (only when they differ: each write is a browser history entry)."""
    want = (f or filters()).to_query()
    have = st.query_params.to_dict()
    if have != want:
        st.query_params.from_dict(want)


def widget_key(field: str) -> str:
    return f"w_{field}"


def seed(field: str, value: Any) -> str:
    """Give a widget its value from the filters when Streamlit has none for it; return its key."""
    key = widget_key(field)
    if key not in st.session_state:
        st.session_state[key] = value
    return key


def from_widget(field: str, convert=None) -> None:
    """on_change callback: copy the widget's value into the filters."""
    value = st.session_state.get(widget_key(field))
    update(**{field: convert(value) if convert else value})


def clicked_points(event: Any) -> list[dict[str, Any]]:
    """The points a chart's selection event holds (``st.plotly_chart(on_select="rerun")``);
    [] when the chart returned no selection."""
    try:
        return list(event.selection.points or ())
    except AttributeError:
        return []
