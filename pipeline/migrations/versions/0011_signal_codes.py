"""signals store direction, kind and modality as small integers and no taxonomy version

Issue 17, after 0010: a dense article has ~20 signal rows, and each spelled out three
words of closed sets (``escalation``, ``threat``, ``conditional`` …, ~20 bytes) and the
taxonomy version its article already holds (written in the same statement, never read
from the signal). The words are now their index in the sets of ``pipeline.schema``'s
``Direction``, ``Kind`` and ``Modality`` (reads and filters still see the words).

A word outside those sets stops the migration with its name: it would otherwise be
stored as a code that reads back as another word.

Revision ID: 0011
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

# the sets as this migration wrote them: codes are forever, so a later change to
# pipeline.schema must not change what this step did
_WORDS = {
    "direction": ("escalation", "de-escalation"),
    "kind": ("threat", "act"),
    "modality": ("action", "threat", "conditional", "negated", "denied", "hedged"),
}
_OLD_TYPES = {"direction": sa.String(16), "kind": sa.String(8), "modality": sa.String(16)}


def _case(column: str, pairs) -> str:
    whens = " ".join(f"WHEN '{a}' THEN '{b}'" for a, b in pairs)
    return f"UPDATE signals SET {column} = CASE {column} {whens} ELSE {column} END"


def upgrade() -> None:
    conn = op.get_bind()
    for col, words in _WORDS.items():
        unknown = [
            r[0] for r in conn.execute(sa.text(f"SELECT DISTINCT {col} FROM signals")) if r[0] not in words
        ]
        if unknown:
            raise RuntimeError(f"signals.{col} holds {sorted(unknown)!r}, not one of {words!r}: cannot code it")
        # the index as text first, which both backends then cast to the integer column
        conn.execute(sa.text(_case(col, ((w, str(i)) for i, w in enumerate(words)))))
    with op.batch_alter_table("signals") as batch:
        for col in _WORDS:
            batch.alter_column(col, existing_type=_OLD_TYPES[col], type_=sa.SmallInteger, existing_nullable=False,
                               postgresql_using=f"{col}::smallint")  # fmt: skip
        batch.drop_column("taxonomy_version")


def downgrade() -> None:
    with op.batch_alter_table("signals") as batch:
        for col in _WORDS:
            batch.alter_column(col, existing_type=sa.SmallInteger, type_=_OLD_TYPES[col], existing_nullable=False,
                               postgresql_using=f"{col}::text")  # fmt: skip
        batch.add_column(sa.Column("taxonomy_version", sa.String(32), nullable=False, server_default=""))
    conn = op.get_bind()
    for col, words in _WORDS.items():
        conn.execute(sa.text(_case(col, ((str(i), w) for i, w in enumerate(words)))))
    conn.execute(sa.text(
        "UPDATE signals SET taxonomy_version = "
        "(SELECT coalesce(a.taxonomy_version, '') FROM articles a WHERE a.id = signals.article_id)"
    ))  # fmt: skip
