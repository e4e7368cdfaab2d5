"""fired alerts with their evidence and webhook delivery state

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

from pipeline.schema import UTCDateTime

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "alerts",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("rule", sa.Text, nullable=False),
        sa.Column("theatre", sa.String(32), nullable=False),
        sa.Column("series", sa.String(16), nullable=False),
        sa.Column("granularity", sa.String(4), nullable=False),
        sa.Column("bucket_start", UTCDateTime, nullable=False),
        sa.Column("value", sa.Float),
        sa.Column("zscore", sa.Float),
        sa.Column("articles", sa.Integer, nullable=False),
        sa.Column("fired_at", UTCDateTime, nullable=False),
        sa.Column("message", sa.Text, nullable=False),
        sa.Column("evidence", sa.Text, nullable=False),
        sa.Column("delivered_at", UTCDateTime),
        sa.Column("delivery_attempts", sa.Integer, nullable=False),
        sa.Column("delivery_error", sa.Text),
    )
    op.create_index("ix_alerts_rule_fired", "alerts", ["rule", "fired_at"])


def downgrade() -> None:
    op.drop_table("alerts")
