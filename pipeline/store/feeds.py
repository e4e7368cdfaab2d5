"""Feeds and their polls: the feeds table as feeds.yaml says, and each poll's write.

Owns syncing the feeds table with the configuration, reading a feed's state, and
writing one poll of a feed (its articles through :mod:`.articles`, its health,
schedule and fetch_log row) in one transaction: :meth:`FeedsMixin.record_update`,
the group commits :meth:`FeedsMixin.record_updates` and
:meth:`FeedsMixin.record_health`, and the feed-health reads of the Sources page.
Claiming feeds across workers is :mod:`.leases`. It must not decide a schedule
(the poller passes the next due time in) nor score text.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.exc import SQLAlchemyError

from .. import schema
from ..errors import StoreError
from ..types import FeedSpec, FeedUpdate
from . import fastsql
from .articles import ArticlesMixin
from .engine import _short


@dataclass(frozen=True, slots=True)
class FeedState:
    """A feed's row: configuration plus health and scheduling state."""

    id: int
    url: str
    name: str
    enabled: bool
    interval_s: int
    tags: tuple[str, ...]
    language: str | None
    in_config: bool
    title: str | None
    etag: str | None
    last_modified: str | None
    ttl_s: int | None
    status: str
    disabled_reason: str | None
    last_fetch_at: datetime | None
    last_success_at: datetime | None
    last_error_at: datetime | None
    last_error: str | None
    error_streak: int
    next_due_at: datetime | None
    retry_after_until: datetime | None
    ill_formed: bool
    items_total: int
    new_items_ewma: float | None

    @classmethod
    def from_row(cls, row: Any) -> FeedState:
        m = row._mapping
        return cls(
            **{
                f: (tuple(json.loads(m[f] or "[]")) if f == "tags" else m[f])
                for f in cls.__slots__  # type: ignore[attr-defined]
            }
        )


@dataclass(frozen=True)
class UpdateWrite:
    """One poll of one feed for :meth:`Store.record_updates`, or, without articles (a 304,
    an error), for :meth:`Store.record_health`: the arguments of :meth:`Store.record_update`."""

    update: FeedUpdate
    next_due_at: datetime
    status: str
    disabled_reason: str | None = None
    new_items_ewma: float | None = None
    lease_owner: str | None = None
    reschedule: Callable[[int], tuple[datetime, float | None]] | None = None


class FeedsMixin(ArticlesMixin):
    """Feed verbs. A poll's write stores its articles (:meth:`ArticlesMixin._insert_articles`)
    in the same transaction as the feed's health, hence the base class."""

    def sync_feeds(self, specs: Sequence[FeedSpec], now: datetime) -> None:
        """Make the feeds table match feeds.yaml: add, update, mark removed feeds."""
        t = schema.feeds
        by_url = {s.url: s for s in specs}
        try:
            with self._write() as conn:
                # workers syncing the same feeds.yaml at once would both insert a new feed
                self._pg_xact_lock(conn, "sync_feeds")
                cols = (t.c.name, t.c.enabled, t.c.interval_s, t.c.tags, t.c.language, t.c.in_config)
                existing = {r.url: r for r in conn.execute(sa.select(t.c.id, t.c.url, t.c.status, *cols))}
                # existing rows in id order (new ones last): the order record_health locks them in
                order = sorted(by_url, key=lambda u: (existing[u].id if u in existing else 1 << 62, u))
                for url in order:
                    spec = by_url[url]
                    values = dict(
                        name=spec.name,
                        enabled=spec.enabled,
                        interval_s=spec.interval_s,
                        tags=json.dumps(list(spec.tags)),
                        language=spec.language,
                        in_config=True,
                    )
                    row = existing.get(url)
                    if row is None:
                        conn.execute(
                            t.insert().values(
                                url=url,
                                status="new",
                                error_streak=0,
                                ill_formed=False,
                                items_total=0,
                                next_due_at=now,
                                **values,
                            )
                        )
                    else:
                        if spec.enabled and not row.enabled and row.status == "gone":
                            # the user re-enabled a feed that answered 410: try it again now
                            values.update(status="new", disabled_reason=None, next_due_at=now, error_streak=0)
                        elif all(getattr(row, k) == v for k, v in values.items()):
                            continue  # unchanged (every poll_once syncs; 1,000 no-op UPDATEs took 0.2 s)
                        conn.execute(t.update().where(t.c.id == row.id).values(**values))
                gone = [r.id for u, r in existing.items() if u not in by_url]
                if gone:
                    conn.execute(t.update().where(t.c.id.in_(gone)).values(in_config=False))
        except SQLAlchemyError as e:
            raise StoreError(f"cannot update feeds in {self._safe_url()}: {_short(e)}") from e
        self._feed_ids.clear()

    def feed_states(self, *, only_configured: bool = False) -> list[FeedState]:
        t = schema.feeds
        q = sa.select(t).order_by(t.c.id)
        if only_configured:
            q = q.where(t.c.in_config.is_(True))
        with self.engine.connect() as conn:
            return [FeedState.from_row(r) for r in conn.execute(q)]

    def feed_state(self, url: str) -> FeedState | None:
        t = schema.feeds
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(t).where(t.c.url == url)).first()
        return FeedState.from_row(row) if row else None

    def _feed_id(self, conn: Connection, url: str) -> int:
        fid = self._feed_ids.get(url)
        if fid is None:
            fid = conn.execute(sa.select(schema.feeds.c.id).where(schema.feeds.c.url == url)).scalar()
            if fid is None:
                raise StoreError(f"unknown feed {url}: sync feeds.yaml first")
            self._feed_ids[url] = fid
        return fid

    def record_update(
        self,
        update: FeedUpdate,
        *,
        next_due_at: datetime,
        status: str,
        disabled_reason: str | None = None,
        new_items_ewma: float | None = None,
        lease_owner: str | None = None,
        reschedule: Callable[[int], tuple[datetime, float | None]] | None = None,
    ) -> int:
        """Write one poll of one feed in one transaction; return the number of new articles.

        ``lease_owner``: the worker that claimed the feed (:meth:`claim_due_feeds`); its
        lease is released, but not a lease another worker took after this one's expired.
        Without it any lease is cleared (the single-process poller). ``reschedule``: given
        the number of new articles (known only inside the transaction), the feed's next due
        time and new-items average, replacing ``next_due_at`` and ``new_items_ewma``.
        """
        w = UpdateWrite(update, next_due_at, status, disabled_reason, new_items_ewma, lease_owner, reschedule)
        try:
            return self._transact(lambda conn: self._update_tx(conn, w))
        except SQLAlchemyError as e:
            raise StoreError(f"cannot store update of {update.feed_url}: {_short(e)}") from e

    def record_updates(self, writes: Sequence[UpdateWrite]) -> list[int | StoreError]:
        """Write several feeds' polls in one transaction (a group commit); return, per write,
        its number of new articles or the StoreError that kept it out.

        Each write is all-or-nothing, as with :meth:`record_update`. If the shared
        transaction fails, each write is tried again in its own transaction, so one feed
        the store cannot take costs only that feed; a store that takes nothing (a full
        disk, a read-only file) fails them all. On SQLite a commit rewrites the index
        and full-text pages the writes touched, so one commit for many feeds is much
        cheaper than one each (benchmarks/peers.py, cold cycle).

        On PostgreSQL each write keeps its own transaction: several workers' batches take
        the same aggregate rows and story locks in different orders and deadlocked
        (benchmarks/scale.py with 4 workers), and there a commit is cheap anyway.
        """
        if not writes:
            return []
        if self.backend == "postgresql":
            return [self._update_alone(w) for w in writes]
        try:
            return list(self._transact(lambda conn: [self._update_tx(conn, w) for w in writes]))
        except (SQLAlchemyError, StoreError) as e:
            if len(writes) == 1:
                return [_update_error(writes[0], e)]
        return [self._update_alone(w) for w in writes]

    def _update_alone(self, w: UpdateWrite) -> int | StoreError:
        try:
            return self._transact(lambda conn: self._update_tx(conn, w))
        except (SQLAlchemyError, StoreError) as e:
            return _update_error(w, e)

    def _update_tx(self, conn: Connection, w: UpdateWrite) -> int:
        f, log = schema.feeds, schema.fetch_log
        update = w.update
        release = _lease_release(w.lease_owner)
        fid = self._feed_id(conn, update.feed_url)
        new = self._insert_articles(conn, fid, update) if update.articles else 0
        next_due_at, new_items_ewma = w.next_due_at, w.new_items_ewma
        if w.reschedule is not None:
            next_due_at, new_items_ewma = w.reschedule(new)
        values: dict[str, Any] = dict(
            last_fetch_at=update.finished_at,
            next_due_at=next_due_at,
            status=w.status,
            disabled_reason=w.disabled_reason,
            **release,
        )
        if update.outcome in ("ok", "not_modified"):
            values.update(
                last_success_at=update.finished_at,
                error_streak=0,
                retry_after_until=None,
            )
            if update.outcome == "ok":
                values.update(
                    etag=update.etag,
                    last_modified=update.last_modified,
                    ttl_s=update.ttl_s,
                    ill_formed=update.ill_formed,
                    parse_notes=update.parse_notes,
                    items_total=f.c.items_total + new,
                    new_items_ewma=new_items_ewma,
                )
        else:
            values.update(
                last_error_at=update.finished_at,
                last_error=update.error,
                error_streak=f.c.error_streak + 1,
            )
            if update.retry_after_s:
                values["retry_after_until"] = next_due_at
        if update.outcome == "ok" and update.ill_formed is False:
            values["last_error"] = None
        conn.execute(f.update().where(f.c.id == fid).values(**values))
        conn.execute(log.insert().values(**_fetch_log_row(fid, update, new)))
        return new

    def record_health(self, writes: Sequence[UpdateWrite]) -> None:
        """Write many polls that stored no articles (304s, errors) in one transaction.

        The same rows as :meth:`record_update` would write for each, but one commit for
        all and one compiled statement per shape, run with ``executemany``: a warm cycle is
        a thousand of these, and one transaction each made the single writer its bottleneck.
        All or nothing: a failure writes none of them.
        """
        if any(w.update.articles or w.update.outcome == "ok" for w in writes):
            raise ValueError("record_health takes polls without articles; use record_update")
        dialect = self.backend
        groups: dict[tuple[str, bool, bool], list[dict[str, Any]]] = {}
        logs: list[dict[str, Any]] = []

        def tx(conn: Connection) -> None:
            groups.clear()
            logs.clear()
            for w in writes:
                u = w.update
                fid = self._feed_id(conn, u.feed_url)
                kind = "ok" if u.outcome == "not_modified" else "error"
                key = (kind, bool(kind == "error" and u.retry_after_s), w.lease_owner is not None)
                row = dict(
                    _fid=fid,
                    _owner=w.lease_owner,
                    last_fetch_at=fastsql.db_time(u.finished_at, dialect),
                    next_due_at=fastsql.db_time(w.next_due_at, dialect),
                    status=w.status,
                    disabled_reason=w.disabled_reason,
                )
                if kind == "ok":
                    row["last_success_at"] = row["last_fetch_at"]
                else:
                    row.update(last_error_at=row["last_fetch_at"], last_error=u.error)
                groups.setdefault(key, []).append(row)
                entry = _fetch_log_row(fid, u, 0)
                entry.update(started_at=fastsql.db_time(u.started_at, dialect), finished_at=row["last_fetch_at"])
                logs.append(entry)
            if dialect == "postgresql":
                # several workers: lock feed rows in one global order (by id, as sync_feeds
                # does), so this transaction cannot deadlock with another that holds several
                ordered = sorted(((key, row) for key, rows in groups.items() for row in rows), key=lambda kr: kr[1]["_fid"])
                for key, row in ordered:
                    fastsql.execute(conn, _health_statement(*key), row)
            else:
                for key, rows in groups.items():
                    fastsql.execute_many(conn, _health_statement(*key), rows)
            fastsql.execute_many(conn, _FETCH_LOG_INSERT, logs)

        if not writes:
            return
        try:
            self._transact(tx)
        except SQLAlchemyError as e:
            urls = ", ".join(w.update.feed_url for w in writes[:3]) + (" …" if len(writes) > 3 else "")
            raise StoreError(f"cannot store the health of {len(writes)} feeds ({urls}): {_short(e)}") from e

    def feed_health(self) -> list[dict[str, Any]]:
        f = schema.feeds
        q = sa.select(
            f.c.name,
            f.c.url,
            f.c.enabled,
            f.c.status,
            f.c.last_success_at,
            f.c.last_error_at,
            f.c.last_error,
            f.c.error_streak,
            f.c.items_total,
            f.c.next_due_at,
            f.c.disabled_reason,
            f.c.ill_formed,
            f.c.parse_notes,
        ).where(f.c.in_config.is_(True)).order_by(f.c.name)
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(q)]

    def fetch_log(self, feed_url: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
        f, log = schema.feeds, schema.fetch_log
        q = (
            sa.select(f.c.url, log.c.started_at, log.c.outcome, log.c.status, log.c.error, log.c.items_new)
            .join(f, f.c.id == log.c.feed_id)
            .order_by(log.c.id.desc())
            .limit(limit)
        )
        if feed_url is not None:
            q = q.where(f.c.url == feed_url)
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(q)]


def _update_error(w: UpdateWrite, e: BaseException) -> StoreError:
    if isinstance(e, StoreError):
        return e
    return StoreError(f"cannot store update of {w.update.feed_url}: {_short(e)}")


def _fetch_log_row(feed_id: int, update: FeedUpdate, new: int) -> dict[str, Any]:
    """The fetch_log row of one poll (datetimes as they are: Core binds them, fastsql wants db_time)."""
    return dict(
        feed_id=feed_id,
        started_at=update.started_at,
        finished_at=update.finished_at,
        outcome=update.outcome,
        status=update.status,
        error=update.error,
        body_bytes=update.body_bytes,
        items_seen=len(update.articles),
        items_new=new,
        items_duplicate=update.items_duplicate,
        items_refused=update.items_refused,
    )


_FETCH_LOG_INSERT = schema.fetch_log.insert().values(
    {c.name: sa.bindparam(c.name) for c in schema.fetch_log.columns if c.name != "id"}
)


def _lease_release(owner: Any) -> dict[str, Any]:
    """The feeds columns that end a poll's lease: the lease of ``owner`` (a worker name, or a
    bind parameter for one), never one another worker took after it expired; any lease when
    ``owner`` is None (the single-process poller)."""
    f = schema.feeds
    if owner is None:
        return dict(lease_owner=sa.null(), lease_expires_at=sa.null())
    mine = f.c.lease_owner == owner
    return dict(
        lease_owner=sa.case((mine, sa.null()), else_=f.c.lease_owner),
        lease_expires_at=sa.case((mine, sa.null()), else_=f.c.lease_expires_at),
    )


@functools.cache
def _health_statement(kind: str, retry_after: bool, leased: bool) -> sa.sql.ClauseElement:
    """The feeds UPDATE of one shape of health write (see Store.record_update for the rules).

    Constants are literal SQL, not parameters: fastsql binds only the rows' own values."""
    f = schema.feeds
    values: dict[str, Any] = {
        "last_fetch_at": sa.bindparam("last_fetch_at"),
        "next_due_at": sa.bindparam("next_due_at"),
        "status": sa.bindparam("status"),
        "disabled_reason": sa.bindparam("disabled_reason"),
    }
    values.update(_lease_release(sa.bindparam("_owner") if leased else None))
    if kind == "ok":
        values.update(
            last_success_at=sa.bindparam("last_success_at"), error_streak=sa.literal_column("0"), retry_after_until=sa.null()
        )
    else:
        values.update(
            last_error_at=sa.bindparam("last_error_at"),
            last_error=sa.bindparam("last_error"),
            error_streak=f.c.error_streak + sa.literal_column("1"),
        )
        if retry_after:
            values["retry_after_until"] = sa.bindparam("next_due_at")
    return f.update().where(f.c.id == sa.bindparam("_fid")).values(values)
