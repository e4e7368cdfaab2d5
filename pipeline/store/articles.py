"""Articles and their signals: inserting them, scoring them again, counting them.

Owns the articles and signals tables' writes (the hot path of every poll, with its
statements compiled once in :mod:`.fastsql`), imported articles, the rescore verbs
(articles to score, saving scores, rebuilding the aggregates) and the plain article
reads of the CLI. The index sums and stories they feed are :mod:`.aggregates`,
called in the same transaction. It must not score text (scores arrive as
``ScoredArticle``) nor write a feed's health (:mod:`.feeds`).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.exc import SQLAlchemyError

from .. import schema
from ..errors import StoreError
from ..language import primary_code
from ..types import SIGNAL_ROW_COLUMNS, DEFAULT_INTERVAL_S, Article, FeedUpdate, PackedScore, ScoredArticle, article_text
from . import aggregates, fastsql
from .engine import StoreBase, _short, chunks


class ArticlesMixin(StoreBase):
    """Article and signal verbs."""

    def add_articles(
        self,
        groups: Sequence[tuple[str, str, Sequence[Article], Sequence[ScoredArticle]]],
        now: datetime,
    ) -> int:
        """Store imported articles ``(source_url, source_name, articles, scores)`` in one
        transaction, with signals and index aggregates; return how many were new.

        Import sources get a feed row that is never polled (not in feeds.yaml).
        """
        f = schema.feeds

        def tx(conn: Connection) -> int:
            new = 0
            for url, name, arts, scores in groups:
                fid = conn.execute(sa.select(f.c.id).where(f.c.url == url)).scalar()
                if fid is None:
                    fid = conn.execute(
                        f.insert().values(
                            url=url, name=name, enabled=False, interval_s=DEFAULT_INTERVAL_S, tags='["import"]',
                            in_config=False, status="import", error_streak=0, ill_formed=False, items_total=0,
                        )  # fmt: skip
                    ).inserted_primary_key[0]
                update = FeedUpdate(url, now, now, "ok", articles=tuple(arts), scores=tuple(scores))
                added = self._insert_articles(conn, fid, update)
                if added:
                    conn.execute(f.update().where(f.c.id == fid).values(items_total=f.c.items_total + added))
                new += added
            return new

        try:
            return self._transact(tx)
        except SQLAlchemyError as e:
            raise StoreError(f"cannot store imported articles: {_short(e)}") from e

    # -- the hot path: a poll's new articles, in the caller's transaction (feeds.py) --

    def _insert_articles(self, conn: Connection, feed_id: int, update: FeedUpdate) -> int:
        a = schema.articles
        guids = [art.guid for art in update.articles]
        known: set[str] = set()
        # one IN query per chunk: most polls re-see articles already stored
        for chunk in chunks(guids, 500):
            known.update(
                conn.execute(sa.select(a.c.guid).where(a.c.feed_id == feed_id, a.c.guid.in_(chunk))).scalars()
            )
        scores = dict(zip(guids, update.scores)) if update.scores else {}
        dialect = conn.dialect.name
        seen_at = fastsql.db_time(update.finished_at, dialect)
        # tuples of _ARTICLE_INSERT_COLUMNS (SQLite binds them as they are)
        rows = [
            (
                feed_id, art.guid, art.url, art.canonical_url, art.title, art.summary,
                fastsql.db_time(art.published_at, dialect), art.published_estimated, seen_at,
                # the language the scorer read the text in; the declared one when not scored
                _stored_language(art, scores.get(art.guid)),
                art.author, art.content_hash, art.title_derived,
                *_score_columns(scores.get(art.guid), seen_at),
            )
            for art in update.articles
            if art.guid not in known
        ]  # fmt: skip
        if not rows:
            return 0
        new_guids = [r[1] for r in rows]
        ids: dict[str, int] = {}
        if dialect == "postgresql":
            # Concurrent workers: rows in canonical-URL order, so two transactions storing the
            # same links lock them in one order (no deadlock); RETURNING gives exactly the
            # rows this transaction inserted (under READ COMMITTED a SELECT afterwards would
            # also see a concurrent worker's copies and count them twice).
            dict_rows = [dict(zip(_ARTICLE_INSERT_COLUMNS, r, strict=True)) for r in rows]
            dict_rows.sort(key=lambda r: (r["canonical_url"] is None, r["canonical_url"] or "", r["guid"]))
            stmt = _insert_articles_stmt(dialect).returning(a.c.guid, a.c.id)
            ids.update((g, i) for g, i in conn.execute(stmt, dict_rows))
            inserted = len(ids)
        else:
            # the canonical URL may already be stored from another feed: skip, don't fail
            result = fastsql.execute_tuples(conn, _insert_articles_stmt(dialect), _ARTICLE_INSERT_COLUMNS, rows)
            inserted = max(result.rowcount, 0)
            if not inserted:
                return 0
            for chunk in chunks(new_guids, 500):
                q = sa.select(a.c.guid, a.c.id).where(a.c.feed_id == feed_id, a.c.guid.in_(chunk))
                ids.update((g, i) for g, i in conn.execute(q))
        if not inserted:
            return 0
        by_guid = {art.guid: art for art in update.articles}
        hashes = dict(zip(guids, update.simhashes, strict=True)) if update.simhashes else {}
        self._insert_signals(
            conn,
            [(ids[g], scores[g], None if isinstance(scores[g], PackedScore)
              else article_text(by_guid[g].title, by_guid[g].summary))
             for g in new_guids if g in ids and g in scores],
        )  # fmt: skip
        aggregates.apply_articles(
            conn,
            [
                _new_article(ids[g], feed_id, by_guid[g].published_at, by_guid[g].title, by_guid[g].summary,
                             scores.get(g), hashes.get(g))  # fmt: skip
                for g in new_guids
                if g in ids
            ],
            score_scale=self.score_scale,
        )
        return inserted

    def _insert_signals(
        self, conn: Connection, triples: Sequence[tuple[int, ScoredArticle | PackedScore, str | None]]
    ) -> None:
        """Signal rows of ``(article id, scores, the article's article_text)``: offsets only,
        the evidence and sentence as text only when the text at those offsets differs
        (PackedScore.of; a PackedScore comes with them checked, its text may be None)."""
        d, k, m = _DIRECTION, _KIND, _MODALITY
        rows = []
        for aid, scored, text in triples:
            packed = scored if isinstance(scored, PackedScore) else PackedScore.of(scored, text or "")
            # raw DB-API insert: the codes schema.WordCode would bind
            rows.extend((aid, r[0], d[r[1]], k[r[2]], m[r[3]], *r[4:]) for r in packed.signal_rows)
        if rows:
            fastsql.execute_tuples(conn, _INSERT_SIGNALS, _SIGNAL_COLUMNS, rows)

    # -- scoring -------------------------------------------------------------

    @staticmethod
    def _unscored(version: str, only_unscored: bool):
        a = schema.articles
        if only_unscored:
            return a.c.taxonomy_version.is_(None)
        return sa.or_(a.c.taxonomy_version.is_(None), a.c.taxonomy_version != version)

    def articles_to_score(
        self, version: str, *, after_id: int = 0, limit: int = 1000, only_unscored: bool = False
    ) -> list[dict[str, Any]]:
        """Articles not scored with taxonomy ``version`` (or never scored), in id order from ``after_id``."""
        a = schema.articles
        q = (
            sa.select(a.c.id, a.c.title, a.c.summary, a.c.language)
            .where(a.c.id > after_id, self._unscored(version, only_unscored))
            .order_by(a.c.id)
            .limit(limit)
        )
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(q)]

    def count_to_score(self, version: str, *, only_unscored: bool = False) -> int:
        q = sa.select(sa.func.count()).select_from(schema.articles).where(self._unscored(version, only_unscored))
        with self.engine.connect() as conn:
            return conn.execute(q).scalar_one()

    def save_scores(
        self, pairs: Sequence[tuple[int, ScoredArticle]], now: datetime, *, newly_scored: bool = False
    ) -> None:
        """Replace the scores and signals of these articles, in one transaction.

        ``newly_scored``: the articles had no score before, so their signals are
        added to the index aggregates here. Re-scoring changes what is already
        counted: call :meth:`rebuild_aggregates` after it.
        """
        a, sig = schema.articles, schema.signals
        if not pairs:
            return
        try:
            with self._write() as conn:
                ids = [aid for aid, _ in pairs]
                for chunk in chunks(ids, 500):
                    conn.execute(sig.delete().where(sig.c.article_id.in_(chunk)))
                conn.execute(
                    a.update().where(a.c.id == sa.bindparam("b_id")).values(
                        score=sa.bindparam("b_score"),
                        theatre=sa.bindparam("b_theatre"),
                        taxonomy_version=sa.bindparam("b_version"),
                        scored_at=sa.bindparam("b_at", type_=schema.UTCDateTime),
                        language=sa.bindparam("b_language"),
                    ),
                    [
                        dict(b_id=aid, b_score=s.score, b_theatre=s.theatre, b_version=s.taxonomy_version, b_at=now,
                             b_language=s.language)  # fmt: skip
                        for aid, s in pairs
                    ],
                )
                # the spans index the text of the stored title and summary
                meta = {
                    r.id: r
                    for chunk in chunks(ids, 500)
                    for r in conn.execute(
                        sa.select(a.c.id, a.c.feed_id, a.c.published_at, a.c.title, a.c.summary).where(
                            a.c.id.in_(chunk)
                        )
                    )
                }
                self._insert_signals(
                    conn, [(aid, s, article_text(meta[aid].title, meta[aid].summary)) for aid, s in pairs if aid in meta]
                )
                if newly_scored:
                    aggregates.apply_articles(
                        conn,
                        [
                            _new_article(aid, meta[aid].feed_id, meta[aid].published_at, meta[aid].title,
                                         meta[aid].summary, s)  # fmt: skip
                            for aid, s in pairs
                        ],
                        score_scale=self.score_scale,
                        count_volume=False,
                    )
        except SQLAlchemyError as e:
            raise StoreError(f"cannot save scores: {_short(e)}") from e

    def rebuild_aggregates(self, *, batch: int = 5000, on_progress=None) -> int:
        """Recompute stories and index aggregates from the stored articles and signals.

        One transaction: readers see the old aggregates until the new ones are complete.
        """
        done = 0
        with self._write() as conn:
            if conn.dialect.name == "postgresql":
                # workers keep polling during a rescore: SHARE mode lets them read but makes
                # their article inserts (and so their aggregate updates) wait for this rebuild,
                # which would otherwise count articles committed half-way through twice or never
                conn.exec_driver_sql("LOCK TABLE articles IN SHARE MODE")
            aggregates.clear(conn)
            after = None
            while True:
                items = aggregates.load_batch(conn, after, batch)
                if not items:
                    break
                aggregates.apply_articles(conn, items, score_scale=self.score_scale)
                after = (items[-1].published_at, items[-1].id)
                done += len(items)
                if on_progress:
                    on_progress(done)
        return done

    # -- reads for the CLI ----------------------------------------------------

    def article_count(self) -> int:
        with self.engine.connect() as conn:
            return conn.execute(sa.select(sa.func.count()).select_from(schema.articles)).scalar_one()

    def latest_articles(self, limit: int = 50) -> list[dict[str, Any]]:
        a, f = schema.articles, schema.feeds
        q = (
            sa.select(
                a.c.id,
                a.c.published_at,
                a.c.title,
                a.c.url,
                a.c.summary,
                f.c.name.label("source"),
                a.c.published_estimated,
            )
            .join(f, f.c.id == a.c.feed_id)
            .order_by(a.c.published_at.desc(), a.c.id.desc())
            .limit(limit)
        )
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(q)]

    def articles_for_feed(self, feed_url: str) -> list[dict[str, Any]]:
        a, f = schema.articles, schema.feeds
        q = sa.select(a).join(f, f.c.id == a.c.feed_id).where(f.c.url == feed_url).order_by(a.c.id)
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(q)]


def _new_article(
    article_id: int, feed_id: int, published_at: datetime, title: str, summary: str, scored: ScoredArticle | PackedScore | None,
    simhash: int | None = None,
) -> aggregates.NewArticle:
    """What the index aggregates need of one stored article (unscored: volume only)."""
    return aggregates.NewArticle(
        article_id, feed_id, published_at, scored.theatre if scored else None, _signal_tuples(scored), title, summary,
        simhash, scored.language if scored else None,
    )  # fmt: skip


def _signal_tuples(scored: ScoredArticle | PackedScore | None) -> tuple[tuple[str, str, str, float], ...]:
    if scored is None:
        return ()
    if isinstance(scored, PackedScore):
        return scored.signal_tuples
    return tuple((sig.signal, sig.direction, sig.kind, sig.weight) for sig in scored.signals)


_ARTICLE_INSERT_COLUMNS = (
    "feed_id", "guid", "url", "canonical_url", "title", "summary", "published_at", "published_estimated",
    "first_seen_at", "language", "author", "content_hash", "title_derived", "score", "theatre", "taxonomy_version",
    "scored_at",
)  # fmt: skip
#: word -> stored code of schema.WordCode's sets (the raw inserts bind codes themselves)
_DIRECTION, _KIND, _MODALITY = ({w: i for i, w in enumerate(t.WORDS)} for t in (schema.Direction, schema.Kind,
                                                                             schema.Modality))  # fmt: skip
_SIGNAL_COLUMNS = ("article_id", *SIGNAL_ROW_COLUMNS)
_INSERT_SIGNALS = schema.signals.insert().values({c: sa.bindparam(c) for c in _SIGNAL_COLUMNS})


@functools.cache
def _insert_articles_stmt(dialect: str):
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return (
        insert(schema.articles)
        .values({c: sa.bindparam(c) for c in _ARTICLE_INSERT_COLUMNS})
        .on_conflict_do_nothing()
    )


def _stored_language(art: Article, scored: ScoredArticle | PackedScore | None) -> str | None:
    return scored.language if scored is not None else primary_code(art.language)


def _score_columns(scored: ScoredArticle | PackedScore | None, now: Any) -> tuple[Any, ...]:
    """score, theatre, taxonomy_version, scored_at (the last of _ARTICLE_INSERT_COLUMNS)."""
    if scored is None:
        return (None, None, None, None)
    return (scored.score, scored.theatre, scored.taxonomy_version, now)
