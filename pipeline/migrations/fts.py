"""The SQLite full-text index of articles (migration 0003), shared by later migrations.

SQLite's ALTER TABLE cannot do much, so Alembic's batch mode rebuilds a table
(copy, drop, rename) and the triggers on the old table go with it. A migration
that rebuilds ``articles`` must call :func:`restore_sqlite_triggers` at the end
of its upgrade, or new articles stop being searchable.

Must not touch: queries of the running product.
"""

from __future__ import annotations

from alembic import op

CREATE_TABLE = """
    CREATE VIRTUAL TABLE IF NOT EXISTS articles_fts USING fts5(
        title, summary,
        content='articles', content_rowid='id',
        tokenize="unicode61 remove_diacritics 2"
    )
"""

TRIGGERS = [
    # external-content FTS5 tables need the old values to delete: the 'delete' command
    """
    CREATE TRIGGER IF NOT EXISTS articles_fts_ai AFTER INSERT ON articles BEGIN
        INSERT INTO articles_fts(rowid, title, summary) VALUES (new.id, new.title, new.summary);
    END
    """,
    """
    CREATE TRIGGER IF NOT EXISTS articles_fts_ad AFTER DELETE ON articles BEGIN
        INSERT INTO articles_fts(articles_fts, rowid, title, summary)
        VALUES ('delete', old.id, old.title, old.summary);
    END
    """,
    # only when the text changes: scoring updates score/theatre on every article
    """
    CREATE TRIGGER IF NOT EXISTS articles_fts_au AFTER UPDATE OF title, summary ON articles BEGIN
        INSERT INTO articles_fts(articles_fts, rowid, title, summary)
        VALUES ('delete', old.id, old.title, old.summary);
        INSERT INTO articles_fts(rowid, title, summary) VALUES (new.id, new.title, new.summary);
    END
    """,
]

#: re-read every article into the index (the backfill; also repairs any drift)
REBUILD = "INSERT INTO articles_fts(articles_fts) VALUES ('rebuild')"

DROP = [
    "DROP TRIGGER IF EXISTS articles_fts_au",
    "DROP TRIGGER IF EXISTS articles_fts_ad",
    "DROP TRIGGER IF EXISTS articles_fts_ai",
    "DROP TABLE IF EXISTS articles_fts",
]


def create_sqlite() -> None:
    op.execute(CREATE_TABLE)
    for sql in TRIGGERS:
        op.execute(sql)
    op.execute(REBUILD)


def restore_sqlite_triggers() -> None:
    """After a batch rebuild of ``articles``: put the triggers back and re-index. SQLite only."""
    if op.get_bind().dialect.name != "sqlite":
        return
    for sql in TRIGGERS:
        op.execute(sql)
    op.execute(REBUILD)


def drop_sqlite() -> None:
    for sql in DROP:
        op.execute(sql)
