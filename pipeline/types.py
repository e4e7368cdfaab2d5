"""Plain records passed between the pipeline stages.

Every stage takes and returns these frozen dataclasses, so each stage can be
tested on its own with values written by hand. Times are timezone-aware UTC
``datetime`` objects; durations carry their unit in the name (``interval_s``).

Must not touch: behaviour: plain records only, no connection, session or widget.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass, field, fields
from datetime import datetime

DEFAULT_INTERVAL_S = 15 * 60
MIN_INTERVAL_S = 60
MAX_INTERVAL_S = 7 * 24 * 3600


def _pickled_as_tuple(cls):
    """Pickle a frozen slots dataclass as its class and a tuple of its fields.

    ``dataclass(slots=True)`` pickles through ``__getstate__``/``__setstate__``, which call
    ``dataclasses.fields()`` for every object: the parse pool sends ~45 of these per dense
    article (its Article, ScoredArticle, Signals, Evidences), and that cost ~340 µs of CPU
    per article across the two ends against ~60 µs this way (benchmarks/stages.py, issue 17).
    """
    get = operator.attrgetter(*(f.name for f in fields(cls)))

    def __reduce__(self):
        return (cls, get(self))

    cls.__reduce__ = __reduce__
    return cls


@dataclass(frozen=True, slots=True)
class FeedSpec:
    """One feed as configured in feeds.yaml."""

    name: str
    url: str
    interval_s: int = DEFAULT_INTERVAL_S
    enabled: bool = True
    tags: tuple[str, ...] = ()
    language: str | None = None
    #: this feed's own User-Agent header, for sites that refuse the default client
    user_agent: str | None = None
    #: 1-based line of the entry in feeds.yaml, for error messages (None if not from a file)
    line: int | None = None


@dataclass(frozen=True, slots=True)
class Settings:
    """The optional ``settings:`` section of feeds.yaml."""

    #: refuse private and loopback destinations (shared deployments); link-local
    #: and cloud-metadata addresses are refused whatever this says. None: not set in
    #: feeds.yaml, which allows them, except behind an exposed dashboard
    #: (pipeline.deployment: unset is not the same as an explicit false)
    deny_private_networks: bool | None = None
    #: whole-request deadline, headers and body included
    timeout_s: float = 20.0
    connect_timeout_s: float = 10.0
    #: cap on the decoded body, enforced while streaming
    max_bytes: int = 10 * 1024 * 1024
    max_redirects: int = 5
    #: feeds fetched at once
    concurrency: int = 16
    #: cap of the exponential back-off after failures
    max_backoff_s: int = 6 * 3600


@dataclass(frozen=True, slots=True)
class FeedsConfig:
    feeds: tuple[FeedSpec, ...]
    settings: Settings = field(default_factory=Settings)
    path: str | None = None


@dataclass(frozen=True, slots=True)
class FetchResult:
    """A successful HTTP exchange: 200 with a body, or 304 without one."""

    url: str
    final_url: str
    status: int
    body: bytes | None
    #: response headers, names lower-cased
    headers: dict[str, str]
    etag: str | None
    last_modified: str | None
    elapsed_s: float = 0.0

    @property
    def not_modified(self) -> bool:
        return self.status == 304


@_pickled_as_tuple
@dataclass(frozen=True, slots=True)
class Article:
    """One feed entry, normalised."""

    feed_url: str
    guid: str
    url: str | None
    #: link without tracking parameters or fragment; the cross-feed identity
    canonical_url: str | None
    title: str
    summary: str
    published_at: datetime
    #: True when the entry had no usable date and published_at is the first-seen time
    published_estimated: bool
    language: str | None
    author: str | None
    #: sha256 of normalised title + summary
    content_hash: str
    #: True when the entry had no title and ``title`` is the first sentence of its summary
    title_derived: bool = False


@_pickled_as_tuple
@dataclass(frozen=True, slots=True)
class ParsedFeed:
    articles: tuple[Article, ...]
    title: str | None = None
    #: the feed's own <ttl>/<sy:updatePeriod> hint, in seconds
    ttl_s: int | None = None
    #: feedparser's bozo flag: the feed was ill-formed but still yielded entries
    ill_formed: bool = False
    ill_formed_reason: str | None = None
    #: entries the parser found; every one is an article, a duplicate or a refusal:
    #: ``len(articles) + duplicates + len(refused) == entries``
    entries: int = 0
    #: entries repeating an earlier entry of the document (same identity, same text)
    duplicates: int = 0
    #: (1-based position, reason) of each entry not kept for another reason
    refused: tuple[tuple[int, str], ...] = ()
    #: what the feed's health shows about this document (e.g. identities derived from titles)
    warnings: tuple[str, ...] = ()


def article_text(title: str, summary: str) -> str:
    """The text :func:`pipeline.score.score_article` scores: ``title + ". " + summary``.

    The separator is ". " (a sentence break, so a title's cues do not leak into
    the summary), or just " " when the title already ends with . ! ? or the
    summary is empty. Evidence spans of
    :func:`pipeline.score.score_article` index this string; the store keeps only
    their offsets and slices this text again on read (it lives here, with the
    records, so the store need not import the scorer).
    """
    title = (title or "").strip()
    summary = (summary or "").strip()
    if not summary:
        return title
    if not title:
        return summary
    sep = " " if title[-1] in ".!?;:" else ". "
    return title + sep + summary


@_pickled_as_tuple
@dataclass(frozen=True, slots=True)
class Evidence:
    start: int
    end: int
    text: str
    sentence: str = ""
    sentence_start: int = 0


@_pickled_as_tuple
@dataclass(frozen=True, slots=True)
class Signal:
    signal: str
    direction: str  # "escalation" | "de-escalation"
    kind: str  # "threat" | "act"
    modality: str  # action|threat|conditional|negated|denied|hedged
    source: str | None
    target: str | None
    theatre: str
    evidence: Evidence
    #: contribution to the article score (0 for negated or denied escalation, and for
    #: every signal of a text the relevance gate judged not geopolitical)
    weight: float
    #: why it counted (modality, actors, the relevance gate's reason) or why not
    why: str = ""


@_pickled_as_tuple
@dataclass(frozen=True, slots=True)
class ScoredArticle:
    score: float
    theatre: str
    signals: tuple[Signal, ...]
    taxonomy_version: str
    #: the language the text was read in; not one of pipeline.language.SCORED_LANGUAGES:
    #: the scorer could not read it (score 0, no signals, and it counts in no denominator)
    language: str = "en"


#: the signals table's columns a PackedScore row holds, in order (after the article's id)
SIGNAL_ROW_COLUMNS = (
    "signal", "direction", "kind", "modality", "source", "target", "theatre", "span_start", "span_end",
    "sentence_start", "sentence_end", "evidence", "sentence", "weight",
)  # fmt: skip


@_pickled_as_tuple
@dataclass(frozen=True, slots=True)
class PackedScore:
    """A :class:`ScoredArticle` reduced to what the store writes of it, built where it was scored.

    The parse pool sends these instead of ScoredArticles: plain tuples cross the process
    boundary for a fraction of the cost of ~40 Signal and Evidence objects per dense article,
    and the single writer gets its rows ready-made (issue 17). ``signal_rows`` hold, per
    signal, the columns SIGNAL_ROW_COLUMNS: the evidence and sentence as offsets into
    ``article_text(title, summary)``, their text only where the text at those offsets
    differs (as the store writes a ScoredArticle's); the signal's ``why`` is not stored.
    """

    score: float
    theatre: str
    taxonomy_version: str
    language: str
    signal_rows: tuple[tuple, ...]
    #: (signal, direction, kind, weight) of each signal: what the index aggregates read
    signal_tuples: tuple[tuple[str, str, str, float], ...]

    @classmethod
    def of(cls, scored: ScoredArticle, text: str) -> PackedScore:
        """``scored`` packed; ``text`` is the article_text(title, summary) it will be stored with."""
        rows = []
        for sig in scored.signals:
            ev = sig.evidence
            s_lo = ev.sentence_start
            s_hi = s_lo + len(ev.sentence)
            rows.append((
                sig.signal, sig.direction, sig.kind, sig.modality, sig.source, sig.target, sig.theatre,
                ev.start, ev.end, s_lo, s_hi,
                None if text[ev.start : ev.end] == ev.text else ev.text,
                None if text[s_lo:s_hi] == ev.sentence else ev.sentence,
                sig.weight,
            ))  # fmt: skip
        return cls(
            scored.score, scored.theatre, scored.taxonomy_version, scored.language, tuple(rows),
            tuple((sig.signal, sig.direction, sig.kind, sig.weight) for sig in scored.signals),
        )


@dataclass(frozen=True, slots=True)
class FeedUpdate:
    """What one poll of one feed produced; the store writes it in one transaction."""

    feed_url: str
    started_at: datetime
    finished_at: datetime
    outcome: str  # "ok" | "not_modified" | "error" | "gone"
    status: int | None = None
    articles: tuple[Article, ...] = ()
    etag: str | None = None
    last_modified: str | None = None
    error: str | None = None
    retry_after_s: float | None = None
    ttl_s: int | None = None
    ill_formed: bool = False
    body_bytes: int = 0
    #: entries of the document that are not in ``articles`` (ParsedFeed.duplicates, .refused)
    items_duplicate: int = 0
    items_refused: int = 0
    #: what the feed's health shows about this parse (parse.parse_notes); None: nothing
    parse_notes: str | None = None
    #: one score per article (same order), computed off the event loop with the parse; the
    #: poller sends them packed (PackedScore: what the store writes of them)
    scores: tuple[ScoredArticle | PackedScore, ...] = ()
    #: the story SimHash of each article (same order; None where it has no signal to cluster),
    #: computed with the scores so the single writer does not; empty: the store computes them
    simhashes: tuple[int | None, ...] = ()


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One change to the feeds made from the dashboard, as the audit log keeps it."""

    at: datetime
    #: who made it: a signed-in email, "token: <name>" (shared token) or "local"
    who: str
    action: str  # "add" | "update" | "enable" | "disable" | "remove" | "import"
    feed_url: str | None
    feed_name: str | None
    #: field -> [before, after] (None where a side does not exist); an import: {"feeds": [...]}
    changes: dict
