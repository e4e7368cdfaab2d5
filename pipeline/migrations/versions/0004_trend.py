"""stories and the incremental risk-index aggregates

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

from pipeline.schema import UTCDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "stories",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("theatre", sa.String(32), nullable=False),
        sa.Column("first_article_id", sa.Integer, nullable=False),
        sa.Column("first_published_at", UTCDateTime, nullable=False),
        sa.Column("size", sa.Integer, nullable=False),
        sa.Column("intensity", sa.Float, nullable=False),
        sa.Column("threats", sa.Float, nullable=False),
        sa.Column("acts", sa.Float, nullable=False),
        sa.Column("deescalation", sa.Float, nullable=False),
        sa.Column("simhash", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "story_keys",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("key", sa.Integer, nullable=False),
        sa.Column("published_at", UTCDateTime, nullable=False),
        sa.Column("story_id", sa.Integer, sa.ForeignKey("stories.id", ondelete="CASCADE"), nullable=False),
        sa.Column("simhash", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_story_keys_key_published", "story_keys", ["key", "published_at"])
    if op.get_bind().dialect.name == "sqlite":
        # a plain ADD COLUMN with an inline REFERENCES clause: no table rebuild (which
        # batch mode would do for the foreign key), so 0003's FTS triggers survive
        op.execute("ALTER TABLE articles ADD COLUMN story_id INTEGER REFERENCES stories (id)")
    else:
        op.add_column("articles", sa.Column("story_id", sa.Integer))
        op.create_foreign_key("fk_articles_story", "articles", "stories", ["story_id"], ["id"])
    op.create_index("ix_articles_story", "articles", ["story_id"])
    op.create_table(
        "trend_buckets",
        sa.Column("theatre", sa.String(32), primary_key=True),
        sa.Column("granularity", sa.String(4), primary_key=True),
        sa.Column("bucket_start", UTCDateTime, primary_key=True),
        sa.Column("articles", sa.Integer, nullable=False),
        sa.Column("stories", sa.Integer, nullable=False),
        sa.Column("escalation", sa.Float, nullable=False),
        sa.Column("threats", sa.Float, nullable=False),
        sa.Column("acts", sa.Float, nullable=False),
        sa.Column("deescalation", sa.Float, nullable=False),
    )
    op.create_table(
        "category_buckets",
        sa.Column("theatre", sa.String(32), primary_key=True),
        sa.Column("granularity", sa.String(4), primary_key=True),
        sa.Column("bucket_start", UTCDateTime, primary_key=True),
        sa.Column("signal", sa.String(48), primary_key=True),
        sa.Column("count", sa.Integer, nullable=False),
        sa.Column("weight", sa.Float, nullable=False),
    )
    op.create_table(
        "feed_buckets",
        sa.Column("feed_id", sa.Integer, sa.ForeignKey("feeds.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("bucket_start", UTCDateTime, primary_key=True),
        sa.Column("articles", sa.Integer, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("feed_buckets")
    op.drop_table("category_buckets")
    op.drop_table("trend_buckets")
    op.drop_index("ix_articles_story", "articles")
    with op.batch_alter_table("articles") as batch:
        batch.drop_column("story_id")
    op.drop_table("story_keys")
    op.drop_table("stories")
