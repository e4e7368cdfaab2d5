"""Downloads: the current view's articles, signals and daily index as CSV, Parquet or Excel.

The files come from ``pipeline.export.export_table`` (what the ``export``
command writes), with the filters of the Articles page; they are built when
the button is clicked (deferred data), not on every rerun.

Must not touch: SQL and scoring (pages read through pipeline.ui.data).
"""

from __future__ import annotations

import functools

import streamlit as st

from pipeline.export import MIME

from . import data, state
from .data import md_escape

TABLES = {
    "articles": ("Scored articles", "One row per article: time, source, theatre, score, its signals, title, link."),
    "signals": ("Signals with evidence", "One row per signal: category, modality, actors, weight, evidence and sentence."),
    "index": ("Daily risk index", "One row per theatre and day: index, threats, acts, de-escalation, z-score. "
              "Only the theatre and period filters apply."),
}  # fmt: skip
FORMATS = {"csv": "CSV", "parquet": "Parquet", "xlsx": "Excel"}


def page() -> None:
    st.title("Downloads")
    s = data.store()
    if s is None:
        return
    url = data.db_url()
    ver = data.version(url)
    f = state.filters()
    kw = f.reads_kwargs(data.utcnow())
    lines = f.describe(data.theatre_labels())
    st.markdown("Files hold what the current filters select (set them on **Articles** and in the sidebar):")
    st.markdown("\n".join(f"- {md_escape(line)}" for line in lines))
    stamp = data.utcnow().strftime("%Y%m%d-%H%M")
    for table, (title, about) in TABLES.items():
        filters = kw if table != "index" else {k: kw[k] for k in ("theatre", "since", "until")}
        with st.container(border=True, key=f"download_{table}"):
            st.subheader(title)
            st.caption(about)
            try:
                rows = data.export_rows(url, ver, table, tuple(sorted(filters.items())))
            except Exception as e:  # noqa: BLE001 - one table failing must not hide the others
                st.error(f"Not available: {e}")
                continue
            st.markdown(f"**{rows:,}** row{'s' if rows != 1 else ''}")
            cols = st.columns(len(FORMATS))
            for col, (fmt, label) in zip(cols, FORMATS.items(), strict=True):
                col.download_button(
                    label,
                    data=functools.partial(data.export_bytes, url, table, fmt, filters),
                    file_name=f"escalation-watch-{table}-{stamp}.{fmt}",
                    mime=MIME[fmt],
                    icon=":material/download:",
                    key=f"dl_{table}_{fmt}",
                    on_click="ignore",
                    width="stretch",
                    disabled=rows == 0,
                )
