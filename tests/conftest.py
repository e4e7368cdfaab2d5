"""Shared fixtures: a local feed server on 127.0.0.1:0, and a store URL on each backend.

``db_url`` (and its module-scoped twin ``module_db_url``) runs a test once on a
SQLite file and once on a fresh PostgreSQL database ``ew_test_<uuid>``, created
before and dropped after the test. The PostgreSQL server is the local one on
127.0.0.1:5432 (trust auth); the session fixture :func:`postgres_server`
starts it when it is down and fails clearly when it cannot. The maintenance
database ``postgres`` is only used to CREATE and DROP the test databases.

``-m "not postgresql"`` runs the SQLite half alone.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.feedserver import FeedServer

#: real feed files saved from news outlets (issue 12), read in place: ../shared is optional
#: and never copied into the repository; tests that need it take the ``realfeeds`` fixture
REALFEEDS = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "realfeeds"

#: the server the tests use; override with $ESCALATION_WATCH_TEST_PG (same form, no database)
PG_SERVER = os.environ.get("ESCALATION_WATCH_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432")
#: test databases start with this, so a leftover is easy to recognise (and never someone else's)
PG_TEST_PREFIX = "ew_test_"

BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgresql)]


@pytest.fixture
def feed_server() -> Iterator[FeedServer]:
    """A running FeedServer; closed (and any hanging handler released) after the test."""
    with FeedServer() as srv:
        yield srv


@pytest.fixture(scope="session")
def realfeeds() -> Path:
    """../shared/data/realfeeds (its *.xml files); the test is skipped when it is absent."""
    if not REALFEEDS.is_dir() or not any(REALFEEDS.glob("*.xml")):
        pytest.skip(f"{REALFEEDS} not present (../shared/data is optional)")
    return REALFEEDS


# -- PostgreSQL -------------------------------------------------------------------


def _pg_conninfo(dbname: str = "postgres") -> str:
    import sqlalchemy as sa

    url = sa.make_url(PG_SERVER)
    return f"host={url.host or '127.0.0.1'} port={url.port or 5432} user={url.username or 'postgres'} dbname={dbname}"


def _pg_ping() -> str | None:
    """None when the server answers, else why not."""
    import psycopg

    try:
        with psycopg.connect(_pg_conninfo(), connect_timeout=3) as conn:
            conn.execute("SELECT 1")
        return None
    except psycopg.Error as e:
        return str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__


def _pg_start() -> str:
    """Start the local cluster with Debian's pg_ctlcluster; return what it said."""
    tool = shutil.which("pg_ctlcluster") or "/usr/bin/pg_ctlcluster"
    versions = sorted(p.name for p in Path("/etc/postgresql").glob("*")) if Path("/etc/postgresql").is_dir() else []
    if not versions or not Path(tool).exists():
        return "no PostgreSQL cluster in /etc/postgresql (or no pg_ctlcluster): install postgresql"
    r = subprocess.run(
        [tool, "--skip-systemctl-redirect", versions[-1], "main", "start"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    # "already running" (another xdist worker started it first) is not a failure
    return (r.stdout + r.stderr).strip()


@pytest.fixture(scope="session")
def postgres_server() -> str:
    """The PostgreSQL server URL (no database), started if it was down."""
    why = _pg_ping()
    if why is not None:
        said = _pg_start()
        deadline = time.monotonic() + 30
        while (why := _pg_ping()) is not None and time.monotonic() < deadline:
            time.sleep(0.3)
        if why is not None:
            pytest.fail(
                f"PostgreSQL at {PG_SERVER} is not reachable ({why}) and could not be started "
                f"(pg_ctlcluster said: {said or 'nothing'}); run `pg_ctlcluster <version> main start`, "
                'or deselect these tests with -m "not postgresql"',
                pytrace=False,
            )
    return PG_SERVER


def _admin(sql: str) -> None:
    import psycopg

    with psycopg.connect(_pg_conninfo(), autocommit=True, connect_timeout=10) as conn:
        conn.execute(sql)


class PgDatabases:
    """Creates ``ew_test_<uuid>`` databases and drops them (even with clients still connected)."""

    def __init__(self, server: str):
        self.server = server
        self.names: list[str] = []

    def create(self) -> str:
        name = f"{PG_TEST_PREFIX}{uuid.uuid4().hex[:16]}"
        _admin(f'CREATE DATABASE "{name}"')
        self.names.append(name)
        return f"{self.server}/{name}"

    def drop_all(self) -> None:
        while self.names:
            name = self.names.pop()
            assert name.startswith(PG_TEST_PREFIX)  # never anybody else's database
            _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def pg_databases(postgres_server) -> Iterator[PgDatabases]:
    dbs = PgDatabases(postgres_server)
    try:
        yield dbs
    finally:
        dbs.drop_all()


@pytest.fixture
def pg_url(pg_databases) -> str:
    """A fresh, empty PostgreSQL database for this test (dropped afterwards)."""
    return pg_databases.create()


def _backend_url(request, tmp_dir: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_dir}/ew.db"
        return
    dbs = PgDatabases(request.getfixturevalue("postgres_server"))
    try:
        yield dbs.create()
    finally:
        dbs.drop_all()


@pytest.fixture(params=BACKENDS)
def db_url(request, tmp_path) -> Iterator[str]:
    """A store URL on each backend: a SQLite file in tmp_path, or a fresh PostgreSQL database."""
    yield from _backend_url(request, tmp_path)


@pytest.fixture(scope="module", params=BACKENDS)
def module_db_url(request, tmp_path_factory) -> Iterator[str]:
    """:func:`db_url` shared by the tests of a module (a read-only fixture store, built once)."""
    yield from _backend_url(request, tmp_path_factory.mktemp("db"))


@pytest.fixture
def backend(db_url) -> str:
    return "postgresql" if db_url.startswith("postgresql") else "sqlite"
