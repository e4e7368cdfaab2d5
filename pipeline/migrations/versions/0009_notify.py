"""per-destination alert deliveries and once-per-period schedule claims (issue 15)

An alert now goes to several destinations (the webhook and Apprise URLs); each
outcome is a row of ``alert_deliveries`` (masked destination, attempts, error).
``schedule_runs`` holds one row per scheduled job and period: inserting it is the
claim that makes the daily brief run once across restarts and workers.

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

from pipeline.schema import UTCDateTime

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "alert_deliveries",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("alert_id", sa.Integer, sa.ForeignKey("alerts.id", ondelete="CASCADE"), nullable=False),
        sa.Column("destination", sa.Text, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("delivered_at", UTCDateTime),
        sa.Column("error", sa.Text),
    )
    op.create_index("ix_alert_deliveries_alert", "alert_deliveries", ["alert_id"])
    op.create_table(
        "schedule_runs",
        sa.Column("job", sa.String(32), primary_key=True),
        sa.Column("period", sa.String(32), primary_key=True),
        sa.Column("claimed_at", UTCDateTime, nullable=False),
        sa.Column("claimed_by", sa.Text, nullable=False),
        sa.Column("finished_at", UTCDateTime),
        sa.Column("error", sa.Text),
    )


def downgrade() -> None:
    op.drop_table("schedule_runs")
    op.drop_table("alert_deliveries")
