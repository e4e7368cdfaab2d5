"""Alerts, their deliveries, and the daily brief's scheduled runs and inputs.

Owns the alerts, alert_deliveries and schedule_runs tables, and the two reads the
brief needs besides the index (an article window's volume, a story's outlets).
Rules and delivery are ``pipeline.alerts`` and ``pipeline.notify``, the brief
``pipeline.brief``. It must not write articles, feeds or aggregates.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime, timezone
from typing import Any

import sqlalchemy as sa

from .. import schema
from .engine import StoreBase


class AlertsMixin(StoreBase):
    """Alert and scheduled-job verbs."""

    def save_alert(self, alert: dict[str, Any]) -> int:
        t = schema.alerts
        values = {k: alert[k] for k in ("rule", "theatre", "series", "granularity", "bucket_start", "value",
                                        "zscore", "articles", "fired_at", "message")}  # fmt: skip
        with self._write() as conn:
            return conn.execute(
                t.insert().values(**values, evidence=json.dumps(alert["evidence"], default=str), delivery_attempts=0)
            ).inserted_primary_key[0]

    def mark_alert_delivered(self, alert_id: int, *, attempts: int, error: str | None) -> None:
        t = schema.alerts
        with self._write() as conn:
            conn.execute(
                t.update().where(t.c.id == alert_id).values(
                    delivery_attempts=attempts, delivery_error=error,
                    delivered_at=None if error else datetime.now(timezone.utc),
                )  # fmt: skip
            )

    def last_alert_time(self, rule: str) -> datetime | None:
        t = schema.alerts
        with self.engine.connect() as conn:
            return conn.execute(sa.select(sa.func.max(t.c.fired_at)).where(t.c.rule == rule)).scalar()

    def list_alerts(self, *, limit: int = 50, since: datetime | None = None) -> list[dict[str, Any]]:
        t = schema.alerts
        q = sa.select(t).order_by(t.c.fired_at.desc(), t.c.id.desc()).limit(limit)
        if since is not None:
            q = q.where(t.c.fired_at >= since)
        with self.engine.connect() as conn:
            rows = [dict(r._mapping) for r in conn.execute(q)]
        for r in rows:
            r["evidence"] = json.loads(r["evidence"])
        return rows

    def record_delivery(self, alert_id: int, destination: str, *, attempts: int, error: str | None) -> None:
        """One destination's outcome for an alert (``destination`` already masked)."""
        with self._write() as conn:
            conn.execute(
                schema.alert_deliveries.insert().values(
                    alert_id=alert_id, destination=destination, attempts=attempts, error=error,
                    delivered_at=None if error else datetime.now(timezone.utc),
                )  # fmt: skip
            )

    def alert_deliveries(self, alert_id: int) -> list[dict[str, Any]]:
        t = schema.alert_deliveries
        with self.engine.connect() as conn:
            q = sa.select(t).where(t.c.alert_id == alert_id).order_by(t.c.id)
            return [dict(r._mapping) for r in conn.execute(q)]

    # -- scheduled jobs -----------------------------------------------------

    def claim_run(self, job: str, period: str, *, worker: str, now: datetime) -> bool:
        """Claim ``job`` for ``period``; True for the one caller that inserted the row.

        The row's primary key makes the claim: a concurrent INSERT of the same key
        waits for the first to commit and then inserts nothing, on PostgreSQL as on
        SQLite, across processes and restarts."""
        if self.backend == "postgresql":
            from sqlalchemy.dialects.postgresql import insert
        else:
            from sqlalchemy.dialects.sqlite import insert
        stmt = insert(schema.schedule_runs).values(job=job, period=period, claimed_at=now, claimed_by=worker)
        with self._write() as conn:
            # RETURNING, not rowcount: psycopg reports -1 for this INSERT ... ON CONFLICT DO NOTHING
            return conn.execute(stmt.on_conflict_do_nothing().returning(schema.schedule_runs.c.job)).first() is not None

    def finish_run(self, job: str, period: str, *, error: str | None, now: datetime) -> None:
        t = schema.schedule_runs
        with self._write() as conn:
            conn.execute(
                t.update().where(t.c.job == job, t.c.period == period).values(finished_at=now, error=error)
            )

    def schedule_runs(self, job: str) -> list[dict[str, Any]]:
        t = schema.schedule_runs
        with self.engine.connect() as conn:
            q = sa.select(t).where(t.c.job == job).order_by(t.c.period)
            return [dict(r._mapping) for r in conn.execute(q)]

    def window_volume(self, since: datetime, until: datetime) -> dict[str, Any]:
        """Articles published in [since, until), the feeds they came from, and the newest
        article's time: the data behind a brief (a gap must not read as calm)."""
        a = schema.articles
        q = sa.select(sa.func.count(a.c.id), sa.func.count(sa.distinct(a.c.feed_id))).where(
            a.c.published_at >= since, a.c.published_at < until
        )
        with self.engine.connect() as conn:
            n, feeds = conn.execute(q).one()
            newest = conn.execute(sa.select(sa.func.max(a.c.published_at)).where(a.c.published_at < until)).scalar()
        return {"articles": int(n or 0), "sources": int(feeds or 0), "newest": newest}

    def story_sources(self, story_ids: Sequence[int]) -> dict[int, list[str]]:
        """The outlets (feed names) that ran each story, by name."""
        a, f = schema.articles, schema.feeds
        out: dict[int, list[str]] = {}
        if not story_ids:
            return out
        q = (
            sa.select(a.c.story_id, f.c.name).distinct().join(f, f.c.id == a.c.feed_id)
            .where(a.c.story_id.in_(list(story_ids))).order_by(a.c.story_id, f.c.name)
        )  # fmt: skip
        with self.engine.connect() as conn:
            for sid, name in conn.execute(q):
                out.setdefault(sid, []).append(name)
        return out

    def recent_alerts(self, *, since: datetime) -> list[dict[str, Any]]:
        """The latest alert per theatre since ``since`` (for KPI alert states)."""
        seen: dict[str, dict[str, Any]] = {}
        for a in self.list_alerts(limit=500, since=since):
            seen.setdefault(a["theatre"], a)
        return list(seen.values())
