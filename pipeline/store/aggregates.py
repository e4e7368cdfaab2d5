"""SQL of the incremental risk-index aggregates (see pipeline/trend.py for the formula).

Called inside the transaction that stores the articles, so the aggregates and
the articles can never disagree: a crash loses both or neither.

Several writers (poller workers on PostgreSQL) may run this at once:

- bucket counters are upserts that add (``SET x = x + excluded.x``), so concurrent
  increments of one bucket both count; on PostgreSQL the rows are written in key
  order, so two transactions lock shared buckets in the same order (no deadlock);
- story assignment reads candidate stories, then creates or grows one: two writers
  doing that at once for near-duplicates would each start a story and count the
  event twice. On PostgreSQL each transaction therefore takes a transaction-level
  advisory lock per theatre it assigns stories in (sorted, so always in the same
  order) before reading candidates: story assignment is serialised per theatre,
  other theatres and everything else stay concurrent, and the lock goes with the
  commit. SQLite has one writer at a time anyway.

It also answers the index's reads on the store (:class:`IndexReadsMixin`: each verb,
such as ``Store.trend_rows``, opens a connection around the function of the same
name here). It must not compute the index from the sums (``pipeline.trend``) nor
write articles or signals (:mod:`.articles`).
"""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from .. import schema, trend
from ..language import is_scored
from . import fastsql
from .engine import StoreBase
from .reads import SENTENCE_SPAN, article_texts, feed_tags, with_evidence


@dataclass(frozen=True, slots=True)
class NewArticle:
    id: int
    feed_id: int
    published_at: datetime
    theatre: str | None
    #: (signal, direction, kind, weight) of each signal
    signals: tuple[tuple[str, str, str, float], ...]
    title: str
    summary: str
    #: trend.simhash of trend.story_text(title, summary), when the caller computed it already
    simhash: int | None = None
    #: the language the scorer read it in (None: stored before languages were told apart)
    language: str | None = None


@functools.cache
def _upsert_stmt(dialect: str, table: sa.Table, add: tuple[str, ...]):
    # built once per dialect and table: statement construction dominates small batches
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    stmt = insert(table)
    pk = [c.name for c in table.primary_key.columns]
    return stmt.on_conflict_do_update(index_elements=pk, set_={c: table.c[c] + stmt.excluded[c] for c in add})


def _upsert_add(
    conn: Connection, table: sa.Table, columns: tuple[str, ...], rows: list[tuple[Any, ...]], add: Sequence[str]
) -> None:
    """INSERT rows (tuples of ``columns``, every column of ``table``); on a primary-key
    clash add the ``add`` columns to what is there.

    Rows carry datetimes already converted with fastsql.db_time.
    """
    fastsql.execute_tuples(conn, _upsert_stmt(conn.dialect.name, table, tuple(add)), columns, rows)


_S, _K = schema.stories, schema.story_keys
#: near-duplicate candidates: same band key, same theatre, within the story window
_CANDIDATES = (
    sa.select(_K.c.story_id, _K.c.simhash, _S.c.first_published_at, _S.c.size, _S.c.intensity, _S.c.threats,
              _S.c.acts, _S.c.deescalation)
    .join(_S, _S.c.id == _K.c.story_id)
    .where(
        # four bands, four parameters: a fixed statement that compiles once
        _K.c.key.in_([sa.bindparam(f"k{i}") for i in range(4)]),
        _K.c.published_at.between(sa.bindparam("lo", type_=schema.UTCDateTime),
                                  sa.bindparam("hi", type_=schema.UTCDateTime)),
        _S.c.theatre == sa.bindparam("theatre"),
    )
)  # fmt: skip
_NEW_STORY = (
    _S.insert()
    .values({c.name: sa.bindparam(c.name) for c in _S.columns if c.name != "id"})
    .returning(_S.c.id)
)
_NEW_KEYS = _K.insert().values({c.name: sa.bindparam(c.name) for c in _K.columns if c.name != "id"})
_UPDATE_STORY = (
    _S.update()
    .where(_S.c.id == sa.bindparam("sid"))
    .values({c: sa.bindparam(f"v_{c}") for c in ("size", "intensity", "threats", "acts", "deescalation")})
)
_SET_STORY = (
    schema.articles.update()
    .where(schema.articles.c.id == sa.bindparam("aid"))
    .values(story_id=sa.bindparam("sid"))
)


#: first key of the story advisory locks (``pg_advisory_xact_lock(int4, int4)``): "EWst"
_STORY_LOCK_NS = 0x45577374
_LOCK = sa.select(
    sa.func.pg_advisory_xact_lock(sa.bindparam("ns", type_=sa.Integer), sa.bindparam("key", type_=sa.Integer))
)


def lock_story_theatres(conn: Connection, theatres: Iterable[str]) -> None:
    """PostgreSQL: serialise story assignment per theatre until this transaction ends."""
    if conn.dialect.name != "postgresql":
        return
    for th in sorted(set(theatres)):
        fastsql.execute(conn, _LOCK, {"ns": _STORY_LOCK_NS, "key": fastsql.pg_lock_key(th)}).fetchall()


class _Deltas:
    """Bucket increments collected over a batch, written with one upsert per table."""

    def __init__(self) -> None:
        self.trend: dict[tuple[str, str, datetime], list[float]] = defaultdict(lambda: [0, 0, 0.0, 0.0, 0.0, 0.0])
        self.cats: dict[tuple[str, str, datetime, str], list[float]] = defaultdict(lambda: [0, 0.0])
        self.feeds: dict[tuple[int, datetime], int] = defaultdict(int)
        #: when -> its bucket start at each of trend.GRANULARITIES: one article's time is
        #: bucketed several times (all theatres, its theatre, its story, its categories)
        self._buckets: dict[datetime, tuple[tuple[str, datetime], ...]] = {}

    def buckets(self, when: datetime) -> tuple[tuple[str, datetime], ...]:
        """(granularity, bucket start) of ``when`` at each of trend.GRANULARITIES."""
        b = self._buckets.get(when)
        if b is None:
            b = self._buckets[when] = tuple((g, trend.bucket_start(when, g)) for g in trend.GRANULARITIES)
        return b

    def day(self, when: datetime) -> datetime:
        """The start of the day bucket of ``when``."""
        return next(b for g, b in self.buckets(when) if g == "day")

    def add_trend(self, theatre: str, when: datetime, *, articles=0, stories=0, esc=0.0, thr=0.0, act=0.0, de=0.0,
                  language: str | None = None):
        """Add to the theatre's buckets, and to its series in ``language`` unless that series is
        derived (trend.stored_language: English is the theatre's sums less the others')."""
        keys = (theatre, trend.language_series(theatre, language)) if trend.stored_language(language) else (theatre,)
        buckets = self.buckets(when)
        for key in keys:
            for g, b in buckets:
                v = self.trend[(key, g, b)]
                v[0] += articles
                v[1] += stories
                v[2] += esc
                v[3] += thr
                v[4] += act
                v[5] += de

    def add_categories(self, theatre: str, when: datetime, cats: dict[str, tuple[int, float]]) -> None:
        for g, b in self.buckets(when):
            for signal, (n, w) in cats.items():
                v = self.cats[(theatre, g, b, signal)]
                v[0] += n
                v[1] += w

    def flush(self, conn: Connection) -> None:
        dialect = conn.dialect.name
        stored: dict[datetime, Any] = {}

        def t(b: datetime) -> Any:
            # a batch's buckets are few and each is in many rows: convert each once
            v = stored.get(b)
            if v is None:
                v = stored[b] = fastsql.db_time(b, dialect)
            return v

        if dialect == "postgresql":
            # concurrent writers lock shared bucket rows in one (key) order: no deadlock
            self.trend = dict(sorted(self.trend.items()))
            self.cats = dict(sorted(self.cats.items()))
            self.feeds = dict(sorted(self.feeds.items()))

        _upsert_add(
            conn,
            schema.trend_buckets,
            _TREND_COLUMNS,
            [(th, g, t(b), int(v[0]), int(v[1]), v[2], v[3], v[4], v[5]) for (th, g, b), v in self.trend.items()],
            _TREND_COLUMNS[3:],
        )
        _upsert_add(
            conn,
            schema.category_buckets,
            _CATEGORY_COLUMNS,
            [(th, g, t(b), sig, int(v[0]), v[1]) for (th, g, b, sig), v in self.cats.items()],
            _CATEGORY_COLUMNS[4:],
        )
        _upsert_add(
            conn,
            schema.feed_buckets,
            _FEED_COLUMNS,
            [(f, t(b), n) for (f, b), n in self.feeds.items()],
            _FEED_COLUMNS[2:],
        )


_TREND_COLUMNS = ("theatre", "granularity", "bucket_start", "articles", "stories", "escalation", "threats", "acts",
                  "deescalation")  # fmt: skip
_CATEGORY_COLUMNS = ("theatre", "granularity", "bucket_start", "signal", "count", "weight")
_FEED_COLUMNS = ("feed_id", "bucket_start", "articles")


def apply_articles(
    conn: Connection, items: Iterable[NewArticle], *, score_scale: float, count_volume: bool = True
) -> None:
    """Add newly stored (or newly scored, with ``count_volume=False``) articles to the aggregates."""
    d = _Deltas()
    links: list[dict[str, int]] = []
    story_items: list[tuple[NewArticle, trend.Contribution]] = []
    for art in items:
        # an article the scorer cannot read is in its source's volume, never in an index's denominator
        readable = is_scored(art.language)
        if count_volume:
            d.feeds[(art.feed_id, d.day(art.published_at))] += 1
            if readable:
                d.add_trend(trend.ALL, art.published_at, articles=1, language=art.language)
        if art.theatre is None or not readable:
            continue
        c = trend.contribution(art.signals, score_scale)
        d.add_trend(art.theatre, art.published_at, articles=1, language=art.language)
        if not c.carries_signal:
            continue
        story_items.append((art, c))
    if story_items:
        lock_story_theatres(conn, (art.theatre for art, _ in story_items))  # type: ignore[misc]
    for art, c in story_items:
        links.append({"aid": art.id, "sid": _assign_story(conn, art, c, d)})
    fastsql.execute_many(conn, _SET_STORY, links)
    d.flush(conn)


def _assign_story(conn: Connection, art: NewArticle, c: trend.Contribution, d: _Deltas) -> int:
    """Join the nearest story of the same theatre within the time window, or start one; return its id."""
    dialect = conn.dialect.name
    h = art.simhash if art.simhash is not None else trend.simhash(trend.story_text(art.title, art.summary))
    signed = trend.to_signed64(h)
    keys = trend.band_keys(h)
    params = {f"k{i}": key for i, key in enumerate(keys)}
    params.update(
        lo=fastsql.db_time(art.published_at - trend.STORY_WINDOW, dialect),
        hi=fastsql.db_time(art.published_at + trend.STORY_WINDOW, dialect),
        theatre=art.theatre,
    )
    best = None
    for row in fastsql.execute(conn, _CANDIDATES, params):
        dist = trend.hamming(h, trend.to_unsigned64(row[1]))
        if dist <= trend.STORY_MAX_DISTANCE and (best is None or dist < best[0]):
            best = (dist, row)
    published = fastsql.db_time(art.published_at, dialect)
    if best is None:
        sid = fastsql.execute(
            conn, _NEW_STORY,
            dict(theatre=art.theatre, first_article_id=art.id, first_published_at=published, size=1,
                 intensity=c.intensity, threats=c.threats, acts=c.acts, deescalation=c.deescalation, simhash=signed),
        ).fetchone()[0]  # fmt: skip
        fastsql.execute_many(
            conn, _NEW_KEYS, [dict(key=key, published_at=published, story_id=sid, simhash=signed) for key in keys]
        )
        d.add_trend(art.theatre, art.published_at, stories=1, esc=c.intensity, thr=c.threats, act=c.acts,
                    de=c.deescalation, language=art.language)  # fmt: skip
        d.add_categories(art.theatre, art.published_at, c.categories)
        return sid
    story_id, _, first_published, size, intensity, threats, acts, deesc = best[1]
    first_published = fastsql.from_db_time(first_published)
    cur = dict(size=size + 1, intensity=intensity, threats=threats, acts=acts, deescalation=deesc)
    # the story counts at its strongest member: add only the excess, where it first appeared
    if c.intensity > cur["intensity"]:
        # near-duplicates share a language (SimHash of the words): the member's is the story's
        d.add_trend(art.theatre, first_published, esc=c.intensity - cur["intensity"],
                    thr=c.threats - cur["threats"], act=c.acts - cur["acts"], language=art.language)  # fmt: skip
        cur.update(intensity=c.intensity, threats=c.threats, acts=c.acts)
    if c.deescalation > cur["deescalation"]:
        d.add_trend(art.theatre, first_published, de=c.deescalation - cur["deescalation"], language=art.language)
        cur["deescalation"] = c.deescalation
    fastsql.execute(conn, _UPDATE_STORY, {"sid": story_id, **{f"v_{k}": v for k, v in cur.items()}})
    return story_id


def signals_by_article(conn: Connection, ids: Sequence[int]) -> dict[int, list[tuple[str, str, str, float]]]:
    sig = schema.signals
    out: dict[int, list[tuple[str, str, str, float]]] = defaultdict(list)
    for i in range(0, len(ids), 500):
        q = sa.select(sig.c.article_id, sig.c.signal, sig.c.direction, sig.c.kind, sig.c.weight).where(
            sig.c.article_id.in_(ids[i : i + 500])
        )
        for r in conn.execute(q):
            out[r.article_id].append((r.signal, r.direction, r.kind, r.weight))
    return out


def clear(conn: Connection) -> None:
    conn.execute(schema.articles.update().where(schema.articles.c.story_id.is_not(None)).values(story_id=None))
    for t in (schema.story_keys, schema.stories, schema.trend_buckets, schema.category_buckets, schema.feed_buckets):
        conn.execute(t.delete())


def load_batch(conn: Connection, after: tuple[datetime, int] | None, limit: int) -> list[NewArticle]:
    """Articles in (published_at, id) order after ``after``, with their signals."""
    a = schema.articles
    q = sa.select(a.c.id, a.c.feed_id, a.c.published_at, a.c.theatre, a.c.title, a.c.summary, a.c.language)
    if after is not None:
        t, i = after
        q = q.where(sa.or_(a.c.published_at > t, sa.and_(a.c.published_at == t, a.c.id > i)))
    rows = conn.execute(q.order_by(a.c.published_at, a.c.id).limit(limit)).all()
    sigs = signals_by_article(conn, [r.id for r in rows])
    return [
        NewArticle(r.id, r.feed_id, r.published_at, r.theatre, tuple(sigs.get(r.id, ())), r.title, r.summary,
                   language=r.language)  # fmt: skip
        for r in rows
    ]


# -- reads -------------------------------------------------------------------------


def trend_rows(
    conn: Connection, granularity: str, theatres: Sequence[str], since: datetime | None, until: datetime | None
) -> dict[str, list[dict[str, Any]]]:
    t = schema.trend_buckets
    q = sa.select(t).where(t.c.granularity == granularity, t.c.theatre.in_(list(theatres)))
    if since is not None:
        q = q.where(t.c.bucket_start >= since)
    if until is not None:
        q = q.where(t.c.bucket_start <= until)
    out: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in conn.execute(q.order_by(t.c.bucket_start)):
        out[r.theatre].append(dict(r._mapping))
    return out


#: the signal keys of a story's article in explain_bucket and driving_stories
_STORY_SIGNAL_KEYS = (
    "signal", "direction", "kind", "modality", "source", "target", "evidence", "sentence", "span_start", "span_end",
    "weight",
)  # fmt: skip


def explain_bucket(conn: Connection, theatre: str, start: datetime, end: datetime, limit: int) -> list[dict[str, Any]]:
    """Strongest articles of a theatre in [start, end), one per story, with their signals."""
    a, f, s = schema.articles, schema.feeds, schema.stories
    rank = sa.func.row_number().over(partition_by=sa.func.coalesce(a.c.story_id, -a.c.id), order_by=a.c.score.desc())
    inner = (
        sa.select(
            a.c.id.label("article_id"), a.c.title, a.c.url, a.c.canonical_url, f.c.name.label("source"),
            f.c.tags.label("feed_tags"), a.c.language,
            a.c.published_at, a.c.score, a.c.story_id, s.c.size.label("cluster_size"), rank.label("rk"),
        )
        .join(f, f.c.id == a.c.feed_id)
        .outerjoin(s, s.c.id == a.c.story_id)
        .where(a.c.theatre == theatre, a.c.published_at >= start, a.c.published_at < end, a.c.score > 0)
        .subquery()
    )  # fmt: skip
    q = sa.select(inner).where(inner.c.rk == 1).order_by(inner.c.score.desc(), inner.c.article_id).limit(limit)
    rows = [dict(r._mapping) for r in conn.execute(q)]
    sig = schema.signals
    ids = [r["article_id"] for r in rows]
    by_article: dict[int, list[dict[str, Any]]] = defaultdict(list)
    if ids:
        texts = article_texts(conn, ids)
        q = sa.select(sig).where(sig.c.article_id.in_(ids)).order_by(sig.c.article_id, sig.c.span_start)
        for r in conn.execute(q):
            by_article[r.article_id].append(
                with_evidence({k: r._mapping[k] for k in _STORY_SIGNAL_KEYS + SENTENCE_SPAN}, texts[r.article_id])
            )
    for r in rows:
        r.pop("rk", None)
        r["cluster_size"] = r["cluster_size"] or 1
        r["url"] = r.pop("canonical_url") or r["url"]
        r["signals"] = by_article.get(r["article_id"], [])
        r["tags"] = feed_tags(r.pop("feed_tags"))
    return rows


def category_rows(
    conn: Connection, granularity: str, theatre: str | None, since: datetime | None
) -> list[dict[str, Any]]:
    c = schema.category_buckets
    q = sa.select(c.c.bucket_start, c.c.signal, sa.func.sum(c.c.count).label("count"),
                  sa.func.sum(c.c.weight).label("weight")).where(c.c.granularity == granularity)  # fmt: skip
    if theatre is not None:
        q = q.where(c.c.theatre == theatre)
    if since is not None:
        q = q.where(c.c.bucket_start >= since)
    q = q.group_by(c.c.bucket_start, c.c.signal).order_by(c.c.bucket_start, c.c.signal)
    return [dict(r._mapping) for r in conn.execute(q)]


OTHER_SOURCES = "Other sources"


def source_volume_rows(conn: Connection, since: datetime | None, top: int | None = None) -> list[dict[str, Any]]:
    """Articles per source and day; with ``top``, the biggest ``top`` sources of the period
    by name and the rest summed as "Other sources" (fewer rows to send and draw)."""
    fb, f = schema.feed_buckets, schema.feeds
    period = [fb.c.bucket_start >= since] if since is not None else []
    if top is None:
        q = sa.select(fb.c.bucket_start, f.c.name.label("source"), fb.c.articles).join(f, f.c.id == fb.c.feed_id)
        q = q.where(*period).order_by(fb.c.bucket_start, f.c.name)
        return [dict(r._mapping) for r in conn.execute(q)]
    biggest = (
        sa.select(fb.c.feed_id).where(*period).group_by(fb.c.feed_id)
        .order_by(sa.func.sum(fb.c.articles).desc(), fb.c.feed_id).limit(top)
    )  # fmt: skip
    top_ids = list(conn.execute(biggest).scalars())
    source = sa.case((fb.c.feed_id.in_(top_ids), f.c.name), else_=sa.literal(OTHER_SOURCES)) if top_ids else f.c.name
    q = (
        sa.select(fb.c.bucket_start, source.label("source"), sa.func.sum(fb.c.articles).label("articles"))
        .join(f, f.c.id == fb.c.feed_id)
        .where(*period)
        .group_by(fb.c.bucket_start, source)
        .order_by(fb.c.bucket_start, source)
    )
    return [dict(r._mapping) for r in conn.execute(q)]


def driving_stories(
    conn: Connection, theatres: Sequence[str], start: datetime, end: datetime, limit: int
) -> list[dict[str, Any]]:
    """Stories that first appeared in [start, end) in ``theatres``, largest contribution first.

    A story adds its strongest member's intensity to the bucket of its first article, so
    these are the stories that move the index of the window. Each row is the story's
    strongest article in the window, with ``intensity`` (the story's), ``cluster_size``,
    ``outlets`` (distinct feeds that carried it) and the article's ``signals``.
    """
    a, f, s = schema.articles, schema.feeds, schema.stories
    rank = sa.func.row_number().over(partition_by=a.c.story_id, order_by=(a.c.score.desc(), a.c.id))
    inner = (
        sa.select(
            a.c.id.label("article_id"), a.c.title, a.c.summary, a.c.url, a.c.canonical_url, a.c.language,
            f.c.name.label("source"), f.c.tags.label("feed_tags"), a.c.published_at, a.c.score, a.c.theatre,
            a.c.story_id, s.c.size.label("cluster_size"), s.c.intensity, rank.label("rk"),
        )
        .join(f, f.c.id == a.c.feed_id)
        .join(s, s.c.id == a.c.story_id)
        # the articles index bounds the scan to the window; the story must start in it too
        .where(a.c.published_at >= start, a.c.published_at < end, a.c.theatre.in_(list(theatres)),
               s.c.first_published_at >= start, s.c.first_published_at < end, s.c.intensity > 0)
        .subquery()
    )  # fmt: skip
    q = (
        sa.select(inner).where(inner.c.rk == 1)
        .order_by(inner.c.intensity.desc(), inner.c.score.desc(), inner.c.article_id).limit(limit)
    )  # fmt: skip
    rows = [dict(r._mapping) for r in conn.execute(q)]
    if not rows:
        return rows
    story_ids = [r["story_id"] for r in rows]
    # outlets over the whole story: a copy carried the next morning still counts as an outlet
    outlets = dict(
        conn.execute(
            sa.select(a.c.story_id, sa.func.count(sa.distinct(a.c.feed_id)))
            .where(a.c.story_id.in_(story_ids)).group_by(a.c.story_id)
        ).all()
    )  # fmt: skip
    sig = schema.signals
    by_article: dict[int, list[dict[str, Any]]] = defaultdict(list)
    ids = [r["article_id"] for r in rows]
    texts = article_texts(conn, ids)
    q = sa.select(sig).where(sig.c.article_id.in_(ids)).order_by(sig.c.article_id, sig.c.span_start)
    for r in conn.execute(q):
        by_article[r.article_id].append(
            with_evidence({k: r._mapping[k] for k in _STORY_SIGNAL_KEYS + SENTENCE_SPAN}, texts[r.article_id])
        )
    for r in rows:
        r.pop("rk", None)
        r["outlets"] = int(outlets.get(r["story_id"], 1))
        r["url"] = r.pop("canonical_url") or r["url"]
        r["signals"] = by_article.get(r["article_id"], [])
    return rows


class IndexReadsMixin(StoreBase):
    """The risk index's reads on :class:`~pipeline.store.Store` (the arithmetic is in pipeline.trend)."""

    def trend_rows(
        self, granularity: str, theatres: Sequence[str], *, since: datetime | None = None, until: datetime | None = None
    ) -> dict[str, list[dict[str, Any]]]:
        with self.engine.connect() as conn:
            return trend_rows(conn, granularity, theatres, since, until)

    def explain_bucket(self, theatre: str, start: datetime, end: datetime, *, limit: int = 20) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            return explain_bucket(conn, theatre, start, end, limit)

    def driving_stories(
        self, theatres: Sequence[str], start: datetime, end: datetime, *, limit: int = 50
    ) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            return driving_stories(conn, theatres, start, end, limit)

    def category_rows(
        self, granularity: str, *, theatre: str | None = None, since: datetime | None = None
    ) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            return category_rows(conn, granularity, theatre, since)

    def source_volume_rows(self, *, since: datetime | None = None, top: int | None = None) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            return source_volume_rows(conn, since, top)
