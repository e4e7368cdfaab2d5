"""Storage: one small interface over SQLite (default) and PostgreSQL.

All SQL of the project lives in this package. The dashboard opens the store read-only.
SQLite runs in WAL mode so readers never block the writer and never see
"database is locked"; one poller is its only writer. On PostgreSQL several
poller workers share the feeds: each claims due feeds with a lease
(:meth:`Store.claim_due_feeds`), and every write is safe next to the others'
(unique constraints with upserts, per-theatre story locks, see aggregates.py).

Every feed update is written in one transaction (articles, feed health, fetch
log), so a crash mid-poll never leaves half a feed.

:class:`Store` is the one facade; each concern is a mixin in its own module, with
its SQL beside its verbs (as lemon24/reader's ``_storage``):

``engine``      URLs, engines, pragmas, transactions (:class:`~.engine.StoreBase`)
``migrate``     the schema version: check on open, migrate
``feeds``       feeds.yaml sync, feed state, a poll's write, feed health
``leases``      several workers: claiming feeds, deployment-wide locks
``articles``    inserting articles and signals, rescoring
``aggregates``  index sums and stories (in the writer's transaction), index reads
``alerts``      alerts, deliveries, the brief's scheduled runs
``audit``       the audit log of feed edits
``reads``       the dashboard's and exports' filtered queries (functions, not verbs)
``fastsql``     hot-path statements through the DB-API

Must not touch: SQL of its own (each concern's module holds its SQL).
"""

from __future__ import annotations

from ..errors import StoreError
from .aggregates import IndexReadsMixin
from .alerts import AlertsMixin
from .articles import ArticlesMixin
from .audit import AuditMixin
from .engine import DEFAULT_DB_URL, ENV_DB, _make_engine, resolve_db_url, utcnow
from .feeds import FeedsMixin, FeedState, UpdateWrite
from .leases import LeasesMixin
from .migrate import MigrationsMixin

# names this module had before it became a facade, still imported from here (the
# migration tests use the private ones)
from .engine import (  # noqa: F401
    PG_IDLE_IN_TRANSACTION_TIMEOUT_MS,
    PG_POOL_SIZE,
    PG_READ_STATEMENT_TIMEOUT_MS,
    SQLITE_CACHE_KIB,
    SQLITE_MMAP_BYTES,
    SQLITE_READER_CACHE_KIB,
    chunks,
)
from .migrate import _MIGRATIONS, _alembic_config, _head_revision  # noqa: F401

__all__ = [
    "DEFAULT_DB_URL",
    "ENV_DB",
    "FeedState",
    "Store",
    "UpdateWrite",
    "open_store",
    "resolve_db_url",
    "utcnow",
]


class Store(MigrationsMixin, FeedsMixin, LeasesMixin, ArticlesMixin, IndexReadsMixin, AlertsMixin, AuditMixin):
    """The verbs the pipeline needs, over one SQLAlchemy engine."""

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


def open_store(url: str | None = None, *, readonly: bool = False) -> Store:
    return Store.open(url, readonly=readonly)
