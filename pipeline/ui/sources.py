"""Sources: the health of every feed, and the feed editor (feeds.yaml through pipeline.config).

Only editors (pipeline.ui.access) get the editor and "test now"; viewers get the
health table, with each error's kind only, and the sign-in.

The dashboard never writes to the store: edits go to feeds.yaml through
``pipeline.config``'s edit functions (locked, validated, atomic, comments and
order kept), and the poller picks the file up when it changes. "Test now"
fetches and parses a feed in this process and shows what it found; nothing is
stored.

Must not touch: SQL and scoring (pages read through pipeline.ui.data).
"""

from __future__ import annotations

import functools
from datetime import timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from pipeline import config as feeds_config
from pipeline.errors import ConfigError, EscalationWatchError
from pipeline.types import FeedsConfig, FeedSpec, Settings

from . import access, audit, data
from .data import md_escape

#: items/day is averaged over this many days
ACTIVITY_DAYS = 7

STATUS_LABEL = {
    "ok": "ok",
    "new": "not polled yet",
    "error": "error",
    "gone": "gone (HTTP 410)",
    "disabled": "disabled",
}


def _load_config(path: Path) -> tuple[FeedsConfig | None, str | None]:
    if not path.exists():
        return None, f"{path} does not exist: create it with a `feeds:` list (see the README)."
    try:
        return feeds_config.load(path), None
    except ConfigError as e:
        return None, str(e)


def _flash(kind: str, message: str) -> None:
    """A message that survives the rerun after an edit."""
    st.session_state["sources_flash"] = (kind, message)


def _show_flash() -> None:
    flash = st.session_state.pop("sources_flash", None)
    if flash:
        kind, message = flash
        (st.success if kind == "ok" else st.error)(message)


def health_frame(cfg: FeedsConfig | None, *, redact_errors: bool = False) -> pd.DataFrame:
    """One row per configured feed: its feeds.yaml entry joined with the poller's health;
    ``redact_errors``: each last error as its kind only (what a viewer may see)."""
    s, _reason = data.open_store()
    url = data.db_url()
    if s is not None:
        ver = data.version(url)
        health = data.feed_health(url, ver)
        since = (data.utcnow() - timedelta(days=ACTIVITY_DAYS)).replace(minute=0, second=0, microsecond=0)
        per_day = data.items_per_day(url, ver, since, ACTIVITY_DAYS)
    else:
        health = pd.DataFrame(columns=data.HEALTH_COLUMNS)
        per_day = {}
    by_url = {r["url"]: r for r in health.to_dict("records")}
    rows: list[dict[str, Any]] = []
    feeds = cfg.feeds if cfg is not None else ()
    for spec in feeds:
        h = by_url.get(spec.url, {})
        status = h.get("status") or "new"
        if not spec.enabled:
            status = "disabled"
        rows.append(
            dict(
                name=spec.name,
                url=spec.url,
                status=STATUS_LABEL.get(status, status),
                enabled=spec.enabled,
                last_success_at=h.get("last_success_at"),
                last_error_at=h.get("last_error_at"),
                error_streak=int(h.get("error_streak") or 0),
                items_per_day=round(per_day.get(spec.url, 0.0), 1),
                items_total=int(h.get("items_total") or 0),
                next_due_at=h.get("next_due_at") if spec.enabled else None,
                interval_min=spec.interval_s / 60,
                last_error=h.get("last_error") or h.get("disabled_reason"),
                parse_notes=h.get("parse_notes"),
            )
        )
    if cfg is None:  # no usable feeds.yaml: still show what the store knows
        for h in by_url.values():
            rows.append(
                dict(
                    name=h["name"], url=h["url"], status=STATUS_LABEL.get(h["status"], h["status"]), enabled=h["enabled"],
                    last_success_at=h["last_success_at"], last_error_at=h["last_error_at"],
                    error_streak=int(h["error_streak"] or 0), items_per_day=round(per_day.get(h["url"], 0.0), 1),
                    items_total=int(h["items_total"] or 0), next_due_at=h["next_due_at"], interval_min=None,
                    last_error=h["last_error"] or h["disabled_reason"], parse_notes=h.get("parse_notes"),
                )
            )  # fmt: skip
    cols = ["name", "url", "status", "enabled", "last_success_at", "last_error_at", "error_streak",
            "items_per_day", "items_total", "next_due_at", "interval_min", "last_error", "parse_notes"]  # fmt: skip
    df = pd.DataFrame(rows, columns=cols)
    if redact_errors:
        df["last_error"] = df["last_error"].map(access.public_error)
    for c in ("last_success_at", "last_error_at", "next_due_at"):
        df[c] = pd.to_datetime(df[c], utc=True)
    return df


def page() -> None:
    st.title("Sources")
    path = data.config_path()
    who = access.current()
    if who.can_edit:
        st.caption(f"Feeds from {md_escape(path)}. Edits are saved there (comments and order kept); the poller reloads it.")
    else:
        st.caption(f"Feeds from {md_escape(path)}.")
    _show_flash()
    cfg, problem = _load_config(path)
    if problem:
        st.error(problem if who.can_edit else "The feeds file has errors; an editor sees which.")
    # a viewer sees each error's kind, never its detail (an internal address, a body)
    health_table(cfg, not who.can_edit)
    if cfg is None and path.exists():
        return  # an invalid file is never rewritten: fix it first
    st.divider()
    if not who.can_edit:
        sign_in_panel(who)
        st.divider()
        opml_section(path, cfg, can_import=False)
        audit_section()
        return
    problem = audit.writer_problem()
    if problem:
        st.error(problem)
        audit_section()
        return
    editor_bar(who)
    with st.container(key="feed_editor"):
        add_col, edit_col = st.columns(2, gap="large")
        with add_col:
            add_form(path, cfg)
        with edit_col:
            if cfg is not None and cfg.feeds:
                edit_form(path, cfg)
    st.divider()
    opml_section(path, cfg, can_import=True)
    audit_section()


# -- audit log --------------------------------------------------------------------


def audit_section() -> None:
    st.divider()
    st.subheader("Audit log")
    df = audit.frame()
    st.caption(
        "Every feed edit made here: who, when (UTC), what changed. "
        f"The newest {audit.SHOWN} are listed; `escalation-watch export --table audit` writes them all."
    )
    with st.container(key="audit_log"):
        if df.empty:
            st.markdown("_No edits yet._")
            return
        st.dataframe(
            df,
            hide_index=True,
            width="stretch",
            column_config={
                "at": st.column_config.DatetimeColumn("When (UTC)", format="YYYY-MM-DD HH:mm:ss"),
                "who": st.column_config.TextColumn("Who"),
                "action": st.column_config.TextColumn("Action"),
                "feed": st.column_config.TextColumn("Feed"),
                "changes": st.column_config.TextColumn("What changed", width="large"),
            },
        )
        st.download_button(
            "Export audit log (CSV)",
            data=functools.partial(data.export_bytes, data.db_url(), "audit", "csv", {}),
            file_name="escalation-watch-audit.csv",
            mime="text/csv",
            icon=":material/download:",
            key="dl_audit_csv",
            on_click="ignore",
        )


# -- sign-in ----------------------------------------------------------------------


def sign_in_panel(who: access.Access) -> None:
    """What a viewer gets instead of the editor: why, and the sign-in when there is one."""
    with st.container(key="read_only_notice"):
        st.info(who.reason or "Read-only.", icon=":material/lock:")
    if who.sign_in == "token":
        with st.form("token_sign_in", border=True, clear_on_submit=True):
            st.markdown("**Editor sign-in**")
            name = st.text_input("Your name (for the audit log)", key="sign_in_name")
            token = st.text_input("Editor token", type="password", key="sign_in_token")
            submitted = st.form_submit_button("Sign in", icon=":material/login:")
        if submitted:
            problem = access.sign_in_with_token(name, token)
            if problem:
                with st.container(key="sign_in_error"):
                    st.error(problem)
            else:
                _flash("ok", "Signed in: you can edit the feeds.")
                st.rerun()
    elif who.sign_in == "oidc":
        if st.user.is_logged_in:
            st.button("Sign out", key="oidc_sign_out", on_click=st.logout, icon=":material/logout:")
        else:
            st.button("Sign in", key="oidc_sign_in", on_click=st.login, icon=":material/login:")


def editor_bar(who: access.Access) -> None:
    c1, c2 = st.columns([4, 1])
    c1.caption(f"Editing as **{md_escape(who.who or 'editor')}**. Every change is recorded below.")
    if who.sign_in == "token":
        if c2.button("Sign out", key="token_sign_out", icon=":material/logout:"):
            access.sign_out()
            st.rerun()
    elif who.sign_in == "oidc":
        c2.button("Sign out", key="oidc_sign_out", on_click=st.logout, icon=":material/logout:")


@st.fragment(run_every=data.REFRESH_S)
def health_table(cfg: FeedsConfig | None, redact_errors: bool = False) -> None:
    df = health_frame(cfg, redact_errors=redact_errors)
    ok = int((df["status"] == "ok").sum()) if len(df) else 0
    failing = int(df["error_streak"].gt(0).sum()) if len(df) else 0
    with st.container(key="feed_health"):
        _health_table(df, ok, failing)


def _health_table(df: pd.DataFrame, ok: int, failing: int) -> None:
    c1, c2, c3 = st.columns(3)
    c1.metric("Feeds", f"{len(df):,}")
    c2.metric("Healthy", f"{ok:,}")
    c3.metric("Failing", f"{failing:,}")
    st.dataframe(
        df,
        hide_index=True,
        width="stretch",
        column_config={
            "name": st.column_config.TextColumn("Feed"),
            "url": st.column_config.TextColumn("URL", width="medium"),
            "status": st.column_config.TextColumn("Status"),
            "enabled": st.column_config.CheckboxColumn("Enabled"),
            "last_success_at": st.column_config.DatetimeColumn("Last success (UTC)", format="YYYY-MM-DD HH:mm"),
            "last_error_at": st.column_config.DatetimeColumn("Last error (UTC)", format="YYYY-MM-DD HH:mm"),
            "error_streak": st.column_config.NumberColumn("Error streak", format="%d"),
            "items_per_day": st.column_config.NumberColumn("Items/day (7 d)", format="%.1f"),
            "items_total": st.column_config.NumberColumn("Items stored", format="%d"),
            "next_due_at": st.column_config.DatetimeColumn("Next poll (UTC)", format="YYYY-MM-DD HH:mm"),
            "interval_min": st.column_config.NumberColumn("Interval (min)", format="%.0f"),
            "last_error": st.column_config.TextColumn("Last error", width="large"),
            # e.g. "items share one link; identities derived from titles" (issue 12)
            "parse_notes": st.column_config.TextColumn("Parse notes", width="large"),
        },
    )


# -- editing ----------------------------------------------------------------------


def _spec_from_inputs(name: str, url: str, interval: str, tags: str, language: str, enabled: bool,
                     user_agent: str = "") -> dict[str, Any]:  # fmt: skip
    spec: dict[str, Any] = {"name": name.strip(), "url": url.strip()}
    interval = interval.strip()
    if interval:
        spec["interval"] = int(interval) if interval.isdigit() else interval
    tag_list = [t.strip() for t in tags.split(",") if t.strip()]
    if tag_list:
        spec["tags"] = tag_list
    if language.strip():
        spec["language"] = language.strip()
    if user_agent.strip():
        spec["user_agent"] = user_agent.strip()
    if not enabled:
        spec["enabled"] = False
    return spec


_UA_HELP = ("Only for a site that answers 403 to the default client: the User-Agent header sent to this "
            "feed alone, e.g. a browser's. Leave empty for the default.")


def test_feed(url: str, settings: Settings, user_agent: str | None = None) -> None:
    """Fetch and parse one feed now, show what came back; nothing is stored."""
    from pipeline.fetch import fetch_feed_sync
    from pipeline.parse import parse_feed, parse_notes

    access.require_editor()
    with st.status(f"Testing {url} …", expanded=True) as status:
        try:
            st.write("Fetching …")
            # exposed, an unset deny_private_networks denies, as for the poller of `run`
            result = fetch_feed_sync(url, settings=access.fetch_settings(settings), user_agent=user_agent or None)
            size = len(result.body or b"")
            st.write(f"HTTP {result.status}, {size:,} bytes in {result.elapsed_s:.1f} s. Parsing …")
            parsed = parse_feed(result.body or b"", feed_url=url, headers=result.headers, now=data.utcnow())
        except EscalationWatchError as e:
            status.update(label="Test failed", state="error", expanded=True)
            st.error(str(e))
            return
        n = len(parsed.articles)
        label = f"{n:,} item{'s' if n != 1 else ''} found" + (f" in “{parsed.title}”" if parsed.title else "")
        status.update(label=label, state="complete" if n else "error", expanded=True)
        if parsed.ill_formed:
            st.warning(f"The feed is ill-formed but readable: {parsed.ill_formed_reason}")
        notes = parse_notes(parsed)
        if notes:
            st.warning(f"{parsed.entries:,} entries read: {notes}")
        with st.container(key="test_result"):
            st.markdown(f"**{n:,} items found**")
            st.markdown(
                "\n".join(f"- {data.md_link(a.title or '(untitled)', a.url)}" for a in parsed.articles[:5])
                or "_No items._"
            )


def add_form(path: Path, cfg: FeedsConfig | None) -> None:
    st.subheader("Add a feed")
    with st.form("add_feed", clear_on_submit=False, border=True):
        name = st.text_input("Name", key="add_name")
        url = st.text_input("URL", key="add_url", placeholder="https://example.org/rss.xml")
        c1, c2 = st.columns(2)
        interval = c1.text_input("Interval", key="add_interval", placeholder="15m (default)")
        language = c2.text_input("Language", key="add_language", placeholder="en")
        tags = st.text_input("Tags (comma-separated)", key="add_tags", help="e.g. ukraine-russia, wire, state-media")
        user_agent = st.text_input("User-Agent (optional)", key="add_user_agent", help=_UA_HELP)
        enabled = st.checkbox("Enabled", value=True, key="add_enabled")
        b1, b2 = st.columns(2)
        test = b1.form_submit_button("Test now", icon=":material/network_check:", width="stretch")
        save = b2.form_submit_button("Add feed", type="primary", icon=":material/add:", width="stretch")
    if test:
        if not url.strip():
            st.error("Enter a URL to test.")
        else:
            test_feed(url.strip(), cfg.settings if cfg else Settings(), user_agent.strip())
    if save:
        spec = _spec_from_inputs(name, url, interval, tags, language, enabled, user_agent)
        _apply(lambda: feeds_config.add_feed(path, spec), f"Added “{spec['name']}”. The poller fetches it on its next pass.",
               "add", None, lambda after: audit.diff(None, _find(after, spec["url"])))  # fmt: skip


def edit_form(path: Path, cfg: FeedsConfig) -> None:
    st.subheader("Edit a feed")
    by_url = {f.url: f for f in cfg.feeds}
    chosen = st.selectbox("Feed", list(by_url), format_func=lambda u: by_url[u].name, key="edit_feed")
    feed = by_url[chosen]
    with st.form(f"edit_{chosen}", border=True):
        name = st.text_input("Name", value=feed.name)
        url = st.text_input("URL", value=feed.url)
        c1, c2 = st.columns(2)
        interval = c1.text_input("Interval", value=_interval_text(feed.interval_s))
        language = c2.text_input("Language", value=feed.language or "")
        tags = st.text_input("Tags (comma-separated)", value=", ".join(feed.tags))
        user_agent = st.text_input("User-Agent (optional)", value=feed.user_agent or "", help=_UA_HELP)
        enabled = st.checkbox("Enabled", value=feed.enabled)
        b1, b2 = st.columns(2)
        test = b1.form_submit_button("Test now", icon=":material/network_check:", width="stretch")
        save = b2.form_submit_button("Save changes", type="primary", icon=":material/save:", width="stretch")
    if test:
        test_feed(url.strip() or feed.url, cfg.settings, user_agent.strip())
    if save:
        new = _spec_from_inputs(name, url, interval, tags, language, enabled, user_agent)
        changes: dict[str, Any] = {
            "name": new["name"],
            "url": new["url"],
            "interval": new.get("interval"),
            "tags": new.get("tags"),
            "language": new.get("language"),
            "user_agent": new.get("user_agent"),
            "enabled": None if enabled else False,  # None drops the key: enabled is the default
        }
        _apply(lambda: feeds_config.update_feed(path, feed.url, changes), f"Saved “{new['name']}”.",
               "update", feed, lambda after: audit.diff(feed, _find(after, new["url"])))  # fmt: skip
    c1, c2 = st.columns(2)
    if feed.enabled:
        if c1.button("Disable", icon=":material/pause:", key="disable_feed", width="stretch"):
            _apply(lambda: feeds_config.set_enabled(path, feed.url, False), f"Disabled “{feed.name}”.",
                   "disable", feed, lambda _after: {"enabled": [True, False]})  # fmt: skip
    elif c1.button("Enable", icon=":material/play_arrow:", key="enable_feed", width="stretch"):
        _apply(lambda: feeds_config.set_enabled(path, feed.url, True), f"Enabled “{feed.name}”.",
               "enable", feed, lambda _after: {"enabled": [False, True]})  # fmt: skip
    with c2.popover("Remove …", icon=":material/delete:", width="stretch"):
        st.write(f"Remove “{feed.name}” from feeds.yaml? Its stored articles stay.")
        if st.button("Remove for good", type="primary", key="remove_feed"):
            _apply(lambda: feeds_config.remove_feed(path, feed.url), f"Removed “{feed.name}”.",
                   "remove", feed, lambda _after: audit.diff(feed, None))  # fmt: skip


def _interval_text(seconds: int) -> str:
    if seconds % 3600 == 0:
        return f"{seconds // 3600}h"
    if seconds % 60 == 0:
        return f"{seconds // 60}m"
    return str(seconds)


def _find(cfg: FeedsConfig, url: str) -> FeedSpec | None:
    want = feeds_config.normalize_url(url)
    return next((f for f in cfg.feeds if feeds_config.normalize_url(f.url) == want), None)


def _apply(edit, message: str, action: str, feed: FeedSpec | None, changes) -> None:
    """Make one edit as the signed-in editor, then append it to the audit log.

    ``edit()`` returns the new config; ``changes(new_config)`` what the audit log keeps."""
    try:
        who = access.require_editor()
        after = edit()
    except ConfigError as e:
        st.error(str(e))
        return
    try:
        recorded = changes(after)
        name = feed.name if feed else (recorded.get("name") or [None, None])[1]
        audit.record(who.who or "editor", action, feed.url if feed else None, name, recorded)
    except Exception as e:  # noqa: BLE001 - the edit is made: say that its record is missing
        st.error(f"Saved, but the audit log could not record it: {e}")
        return
    _flash("ok", message)
    st.rerun()


# -- OPML -------------------------------------------------------------------------


def opml_section(path: Path, cfg: FeedsConfig | None, *, can_import: bool) -> None:
    st.subheader("OPML")
    c1, c2 = st.columns(2, gap="large")
    with c1:
        st.caption("Export every feed as OPML 2.0 (for other feed readers).")
        if cfg is not None:
            st.download_button(
                "Export OPML",
                data=feeds_config.to_opml(cfg),
                file_name="escalation-watch-feeds.opml",
                mime="text/x-opml",
                icon=":material/upload_file:",
                on_click="ignore",
            )
    if not can_import:
        return
    with c2:
        upload = st.file_uploader("Import OPML", type=["opml", "xml"], key="opml_upload")
        if upload is None:
            return
        try:
            specs = feeds_config.from_opml(upload.getvalue(), path=upload.name)
        except ConfigError as e:
            st.error(str(e))
            return
        known = {feeds_config.normalize_url(f.url) for f in (cfg.feeds if cfg else ())}
        names = {f.name.casefold() for f in (cfg.feeds if cfg else ())}
        new = [s for s in specs if feeds_config.normalize_url(s["url"]) not in known]
        for s in new:  # feed names must be unique: "BBC" twice becomes "BBC (2)"
            base, n = s.get("name") or s["url"], 2
            name = base
            while name.casefold() in names:
                name, n = f"{base} ({n})", n + 1
            s["name"] = name
            names.add(name.casefold())
        st.write(f"{len(specs):,} feeds in the file, {len(new):,} new.")
        if new and st.button(f"Add {len(new):,} feeds", type="primary", key="opml_add"):
            imported = {"feeds": [{"name": f["name"], "url": f["url"]} for f in new]}
            with st.spinner(f"Validating and saving {len(new):,} feeds …"):
                _apply(lambda: feeds_config.add_feeds(path, new), f"Imported {len(new):,} feeds.",
                       "import", None, lambda _after: imported)  # fmt: skip
