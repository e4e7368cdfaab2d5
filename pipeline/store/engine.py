"""Engines and transactions: the connection half of the store.

Owns turning a database URL into a SQLAlchemy engine (SQLite pragmas, PostgreSQL
session options and pool), and :class:`StoreBase`, which every concern's mixin
builds on: the engine, the read-only guard (:meth:`StoreBase._write`), retried write
transactions (:meth:`StoreBase._transact`) and advisory locks. It must not know
any table: no verb of the pipeline lives here, and nothing here imports
``pipeline.schema``.
"""

from __future__ import annotations

import functools
import logging
import os
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Self, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError

from ..errors import StoreError
from . import fastsql

DEFAULT_DB_URL = "sqlite:///data/escalation-watch.db"
ENV_DB = "ESCALATION_WATCH_DB"

SQLITE_CACHE_KIB = int(os.environ.get("ESCALATION_WATCH_SQLITE_CACHE_KIB", 64 * 1024))
SQLITE_READER_CACHE_KIB = 8 * 1024
#: the size a checkpointed WAL file is truncated to (SQLite's journal_size_limit)
SQLITE_WAL_LIMIT_BYTES = 4 * 1024 * 1024
SQLITE_MMAP_BYTES = int(os.environ.get("ESCALATION_WATCH_SQLITE_MMAP_BYTES", 256 * 1024 * 1024))

log = logging.getLogger("escalation_watch.store")
_T = TypeVar("_T")

#: deadlock_detected, serialization_failure: the transaction was rolled back and may simply run again
_PG_RETRY_SQLSTATES = frozenset({"40P01", "40001"})
_PG_RETRIES = 5
#: first key of this package's advisory locks (``pg_advisory_*lock(int4, int4)``): "EWlk";
#: the second is fastsql.pg_lock_key(name). Story locks use their own namespace (aggregates.py).
_PG_LOCK_NS = 0x45576C6B


def resolve_db_url(cli_value: str | None = None) -> str:
    """--db beats $ESCALATION_WATCH_DB beats the embedded default."""
    return cli_value or os.environ.get(ENV_DB) or DEFAULT_DB_URL


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
            # a WAL is reused from its start after each checkpoint but never shrinks: a cold
            # cycle left ~1 KB per article of it on disk (issue 17); keep what is left small
            cur.execute(f"PRAGMA journal_size_limit = {SQLITE_WAL_LIMIT_BYTES}")
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


class StoreBase:
    """One SQLAlchemy engine and the transaction helpers every verb of the store uses."""

    def __init__(self, engine: Engine, url: str, *, readonly: bool):
        self.engine = engine
        self.url = url
        self.readonly = readonly
        #: feed URL -> id, for a poll's write (feeds.py; cleared when feeds.yaml is synced)
        self._feed_ids: dict[str, int] = {}

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Self:
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


def _short(e: BaseException) -> str:
    """The driver's own message, without SQLAlchemy's SQL dump and doc link."""
    orig = getattr(e, "orig", None)
    return str(orig if orig is not None else e).splitlines()[0]


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def chunks(seq: Sequence[Any], n: int) -> Iterable[Sequence[Any]]:
    for i in range(0, len(seq), n):
        yield seq[i : i + n]
