"""feeds, fetch log and articles

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

from pipeline.schema import UTCDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "feeds",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("url", sa.Text, nullable=False, unique=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("enabled", sa.Boolean, nullable=False),
        sa.Column("interval_s", sa.Integer, nullable=False),
        sa.Column("tags", sa.Text, nullable=False),
        sa.Column("language", sa.String(35)),
        sa.Column("in_config", sa.Boolean, nullable=False),
        sa.Column("title", sa.Text),
        sa.Column("etag", sa.Text),
        sa.Column("last_modified", sa.Text),
        sa.Column("ttl_s", sa.Integer),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("disabled_reason", sa.Text),
        sa.Column("last_fetch_at", UTCDateTime),
        sa.Column("last_success_at", UTCDateTime),
        sa.Column("last_error_at", UTCDateTime),
        sa.Column("last_error", sa.Text),
        sa.Column("error_streak", sa.Integer, nullable=False),
        sa.Column("next_due_at", UTCDateTime),
        sa.Column("retry_after_until", UTCDateTime),
        sa.Column("ill_formed", sa.Boolean, nullable=False),
        sa.Column("items_total", sa.Integer, nullable=False),
        sa.Column("new_items_ewma", sa.Float),
        sa.Column("lease_owner", sa.Text),
        sa.Column("lease_expires_at", UTCDateTime),
    )
    op.create_index("ix_feeds_next_due_at", "feeds", ["next_due_at"])
    op.create_table(
        "fetch_log",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("feed_id", sa.Integer, sa.ForeignKey("feeds.id", ondelete="CASCADE"), nullable=False),
        sa.Column("started_at", UTCDateTime, nullable=False),
        sa.Column("finished_at", UTCDateTime, nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("status", sa.Integer),
        sa.Column("error", sa.Text),
        sa.Column("body_bytes", sa.Integer, nullable=False),
        sa.Column("items_seen", sa.Integer, nullable=False),
        sa.Column("items_new", sa.Integer, nullable=False),
    )
    op.create_index("ix_fetch_log_feed_started", "fetch_log", ["feed_id", "started_at"])
    op.create_table(
        "articles",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("feed_id", sa.Integer, sa.ForeignKey("feeds.id", ondelete="CASCADE"), nullable=False),
        sa.Column("guid", sa.Text, nullable=False),
        sa.Column("url", sa.Text),
        sa.Column("canonical_url", sa.Text),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("summary", sa.Text, nullable=False),
        sa.Column("published_at", UTCDateTime, nullable=False),
        sa.Column("published_estimated", sa.Boolean, nullable=False),
        sa.Column("first_seen_at", UTCDateTime, nullable=False),
        sa.Column("language", sa.String(35)),
        sa.Column("author", sa.Text),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.UniqueConstraint("feed_id", "guid", name="uq_articles_feed_guid"),
        sa.UniqueConstraint("canonical_url", name="uq_articles_canonical_url"),
    )
    op.create_index("ix_articles_published_at", "articles", ["published_at"])


def downgrade() -> None:
    op.drop_table("articles")
    op.drop_table("fetch_log")
    op.drop_table("feeds")
