"""The audit log of feed edits: the one table the dashboard writes.

Owns appending an edit and reading the log back. What counts as a change is
``pipeline.ui.audit``; it must not touch any other table.
"""

from __future__ import annotations

import json
from datetime import datetime

import sqlalchemy as sa

from .. import schema
from ..types import AuditEntry
from .engine import StoreBase


class AuditMixin(StoreBase):
    """Audit log verbs."""

    def record_audit(self, entry: AuditEntry) -> int:
        """Append one feed edit to the audit log (the one write the dashboard makes)."""
        t = schema.audit
        with self._write() as conn:
            return conn.execute(
                t.insert().values(
                    at=entry.at, who=entry.who, action=entry.action, feed_url=entry.feed_url,
                    feed_name=entry.feed_name, changes=json.dumps(entry.changes, ensure_ascii=False, default=str),
                )  # fmt: skip
            ).inserted_primary_key[0]

    def audit_log(self, *, limit: int | None = 100, since: datetime | None = None) -> list[AuditEntry]:
        """The audit log, newest first."""
        t = schema.audit
        q = sa.select(t).order_by(t.c.at.desc(), t.c.id.desc())
        if since is not None:
            q = q.where(t.c.at >= since)
        if limit is not None:
            q = q.limit(limit)
        with self.engine.connect() as conn:
            rows = conn.execute(q).all()
        return [AuditEntry(r.at, r.who, r.action, r.feed_url, r.feed_name, json.loads(r.changes)) for r in rows]
