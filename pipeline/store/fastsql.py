"""Hot-path statements run through the DB-API directly.

SQLAlchemy Core builds and binds each statement in Python (~10-20 µs per row
and parameter set), which dominated ingest time. Statements here are compiled
once per dialect from the same Core expressions (so SQL still lives in one
place) and executed on the connection's own DB-API cursor with plain
tuples/dicts, inside the SQLAlchemy transaction; the only conversion we do
ourselves is datetimes, into exactly the form the UTCDateTime type stores, so
rows written by either path compare equal. (``exec_driver_sql`` still built a
SQLAlchemy result per statement: ~20 % of a cold poll's writer time.) Driver
errors are raised as SQLAlchemy's ``DBAPIError`` subclasses, as through Core.

Must not touch: anything but the hot-path statements.
"""

from __future__ import annotations

import functools
import zlib
from collections.abc import Sequence
from datetime import datetime, timezone
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection


@functools.cache
def _compiled(stmt: sa.sql.ClauseElement, dialect_name: str) -> tuple[str, tuple[str, ...] | None]:
    dialect = _dialect(dialect_name)
    c = stmt.compile(dialect=dialect)
    positional = tuple(c.positiontup) if c.positional and c.positiontup is not None else None
    return str(c), positional


@functools.cache
def _dialect(name: str):
    if name == "postgresql":
        from sqlalchemy.dialects.postgresql import psycopg

        return psycopg.dialect()
    from sqlalchemy.dialects.sqlite import pysqlite

    return pysqlite.dialect()


def db_time(value: datetime | None, dialect_name: str) -> Any:
    """A datetime as UTCDateTime binds it: naive-UTC ISO text on SQLite, aware on PostgreSQL."""
    if value is None:
        return None
    value = value.astimezone(timezone.utc)
    if dialect_name == "sqlite":
        return value.replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")
    return value


def pg_lock_key(name: str) -> int:
    """A stable signed int4 for ``name`` (crc32), the second key of a two-key advisory
    lock; a collision only makes two names share a lock."""
    crc = zlib.crc32(name.encode())
    return crc - (1 << 32) if crc >= 1 << 31 else crc


def from_db_time(value: Any) -> datetime:
    """What a raw driver SELECT returns for a UTCDateTime column, as an aware UTC datetime."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc)


def _run(conn: Connection, sql: str, params: Any, many: bool) -> Any:
    cursor = conn.connection.cursor()
    try:
        if many:
            cursor.executemany(sql, params)
        else:
            cursor.execute(sql, params)
    except conn.dialect.loaded_dbapi.Error as e:
        cursor.close()
        raise sa.exc.DBAPIError.instance(sql, params, e, conn.dialect.loaded_dbapi.Error) from e
    return cursor


def execute_many(conn: Connection, stmt: sa.sql.ClauseElement, rows: Sequence[dict[str, Any]]) -> Any:
    """executemany of ``stmt`` over dict rows whose datetimes are already converted with db_time;
    returns the DB-API cursor (``rowcount``), or None when there are no rows."""
    if not rows:
        return None
    sql, positional = _compiled(stmt, conn.dialect.name)
    if positional is not None:
        return _run(conn, sql, [tuple(r[k] for k in positional) for r in rows], True)
    return _run(conn, sql, list(rows), True)


def execute_tuples(
    conn: Connection, stmt: sa.sql.ClauseElement, columns: tuple[str, ...], rows: Sequence[tuple[Any, ...]]
) -> Any:
    """executemany of ``stmt`` over tuple rows holding ``columns`` in that order (datetimes
    already converted with db_time): on SQLite, whose statements bind positionally in the
    columns' order, the tuples go to the driver as they are (no dict per row)."""
    if not rows:
        return None
    sql, positional = _compiled(stmt, conn.dialect.name)
    if positional is None:
        return _run(conn, sql, [dict(zip(columns, r)) for r in rows], True)
    if positional != columns:
        at = [columns.index(k) for k in positional]
        rows = [tuple(r[i] for i in at) for r in rows]
    return _run(conn, sql, rows, True)


def execute(conn: Connection, stmt: sa.sql.ClauseElement, params: dict[str, Any]) -> Any:
    """``stmt`` once; returns the DB-API cursor (iterate it, or ``fetchone``/``fetchall``)."""
    sql, positional = _compiled(stmt, conn.dialect.name)
    if positional is not None:
        return _run(conn, sql, tuple(params[k] for k in positional), False)
    return _run(conn, sql, params, False)
