"""The schema's version: checking it on open and migrating it to the code's.

Owns the Alembic hookup and the fast path that reads the head revision from the
migration files, so that opening a store at head never imports alembic (~0.4 s of
every command). The migrations themselves are ``pipeline/migrations/``; the tables
are ``pipeline/schema.py``. It must not read or write any table but
``alembic_version``.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.exc import SQLAlchemyError

from ..errors import StoreError
from .engine import StoreBase, _short

_MIGRATIONS = "pipeline:migrations"


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


class MigrationsMixin(StoreBase):
    """The store's schema version verbs."""

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
