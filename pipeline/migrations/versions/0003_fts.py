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

A later migration that rebuilds ``articles`` with batch mode drops the
triggers and must call ``pipeline.migrations.fts.restore_sqlite_triggers()``.
The SQL lives in ``pipeline/migrations/fts.py``, shared with those migrations.
"""

from alembic import op

from pipeline.migrations import fts

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_PG_INDEX = "ix_articles_fts"


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        fts.create_sqlite()
    elif dialect == "postgresql":
        op.execute(
            f"CREATE INDEX {_PG_INDEX} ON articles "
            "USING GIN (to_tsvector('simple', title || ' ' || summary))"
        )


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        fts.drop_sqlite()
    elif dialect == "postgresql":
        op.execute(f"DROP INDEX IF EXISTS {_PG_INDEX}")
