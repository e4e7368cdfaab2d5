"""article scores and the signals table

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

from pipeline.schema import UTCDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("articles") as batch:
        batch.add_column(sa.Column("score", sa.Float))
        batch.add_column(sa.Column("theatre", sa.String(32)))
        batch.add_column(sa.Column("taxonomy_version", sa.String(32)))
        batch.add_column(sa.Column("scored_at", UTCDateTime))
    op.create_index("ix_articles_theatre_published", "articles", ["theatre", "published_at"])
    op.create_index("ix_articles_taxonomy_version", "articles", ["taxonomy_version"])
    op.create_table(
        "signals",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("article_id", sa.Integer, sa.ForeignKey("articles.id", ondelete="CASCADE"), nullable=False),
        sa.Column("signal", sa.String(48), nullable=False),
        sa.Column("direction", sa.String(16), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("modality", sa.String(16), nullable=False),
        sa.Column("source", sa.String(16)),
        sa.Column("target", sa.String(16)),
        sa.Column("theatre", sa.String(32), nullable=False),
        sa.Column("span_start", sa.Integer, nullable=False),
        sa.Column("span_end", sa.Integer, nullable=False),
        sa.Column("evidence", sa.Text, nullable=False),
        sa.Column("sentence", sa.Text, nullable=False),
        sa.Column("weight", sa.Float, nullable=False),
        sa.Column("taxonomy_version", sa.String(32), nullable=False),
    )
    op.create_index("ix_signals_article", "signals", ["article_id"])
    op.create_index("ix_signals_theatre_signal", "signals", ["theatre", "signal"])


def downgrade() -> None:
    op.drop_table("signals")
    op.drop_index("ix_articles_taxonomy_version", "articles")
    op.drop_index("ix_articles_theatre_published", "articles")
    with op.batch_alter_table("articles") as batch:
        for c in ("scored_at", "taxonomy_version", "theatre", "score"):
            batch.drop_column(c)
