"""full-text search over article titles and summaries

Revision ID: 0003
Revises: 0002

SQLite: an FTS5 table with external content (``content='articles'``), so the
text is stored once; triggers keep the index in step with inserts, updates and
deletes, and the rows already stored are indexed here (backfill). The
``unicode61`` tokenizer with ``remove_diacritics 2`` lets "Kyiv" match "Kyïv".

PostgreSQL: a GIN index on the same expression the search query uses
(``to_tsvector('simple', title || ' ' || summary)``); 'simple' because the
feeds are multilingual and stemming would be wrong for most of them.

Other dialects have no full-text index; the search falls back to LIKE.
"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_SQLITE_UP = [
    """
    CREATE VIRTUAL TABLE articles_fts USING fts5(
        title, summary,
        content='articles', content_rowid='id',
        tokenize="unicode61 remove_diacritics 2"
    )
    """,
    # external-content FTS5 tables need the old values to delete: the 'delete' command
    """
    CREATE TRIGGER articles_fts_ai AFTER INSERT ON articles BEGIN
        INSERT INTO articles_fts(rowid, title, summary) VALUES (new.id, new.title, new.summary);
    END
    """,
    """
    CREATE TRIGGER articles_fts_ad AFTER DELETE ON articles BEGIN
        INSERT INTO articles_fts(articles_fts, rowid, title, summary)
        VALUES ('delete', old.id, old.title, old.summary);
    END
    """,
    # only when the text changes: scoring updates score/theatre on every article
    """
    CREATE TRIGGER articles_fts_au AFTER UPDATE OF title, summary ON articles BEGIN
        INSERT INTO articles_fts(articles_fts, rowid, title, summary)
        VALUES ('delete', old.id, old.title, old.summary);
        INSERT INTO articles_fts(rowid, title, summary) VALUES (new.id, new.title, new.summary);
    END
    """,
    "INSERT INTO articles_fts(articles_fts) VALUES ('rebuild')",
]

_SQLITE_DOWN = [
    "DROP TRIGGER IF EXISTS articles_fts_au",
    "DROP TRIGGER IF EXISTS articles_fts_ad",
    "DROP TRIGGER IF EXISTS articles_fts_ai",
    "DROP TABLE IF EXISTS articles_fts",
]

_PG_INDEX = "ix_articles_fts"


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for sql in _SQLITE_UP:
            op.execute(sql)
    elif dialect == "postgresql":
        op.execute(
            f"CREATE INDEX {_PG_INDEX} ON articles "
            "USING GIN (to_tsvector('simple', title || ' ' || summary))"
        )


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for sql in _SQLITE_DOWN:
            op.execute(sql)
    elif dialect == "postgresql":
        op.execute(f"DROP INDEX IF EXISTS {_PG_INDEX}")
