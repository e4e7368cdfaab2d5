"""Escalation Watch dashboard: a thin router. Pages live in pipeline/ui/.

Run with `escalation-watch dashboard` (or `make run`); it reads the store named
by $ESCALATION_WATCH_DB, read-only but for the audit log of feed edits
(pipeline/ui/audit.py), and edits the feeds file named by $ESCALATION_WATCH_CONFIG
for signed-in editors (pipeline/ui/access.py).
"""

import streamlit as st

from pipeline.ui import actors, articles, downloads, overview, sidebar, sources

st.set_page_config(page_title="Escalation Watch", page_icon=":material/crisis_alert:", layout="wide")

pg = st.navigation(
    [
        st.Page(overview.page, title="Overview", icon=":material/monitoring:", default=True),
        st.Page(articles.page, title="Articles", icon=":material/article:", url_path="articles"),
        st.Page(actors.page, title="Map", icon=":material/public:", url_path="map"),
        st.Page(sources.page, title="Sources", icon=":material/rss_feed:", url_path="sources"),
        st.Page(downloads.page, title="Downloads", icon=":material/download:", url_path="downloads"),
    ]
)
sidebar.render()
pg.run()
