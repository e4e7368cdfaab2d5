"""The database schema, as SQLAlchemy Core tables.

This is the schema the code queries. The migrations under
``pipeline/migrations/versions`` create it step by step; a test compares the
migrated database with these tables so the two cannot drift apart.

Times are stored as UTC. On SQLite they are ISO strings (which sort in time
order), on PostgreSQL ``timestamptz``; :class:`UTCDateTime` hands back aware
UTC datetimes on both.

Must not touch: queries (they live in pipeline.store).
"""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import BigInteger as sa_BigInteger
from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.types import TypeDecorator

metadata = MetaData()


class UTCDateTime(TypeDecorator):
    """Aware UTC datetimes in, aware UTC datetimes out, on every backend."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: the store only takes aware UTC times")
        value = value.astimezone(timezone.utc)
        if dialect.name == "sqlite":
            # SQLite has no time zone type; store naive UTC so strings sort in time order
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


class WordCode(TypeDecorator):
    """One of a closed set of words (``WORDS``), stored as its index in the set: a signal
    row repeated ~20 times per dense article spent ~20 bytes on three such words (issue 17,
    migration 0011). Reads and filters see the words. Codes are forever: only append."""

    impl = SmallInteger
    cache_ok = True
    WORDS: tuple[str, ...] = ()

    def process_bind_param(self, value: str | None, dialect):
        if value is None:
            return None
        # a filter on a word no row can hold (a hand-edited URL) matches nothing, not an error
        return self.WORDS.index(value) if value in self.WORDS else -1

    def process_result_value(self, value: int | None, dialect):
        return None if value is None else self.WORDS[value]

    @classmethod
    def code(cls, word: str) -> int:
        """The stored code of ``word`` for the hot path's raw inserts; unknown: ValueError."""
        return cls.WORDS.index(word)


class Direction(WordCode):
    cache_ok = True  # SQLAlchemy asks each subclass
    WORDS = ("escalation", "de-escalation")  # pipeline.signals.DIRECTIONS


class Kind(WordCode):
    cache_ok = True  # SQLAlchemy asks each subclass
    WORDS = ("threat", "act")  # pipeline.signals.KINDS


class Modality(WordCode):
    cache_ok = True  # SQLAlchemy asks each subclass
    WORDS = ("action", "threat", "conditional", "negated", "denied", "hedged")  # pipeline.signals.MODALITIES


feeds = Table(
    "feeds",
    metadata,
    Column("id", Integer, primary_key=True),
    # the identity of a feed is its configured URL; renaming keeps history
    Column("url", Text, nullable=False, unique=True),
    Column("name", Text, nullable=False),
    Column("enabled", Boolean, nullable=False, default=True),
    Column("interval_s", Integer, nullable=False),
    Column("tags", Text, nullable=False, default="[]"),  # JSON list
    Column("language", String(35)),
    # False once the feed left feeds.yaml: its articles stay, it is not polled
    Column("in_config", Boolean, nullable=False, default=True),
    Column("title", Text),  # the feed's own <title>
    # conditional GET validators from the last 200 response
    Column("etag", Text),
    Column("last_modified", Text),
    # the feed's own <ttl> hint: we never poll faster than the publisher asks
    Column("ttl_s", Integer),
    # new | ok | error | gone ; 'gone' (HTTP 410) stops polling until the URL is edited
    Column("status", String(16), nullable=False, default="new"),
    Column("disabled_reason", Text),
    Column("last_fetch_at", UTCDateTime),
    Column("last_success_at", UTCDateTime),
    Column("last_error_at", UTCDateTime),
    Column("last_error", Text),
    Column("error_streak", Integer, nullable=False, default=0),
    Column("next_due_at", UTCDateTime),
    # 429/503 Retry-After: not even `poll --once` fetches before this time
    Column("retry_after_until", UTCDateTime),
    Column("ill_formed", Boolean, nullable=False, default=False),
    # what the last successful parse noted (migration 0007, issue 12): identities derived
    # from titles, repeated items folded, items refused and why; NULL when nothing
    Column("parse_notes", Text),
    Column("items_total", Integer, nullable=False, default=0),
    # EWMA of new items per successful poll; drives the adaptive interval
    Column("new_items_ewma", Float),
    # multi-worker polling (PostgreSQL): who holds the feed, until when
    Column("lease_owner", Text),
    Column("lease_expires_at", UTCDateTime),
    Index("ix_feeds_next_due_at", "next_due_at"),
)

fetch_log = Table(
    "fetch_log",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("feed_id", Integer, ForeignKey("feeds.id", ondelete="CASCADE"), nullable=False),
    Column("started_at", UTCDateTime, nullable=False),
    Column("finished_at", UTCDateTime, nullable=False),
    # ok | not_modified | error | gone
    Column("outcome", String(16), nullable=False),
    Column("status", Integer),
    Column("error", Text),
    Column("body_bytes", Integer, nullable=False, default=0),
    Column("items_seen", Integer, nullable=False, default=0),
    Column("items_new", Integer, nullable=False, default=0),
    # entries of the document that are not articles (migration 0007): items_seen + these
    # two is the parser's entry count, so no entry goes missing unseen
    Column("items_duplicate", Integer, nullable=False, default=0),
    Column("items_refused", Integer, nullable=False, default=0),
    # health pages read the latest attempts of one feed
    Index("ix_fetch_log_feed_started", "feed_id", "started_at"),
)

articles = Table(
    "articles",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("feed_id", Integer, ForeignKey("feeds.id", ondelete="CASCADE"), nullable=False),
    Column("guid", Text, nullable=False),
    Column("url", Text),
    # link minus tracking parameters: the same story from two feeds is stored once
    Column("canonical_url", Text),
    Column("title", Text, nullable=False),
    Column("summary", Text, nullable=False),
    Column("published_at", UTCDateTime, nullable=False),
    # published_at is the first-seen time because the entry had no usable date
    Column("published_estimated", Boolean, nullable=False, default=False),
    Column("first_seen_at", UTCDateTime, nullable=False),
    Column("language", String(35)),
    Column("author", Text),
    Column("content_hash", String(64), nullable=False),
    # the entry had no title; ``title`` is its summary's first sentence (migration 0007)
    Column("title_derived", Boolean, nullable=False, default=False),
    # scoring (migration 0002): NULL taxonomy_version means "not scored yet";
    # a version other than the current one means `rescore` will redo it
    Column("score", Float),
    Column("theatre", String(32)),
    Column("taxonomy_version", String(32)),
    Column("scored_at", UTCDateTime),
    # near-duplicate story this article belongs to (migration 0004); NULL: no signals.
    # No ON DELETE action: SQLite cannot reflect one added by ALTER TABLE, and stories
    # are only deleted by a rebuild, which clears this column first
    Column("story_id", Integer, ForeignKey("stories.id")),
    UniqueConstraint("feed_id", "guid", name="uq_articles_feed_guid"),
    UniqueConstraint("canonical_url", name="uq_articles_canonical_url"),
    # latest-articles lists and time-bucketed trend queries
    Index("ix_articles_published_at", "published_at"),
    # per-theatre trend and drill-down queries
    Index("ix_articles_theatre_published", "theatre", "published_at"),
    # `score` and `rescore` find what is not scored with the current taxonomy
    Index("ix_articles_taxonomy_version", "taxonomy_version"),
    Index("ix_articles_story", "story_id"),
    # the dashboard's data version, max(scored_at), every few seconds (migration 0006)
    Index("ix_articles_scored_at", "scored_at"),
)

signals = Table(
    "signals",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("article_id", Integer, ForeignKey("articles.id", ondelete="CASCADE"), nullable=False),
    Column("signal", String(48), nullable=False),  # taxonomy category id
    Column("direction", Direction, nullable=False),  # escalation | de-escalation
    Column("kind", Kind, nullable=False),  # threat | act (as in the GPR index)
    Column("modality", Modality, nullable=False),
    Column("source", String(16)),  # actor code, e.g. RUS, USA, NATO
    Column("target", String(16)),
    Column("theatre", String(32), nullable=False),
    # evidence: character spans into the scored text, article_text(title, summary) of the
    # article's row; the store slices the matched words and their sentence out of it on
    # read rather than keep a copy in every signal (migration 0010, issue 17: the copies
    # were ~40 % of a crisis-dense store)
    Column("span_start", Integer, nullable=False),
    Column("span_end", Integer, nullable=False),
    Column("sentence_start", Integer, nullable=False),
    Column("sentence_end", Integer, nullable=False),
    # the matched words and the sentence as text only where the spans cannot give them
    # back (a row migrated from a text scored differently); NULL: slice the article's text
    Column("evidence", Text),
    Column("sentence", Text),
    Column("weight", Float, nullable=False),  # contribution to the article score
    # no taxonomy_version (dropped by migration 0011): the article's, written with it
    # signals are read by article (with it, or in an EXISTS of an article filter); no
    # query looks them up by theatre and category, so that index (migration 0010) went
    Index("ix_signals_article", "article_id"),
)


# -- risk index aggregates (migration 0004) -------------------------------------
# Maintained incrementally in the transaction that stores the articles, so a
# trend query reads a few hundred rows, never the articles themselves.

stories = Table(
    "stories",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("theatre", String(32), nullable=False),
    Column("first_article_id", Integer, nullable=False),
    # the story counts in the buckets of its first article
    Column("first_published_at", UTCDateTime, nullable=False),
    Column("size", Integer, nullable=False),  # articles in the story
    # the strongest member's contribution: what the story adds to its buckets
    Column("intensity", Float, nullable=False),
    Column("threats", Float, nullable=False),
    Column("acts", Float, nullable=False),
    Column("deescalation", Float, nullable=False),
    Column("simhash", sa_BigInteger, nullable=False),  # of the first article, signed 64-bit
)

story_keys = Table(
    "story_keys",
    metadata,
    Column("id", Integer, primary_key=True),
    # SimHash band (4 per story): near-duplicates share at least one
    Column("key", Integer, nullable=False),
    Column("published_at", UTCDateTime, nullable=False),
    Column("story_id", Integer, ForeignKey("stories.id", ondelete="CASCADE"), nullable=False),
    Column("simhash", sa_BigInteger, nullable=False),
    # candidates: same band key within the story time window
    Index("ix_story_keys_key_published", "key", "published_at"),
)

trend_buckets = Table(
    "trend_buckets",
    metadata,
    Column("theatre", String(32), primary_key=True),  # '*' = all articles (the volume)
    Column("granularity", String(4), primary_key=True),  # day | hour
    Column("bucket_start", UTCDateTime, primary_key=True),
    Column("articles", Integer, nullable=False),
    Column("stories", Integer, nullable=False),
    Column("escalation", Float, nullable=False),  # sum of story intensities
    Column("threats", Float, nullable=False),
    Column("acts", Float, nullable=False),
    Column("deescalation", Float, nullable=False),
)

category_buckets = Table(
    "category_buckets",
    metadata,
    Column("theatre", String(32), primary_key=True),
    Column("granularity", String(4), primary_key=True),
    Column("bucket_start", UTCDateTime, primary_key=True),
    Column("signal", String(48), primary_key=True),
    Column("count", Integer, nullable=False),
    Column("weight", Float, nullable=False),
)

feed_buckets = Table(
    "feed_buckets",
    metadata,
    Column("feed_id", Integer, ForeignKey("feeds.id", ondelete="CASCADE"), primary_key=True),
    Column("bucket_start", UTCDateTime, primary_key=True),  # UTC day
    Column("articles", Integer, nullable=False),
)

alerts = Table(
    "alerts",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("rule", Text, nullable=False),  # the rule's name in alerts.yaml
    Column("theatre", String(32), nullable=False),
    Column("series", String(16), nullable=False),
    Column("granularity", String(4), nullable=False),
    Column("bucket_start", UTCDateTime, nullable=False),
    Column("value", Float),
    Column("zscore", Float),
    Column("articles", Integer, nullable=False),
    Column("fired_at", UTCDateTime, nullable=False),
    Column("message", Text, nullable=False),
    # the point's top articles and signals at firing time (JSON): why it fired
    Column("evidence", Text, nullable=False),
    Column("delivered_at", UTCDateTime),
    Column("delivery_attempts", Integer, nullable=False, default=0),
    Column("delivery_error", Text),
    # cool-down lookups: the latest alert of a rule
    Index("ix_alerts_rule_fired", "rule", "fired_at"),
)

alert_deliveries = Table(
    "alert_deliveries",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("alert_id", Integer, ForeignKey("alerts.id", ondelete="CASCADE"), nullable=False),
    # the destination with its credentials masked (pipeline.notify.mask_url): never a secret
    Column("destination", Text, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("delivered_at", UTCDateTime),
    Column("error", Text),  # NULL when delivered; scrubbed of the destination's secrets
    # an alert's outcomes, read with the alert
    Index("ix_alert_deliveries_alert", "alert_id"),
)

schedule_runs = Table(
    "schedule_runs",
    metadata,
    # one row per job and period: the primary key is the claim, so however many workers
    # or restarts reach a period, one INSERT wins and the job runs once (issue 15)
    Column("job", String(32), primary_key=True),  # "brief"
    Column("period", String(32), primary_key=True),  # the local date of the run, e.g. 2026-12-02
    Column("claimed_at", UTCDateTime, nullable=False),
    Column("claimed_by", Text, nullable=False),  # worker id (host:pid:...)
    Column("finished_at", UTCDateTime),
    Column("error", Text),  # NULL when every destination got it
)

audit = Table(
    "audit",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("at", UTCDateTime, nullable=False),
    # a signed-in email, "token: <name>" (a shared token: the name is the editor's own word), "local"
    Column("who", Text, nullable=False),
    Column("action", String(16), nullable=False),  # add, update, enable, disable, remove, import
    Column("feed_url", Text),  # the feed's URL before the change; NULL for an OPML import
    Column("feed_name", Text),
    # JSON: field -> [before, after]; an import: {"feeds": [{name, url}, ...]}
    Column("changes", Text, nullable=False),
    # the Sources page and the export read the newest first
    Index("ix_audit_at", "at"),
)
