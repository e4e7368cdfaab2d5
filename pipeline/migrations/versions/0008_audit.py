"""audit log of feed edits made from the dashboard (issue 13: every change is attributable)

The dashboard is otherwise read-only on the store; this table is the one thing it
writes (docs/deployment.md), through Store.record_audit.

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

from pipeline.schema import UTCDateTime

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "audit",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("at", UTCDateTime, nullable=False),
        sa.Column("who", sa.Text, nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("feed_url", sa.Text),
        sa.Column("feed_name", sa.Text),
        sa.Column("changes", sa.Text, nullable=False),
    )
    op.create_index("ix_audit_at", "audit", ["at"])


def downgrade() -> None:
    op.drop_table("audit")
