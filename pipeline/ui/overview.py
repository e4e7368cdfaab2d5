"""Overview page (first version): live counts, feed health, latest articles."""

from __future__ import annotations

import streamlit as st

from pipeline.ui import data


def page() -> None:
    st.title("Escalation Watch")
    st.caption("Live news feeds, polled and stored. This page refreshes itself.")
    live()


@st.fragment(run_every=data.REFRESH_S)
def live() -> None:
    if data.store() is None:
        return
    url = data.db_url()
    health = data.feed_health(url)
    count = data.article_count(url)
    ok = int((health["status"] == "ok").sum())
    failing = int(health["status"].isin(["error", "gone"]).sum())
    c1, c2, c3, c4 = st.columns(4)
    c1.metric("Articles stored", f"{count:,}")
    c2.metric("Feeds", f"{len(health):,}")
    c3.metric("Feeds OK", f"{ok:,}")
    c4.metric("Feeds failing", f"{failing:,}")
    if count == 0:
        if len(health) == 0:
            st.warning("No feeds configured yet: add some to feeds.yaml.")
        elif health["last_success_at"].isna().all() and failing:
            st.warning("No feed could be reached yet. Latest errors:")
            st.dataframe(health[["name", "last_error"]], hide_index=True, width="stretch")
        else:
            st.info("Waiting for the first poll to finish…")

    st.subheader("Latest articles")
    latest = data.latest_articles(url, 100)
    lines = [
        f"- {row.published_at:%Y-%m-%d %H:%M} · **{data.md_escape(row.source)}** · {data.md_link(row.title, row.url)}"
        for row in latest.head(25).itertuples()
    ]
    with st.container(key="latest_list"):
        st.markdown("\n".join(lines) if lines else "_Nothing stored yet._")
    with st.expander("All recent articles as a table"):
        st.dataframe(
            latest[["published_at", "source", "title", "url"]],
            hide_index=True,
            width="stretch",
            column_config={
                "published_at": st.column_config.DatetimeColumn("Published (UTC)", format="YYYY-MM-DD HH:mm"),
                "source": st.column_config.TextColumn("Source"),
                "title": st.column_config.TextColumn("Title", width="large"),
                "url": st.column_config.LinkColumn("Link", display_text="open"),
            },
            key="latest_articles",
        )

    st.subheader("Feed health")
    st.dataframe(
        health[["name", "status", "last_success_at", "error_streak", "items_total", "next_due_at", "last_error"]],
        hide_index=True,
        width="stretch",
        column_config={
            "name": "Feed",
            "status": "Status",
            "last_success_at": st.column_config.DatetimeColumn("Last success (UTC)", format="YYYY-MM-DD HH:mm"),
            "error_streak": st.column_config.NumberColumn("Error streak"),
            "items_total": st.column_config.NumberColumn("Items"),
            "next_due_at": st.column_config.DatetimeColumn("Next poll (UTC)", format="YYYY-MM-DD HH:mm"),
            "last_error": st.column_config.TextColumn("Last error", width="large"),
        },
        key="feed_health",
    )
