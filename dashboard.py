"""Escalation Watch dashboard: a thin router. Pages live in pipeline/ui/.

Run with `escalation-watch dashboard` (or `make run`); it reads the store named
by $ESCALATION_WATCH_DB, read-only.
"""

import streamlit as st

from pipeline.ui import overview

st.set_page_config(page_title="Escalation Watch", page_icon="📈", layout="wide")

pg = st.navigation([st.Page(overview.page, title="Overview", icon=":material/monitoring:", url_path="overview", default=True)])
pg.run()
