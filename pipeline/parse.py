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
"""

from __future__ import annotations

import calendar
import hashlib
import html
import io
import re
import unicodedata
import xml.parsers.expat
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from urllib.parse import unquote_plus, urljoin, urlsplit, urlunsplit

import feedparser

try:  # optional accelerator; feedparser stays the reference (see _fast_parse)
    import feedparser_rs as _feedparser_rs
except ImportError:  # pragma: no cover - depends on the platform's wheels
    _feedparser_rs = None

from .errors import ParseError
from .types import Article, ParsedFeed

__all__ = [
    "parse_feed", "canonicalize_url", "plain_text", "MAX_TITLE_CHARS", "MAX_SUMMARY_CHARS", "SHARED_LINK_WARNING",
    "parse_notes",
]  # fmt: skip

#: Headlines run to ~100-300 chars; 1,000 keeps every real one and stops a
#: feed from filling the store and the scorer with megabytes per "title".
MAX_TITLE_CHARS = 1_000
#: Summaries are teasers or at most a full article (~5-15 k chars); the
#: scorer reads this text, so it is bounded to keep scoring time per article flat.
MAX_SUMMARY_CHARS = 20_000
#: HTML looked at before the cap: tag-stripping is linear, but a 10 MB summary
#: need not be walked to keep its first 20,000 characters of text.
_MAX_MARKUP_CHARS = 10 * MAX_SUMMARY_CHARS
#: guids longer than this are replaced by a hash (a store key, not content)
_MAX_GUID_CHARS = 2_000
_MAX_AUTHOR_CHARS = 300

#: dates more than this far ahead of ``now`` are clock errors or embargo typos
_FUTURE_SLACK = timedelta(days=1)
#: before any news feed existed; usually a zero or a parse accident
_OLDEST_PLAUSIBLE = datetime(1990, 1, 1, tzinfo=UTC)

# Query parameters that identify the click, not the article. Lower-cased.
_TRACKING_PARAMS = frozenset(
    {
        "fbclid", "gclid", "dclid", "gclsrc", "msclkid", "yclid", "igshid", "twclid",
        "mc_cid", "mc_eid", "mkt_tok", "_ga", "_gl", "_hsenc", "_hsmi",
        "ref", "ref_src", "ref_url", "referrer", "cmpid", "cmp", "ocid", "icid",
        "xtor", "ito", "smid", "smtyp", "s_cid", "soc_src", "soc_trk", "sr_share",
        "guccounter", "guce_referrer", "guce_referrer_sig", "__twitter_impression",
        "ns_mchannel", "ns_source", "ns_campaign", "ns_linkname", "ns_fee",
        "spm",
    }
)  # fmt: skip
#: utm_* (Google Analytics), at_* (AT Internet, e.g. BBC at_medium), wt.* (Webtrends)
_TRACKING_PREFIXES = ("utm_", "at_", "wt.", "pk_", "mtm_", "hmb_")
_DEFAULT_PORTS = {"http": 80, "https": 443}

_SY_PERIOD_S = {
    "hourly": 3600, "daily": 86400, "weekly": 7 * 86400, "monthly": 30 * 86400, "yearly": 365 * 86400,
}  # fmt: skip

# A DOCTYPE with an internal subset ("[...]"), after an optional BOM, XML
# declaration, comments and whitespace. Anchored, and each alternative starts
# with a different character, so it cannot backtrack badly.
_DOCTYPE_SUBSET = re.compile(
    rb"\A((?:\xef\xbb\xbf)?(?:\s|<\?.*?\?>|<!--.*?-->)*)<!DOCTYPE\b[^\[>]*\[.*?\]\s*>",
    re.S | re.I,
)
_PROLOG = re.compile(r"\A(?:\s|<\?.*?\?>|<!--.*?-->|<!DOCTYPE\b[^\[>]*(?:\[.*?\])?\s*>)*", re.S | re.I)
_ROOT_TAG = re.compile(r"<([A-Za-z_][\w.:-]*)")
_XML_ENCODING = re.compile(rb"""(<\?xml[^>]*?encoding\s*=\s*["'])[^"']*(["'])""")
_TAG_LIKE = re.compile(r"<[/!?A-Za-z][^<>]*>")
# C0 and C1 controls except tab, newline, carriage return (whitespace, collapsed later)
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
# lone surrogates (from broken numeric references) and the two non-characters
_UNENCODABLE = re.compile("[\ud800-\udfff\ufffe\uffff]")
_WHITESPACE = re.compile(r"\s+")
#: end of a sentence: terminal punctuation (Latin, CJK, ellipsis) and a space or the end
_SENTENCE_END = re.compile(r"[.!?…。！？](?=\s|$)")
#: a headline taken from a summary's first sentence is cut here (headlines run to ~100-300)
_DERIVED_TITLE_CHARS = 200

#: the feed-health warning when entries share one link and got identities from their titles
SHARED_LINK_WARNING = "items share one link; identities derived from titles"
#: why an entry was not kept (ParsedFeed.refused): one text per kind, so health notes can count them
REFUSED_EMPTY = "no title and no text"
REFUSED_SAME_ID = "same id as an earlier item, different text (the first is kept)"
#: refused positions named in a health note; the rest are counted
_NOTE_POSITIONS = 5


# --- URLs ---------------------------------------------------------------------


def _is_tracking(key: str) -> bool:
    key = unquote_plus(key).strip().lower()
    return key in _TRACKING_PARAMS or key.startswith(_TRACKING_PREFIXES)


def canonicalize_url(url: str | None) -> str | None:
    """The article's identity across feeds: http(s) only, scheme and host
    lower-cased, default port, credentials, fragment and tracking parameters
    dropped; other parameters kept as written and in order. None if unusable."""
    if not url:
        return None
    url = url.strip()
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        return None
    host = parts.hostname.lower().rstrip(".")
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    if port is not None and port != _DEFAULT_PORTS[scheme]:
        host = f"{host}:{port}"
    query = "&".join(
        segment
        for segment in parts.query.split("&")
        if segment and not _is_tracking(segment.split("=", 1)[0])
    )
    return urlunsplit((scheme, host, parts.path or "/", query, ""))


# --- text ---------------------------------------------------------------------


class _TextExtractor(HTMLParser):
    """Collects text, drops tags and the content of script/style/etc."""

    _SKIP = {"script", "style", "noscript", "template", "iframe", "object", "svg", "math", "head", "title"}
    _BLOCK = {"p", "br", "div", "li", "ul", "ol", "tr", "td", "th", "h1", "h2", "h3", "h4", "h5", "h6",
              "blockquote", "section", "article", "header", "footer", "hr", "dd", "dt", "figcaption", "pre"}  # fmt: skip

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skipping = 0

    def handle_starttag(self, tag, attrs):
        if tag in self._SKIP:
            self._skipping += 1
        elif tag in self._BLOCK:
            self.parts.append(" ")

    def handle_startendtag(self, tag, attrs):
        if tag in self._BLOCK:
            self.parts.append(" ")

    def handle_endtag(self, tag):
        if tag in self._SKIP:
            self._skipping = max(0, self._skipping - 1)
        elif tag in self._BLOCK:
            self.parts.append(" ")

    def handle_data(self, data):
        if not self._skipping:
            self.parts.append(data)


def _clean_chars(text: str) -> str:
    """Control characters become spaces (tab/newline included, collapsed later);
    surrogates and non-characters go. Format characters stay: ZWJ joins emoji,
    RLM/LRM and embeddings order Arabic and Hebrew text."""
    return _UNENCODABLE.sub("", _CONTROL.sub(" ", text))


def plain_text(markup: str | None, max_chars: int) -> str:
    """HTML or text -> one line of plain text: tags (and script/style content)
    removed, entities decoded, control characters removed, whitespace
    collapsed, at most ``max_chars`` characters. No markup survives: text that
    decodes to something tag-like (``&lt;script&gt;``) is removed as well."""
    if not markup:
        return ""
    markup = markup[:_MAX_MARKUP_CHARS]
    extractor = _TextExtractor()
    try:
        extractor.feed(markup)
        extractor.close()
        text = "".join(extractor.parts)
    except Exception:  # noqa: BLE001 - HTMLParser on hostile input; fall back to a regex
        text = _TAG_LIKE.sub(" ", markup)
    # escaped markup decodes to markup; it is not text a reader should see
    text = _TAG_LIKE.sub(" ", text)
    text = _WHITESPACE.sub(" ", _clean_chars(text)).strip()
    if len(text) > max_chars:
        text = text[:max_chars].rstrip()
        # don't leave a lone combining mark or half an emoji ZWJ sequence dangling
        while text and unicodedata.category(text[-1]) in ("Mn", "Me", "Cf"):
            text = text[:-1]
    return text


def _content_hash(title: str, summary: str) -> str:
    # NFC here only: the stored text keeps its combining characters as sent
    normalised = unicodedata.normalize("NFC", f"{title}\n{summary}").casefold()
    normalised = _WHITESPACE.sub(" ", normalised).strip()
    return hashlib.sha256(normalised.encode("utf-8")).hexdigest()


# --- sniffing -----------------------------------------------------------------


def _wide_codec(body: bytes) -> str | None:
    """UTF-16/32 by BOM or by the shape of "<?" (XML 1.0 appendix F)."""
    if body[:4] in (b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff"):
        return "utf-32"
    if body[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return "utf-16"
    if body[:4] == b"<\x00?\x00":
        return "utf-16-le"
    if body[:4] == b"\x00<\x00?":
        return "utf-16-be"
    return None


def _head_text(body: bytes) -> str:
    head = body[:4096]
    codec = _wide_codec(head) or "utf-8"
    return head.decode(codec, "replace").lstrip("\ufeff")


def _looks_binary(body: bytes) -> bool:
    """C0 control bytes (not tab/newline/CR) are absent from text in any 8-bit
    encoding a feed may use, and ~11% of random bytes; UTF-16/32 (NULs) excepted."""
    sample = body[:1024]
    if not sample or _wide_codec(sample):
        return False
    controls = sum(1 for b in sample if b < 0x20 and b not in (0x09, 0x0A, 0x0D))
    return controls / len(sample) > 0.01


def _sniff(body: bytes, feed_url: str) -> None:
    """Raise ParseError for bodies that are plainly not RSS/Atom."""
    if not body or not body.strip():
        raise ParseError(feed_url, "empty body")
    if body[:2] == b"\x1f\x8b":
        raise ParseError(feed_url, "gzip-compressed data, not a feed (Content-Encoding missing?)")
    if _looks_binary(body):
        raise ParseError(feed_url, "binary data, not a feed")
    head = _head_text(body)
    stripped = head.lstrip()
    if stripped[:1] in ("{", "["):
        raise ParseError(feed_url, "looks like JSON, not an RSS or Atom feed (JSON Feed is not supported)")
    lower = head.lower()
    prolog_end = _PROLOG.match(head).end()
    root = _ROOT_TAG.match(head, prolog_end)
    doctype = re.search(r"<!doctype\s+(\w+)", lower[:prolog_end])
    root_name = root.group(1).lower().rsplit(":", 1)[-1] if root else None
    if (doctype and doctype.group(1) == "html") or root_name in ("html", "head", "body"):
        raise ParseError(feed_url, "looks like an HTML page, not a feed")
    if root is None:
        has_feed_tag = any(tag in lower for tag in ("<rss", "<feed", "<rdf:rdf", "<channel"))
        if not has_feed_tag and ("<html" in lower or "<!doctype html" in lower):
            raise ParseError(feed_url, "looks like an HTML page, not a feed")
        if not stripped.startswith("<") and not has_feed_tag:
            preview = stripped[:40].encode("unicode_escape").decode("ascii")
            raise ParseError(feed_url, f"not XML (starts with {preview!r})")


def _utf8_body(body: bytes, headers: dict[str, str]) -> tuple[bytes, dict[str, str]]:
    """UTF-16/32 bodies transcoded to UTF-8, so the DOCTYPE guard can see them."""
    codec = _wide_codec(body)
    if codec is None:
        return body, headers
    try:
        text = body.decode(codec)
    except UnicodeDecodeError as e:
        raise ParseError("", f"undecodable {codec} body: {e}") from e
    out = _XML_ENCODING.sub(rb"\1utf-8\2", text.lstrip("\ufeff").encode("utf-8"), count=1)
    headers = dict(headers)
    if "content-type" in headers:
        headers["content-type"] = headers["content-type"].split(";", 1)[0]
    return out, headers


def _feed_headers(headers: dict[str, str] | None, feed_url: str) -> dict[str, str]:
    out = {k.lower(): v for k, v in (headers or {}).items()}
    # no header at all (a file, a test): let the XML declaration decide the
    # encoding rather than have feedparser flag "no Content-type specified"
    ctype = out.setdefault("content-type", "application/xml")
    if ctype.lower().startswith("text/") and "charset" not in ctype.lower():
        # RFC 7303 (which replaced RFC 3023): text/xml without a charset defers to
        # the XML declaration; feedparser still applies RFC 3023's us-ascii default,
        # which would flag every UTF-8 feed served as text/xml as ill-formed
        out["content-type"] = "application/xml"
    # feedparser resolves <guid> values against Content-Location as if they
    # were links ("s1" became "https://host/s1"), which would change an
    # entry's identity with the header; links are resolved in _article instead
    out.pop("content-location", None)
    return out


# --- entries ------------------------------------------------------------------


def _date(entry, now: datetime) -> tuple[datetime, bool]:
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        parsed = dict.get(entry, key)  # plain get: no deprecated updated->published fallback warning
        if not parsed:
            continue
        try:
            # feedparser's struct_time is already UTC
            when = datetime.fromtimestamp(calendar.timegm(parsed), UTC)
        except (OverflowError, ValueError, OSError, TypeError):
            continue
        if when > now + _FUTURE_SLACK or when < _OLDEST_PLAUSIBLE:
            return now, True
        return when, False
    return now, True


def _language(entry, feed_language: str | None, default: str | None) -> str | None:
    for detail in ("title_detail", "summary_detail"):
        lang = (entry.get(detail) or {}).get("language")
        if lang:
            return _norm_language(lang)
    return _norm_language(feed_language) or _norm_language(default)


def _norm_language(value: str | None) -> str | None:
    if not value or not isinstance(value, str):
        return None
    value = value.strip().replace("_", "-").lower()
    return value[:35] or None


def _summary_markup(entry) -> str:
    summary = entry.get("summary") or ""
    if not summary.strip():
        for content in entry.get("content") or ():
            if content.get("value"):
                return content["value"]
    return summary


def _http_url(link: str | None, base_url: str) -> str | None:
    if not link or not isinstance(link, str):
        return None
    try:
        link = urljoin(base_url, link.strip())
    except ValueError:  # "https://[not-an-ip]/": a broken link is no link, not a failed feed
        return None
    scheme = link.split(":", 1)[0].lower() if ":" in link else ""
    return link if scheme in _DEFAULT_PORTS else None


def _first_sentence(text: str) -> str:
    """The first sentence of ``text`` (a headline for an entry without a title), at most
    ``_DERIVED_TITLE_CHARS`` characters, cut at a word with an ellipsis when longer."""
    match = _SENTENCE_END.search(text)
    sentence = text[: match.end()].strip() if match else text
    if len(sentence) <= _DERIVED_TITLE_CHARS:
        return sentence
    cut = sentence[:_DERIVED_TITLE_CHARS]
    if " " in cut[_DERIVED_TITLE_CHARS // 2 :]:
        cut = cut.rsplit(" ", 1)[0]
    while cut and unicodedata.category(cut[-1]) in ("Mn", "Me", "Cf"):
        cut = cut[:-1]
    return cut.rstrip(" ,;:-–—") + "…"


def _title_key(title: str) -> str:
    return _WHITESPACE.sub(" ", unicodedata.normalize("NFC", title).casefold()).strip()


class _Draft:
    """One entry's fields before its identity is settled (that needs the other entries)."""

    __slots__ = ("position", "title", "title_derived", "summary", "url", "canonical_url", "guid",
                 "published_at", "estimated", "dated", "language", "author", "content_hash")  # fmt: skip


def _draft(entry, position: int, *, base_url: str, now: datetime, feed_language: str | None,
           language: str | None, stamps: frozenset[datetime]) -> _Draft:  # fmt: skip
    d = _Draft()
    d.position = position
    d.title = plain_text(entry.get("title"), MAX_TITLE_CHARS)
    d.summary = plain_text(_summary_markup(entry), MAX_SUMMARY_CHARS)
    d.title_derived = not d.title and bool(d.summary)
    if d.title_derived:
        # a blank headline is unreadable in every list; the summary's first sentence is not
        d.title = _first_sentence(d.summary)
    d.url = _http_url(entry.get("link"), base_url)
    d.canonical_url = canonicalize_url(d.url)
    d.content_hash = _content_hash(d.title, d.summary)
    d.guid = _clean_chars(str(entry.get("id") or "")).strip()
    d.published_at, d.estimated = _date(entry, now)
    # the date is part of a derived identity only if it is the entry's own: not the
    # first-seen time, and not the build time a scraper stamps on every item
    # (python-feedgen feeds such as holod_1.xml in the realfeeds corpus)
    d.dated = not d.estimated and d.published_at not in stamps
    d.language = _language(entry, feed_language, language)
    d.author = plain_text(entry.get("author"), _MAX_AUTHOR_CHARS) or None
    return d


def _is_site_root(canonical_url: str) -> bool:
    parts = urlsplit(canonical_url)
    return parts.path in ("", "/") and not parts.query


def _shared_links(drafts: list[_Draft], feed_link: str | None) -> set[str]:
    """Canonical links that do not name one story: the feed's own home page or a site's
    root, or a link that entries with different titles share (a scraper that gives every
    item the outlet's home page, as meduza_2.xml in the realfeeds corpus does)."""
    titles: dict[str, set[str]] = {}
    for d in drafts:
        if d.canonical_url is not None:
            titles.setdefault(d.canonical_url, set()).add(_title_key(d.title))
    return {
        link
        for link, seen in titles.items()
        if link == feed_link or _is_site_root(link) or len(seen) > 1
    }


def _identify(d: _Draft, shared: set[str]) -> bool:
    """Set the draft's guid (its identity in the feed); True when it was derived from the title.

    The entry's own id when it has one; else its link, unless that link is shared
    (:func:`_shared_links`): then the link plus a hash of the normalised title and the
    entry's own date, which are the same at every poll; else a hash of the text.
    A shared link is no cross-feed identity either, so its canonical URL is dropped
    (the store keeps one article per canonical URL).
    """
    derived = False
    if d.canonical_url in shared:
        d.canonical_url = None
        if not d.guid:
            key = _title_key(d.title) + ("\n" + d.published_at.isoformat() if d.dated else "")
            d.guid = f"{d.url}#title-sha256:{hashlib.sha256(key.encode('utf-8')).hexdigest()[:32]}"
            derived = True
    if not d.guid:
        d.guid = d.url or f"sha256:{d.content_hash}"
    if len(d.guid) > _MAX_GUID_CHARS:
        d.guid = "sha256:" + hashlib.sha256(d.guid.encode("utf-8", "replace")).hexdigest()
    return derived


def _article(d: _Draft, feed_url: str) -> Article:
    return Article(
        feed_url=feed_url,
        guid=d.guid,
        url=d.url,
        canonical_url=d.canonical_url,
        title=d.title,
        summary=d.summary,
        published_at=d.published_at,
        published_estimated=d.estimated,
        language=d.language,
        author=d.author,
        content_hash=d.content_hash,
        title_derived=d.title_derived,
    )


def _stamps(feed) -> frozenset[datetime]:
    """The feed's own build/publication times, as UTC datetimes."""
    out = set()
    for key in ("updated_parsed", "published_parsed"):
        parsed = dict.get(feed, key)
        if parsed:
            try:
                out.add(datetime.fromtimestamp(calendar.timegm(parsed), UTC))
            except (OverflowError, ValueError, OSError, TypeError):
                pass
    return frozenset(out)


def _ttl_s(feed) -> int | None:
    ttl = str(feed.get("ttl") or "").strip()
    if ttl.isdigit() and int(ttl) > 0:
        return int(ttl) * 60
    period = str(feed.get("sy_updateperiod") or "").strip().lower()
    if period in _SY_PERIOD_S:
        frequency = str(feed.get("sy_updatefrequency") or "1").strip()
        frequency_n = int(frequency) if frequency.isdigit() and int(frequency) > 0 else 1
        return max(_SY_PERIOD_S[period] // frequency_n, 1)
    return None


def _root_name(body: bytes) -> str | None:
    head = _head_text(body)
    match = _ROOT_TAG.match(head, _PROLOG.match(head).end())
    return match.group(1) if match else None


def _reference_parse(body: bytes, headers: dict[str, str], feed_url: str):
    try:
        # BytesIO, not bytes: see the module docstring
        # sanitize_html/resolve_relative_uris off: every HTML field is reduced to
        # plain text below, so that work would be thrown away (halves parse time);
        # entry links are still resolved against the feed URL
        return feedparser.parse(
            io.BytesIO(body),
            response_headers=_feed_headers(headers, feed_url),
            sanitize_html=False,
            resolve_relative_uris=False,
        )
    except Exception as e:  # noqa: BLE001 - feedparser bugs on hostile input become ParseError
        raise ParseError(feed_url, f"feedparser failed: {type(e).__name__}: {e}") from e


# --- fast path ------------------------------------------------------------------
#
# feedparser spends ~400 µs per entry in Python (SAX callbacks, deepcopy of every
# element); feedparser-rs (Rust, a feedparser-compatible API) parses the same
# entry in ~20-60 µs. feedparser stays the reference: it is the most forgiving
# parser of broken feeds, and the fast path is taken only where the two are known
# to agree (tests/unit/test_parse_fast.py compares the Articles of both on every
# fixture feed and on generated ones). Anything unusual goes to feedparser:
# another encoding than UTF-8, a DOCTYPE or entity declaration, xml:base or
# per-element xml:lang, anything not plain RSS 2.0 or Atom 1.0, an ill-formed
# document (expat, which feedparser's strict parser also uses, must accept it
# whole: feedparser-rs forgives what feedparser flags as ill-formed), an error,
# or an entry count that differs from the item/entry tags in the body (a
# structural disagreement).

#: module switch (tests and benchmarks turn it off to measure the reference path)
FAST_PARSE = _feedparser_rs is not None
_FAST_VERSIONS = {"rss20": b"rss", "atom10": b"feed"}
_ITEM_TAG = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?(?:item|entry)[\s>/]")
# C1 controls (U+0080-U+009F), raw in UTF-8 or as character references: feedparser
# maps them to their cp1252 characters (&#x85; is "…"), feedparser-rs does not
_FAST_DENY = re.compile(
    rb"<!DOCTYPE|<!ENTITY|xml:base|<\?xml-stylesheet|\xc2[\x80-\x9f]|&#(?:x0*[89][0-9a-f]|0*(?:12[89]|1[3-5][0-9]));",
    re.I,
)
_XML_DECL_ENCODING = re.compile(rb"""\A(?:\xef\xbb\xbf)?<\?xml[^>]*?encoding\s*=\s*["']([^"']*)["']""")
_TITLE_TAG = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?title[\s>/]")
_ID_TAG = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?(?:guid|id)[\s>/]")
_RSS_DATE = re.compile(rb"<(?:pubDate|dc:date|dcterms:(?:issued|modified|created))[\s>/]")
_ATOM_PUBLISHED = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?published[\s>/]")
_ATOM_UPDATED = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?updated[\s>/]")
_ENTRY_KEYS = ("title", "summary", "link", "id", "author")
_fp_parse_date = feedparser.datetimes._parse_date


def _fast_parse(body: bytes, headers: dict[str, str]):
    """feedparser-rs's result as plain dicts shaped like feedparser's, or None
    whenever the reference parser must decide (see the comment above)."""
    if _feedparser_rs is None or _FAST_DENY.search(body) or body.count(b"xml:lang") > 1:
        return None
    declared = _XML_DECL_ENCODING.match(body)
    if declared is not None and declared.group(1).lower() not in (b"utf-8", b"utf8"):
        return None
    ctype = {k.lower(): v for k, v in headers.items()}.get("content-type", "").lower()
    if "charset" in ctype and not re.search(r"charset\s*=\s*[\"']?utf-?8\b", ctype):
        return None
    try:
        body.decode("utf-8")
        # well-formedness as feedparser sees it (namespaces included); C speed, no handlers
        xml.parsers.expat.ParserCreate(namespace_separator=" ").Parse(body, True)
        # bytes that expat accepted start with "<": never a URL feedparser-rs would fetch
        result = _feedparser_rs.parse(body, sanitize_html=False, resolve_relative_uris=False)
        if result.bozo or result.version not in _FAST_VERSIONS:
            return None
        root = _root_name(body)
        if root is None or root.encode().rsplit(b":", 1)[-1] != _FAST_VERSIONS[result.version]:
            return None
        raw_entries = result.entries
        if len(raw_entries) != len(_ITEM_TAG.findall(body)):
            return None
        is_atom = result.version == "atom10"
        if is_atom and re.search(rb"""type\s*=\s*["']xhtml""", body):
            return None  # inline XHTML content: the two flatten it differently
        # one <title> and one <guid>/<id> per entry: with two (a lost "</item><item>"),
        # feedparser keeps the first title, feedparser-rs the last
        feed_meta = result.feed
        titles = sum(e.get("title") is not None for e in raw_entries) + (feed_meta.get("title") is not None)
        if len(_TITLE_TAG.findall(body)) != titles:
            return None
        ids = sum(e.get("id") is not None for e in raw_entries) + (is_atom and feed_meta.get("id") is not None)
        if len(_ID_TAG.findall(body)) != ids:
            return None
        # at most one of each date element per entry: with two, feedparser keeps the last
        first_entry = _ITEM_TAG.search(body)
        if first_entry is not None:
            tail = body[first_entry.start() :]
            date_tags = (_ATOM_PUBLISHED, _ATOM_UPDATED) if is_atom else (_RSS_DATE,)
            if any(len(tag.findall(tail)) > len(raw_entries) for tag in date_tags):
                return None
        entries = []
        for e in raw_entries:
            if e.get("published") is None and e.get("updated") is None:
                # feedparser-rs drops a date it cannot read, feedparser keeps the text and
                # its lenient parser often reads it: dateless entries go to feedparser
                return None
            entry = {k: e.get(k) for k in _ENTRY_KEYS}
            if is_atom:
                # feedparser-rs keeps attribute values escaped (href="?a=1&amp;b=2") and
                # falls back to the id when no <link> has an href; take the first
                # alternate link ourselves, and let feedparser decide entries without one
                alternate = [link for link in e.get("links") or () if (link.rel or "alternate") == "alternate"]
                if not alternate:
                    return None
                entry["link"] = html.unescape(alternate[0].href)
            for key in ("published", "updated", "created"):
                # the date text through feedparser's own date parser: the two
                # libraries read odd formats differently (a fuzzed date showed it)
                raw = e.get(key)
                entry[f"{key}_parsed"] = _fp_parse_date(raw) if raw else None
            content = e.get("content")
            entry["content"] = [{"value": c.value} for c in content] if content else None
            entry["title_detail"] = {"language": getattr(e.get("title_detail"), "language", None)}
            entry["summary_detail"] = {"language": getattr(e.get("summary_detail"), "language", None)}
            entries.append(entry)
        sy = feed_meta.get("syndication")
        if is_atom:
            alternate = [link for link in feed_meta.get("links") or () if (link.rel or "alternate") == "alternate"]
            feed_link = html.unescape(alternate[0].href) if alternate else None
        else:
            feed_link = feed_meta.get("link")
        feed = {
            "title": feed_meta.get("title"),
            "link": feed_link,
            "updated_parsed": _fp_parse_date(feed_meta["updated"]) if feed_meta.get("updated") else None,
            "published_parsed": _fp_parse_date(feed_meta["published"]) if feed_meta.get("published") else None,
            "language": feed_meta.get("language"),
            "ttl": feed_meta.get("ttl"),
            "sy_updateperiod": getattr(sy, "update_period", None) if sy is not None else None,
            "sy_updatefrequency": getattr(sy, "update_frequency", None) if sy is not None else None,
        }
    except Exception:  # noqa: BLE001 - any trouble in the fast path: the reference decides
        return None
    return {"entries": entries, "feed": feed, "version": result.version, "bozo": False}


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
    _sniff(body, feed_url)
    try:
        body, headers = _utf8_body(body, headers or {})
    except ParseError as e:
        raise ParseError(feed_url, e.reason) from e
    body = _DOCTYPE_SUBSET.sub(rb"\1", body, count=1)
    result = _fast_parse(body, headers) if FAST_PARSE else None
    if result is None:
        result = _reference_parse(body, headers, feed_url)
    entries = result.get("entries") or []
    feed = result.get("feed") or {}
    version = result.get("version") or ""
    bozo_reason = None
    if result.get("bozo"):
        exc = result.get("bozo_exception")
        bozo_reason = f"{type(exc).__name__}: {exc}"[:500] if exc is not None else "ill-formed"
    if not version and not entries:
        root = _root_name(body)
        if root is not None:
            raise ParseError(feed_url, f"XML document with root element <{root}> is not an RSS or Atom feed")
        raise ParseError(feed_url, f"not a feed ({bozo_reason or 'no RSS or Atom elements'})")
    feed_language = feed.get("language")
    # relative links resolve against Content-Location (RFC 9110 8.7) or the feed URL
    content_location = {k.lower(): v for k, v in (headers or {}).items()}.get("content-location")
    base_url = urljoin(feed_url, content_location) if content_location else feed_url
    feed_link = canonicalize_url(_http_url(feed.get("link"), base_url))
    stamps = _stamps(feed)
    drafts = [
        _draft(entry, i, base_url=base_url, now=now, feed_language=feed_language, language=language, stamps=stamps)
        for i, entry in enumerate(entries, 1)
    ]
    shared = _shared_links(drafts, feed_link)
    articles: list[Article] = []
    first: dict[str, _Draft] = {}
    duplicates = 0
    refused: list[tuple[int, str]] = []
    derived = 0
    for d in drafts:
        if not d.title and not d.summary:
            # nothing to show or score (e.g. items collapsed to "..." in a browser's XML view,
            # dw_ukrainian_1.xml in the realfeeds corpus)
            refused.append((d.position, REFUSED_EMPTY))
            continue
        derived += _identify(d, shared)
        earlier = first.get(d.guid)
        if earlier is None:
            first[d.guid] = d
            articles.append(_article(d, feed_url))
        elif earlier.content_hash == d.content_hash:
            duplicates += 1  # the same entry twice in one document
        else:
            # the same id with other text (an edited headline left beside the old one):
            # the first one is kept, as the store keeps the first version it saw
            refused.append((d.position, REFUSED_SAME_ID))
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
