"""signals keep offsets into their article's text, not copies of the evidence and its sentence

Issue 17: on a crisis-dense corpus (~20 signals per article) every signal row carried its
sentence and matched words, ~40 % of the store with the index below. The spans already
index ``article_text(title, summary)`` of the article's row, so a row now keeps the
sentence's offsets too (``sentence_start``, ``sentence_end``) and the store slices both
texts out on read. ``evidence`` and ``sentence`` stay as nullable columns, filled only
where slicing would not give the stored text back (a row scored from another text than
its article's title and summary): so no row already stored loses or changes its evidence.

``ix_signals_theatre_signal`` is dropped: no query looks signals up by theatre and
category (they are read by article, through ``ix_signals_article``).

SQLite rebuilds ``signals`` (batch mode) to relax NOT NULL; the space the old texts held
is reused by new rows, and ``VACUUM`` gives it back to the file system.

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

from pipeline.types import article_text

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

# signal rows per read-and-update round: bounded memory on a large store
_BATCH = 5000

_signals = sa.table(
    "signals",
    sa.column("id", sa.Integer),
    sa.column("article_id", sa.Integer),
    sa.column("span_start", sa.Integer),
    sa.column("span_end", sa.Integer),
    sa.column("sentence_start", sa.Integer),
    sa.column("sentence_end", sa.Integer),
    sa.column("evidence", sa.Text),
    sa.column("sentence", sa.Text),
)
_articles = sa.table("articles", sa.column("id", sa.Integer), sa.column("title", sa.Text),
                     sa.column("summary", sa.Text))  # fmt: skip


def _rows(conn):
    """Signal rows in id order, each with its article's text, a batch at a time."""
    s, a = _signals, _articles
    after = 0
    while True:
        batch = conn.execute(
            sa.select(s.c.id, s.c.span_start, s.c.span_end, s.c.sentence_start, s.c.sentence_end, s.c.evidence,
                      s.c.sentence, a.c.title, a.c.summary)
            .join(a, a.c.id == s.c.article_id).where(s.c.id > after).order_by(s.c.id).limit(_BATCH)
        ).all()  # fmt: skip
        if not batch:
            return
        yield [(r, article_text(r.title, r.summary)) for r in batch]
        after = batch[-1].id


def _sentence_at(text: str, sentence: str, start: int, end: int) -> int:
    """Where ``sentence`` is in ``text``: the occurrence holding the span [start, end)
    (a sentence starts at most its length before the span's end), else the first; -1: nowhere."""
    pos = text.find(sentence, max(0, end - len(sentence)))
    if pos != -1 and pos <= start:
        return pos
    return text.find(sentence)


def upgrade() -> None:
    conn = op.get_bind()
    with op.batch_alter_table("signals") as batch:
        # the server default fills the rows already there until the loop below sets them
        batch.add_column(sa.Column("sentence_start", sa.Integer, nullable=False, server_default="0"))
        batch.add_column(sa.Column("sentence_end", sa.Integer, nullable=False, server_default="0"))
        batch.alter_column("evidence", existing_type=sa.Text, nullable=True)
        batch.alter_column("sentence", existing_type=sa.Text, nullable=True)
        batch.drop_index("ix_signals_theatre_signal")
    update = (
        _signals.update().where(_signals.c.id == sa.bindparam("b_id"))
        .values(sentence_start=sa.bindparam("b_lo"), sentence_end=sa.bindparam("b_hi"),
                evidence=sa.bindparam("b_evidence"), sentence=sa.bindparam("b_sentence"))
    )  # fmt: skip
    for batch in _rows(conn):
        params = []
        for r, text in batch:
            lo = _sentence_at(text, r.sentence, r.span_start, r.span_end) if r.sentence else 0
            keep_sentence = lo == -1  # not in the text: keep the words, the offsets are unused
            lo = max(lo, 0)
            params.append(dict(
                b_id=r.id, b_lo=lo, b_hi=lo + len(r.sentence or ""),
                b_evidence=None if text[r.span_start : r.span_end] == r.evidence else r.evidence,
                b_sentence=r.sentence if keep_sentence else None,
            ))  # fmt: skip
        conn.execute(update, params)


def downgrade() -> None:
    conn = op.get_bind()
    update = (
        _signals.update().where(_signals.c.id == sa.bindparam("b_id"))
        .values(evidence=sa.bindparam("b_evidence"), sentence=sa.bindparam("b_sentence"))
    )  # fmt: skip
    for batch in _rows(conn):
        params = [
            dict(b_id=r.id,
                 b_evidence=r.evidence if r.evidence is not None else text[r.span_start : r.span_end],
                 b_sentence=r.sentence if r.sentence is not None else text[r.sentence_start : r.sentence_end])
            for r, text in batch
        ]  # fmt: skip
        conn.execute(update, params)
    with op.batch_alter_table("signals") as batch:
        batch.alter_column("evidence", existing_type=sa.Text, nullable=False)
        batch.alter_column("sentence", existing_type=sa.Text, nullable=False)
        batch.drop_column("sentence_end")
        batch.drop_column("sentence_start")
        batch.create_index("ix_signals_theatre_signal", ["theatre", "signal"])
