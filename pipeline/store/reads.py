"""Read queries for the dashboard's Articles and Sources pages and for exports.

Every function takes a :class:`~pipeline.store.Store` (read-only is enough) and
returns plain dicts; SQL stays in this package. The filters are the same
everywhere, so what the Articles page lists is exactly what Downloads writes:

``theatre``   the article's theatre id (``RUS-UKR`` … or ``other``)
``signal``    has a signal of this taxonomy category
``modality``  has a signal with this modality (with ``signal``: the same signal)
``source``    the feed's name, as shown on the Sources page
``min_score`` / ``max_score``  inclusive bounds on the article score
``since`` / ``until``          ``since <= published_at < until`` (aware datetimes)
``actor``     a counted escalation signal (weight > 0) has this actor code as source or target
``pair``      a counted escalation signal goes from one actor to another: ``"RUS>UKR"``
``kind``      a counted escalation signal of this kind: ``threat`` or ``act``
``tag``       the feed carries this tag (feeds.yaml ``tags``); a list: every one of them
``exclude_tag``  the feed does not carry this tag (``state-media``: state media hidden)
``language``  the language the article was read in (``ru``), or ``"unscored"``: every
              language the scorer does not read
``text``      full-text search over title and summary (FTS5 on SQLite, a GIN
              ``to_tsvector`` index on PostgreSQL, LIKE elsewhere); every word
              must match, the last one as a prefix ("sanct" finds "sanctions")

Must not touch: writes.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from .. import schema
from ..language import SCORED_LANGUAGES
from ..types import article_text

__all__ = [
    "ARTICLE_FILTERS",
    "article_sources",
    "actor_pairs",
    "actor_weights",
    "article_span",
    "count_articles",
    "data_version",
    "feed_item_counts",
    "feed_tag_names",
    "UNSCORED",
    "fts_query",
    "search_articles",
    "signals_table",
]

#: the filter keywords every function here accepts
ARTICLE_FILTERS = (
    "theatre", "signal", "modality", "source", "min_score", "max_score", "since", "until", "text",
    "actor", "pair", "kind", "tag", "language", "exclude_tag",
)  # fmt: skip
#: the ``language`` filter's value for "every language the scorer does not read"
UNSCORED = "unscored"

#: signal columns attached to each article (``source``/``target`` are actor codes)
_SIGNAL_COLUMNS = (
    "signal", "direction", "kind", "modality", "source", "target", "theatre",
    "span_start", "span_end", "evidence", "sentence", "weight",
)  # fmt: skip
#: where a signal's sentence is in the article's text; read to fill ``sentence``, not returned
SENTENCE_SPAN = ("sentence_start", "sentence_end")

# words for full-text search: letters and digits in any script
_WORD = re.compile(r"\w+", re.UNICODE)
# a page of ids per IN (...) query; well under SQLite's 32k variable limit
_CHUNK = 500


def fts_query(text: str | None) -> str | None:
    """User text as a safe FTS5 query: each word quoted (no operators, no syntax
    errors from quotes or colons), all required, the last one a prefix."""
    words = _WORD.findall(text or "")
    if not words:
        return None
    quoted = [f'"{w}"' for w in words]
    quoted[-1] += "*"
    return " ".join(quoted)


def _text_condition(dialect: str, text: str) -> Any:
    a = schema.articles
    if dialect == "sqlite":
        query = fts_query(text)
        if query is None:
            return None
        # external-content FTS5 table from migration 0003: rowid = articles.id
        return a.c.id.in_(sa.text("SELECT rowid FROM articles_fts WHERE articles_fts MATCH :fts_q").bindparams(fts_q=query))
    words = _WORD.findall(text)
    if not words:
        return None
    if dialect == "postgresql":
        # the expression must be the one the GIN index of migration 0003 is built on
        # (a literal ' ', not a bound parameter: the planner matches index expressions textually)
        doc = sa.func.to_tsvector(sa.literal_column("'simple'"), a.c.title.op("||")(sa.literal_column("' '")).op("||")(a.c.summary))
        terms = " & ".join(w.replace("'", "") for w in words[:-1]) if len(words) > 1 else ""
        last = words[-1].replace("'", "") + ":*"
        tsq = f"{terms} & {last}" if terms else last
        return doc.op("@@")(sa.func.to_tsquery(sa.literal_column("'simple'"), tsq))
    return sa.and_(*[sa.or_(a.c.title.contains(w, autoescape=True), a.c.summary.contains(w, autoescape=True)) for w in words])


def _article_conditions(
    dialect: str,
    *,
    theatre: str | None = None,
    signal: str | None = None,
    modality: str | None = None,
    source: str | None = None,
    min_score: float | None = None,
    max_score: float | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    text: str | None = None,
    actor: str | None = None,
    pair: str | None = None,
    kind: str | None = None,
    tag: str | Sequence[str] | None = None,
    language: str | None = None,
    exclude_tag: str | None = None,
    signal_rows: bool = False,
) -> list[Any]:
    """WHERE terms over articles ``a`` joined to feeds ``f`` (and signals ``s`` when
    ``signal_rows``: then the signal filters keep the signal rows themselves). The signal
    filters (signal, modality, actor, pair, kind) all hold for one and the same signal."""
    a, f, s = schema.articles, schema.feeds, schema.signals
    where: list[Any] = []
    if theatre:
        where.append(a.c.theatre == theatre)
    if source:
        where.append(f.c.name == source)
    if min_score is not None:
        where.append(a.c.score >= float(min_score))
    if max_score is not None:
        where.append(a.c.score <= float(max_score))
    if since is not None:
        where.append(a.c.published_at >= since)
    if until is not None:
        where.append(a.c.published_at < until)
    if text:
        cond = _text_condition(dialect, text)
        if cond is not None:
            where.append(cond)
    # tags are a JSON list of strings: match the quoted element, not a substring of another tag
    # (written by Store.sync_feeds with json.dumps); several tags: the feed has them all
    for one in (tag,) if isinstance(tag, str) else (tag or ()):
        where.append(f.c.tags.contains(json.dumps(one), autoescape=True))
    if exclude_tag:
        where.append(sa.not_(f.c.tags.contains(json.dumps(exclude_tag), autoescape=True)))
    if language == UNSCORED:
        where.append(a.c.language.is_not(None))
        where.append(a.c.language.not_in(list(SCORED_LANGUAGES)))
    elif language:
        where.append(a.c.language == language)
    if signal or modality or actor or pair or kind:
        sig_where = []
        if signal:
            sig_where.append(s.c.signal == signal)
        if modality:
            sig_where.append(s.c.modality == modality)
        if actor or pair or kind:
            # who threatens whom counts escalation that counts: weight 0 is negated, denied
            # or judged not geopolitical
            sig_where += [s.c.weight > 0, s.c.direction == "escalation"]
        if actor:
            sig_where.append(sa.or_(s.c.source == actor, s.c.target == actor))
        if pair:
            src, _, tgt = pair.partition(">")
            # "?" is the matrix's unknown actor: a signal without one
            sig_where += [s.c.source == (None if src in ("", "?") else src),
                          s.c.target == (None if tgt in ("", "?") else tgt)]  # fmt: skip
        if kind:
            sig_where.append(s.c.kind == kind)
        if signal_rows:
            where.extend(sig_where)
        else:
            where.append(sa.exists().where(s.c.article_id == a.c.id, *sig_where))
    return where


def _check_filters(filters: dict[str, Any]) -> None:
    unknown = sorted(set(filters) - set(ARTICLE_FILTERS))
    if unknown:
        raise TypeError(f"unknown filter(s) {', '.join(unknown)}; known: {', '.join(ARTICLE_FILTERS)}")


def search_articles(
    store: Any,
    *,
    theatre: str | None = None,
    signal: str | None = None,
    modality: str | None = None,
    source: str | None = None,
    min_score: float | None = None,
    max_score: float | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    text: str | None = None,
    actor: str | None = None,
    pair: str | None = None,
    kind: str | None = None,
    tag: str | Sequence[str] | None = None,
    language: str | None = None,
    exclude_tag: str | None = None,
    limit: int | None = 100,
    offset: int = 0,
) -> list[dict[str, Any]]:
    """Articles matching the filters, newest first, each with its ``signals`` (a list of dicts).

    Row keys: id, language, published_at, published_estimated, title, title_derived, summary, url,
    source (feed name), theatre, score, taxonomy_version, signals, tags. ``limit=None``: all.
    """
    a, f = schema.articles, schema.feeds
    filters = dict(
        theatre=theatre, signal=signal, modality=modality, source=source, min_score=min_score,
        max_score=max_score, since=since, until=until, text=text, actor=actor, pair=pair, kind=kind, tag=tag,
        language=language, exclude_tag=exclude_tag,
    )  # fmt: skip
    q = (
        sa.select(
            a.c.id,
            a.c.language,
            a.c.published_at,
            a.c.published_estimated,
            a.c.title,
            a.c.title_derived,
            a.c.summary,
            a.c.url,
            f.c.name.label("source"),
            f.c.tags.label("feed_tags"),
            a.c.theatre,
            a.c.score,
            a.c.taxonomy_version,
        )
        .join(f, f.c.id == a.c.feed_id)
        .where(*_article_conditions(store.backend, **filters))
        .order_by(a.c.published_at.desc(), a.c.id.desc())
        .offset(max(int(offset), 0))
    )
    if limit is not None:
        q = q.limit(max(int(limit), 0))
    with store.engine.connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(q)]
        signals = _signals_by_article(conn, {r["id"]: article_text(r["title"], r["summary"]) for r in rows})
    for r in rows:
        r["signals"] = signals.get(r["id"], [])
        r["tags"] = feed_tags(r.pop("feed_tags"))
    return rows


def feed_tags(raw: Any) -> list[str]:
    """The feeds.tags column (a JSON list) as a list of strings; [] when malformed."""
    try:
        tags = json.loads(raw or "[]")
    except ValueError:
        return []
    return [str(t) for t in tags] if isinstance(tags, list) else []


def _signals_by_article(conn: Any, texts: dict[int, str]) -> dict[int, list[dict[str, Any]]]:
    """The signals of the articles ``texts`` maps (id -> article_text) with their evidence."""
    s = schema.signals
    out: dict[int, list[dict[str, Any]]] = {}
    ids = list(texts)
    cols = [s.c.article_id, *(s.c[c] for c in _SIGNAL_COLUMNS + SENTENCE_SPAN)]
    for i in range(0, len(ids), _CHUNK):
        chunk = ids[i : i + _CHUNK]
        q = sa.select(*cols).where(s.c.article_id.in_(chunk)).order_by(s.c.article_id, s.c.span_start, s.c.id)
        for r in conn.execute(q):
            m = dict(r._mapping)
            aid = m.pop("article_id")
            out.setdefault(aid, []).append(with_evidence(m, texts[aid]))
    return out


def article_texts(conn: Any, ids: Sequence[int]) -> dict[int, str]:
    """``article_text(title, summary)`` of these articles: the text their signals' spans index."""
    a = schema.articles
    out: dict[int, str] = {}
    for i in range(0, len(ids), _CHUNK):
        q = sa.select(a.c.id, a.c.title, a.c.summary).where(a.c.id.in_(ids[i : i + _CHUNK]))
        out.update((r.id, article_text(r.title, r.summary)) for r in conn.execute(q))
    return out


def with_evidence(sig: dict[str, Any], text: str) -> dict[str, Any]:
    """A signal row read with its spans and SENTENCE_SPAN, made what the dashboard and the
    exports read: ``evidence`` and ``sentence`` sliced out of its article's ``text`` (unless
    the row keeps them as text, see schema.signals), the sentence offsets dropped."""
    s_lo, s_hi = sig.pop("sentence_start"), sig.pop("sentence_end")
    if sig.get("evidence") is None:
        sig["evidence"] = text[sig["span_start"] : sig["span_end"]]
    if sig.get("sentence") is None:
        sig["sentence"] = text[s_lo:s_hi]
    return sig


def count_articles(store: Any, **filters: Any) -> int:
    """How many articles :func:`search_articles` would return without a limit."""
    _check_filters(filters)
    a, f = schema.articles, schema.feeds
    q = (
        sa.select(sa.func.count())
        .select_from(a.join(f, f.c.id == a.c.feed_id))
        .where(*_article_conditions(store.backend, **filters))
    )
    with store.engine.connect() as conn:
        return int(conn.execute(q).scalar_one())


def signals_table(store: Any, *, limit: int | None = None, **filters: Any) -> list[dict[str, Any]]:
    """One row per signal of the matching articles, newest article first.

    Same filters as :func:`search_articles`, except that ``signal`` and
    ``modality`` keep only the signal rows that have them. Keys: article_id,
    published_at, feed, language, title, url, article_score, signal, direction, kind,
    modality, source and target (actor codes), theatre, weight, evidence,
    sentence, span_start, span_end.
    """
    _check_filters(filters)
    a, f, s = schema.articles, schema.feeds, schema.signals
    q = (
        sa.select(
            s.c.article_id,
            a.c.published_at,
            f.c.name.label("feed"),
            a.c.language,
            a.c.title,
            a.c.url,
            a.c.score.label("article_score"),
            s.c.signal,
            s.c.direction,
            s.c.kind,
            s.c.modality,
            s.c.source,
            s.c.target,
            s.c.theatre,
            s.c.weight,
            s.c.evidence,
            s.c.sentence,
            s.c.span_start,
            s.c.span_end,
            *(s.c[c] for c in SENTENCE_SPAN),
        )
        .select_from(s.join(a, a.c.id == s.c.article_id).join(f, f.c.id == a.c.feed_id))
        .where(*_article_conditions(store.backend, signal_rows=True, **filters))
        .order_by(a.c.published_at.desc(), a.c.id.desc(), s.c.span_start, s.c.id)
    )
    if limit is not None:
        q = q.limit(max(int(limit), 0))
    with store.engine.connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(q)]
        # each article's text once, not its summary with each of its ~20 signal rows
        texts = article_texts(conn, list(dict.fromkeys(r["article_id"] for r in rows)))
    return [with_evidence(r, texts[r["article_id"]]) for r in rows]


def article_sources(store: Any) -> list[str]:
    """Names of the feeds that have stored articles, sorted case-insensitively."""
    a, f = schema.articles, schema.feeds
    q = sa.select(f.c.name).where(sa.exists().where(a.c.feed_id == f.c.id)).distinct()
    with store.engine.connect() as conn:
        return sorted((r[0] for r in conn.execute(q)), key=str.casefold)


def feed_item_counts(store: Any, *, since: datetime) -> dict[str, int]:
    """New articles per feed URL first seen at or after ``since`` (for items/day)."""
    a, f = schema.articles, schema.feeds
    q = (
        sa.select(f.c.url, sa.func.count(a.c.id))
        .join(a, a.c.feed_id == f.c.id)
        .where(a.c.first_seen_at >= since)
        .group_by(f.c.url)
    )
    with store.engine.connect() as conn:
        return {url: int(n) for url, n in conn.execute(q)}


def data_version(store: Any) -> tuple[int, int, str]:
    """Changes whenever the poller lands something: (latest article id, latest
    fetch_log id, latest scoring time). Caches key on it to drop stale reads."""
    a, log = schema.articles, schema.fetch_log
    q = sa.select(
        sa.select(sa.func.max(a.c.id)).scalar_subquery(),
        sa.select(sa.func.max(log.c.id)).scalar_subquery(),
        sa.select(sa.func.max(a.c.scored_at)).scalar_subquery(),
    )
    with store.engine.connect() as conn:
        art, fetch, scored = conn.execute(q).one()
    return int(art or 0), int(fetch or 0), str(scored or "")


def article_span(store: Any) -> tuple[datetime | None, datetime | None]:
    """(first, last) ``published_at`` of the stored articles, or (None, None): two index lookups."""
    a = schema.articles
    with store.engine.connect() as conn:
        first = conn.execute(sa.select(sa.func.min(a.c.published_at))).scalar()
        last = conn.execute(sa.select(sa.func.max(a.c.published_at))).scalar()
    return first, last


def actor_pairs(store: Any, **filters: Any) -> list[dict[str, Any]]:
    """Escalation weight between actors: one row per (source, target, kind) of the counted
    escalation signals (weight > 0) of the matching articles, heaviest first.

    A story carried by many outlets counts once, at its heaviest copy (as in the index):
    the weight of a (source, target, kind) is summed over stories, each story's being its
    largest. Keys: source, target (actor codes, None when the scorer found none), kind,
    weight, stories, articles. Same filters as :func:`search_articles`.
    """
    _check_filters(filters)
    a, f, s = schema.articles, schema.feeds, schema.signals
    story = sa.func.coalesce(a.c.story_id, -a.c.id)
    per_story = (
        sa.select(
            story.label("story"), s.c.source, s.c.target, s.c.kind,
            sa.func.max(s.c.weight).label("weight"), sa.func.count(sa.distinct(a.c.id)).label("articles"),
        )
        .select_from(s.join(a, a.c.id == s.c.article_id).join(f, f.c.id == a.c.feed_id))
        .where(s.c.weight > 0, s.c.direction == "escalation",
               *_article_conditions(store.backend, signal_rows=True, **filters))
        .group_by(story, s.c.source, s.c.target, s.c.kind)
        .subquery()
    )  # fmt: skip
    p = per_story.c
    q = (
        sa.select(p.source, p.target, p.kind, sa.func.sum(p.weight).label("weight"),
                  sa.func.count().label("stories"), sa.func.sum(p.articles).label("articles"))
        .group_by(p.source, p.target, p.kind)
        .order_by(sa.func.sum(p.weight).desc(), p.source, p.target, p.kind)
    )  # fmt: skip
    with store.engine.connect() as conn:
        return [
            dict(source=r.source, target=r.target, kind=r.kind, weight=float(r.weight), stories=int(r.stories),
                 articles=int(r.articles))
            for r in conn.execute(q)
        ]  # fmt: skip


def actor_weights(pairs: Sequence[dict[str, Any]]) -> dict[str, float]:
    """Escalation weight per actor code from :func:`actor_pairs`, source and target both
    (a signal from RUS to UKR weighs on both); signals without an actor add to neither."""
    out: dict[str, float] = {}
    for p in pairs:
        for code in {p["source"], p["target"]} - {None}:
            out[code] = out.get(code, 0.0) + p["weight"]
    return dict(sorted(out.items(), key=lambda kv: -kv[1]))


def feed_tag_names(store: Any) -> list[str]:
    """Every tag of the feeds that have stored articles, sorted case-insensitively."""
    a, f = schema.articles, schema.feeds
    q = sa.select(f.c.tags).where(sa.exists().where(a.c.feed_id == f.c.id))
    with store.engine.connect() as conn:
        tags = {t for (raw,) in conn.execute(q) for t in feed_tags(raw)}
    return sorted(tags, key=str.casefold)
