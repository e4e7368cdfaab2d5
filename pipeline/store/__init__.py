"""Storage: one small interface over SQLite (default) and PostgreSQL.

All SQL of the project lives here. The dashboard opens the store read-only.
SQLite runs in WAL mode so readers never block the writer and never see
"database is locked"; one poller is its only writer. On PostgreSQL several
poller workers share the feeds: each claims due feeds with a lease
(:meth:`Store.claim_due_feeds`), and every write is safe next to the others'
(unique constraints with upserts, per-theatre story locks, see aggregates.py).

Every feed update is written in one transaction (articles, feed health, fetch
log), so a crash mid-poll never leaves half a feed.
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import os
import re
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from .. import schema
from . import aggregates, fastsql
from ..errors import StoreError
from ..language import primary_code
from ..types import DEFAULT_INTERVAL_S, Article, AuditEntry, FeedSpec, FeedUpdate, ScoredArticle

DEFAULT_DB_URL = "sqlite:///data/escalation-watch.db"
ENV_DB = "ESCALATION_WATCH_DB"

_MIGRATIONS = "pipeline:migrations"
SQLITE_CACHE_KIB = int(os.environ.get("ESCALATION_WATCH_SQLITE_CACHE_KIB", 64 * 1024))
SQLITE_READER_CACHE_KIB = 8 * 1024
SQLITE_MMAP_BYTES = int(os.environ.get("ESCALATION_WATCH_SQLITE_MMAP_BYTES", 256 * 1024 * 1024))

log = logging.getLogger("escalation_watch.store")
_T = TypeVar("_T")

#: deadlock_detected, serialization_failure: the transaction was rolled back and may simply run again
_PG_RETRY_SQLSTATES = frozenset({"40P01", "40001"})
_PG_RETRIES = 5
#: first key of this package's advisory locks (``pg_advisory_*lock(int4, int4)``): "EWlk";
#: the second is _advisory_key(name). Story locks use their own namespace (aggregates.py).
_PG_LOCK_NS = 0x45576C6B


def resolve_db_url(cli_value: str | None = None) -> str:
    """--db beats $ESCALATION_WATCH_DB beats the embedded default."""
    return cli_value or os.environ.get(ENV_DB) or DEFAULT_DB_URL


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


def _sqlite_path(url: sa.URL) -> str | None:
    db = url.database
    if not db or db == ":memory:":
        return None
    return db


def _make_engine(url: str, *, readonly: bool) -> Engine:
    try:
        parsed = sa.make_url(url)
    except sa.exc.ArgumentError as e:
        raise StoreError(f"bad database URL {url!r}: {e}") from e
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        path = _sqlite_path(parsed)
        if path is None:
            raise StoreError("an in-memory SQLite database cannot be shared by the poller and dashboard; give a file")
        if readonly:
            if not Path(path).exists():
                raise StoreError(f"database {path} does not exist yet: run `escalation-watch poll` first")

            def creator() -> sqlite3.Connection:
                # mode=ro: the dashboard cannot write even by mistake
                return sqlite3.connect(
                    f"file:{Path(path).resolve()}?mode=ro", uri=True, timeout=30, check_same_thread=False
                )

            engine = sa.create_engine("sqlite://", creator=creator)
        else:
            try:
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            except OSError as e:
                raise StoreError(f"cannot create the directory for {path}: {e.strerror}") from e
            engine = sa.create_engine(
                parsed, connect_args={"timeout": 30, "check_same_thread": False}
            )
        _configure_sqlite(engine, readonly=readonly)
        return engine
    if backend == "postgresql":
        return _make_pg_engine(parsed, url, readonly=readonly)
    raise StoreError(f"unsupported database {backend!r} in {url!r}: use sqlite:///FILE or postgresql://...")


#: connections per process: the poller uses one writer thread plus claims and reads, a
#: dashboard one per concurrent page run; overflow covers bursts ($ESCALATION_WATCH_DB_POOL)
PG_POOL_SIZE = 5
#: a dashboard query running longer than this is cancelled rather than pile up
PG_READ_STATEMENT_TIMEOUT_MS = 60_000
#: a session left idle inside a transaction is closed: it would hold back VACUUM
PG_IDLE_IN_TRANSACTION_TIMEOUT_MS = 300_000


def _make_pg_engine(parsed: sa.URL, url: str, *, readonly: bool) -> Engine:
    # psycopg 3 only: the hot-path statements (fastsql) are compiled for its dialect
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    elif parsed.drivername != "postgresql+psycopg":
        raise StoreError(f"unsupported PostgreSQL driver {parsed.drivername!r} in {url!r}: use postgresql://...")
    try:
        import psycopg  # noqa: F401
    except ImportError as e:
        raise StoreError("PostgreSQL needs psycopg 3: pip install 'escalation-watch[postgres]'") from e
    # server-side settings per session; readers get a read-only default (the dashboard
    # cannot write even by mistake) and a statement timeout. Under MVCC readers take no
    # row locks, so a long dashboard read never blocks a poller's writes.
    options = [f"-c idle_in_transaction_session_timeout={PG_IDLE_IN_TRANSACTION_TIMEOUT_MS}"]
    if readonly:
        options += ["-c default_transaction_read_only=on", f"-c statement_timeout={PG_READ_STATEMENT_TIMEOUT_MS}"]
    else:
        # as SQLite's synchronous=NORMAL: a commit does not wait for its WAL flush. A server
        # crash can lose the last fraction of a second of feed updates (whole transactions,
        # articles and feed state together, so those feeds are simply polled again); a
        # commit per feed otherwise waits for an fsync, and story locks are held through it
        options += ["-c synchronous_commit=off"]
    if parsed.query.get("options"):
        options.insert(0, str(parsed.query["options"]))
        parsed = parsed.difference_update_query(["options"])
    connect_args = {
        "options": " ".join(options),
        "application_name": parsed.query.get("application_name")
        or ("escalation-watch dashboard" if readonly else "escalation-watch"),
        "connect_timeout": 10,
    }
    pool_size = _env_int("ESCALATION_WATCH_DB_POOL", PG_POOL_SIZE)
    return sa.create_engine(
        parsed,
        connect_args=connect_args,
        pool_pre_ping=True,  # a server restart or a dropped idle connection is not an error
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_recycle=1800,
    )


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if not value:
        return default
    try:
        return max(1, int(value))
    except ValueError:
        raise StoreError(f"${name}: not a whole number: {value!r}") from None


def _configure_sqlite(engine: Engine, *, readonly: bool) -> None:
    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):
        # we issue BEGIN ourselves (below), so pysqlite's implicit transactions are off;
        # that makes migrations transactional and writes explicit
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA busy_timeout = 30000")
        if not readonly:
            cur.execute("PRAGMA journal_mode = WAL")
            # NORMAL is durable in WAL mode except for the last commits on power loss
            cur.execute("PRAGMA synchronous = NORMAL")
        cur.execute("PRAGMA foreign_keys = ON")
        # the default 2 MB page cache thrashes once the indexes outgrow it: ingest cost
        # then grows with the store (measured with benchmarks/trend.py). 64 MiB of cache
        # and a memory map make index pages stay hot; both are upper bounds, not allocations
        if readonly:
            # dashboards hold a pool of connections, each with its own cache: keep them small
            # (the dashboard reads aggregates, not articles; its RSS budget is 500 MB)
            cur.execute(f"PRAGMA cache_size = -{SQLITE_READER_CACHE_KIB}")
        else:
            cur.execute(f"PRAGMA cache_size = -{SQLITE_CACHE_KIB}")
            cur.execute(f"PRAGMA mmap_size = {SQLITE_MMAP_BYTES}")
        cur.execute("PRAGMA temp_store = MEMORY")
        cur.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(conn):
        # IMMEDIATE takes the write lock up front: no lock upgrade, no deadlock
        conn.exec_driver_sql("BEGIN" if readonly else "BEGIN IMMEDIATE")


def _alembic_config(conn: Connection):
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", _MIGRATIONS)
    cfg.attributes["connection"] = conn
    return cfg


_REVISION = re.compile(r"^(down_revision|revision)\s*=\s*(?:[\"']([^\"']+)[\"']|None)", re.M)


@functools.cache
def _head_revision() -> str | None:
    """The newest migration's revision, read from the migration files without importing
    alembic (~0.4 s of every start): the revision no other one names as its parent.
    None when the files do not form one plain chain (alembic then decides)."""
    revisions, parents = set(), set()
    for path in (Path(__file__).parents[1] / "migrations" / "versions").glob("*.py"):
        found = dict((k, v) for k, v in _REVISION.findall(path.read_text(encoding="utf-8")))
        if found.get("revision"):
            revisions.add(found["revision"])
            if found.get("down_revision"):
                parents.add(found["down_revision"])
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 else None


def _current_revision(conn: Connection) -> str | None:
    """alembic_version's row, by plain SQL (None: no schema yet, or not one row)."""
    if not sa.inspect(conn).has_table("alembic_version"):
        return None
    rows = conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalars().all()
    return rows[0] if len(rows) == 1 else None


class Store:
    """The verbs the pipeline needs, over one SQLAlchemy engine."""

    def __init__(self, engine: Engine, url: str, *, readonly: bool):
        self.engine = engine
        self.url = url
        self.readonly = readonly
        self._feed_ids: dict[str, int] = {}

    # -- lifecycle ---------------------------------------------------------

    @classmethod
    def open(cls, url: str | None = None, *, readonly: bool = False, migrate: bool = True) -> Store:
        url = resolve_db_url(url)
        engine = _make_engine(url, readonly=readonly)
        store = cls(engine, url, readonly=readonly)
        try:
            if migrate and not readonly:
                store.migrate()
            else:
                store.check_version()
        except StoreError:
            engine.dispose()
            raise
        return store

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @functools.cached_property
    def score_scale(self) -> float:
        from ..signals import load_lexicon

        return load_lexicon().score_scale

    @property
    def backend(self) -> str:
        return self.engine.dialect.name

    def _versions(self, conn: Connection) -> tuple[str | None, str]:
        from alembic.migration import MigrationContext
        from alembic.script import ScriptDirectory

        current = MigrationContext.configure(conn).get_current_revision()
        head = ScriptDirectory.from_config(_alembic_config(conn)).get_current_head()
        return current, head

    def check_version(self) -> None:
        try:
            with self.engine.connect() as conn:
                if _head_revision() is not None and _current_revision(conn) == _head_revision():
                    return  # the usual case, without importing alembic
        except SQLAlchemyError as e:
            raise StoreError(f"cannot open database {self._safe_url()}: {_short(e)}") from e
        from alembic.script import ScriptDirectory

        try:
            with self.engine.connect() as conn:
                current, head = self._versions(conn)
                known = {s.revision for s in ScriptDirectory.from_config(_alembic_config(conn)).walk_revisions()}
        except SQLAlchemyError as e:
            raise StoreError(f"cannot open database {self._safe_url()}: {_short(e)}") from e
        if current is None:
            raise StoreError(f"database {self._safe_url()} has no schema yet: run `escalation-watch poll` first")
        if current not in known:
            raise StoreError(
                f"database {self._safe_url()} is at schema version {current}, newer than this code "
                f"(which knows up to {head}): upgrade escalation-watch"
            )
        if current != head:
            raise StoreError(
                f"database {self._safe_url()} is at schema version {current}; this code needs {head}: "
                "run `escalation-watch migrate` (or start the poller) to upgrade it"
            )

    def migrate(self) -> None:
        """Bring the schema to the newest version; refuse a database newer than the code."""
        try:
            with self.engine.connect() as conn:
                if _head_revision() is not None and _current_revision(conn) == _head_revision():
                    return  # at head: nothing to do, and alembic is not imported
        except SQLAlchemyError as e:
            raise StoreError(f"cannot migrate database {self._safe_url()}: {_short(e)}") from e
        from alembic import command
        from alembic.script import ScriptDirectory

        try:
            with self.engine.connect() as conn:
                # N workers starting at once on a new database: one migrates, the others
                # wait here and then find the schema at head
                self._pg_xact_lock(conn, "migrate")
                cfg = _alembic_config(conn)
                script = ScriptDirectory.from_config(cfg)
                current, head = self._versions(conn)
                if current is not None and current not in {s.revision for s in script.walk_revisions()}:
                    raise StoreError(
                        f"database {self._safe_url()} is at schema version {current}, newer than this code "
                        f"(which knows up to {head}): upgrade escalation-watch"
                    )
                if current != head:
                    command.upgrade(cfg, "head")
                conn.commit()
        except SQLAlchemyError as e:
            raise StoreError(f"cannot migrate database {self._safe_url()}: {_short(e)}") from e

    def schema_version(self) -> str | None:
        with self.engine.connect() as conn:
            return self._versions(conn)[0]

    def _safe_url(self) -> str:
        try:
            return sa.make_url(self.url).render_as_string(hide_password=True)
        except Exception:  # pragma: no cover - url was parsed before
            return "<database>"

    def _write(self):
        if self.readonly:
            raise StoreError("this store was opened read-only")
        return self.engine.begin()

    @staticmethod
    def _pg_xact_lock(conn: Connection, name: str) -> None:
        """PostgreSQL: wait for, then hold until the transaction ends, the advisory lock ``name``."""
        if conn.dialect.name == "postgresql":
            conn.execute(sa.select(sa.func.pg_advisory_xact_lock(_PG_LOCK_NS, fastsql.pg_lock_key(name))))

    def _transact(self, fn: Callable[[Connection], _T]) -> _T:
        """``fn(conn)`` in one write transaction. On PostgreSQL a transaction that lost a
        deadlock or a serialization conflict to a concurrent worker is run again (it was
        rolled back whole, so running it again is safe)."""
        for attempt in range(1, _PG_RETRIES + 1):
            try:
                with self._write() as conn:
                    return fn(conn)
            except DBAPIError as e:
                if attempt == _PG_RETRIES or getattr(e.orig, "sqlstate", None) not in _PG_RETRY_SQLSTATES:
                    raise
                log.info("transaction retried", extra={"attempt": attempt, "error": _short(e)})
        raise AssertionError("unreachable")  # pragma: no cover

    # -- feeds -------------------------------------------------------------

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

    def add_articles(
        self,
        groups: Sequence[tuple[str, str, Sequence[Article], Sequence[ScoredArticle]]],
        now: datetime,
    ) -> int:
        """Store imported articles ``(source_url, source_name, articles, scores)`` in one
        transaction, with signals and index aggregates; return how many were new.

        Import sources get a feed row that is never polled (not in feeds.yaml).
        """
        f = schema.feeds

        def tx(conn: Connection) -> int:
            new = 0
            for url, name, arts, scores in groups:
                fid = conn.execute(sa.select(f.c.id).where(f.c.url == url)).scalar()
                if fid is None:
                    fid = conn.execute(
                        f.insert().values(
                            url=url, name=name, enabled=False, interval_s=DEFAULT_INTERVAL_S, tags='["import"]',
                            in_config=False, status="import", error_streak=0, ill_formed=False, items_total=0,
                        )  # fmt: skip
                    ).inserted_primary_key[0]
                update = FeedUpdate(url, now, now, "ok", articles=tuple(arts), scores=tuple(scores))
                added = self._insert_articles(conn, fid, update)
                if added:
                    conn.execute(f.update().where(f.c.id == fid).values(items_total=f.c.items_total + added))
                new += added
            return new

        try:
            return self._transact(tx)
        except SQLAlchemyError as e:
            raise StoreError(f"cannot store imported articles: {_short(e)}") from e

    # -- several poller workers (PostgreSQL) ----------------------------------

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

    def _insert_articles(self, conn: Connection, feed_id: int, update: FeedUpdate) -> int:
        a = schema.articles
        guids = [art.guid for art in update.articles]
        known: set[str] = set()
        # one IN query per chunk: most polls re-see articles already stored
        for chunk in chunks(guids, 500):
            known.update(
                conn.execute(sa.select(a.c.guid).where(a.c.feed_id == feed_id, a.c.guid.in_(chunk))).scalars()
            )
        scores = dict(zip(guids, update.scores)) if update.scores else {}
        dialect = conn.dialect.name
        seen_at = fastsql.db_time(update.finished_at, dialect)
        rows = [
            dict(
                feed_id=feed_id,
                guid=art.guid,
                url=art.url,
                canonical_url=art.canonical_url,
                title=art.title,
                summary=art.summary,
                published_at=fastsql.db_time(art.published_at, dialect),
                published_estimated=art.published_estimated,
                first_seen_at=seen_at,
                # the language the scorer read the text in; the declared one when not scored
                language=_stored_language(art, scores.get(art.guid)),
                author=art.author,
                content_hash=art.content_hash,
                title_derived=art.title_derived,
                **_score_columns(scores.get(art.guid), seen_at),
            )
            for art in update.articles
            if art.guid not in known
        ]
        if not rows:
            return 0
        new_guids = [r["guid"] for r in rows]
        ids: dict[str, int] = {}
        if dialect == "postgresql":
            # Concurrent workers: rows in canonical-URL order, so two transactions storing the
            # same links lock them in one order (no deadlock); RETURNING gives exactly the
            # rows this transaction inserted (under READ COMMITTED a SELECT afterwards would
            # also see a concurrent worker's copies and count them twice).
            rows.sort(key=lambda r: (r["canonical_url"] is None, r["canonical_url"] or "", r["guid"]))
            stmt = _insert_articles_stmt(dialect).returning(a.c.guid, a.c.id)
            ids.update((g, i) for g, i in conn.execute(stmt, rows))
            inserted = len(ids)
        else:
            # the canonical URL may already be stored from another feed: skip, don't fail
            result = fastsql.execute_many(conn, _insert_articles_stmt(dialect), rows)
            inserted = max(result.rowcount, 0)
            if not inserted:
                return 0
            for chunk in chunks(new_guids, 500):
                q = sa.select(a.c.guid, a.c.id).where(a.c.feed_id == feed_id, a.c.guid.in_(chunk))
                ids.update((g, i) for g, i in conn.execute(q))
        if not inserted:
            return 0
        by_guid = {art.guid: art for art in update.articles}
        hashes = dict(zip(guids, update.simhashes, strict=True)) if update.simhashes else {}
        self._insert_signals(conn, [(ids[g], scores[g]) for g in new_guids if g in ids and g in scores])
        aggregates.apply_articles(
            conn,
            [
                _new_article(ids[g], feed_id, by_guid[g].published_at, by_guid[g].title, by_guid[g].summary,
                             scores.get(g), hashes.get(g))  # fmt: skip
                for g in new_guids
                if g in ids
            ],
            score_scale=self.score_scale,
        )
        return inserted

    def _insert_signals(self, conn: Connection, pairs: Sequence[tuple[int, ScoredArticle]]) -> None:
        rows = [
            dict(
                article_id=aid,
                signal=sig.signal,
                direction=sig.direction,
                kind=sig.kind,
                modality=sig.modality,
                source=sig.source,
                target=sig.target,
                theatre=sig.theatre,
                span_start=sig.evidence.start,
                span_end=sig.evidence.end,
                evidence=sig.evidence.text,
                sentence=sig.evidence.sentence,
                weight=sig.weight,
                taxonomy_version=scored.taxonomy_version,
            )
            for aid, scored in pairs
            for sig in scored.signals
        ]
        if rows:
            fastsql.execute_many(conn, _INSERT_SIGNALS, rows)

    # -- scoring -------------------------------------------------------------

    @staticmethod
    def _unscored(version: str, only_unscored: bool):
        a = schema.articles
        if only_unscored:
            return a.c.taxonomy_version.is_(None)
        return sa.or_(a.c.taxonomy_version.is_(None), a.c.taxonomy_version != version)

    def articles_to_score(
        self, version: str, *, after_id: int = 0, limit: int = 1000, only_unscored: bool = False
    ) -> list[dict[str, Any]]:
        """Articles not scored with taxonomy ``version`` (or never scored), in id order from ``after_id``."""
        a = schema.articles
        q = (
            sa.select(a.c.id, a.c.title, a.c.summary, a.c.language)
            .where(a.c.id > after_id, self._unscored(version, only_unscored))
            .order_by(a.c.id)
            .limit(limit)
        )
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(q)]

    def count_to_score(self, version: str, *, only_unscored: bool = False) -> int:
        q = sa.select(sa.func.count()).select_from(schema.articles).where(self._unscored(version, only_unscored))
        with self.engine.connect() as conn:
            return conn.execute(q).scalar_one()

    def save_scores(
        self, pairs: Sequence[tuple[int, ScoredArticle]], now: datetime, *, newly_scored: bool = False
    ) -> None:
        """Replace the scores and signals of these articles, in one transaction.

        ``newly_scored``: the articles had no score before, so their signals are
        added to the index aggregates here. Re-scoring changes what is already
        counted: call :meth:`rebuild_aggregates` after it.
        """
        a, sig = schema.articles, schema.signals
        if not pairs:
            return
        try:
            with self._write() as conn:
                ids = [aid for aid, _ in pairs]
                for chunk in chunks(ids, 500):
                    conn.execute(sig.delete().where(sig.c.article_id.in_(chunk)))
                conn.execute(
                    a.update().where(a.c.id == sa.bindparam("b_id")).values(
                        score=sa.bindparam("b_score"),
                        theatre=sa.bindparam("b_theatre"),
                        taxonomy_version=sa.bindparam("b_version"),
                        scored_at=sa.bindparam("b_at", type_=schema.UTCDateTime),
                        language=sa.bindparam("b_language"),
                    ),
                    [
                        dict(b_id=aid, b_score=s.score, b_theatre=s.theatre, b_version=s.taxonomy_version, b_at=now,
                             b_language=s.language)  # fmt: skip
                        for aid, s in pairs
                    ],
                )
                self._insert_signals(conn, pairs)
                if newly_scored:
                    meta = {
                        r.id: r
                        for chunk in chunks(ids, 500)
                        for r in conn.execute(
                            sa.select(a.c.id, a.c.feed_id, a.c.published_at, a.c.title, a.c.summary).where(
                                a.c.id.in_(chunk)
                            )
                        )
                    }
                    aggregates.apply_articles(
                        conn,
                        [
                            _new_article(aid, meta[aid].feed_id, meta[aid].published_at, meta[aid].title,
                                         meta[aid].summary, s)  # fmt: skip
                            for aid, s in pairs
                        ],
                        score_scale=self.score_scale,
                        count_volume=False,
                    )
        except SQLAlchemyError as e:
            raise StoreError(f"cannot save scores: {_short(e)}") from e

    def rebuild_aggregates(self, *, batch: int = 5000, on_progress=None) -> int:
        """Recompute stories and index aggregates from the stored articles and signals.

        One transaction: readers see the old aggregates until the new ones are complete.
        """
        done = 0
        with self._write() as conn:
            if conn.dialect.name == "postgresql":
                # workers keep polling during a rescore: SHARE mode lets them read but makes
                # their article inserts (and so their aggregate updates) wait for this rebuild,
                # which would otherwise count articles committed half-way through twice or never
                conn.exec_driver_sql("LOCK TABLE articles IN SHARE MODE")
            aggregates.clear(conn)
            after = None
            while True:
                items = aggregates.load_batch(conn, after, batch)
                if not items:
                    break
                aggregates.apply_articles(conn, items, score_scale=self.score_scale)
                after = (items[-1].published_at, items[-1].id)
                done += len(items)
                if on_progress:
                    on_progress(done)
        return done

    # -- risk index reads (the arithmetic is in pipeline.trend) --------------

    def trend_rows(
        self, granularity: str, theatres: Sequence[str], *, since: datetime | None = None, until: datetime | None = None
    ) -> dict[str, list[dict[str, Any]]]:
        with self.engine.connect() as conn:
            return aggregates.trend_rows(conn, granularity, theatres, since, until)

    def explain_bucket(self, theatre: str, start: datetime, end: datetime, *, limit: int = 20) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            return aggregates.explain_bucket(conn, theatre, start, end, limit)

    def driving_stories(
        self, theatres: Sequence[str], start: datetime, end: datetime, *, limit: int = 50
    ) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            return aggregates.driving_stories(conn, theatres, start, end, limit)

    def category_rows(
        self, granularity: str, *, theatre: str | None = None, since: datetime | None = None
    ) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            return aggregates.category_rows(conn, granularity, theatre, since)

    def source_volume_rows(self, *, since: datetime | None = None, top: int | None = None) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            return aggregates.source_volume_rows(conn, since, top)

    # -- alerts -----------------------------------------------------------

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

    # -- audit log ----------------------------------------------------------

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

    # -- reads for the dashboard and CLI -----------------------------------

    def article_count(self) -> int:
        with self.engine.connect() as conn:
            return conn.execute(sa.select(sa.func.count()).select_from(schema.articles)).scalar_one()

    def latest_articles(self, limit: int = 50) -> list[dict[str, Any]]:
        a, f = schema.articles, schema.feeds
        q = (
            sa.select(
                a.c.id,
                a.c.published_at,
                a.c.title,
                a.c.url,
                a.c.summary,
                f.c.name.label("source"),
                a.c.published_estimated,
            )
            .join(f, f.c.id == a.c.feed_id)
            .order_by(a.c.published_at.desc(), a.c.id.desc())
            .limit(limit)
        )
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(q)]

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

    def articles_for_feed(self, feed_url: str) -> list[dict[str, Any]]:
        a, f = schema.articles, schema.feeds
        q = sa.select(a).join(f, f.c.id == a.c.feed_id).where(f.c.url == feed_url).order_by(a.c.id)
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(q)]


def _new_article(
    article_id: int, feed_id: int, published_at: datetime, title: str, summary: str, scored: ScoredArticle | None,
    simhash: int | None = None,
) -> aggregates.NewArticle:
    """What the index aggregates need of one stored article (unscored: volume only)."""
    return aggregates.NewArticle(
        article_id, feed_id, published_at, scored.theatre if scored else None, _signal_tuples(scored), title, summary,
        simhash, scored.language if scored else None,
    )  # fmt: skip


def _signal_tuples(scored: ScoredArticle | None) -> tuple[tuple[str, str, str, float], ...]:
    if scored is None:
        return ()
    return tuple((sig.signal, sig.direction, sig.kind, sig.weight) for sig in scored.signals)


_ARTICLE_INSERT_COLUMNS = (
    "feed_id", "guid", "url", "canonical_url", "title", "summary", "published_at", "published_estimated",
    "first_seen_at", "language", "author", "content_hash", "title_derived", "score", "theatre", "taxonomy_version",
    "scored_at",
)  # fmt: skip
_INSERT_SIGNALS = schema.signals.insert().values(
    {c.name: sa.bindparam(c.name) for c in schema.signals.columns if c.name != "id"}
)


@functools.cache
def _insert_articles_stmt(dialect: str):
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return (
        insert(schema.articles)
        .values({c: sa.bindparam(c) for c in _ARTICLE_INSERT_COLUMNS})
        .on_conflict_do_nothing()
    )


def _stored_language(art: Article, scored: ScoredArticle | None) -> str | None:
    return scored.language if scored is not None else primary_code(art.language)


def _score_columns(scored: ScoredArticle | None, now: Any) -> dict[str, Any]:
    if scored is None:
        return dict(score=None, theatre=None, taxonomy_version=None, scored_at=None)
    return dict(score=scored.score, theatre=scored.theatre, taxonomy_version=scored.taxonomy_version, scored_at=now)


def _update_error(w: UpdateWrite, e: BaseException) -> StoreError:
    if isinstance(e, StoreError):
        return e
    return StoreError(f"cannot store update of {w.update.feed_url}: {_short(e)}")


def _short(e: BaseException) -> str:
    """The driver's own message, without SQLAlchemy's SQL dump and doc link."""
    orig = getattr(e, "orig", None)
    return str(orig if orig is not None else e).splitlines()[0]


def open_store(url: str | None = None, *, readonly: bool = False) -> Store:
    return Store.open(url, readonly=readonly)


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def chunks(seq: Sequence[Any], n: int) -> Iterable[Sequence[Any]]:
    for i in range(0, len(seq), n):
        yield seq[i : i + n]


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
