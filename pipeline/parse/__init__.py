"""Parse stage: feed bytes -> :class:`ParsedFeed` of normalised :class:`Article` records.

feedparser does the XML work; this module decides what is a feed at all,
keeps it from reading files or expanding entities, and turns each entry into
plain, bounded text with a UTC date and a stable identity.

Safety notes (each has a test in tests/unit/test_parse.py):

* ``feedparser.parse`` is given a ``BytesIO``, never the bytes: given bytes
  that look like a path (a body of ``/etc/passwd``) it opens that file, and
  given a URL string it fetches it.
* External entities are not resolved (feedparser turns off expat's external
  general entities and drops the DOCTYPE), but its fallback "loose" parser
  expands *internal* entities without limit: 110 KB declaring a 50 KB entity
  used 20,000 times became a 1 GB title, 30 s and ~3 GB of memory. We drop
  any DOCTYPE internal subset before parsing, so references stay literal text.
* Titles and summaries are capped (``MAX_TITLE_CHARS``, ``MAX_SUMMARY_CHARS``).

Nothing is dropped silently (issue 12): every entry is an article, a duplicate
(same identity and text as an earlier entry of the document) or a refusal with
its reason, and ``ParsedFeed`` counts them. An entry's identity is its id; else
its link, unless the link names no single story (the feed's home page, a site's
root, or a link entries with different titles share, as scraper-written feeds
do): then the link plus a hash of the normalised title and the entry's own date.
An entry without a title gets the first sentence of its summary (``title_derived``).

The stage is split by concern (each module opens with what it owns):
``sniff`` (bytes that are plainly no feed, encodings, the DOCTYPE guard),
``fast`` (the feedparser-rs path), ``reference`` (the feedparser path),
``entries`` (dates, identities, duplicates, refusals), ``text`` (plain text,
caps) and ``urls`` (canonical URLs). This module runs them in order.

Owns: :func:`parse_feed`, the ``FAST_PARSE`` switch, the health notes of a
parse. Must not touch: scoring, the store, the network.
"""

from __future__ import annotations

from datetime import UTC, datetime

try:  # optional accelerator; feedparser stays the reference (see pipeline.parse.fast)
    import feedparser_rs as _feedparser_rs
except ImportError:  # pragma: no cover - depends on the platform's wheels
    _feedparser_rs = None

from ..errors import ParseError
from ..types import ParsedFeed

# the names callers import from pipeline.parse, wherever they now live
from .entries import REFUSED_EMPTY, REFUSED_SAME_ID, SHARED_LINK_WARNING, _drafts, _keep, _ttl_s
from .fast import fast_parse
from .reference import _reference_parse
from .sniff import _DOCTYPE_SUBSET, _root_name, _sniff, _utf8_body
from .text import MAX_SUMMARY_CHARS, MAX_TITLE_CHARS, plain_text
from .urls import canonicalize_url

__all__ = [
    "parse_feed", "canonicalize_url", "plain_text", "MAX_TITLE_CHARS", "MAX_SUMMARY_CHARS", "SHARED_LINK_WARNING",
    "parse_notes",
]  # fmt: skip

#: module switch (tests and benchmarks turn it off to measure the reference path)
FAST_PARSE = _feedparser_rs is not None
#: refused positions named in a health note; the rest are counted
_NOTE_POSITIONS = 5


def _fast_parse(body: bytes, headers: dict[str, str]):
    """:func:`pipeline.parse.fast.fast_parse` with the accelerator imported here; read at
    each call, so replacing ``_feedparser_rs`` on this module (a test of a failing
    accelerator does) reaches the fast path."""
    return fast_parse(body, headers, _feedparser_rs)


def parse_notes(parsed: ParsedFeed) -> str | None:
    """What the feed's health shows about one parse: its warnings, the duplicates folded and
    the entries refused, by reason and position; None when there is nothing to say."""
    notes = list(parsed.warnings)
    if parsed.duplicates:
        notes.append(f"{parsed.duplicates} repeated item{'s' if parsed.duplicates != 1 else ''} folded")
    by_reason: dict[str, list[int]] = {}
    for position, reason in parsed.refused:
        by_reason.setdefault(reason, []).append(position)
    for reason, positions in by_reason.items():
        shown = ", ".join(map(str, positions[:_NOTE_POSITIONS])) + (", …" if len(positions) > _NOTE_POSITIONS else "")
        plural = "s" if len(positions) != 1 else ""
        notes.append(f"{len(positions)} item{plural} refused: {reason} (item{plural} {shown})")
    return "; ".join(notes) or None



def parse_feed(
    body: bytes,
    *,
    feed_url: str,
    headers: dict[str, str] | None = None,
    now: datetime,
    language: str | None = None,
) -> ParsedFeed:
    """Parse an RSS 0.9x/1.0/2.0 or Atom body into articles.

    ``now`` is the first-seen time used for entries without a usable date;
    ``language`` is the fallback when neither entry nor feed declares one.
    Raises ParseError when the body is not a feed; ill-formed feeds that still
    yield entries come back with ``ill_formed=True`` and feedparser's reason.
    """
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    now = now.astimezone(UTC)
    body, headers = _guarded_body(body, headers, feed_url)
    result = _fast_parse(body, headers) if FAST_PARSE else None
    if result is None:
        result = _reference_parse(body, headers, feed_url)
    entries = result.get("entries") or []
    feed = result.get("feed") or {}
    bozo_reason = _ill_formed_reason(result)
    if not (result.get("version") or "") and not entries:
        _raise_not_a_feed(body, bozo_reason, feed_url)
    drafts, feed_link = _drafts(entries, feed, headers, feed_url, now, language)
    articles, duplicates, refused, derived = _keep(drafts, feed_link, feed_url)
    return ParsedFeed(
        articles=tuple(articles),
        title=plain_text(feed.get("title"), MAX_TITLE_CHARS) or None,
        ttl_s=_ttl_s(feed),
        ill_formed=bozo_reason is not None,
        ill_formed_reason=bozo_reason,
        entries=len(entries),
        duplicates=duplicates,
        refused=tuple(refused),
        warnings=(SHARED_LINK_WARNING,) if derived else (),
    )


def _guarded_body(body: bytes, headers: dict[str, str] | None, feed_url: str) -> tuple[bytes, dict[str, str]]:
    """The body a parser may see: refused if plainly not a feed, in UTF-8, with any
    DOCTYPE internal subset dropped (the entity-expansion guard, module docstring)."""
    _sniff(body, feed_url)
    try:
        body, headers = _utf8_body(body, headers or {})
    except ParseError as e:
        raise ParseError(feed_url, e.reason) from e
    return _DOCTYPE_SUBSET.sub(rb"\1", body, count=1), headers


def _ill_formed_reason(result) -> str | None:
    """feedparser's reason a document is ill-formed (at most 500 characters); None if it is not."""
    if not result.get("bozo"):
        return None
    exc = result.get("bozo_exception")
    return f"{type(exc).__name__}: {exc}"[:500] if exc is not None else "ill-formed"


def _raise_not_a_feed(body: bytes, bozo_reason: str | None, feed_url: str) -> None:
    """The ParseError for a document with no feed version and no entries."""
    root = _root_name(body)
    if root is not None:
        raise ParseError(feed_url, f"XML document with root element <{root}> is not an RSS or Atom feed")
    raise ParseError(feed_url, f"not a feed ({bozo_reason or 'no RSS or Atom elements'})")
