"""The audit log of feed edits: written on each edit, listed on the Sources page.

The dashboard is read-only on the store (``data._store``) with one exception:
this module opens a second, writable store only to append audit rows, through
the one verb :meth:`pipeline.store.Store.record_audit` (never migrating: the
poller owns the schema). If that store cannot be opened (a read-only database
role, an old schema), editing is off: an edit nobody can attribute is not made.

Must not touch: SQL and scoring (pages read through pipeline.ui.data).
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from pipeline.errors import StoreError
from pipeline.store import Store
from pipeline.types import AuditEntry, FeedSpec

from . import data

#: entries listed on the Sources page (the export has them all)
SHOWN = 50


@st.cache_resource(show_spinner=False)
def _writer(url: str) -> Store:
    return Store.open(url, readonly=False, migrate=False)


def writer_problem() -> str | None:
    """Why audit rows cannot be written (then nobody may edit), or None."""
    try:
        _writer(data.db_url())
    except StoreError as e:
        return f"Editing is off: the audit log cannot be written ({e})."
    return None


def record(who: str, action: str, feed_url: str | None, feed_name: str | None, changes: dict[str, Any]) -> None:
    _writer(data.db_url()).record_audit(AuditEntry(data.utcnow(), who, action, feed_url, feed_name, changes))


def spec_fields(f: FeedSpec) -> dict[str, Any]:
    return {"name": f.name, "url": f.url, "interval_s": f.interval_s, "enabled": f.enabled,
            "tags": list(f.tags), "language": f.language, "user_agent": f.user_agent}  # fmt: skip


def diff(before: FeedSpec | None, after: FeedSpec | None) -> dict[str, list[Any]]:
    """field -> [before, after], the fields that differ (a missing side is None)."""
    b = spec_fields(before) if before else {}
    a = spec_fields(after) if after else {}
    return {k: [b.get(k), a.get(k)] for k in (b | a) if b.get(k) != a.get(k)}


def describe(changes: dict[str, Any]) -> str:
    if "feeds" in changes:
        return f"{len(changes['feeds'])} feeds: " + ", ".join(str(f.get("name")) for f in changes["feeds"][:10])
    parts = []
    for field, (before, after) in changes.items():
        if before is None:
            parts.append(f"{field} = {after}")
        elif after is None:
            parts.append(f"{field} was {before}")
        else:
            parts.append(f"{field}: {before} → {after}")
    return "; ".join(parts)


def frame(limit: int | None = SHOWN) -> pd.DataFrame:
    """The newest entries, for the Sources page (not cached: an edit must show at once)."""
    s, _reason = data.open_store()
    entries = s.audit_log(limit=limit) if s is not None else []
    df = pd.DataFrame(
        [dict(at=e.at, who=e.who, action=e.action, feed=e.feed_name or e.feed_url or "", changes=describe(e.changes))
         for e in entries],
        columns=["at", "who", "action", "feed", "changes"],
    )  # fmt: skip
    df["at"] = pd.to_datetime(df["at"], utc=True)
    return df
