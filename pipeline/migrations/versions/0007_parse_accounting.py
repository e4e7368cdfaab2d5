"""entries accounted for: derived titles, parse notes per feed, duplicates and refusals per fetch

Issue 12: a scraper-written feed lost 23 of its 24 stories without a word. The parser now
counts every entry as an article, a duplicate or a refusal; these columns keep what it
counted (fetch_log), what it noted (feeds.parse_notes, shown with the feed's health) and
which titles it made from a summary (articles.title_derived).

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # plain ADD COLUMN on both backends (a server default fills the rows already there):
    # no table rebuild, so the full-text triggers on articles stay as they are
    op.add_column("articles", sa.Column("title_derived", sa.Boolean, nullable=False, server_default=sa.false()))
    op.add_column("feeds", sa.Column("parse_notes", sa.Text))
    op.add_column("fetch_log", sa.Column("items_duplicate", sa.Integer, nullable=False, server_default="0"))
    op.add_column("fetch_log", sa.Column("items_refused", sa.Integer, nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("fetch_log") as batch:
        batch.drop_column("items_refused")
        batch.drop_column("items_duplicate")
    with op.batch_alter_table("feeds") as batch:
        batch.drop_column("parse_notes")
    with op.batch_alter_table("articles") as batch:
        batch.drop_column("title_derived")
