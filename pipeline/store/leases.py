"""Several poller workers on one PostgreSQL database: leases and deployment-wide locks.

Owns claiming due feeds under a lease (``FOR UPDATE SKIP LOCKED``), giving leases
back, when the next feed becomes claimable, and :meth:`LeasesMixin.exclusive`
for jobs one worker should run. A poll's write ends its lease in :mod:`.feeds`
(``_lease_release``). It must not write anything but the lease columns.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError

from .. import schema
from ..errors import StoreError
from . import fastsql
from .engine import _PG_LOCK_NS, StoreBase, _short
from .feeds import FeedState


class LeasesMixin(StoreBase):
    """Verbs that let several pollers share the feeds."""

    @property
    def supports_leases(self) -> bool:
        """Whether several pollers may share this store, claiming feeds with leases.

        PostgreSQL: yes (row locks that skip what others hold). SQLite has one writer
        at a time; its poller keeps the plain select step.
        """
        return self.backend == "postgresql"

    def claim_due_feeds(
        self,
        worker_id: str,
        now: datetime,
        lease_s: float,
        limit: int,
        *,
        fetched_before: datetime | None = None,
    ) -> list[FeedState]:
        """Lease up to ``limit`` feeds to ``worker_id`` until ``now + lease_s`` and return them.

        A feed is claimable when it is configured, enabled, not gone, past any
        Retry-After, not leased (or its lease expired: the holder crashed) and due
        (``next_due_at <= now``), or, with ``fetched_before`` (``poll --once``), not
        fetched since then. The rows are taken with ``FOR UPDATE SKIP LOCKED``:
        workers claiming at the same moment never wait for each other and never get
        the same feed; the lease then keeps the feed from every other worker until
        :meth:`record_update` releases it (and sets its next due time) or it expires.
        Earliest due first. Times come from the workers' clocks: keep them in NTP sync,
        well within ``lease_s``.
        """
        f = schema.feeds
        q = sa.select(f.c.id).where(
            f.c.in_config.is_(True),
            f.c.enabled.is_(True),
            f.c.status != "gone",
            sa.or_(f.c.retry_after_until.is_(None), f.c.retry_after_until <= now),
            sa.or_(f.c.lease_expires_at.is_(None), f.c.lease_expires_at <= now),
        )
        if fetched_before is None:
            q = q.where(sa.or_(f.c.next_due_at.is_(None), f.c.next_due_at <= now))
        else:
            q = q.where(sa.or_(f.c.last_fetch_at.is_(None), f.c.last_fetch_at < fetched_before))
        # SQLite ignores FOR UPDATE; its BEGIN IMMEDIATE already makes the claim exclusive
        q = q.order_by(f.c.next_due_at.asc().nulls_first(), f.c.id).limit(max(int(limit), 0))
        q = q.with_for_update(skip_locked=True)
        lease = dict(lease_owner=worker_id, lease_expires_at=now + timedelta(seconds=lease_s))
        try:
            with self._write() as conn:
                ids = list(conn.execute(q).scalars())
                if not ids:
                    return []
                rows = conn.execute(f.update().where(f.c.id.in_(ids)).values(**lease).returning(*f.c)).all()
        except SQLAlchemyError as e:
            raise StoreError(f"cannot claim feeds in {self._safe_url()}: {_short(e)}") from e
        order = {fid: i for i, fid in enumerate(ids)}
        return sorted((FeedState.from_row(r) for r in rows), key=lambda s: order[s.id])

    def release_leases(self, worker_id: str) -> int:
        """Give back every feed ``worker_id`` still holds (a graceful stop); return how many."""
        f = schema.feeds
        with self._write() as conn:
            return conn.execute(
                f.update().where(f.c.lease_owner == worker_id).values(lease_owner=None, lease_expires_at=None)
            ).rowcount

    def next_claim_at(self) -> datetime | None:
        """When the next feed becomes claimable (due, and past any lease), or None if never."""
        f = schema.feeds
        # a leased feed is claimable again at lease expiry (its holder crashed), not before
        later = sa.case(
            (f.c.lease_expires_at > sa.func.coalesce(f.c.next_due_at, f.c.lease_expires_at), f.c.lease_expires_at),
            else_=f.c.next_due_at,
        )
        q = sa.select(sa.func.min(sa.type_coerce(later, schema.UTCDateTime))).where(
            f.c.in_config.is_(True), f.c.enabled.is_(True), f.c.status != "gone"
        )
        with self.engine.connect() as conn:
            row = conn.execute(q).first()
        return row[0] if row else None

    @contextlib.contextmanager
    def exclusive(self, name: str) -> Iterator[bool]:
        """Yield whether this process holds the deployment-wide lock ``name`` (without waiting).

        For jobs one worker should run, not all of them (alert checks). PostgreSQL:
        a session advisory lock on one pooled connection, given back on exit (and by
        the server if the process dies). SQLite: always True (one writer).
        """
        if self.backend != "postgresql":
            yield True
            return
        key = fastsql.pg_lock_key(name)
        with self.engine.connect() as conn:
            got = bool(conn.execute(sa.select(sa.func.pg_try_advisory_lock(_PG_LOCK_NS, key))).scalar())
            conn.commit()
            try:
                yield got
            finally:
                if got:
                    conn.execute(sa.select(sa.func.pg_advisory_unlock(_PG_LOCK_NS, key)))
                    conn.commit()
