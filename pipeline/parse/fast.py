"""The fast path: feedparser-rs, taken only where it agrees with feedparser.

feedparser spends ~400 µs per entry in Python (SAX callbacks, deepcopy of every
element); feedparser-rs (Rust, a feedparser-compatible API) parses the same
entry in ~20-60 µs. feedparser stays the reference: it is the most forgiving
parser of broken feeds, and the fast path is taken only where the two are known
to agree (tests/unit/test_parse_fast.py compares the Articles of both on every
fixture feed and on generated ones). Anything unusual goes to feedparser:
another encoding than UTF-8, a DOCTYPE or entity declaration, xml:base or
per-element xml:lang, anything not plain RSS 2.0 or Atom 1.0, an ill-formed
document (expat, which feedparser's strict parser also uses, must accept it
whole: feedparser-rs forgives what feedparser flags as ill-formed), an error,
or an entry count that differs from the item/entry tags in the body (a
structural disagreement).

Owns: deciding whether a body may take the fast path and shaping feedparser-rs's
result like feedparser's. Must not touch: what becomes of the entries
(pipeline.parse.entries), the switch that turns the path off (``FAST_PARSE``
in pipeline.parse, which also holds the imported accelerator and passes it in).
"""

from __future__ import annotations

import html
import re
import xml.parsers.expat

import feedparser

from .sniff import _root_name

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


def _plain_utf8(body: bytes, headers: dict[str, str]) -> bool:
    """No feature the two parsers treat differently, and UTF-8 by declaration and header."""
    if _FAST_DENY.search(body) or body.count(b"xml:lang") > 1:
        return False
    declared = _XML_DECL_ENCODING.match(body)
    if declared is not None and declared.group(1).lower() not in (b"utf-8", b"utf8"):
        return False
    ctype = {k.lower(): v for k, v in headers.items()}.get("content-type", "").lower()
    if "charset" in ctype and not re.search(r"charset\s*=\s*[\"']?utf-?8\b", ctype):
        return False
    return True


def _accelerated(body: bytes, accelerator):
    """feedparser-rs's result for a well-formed body whose structure it read as the
    body shows it, else None. May raise: the caller treats that as None."""
    body.decode("utf-8")
    # well-formedness as feedparser sees it (namespaces included); C speed, no handlers
    xml.parsers.expat.ParserCreate(namespace_separator=" ").Parse(body, True)
    # bytes that expat accepted start with "<": never a URL feedparser-rs would fetch
    result = accelerator.parse(body, sanitize_html=False, resolve_relative_uris=False)
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
    return result


def _entry(e, is_atom: bool) -> dict | None:
    """One feedparser-rs entry as a feedparser-shaped dict; None: let feedparser decide."""
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
    return entry


def _feed(feed_meta, is_atom: bool) -> dict:
    """The feed-level fields parse_feed reads, shaped like feedparser's ``feed``."""
    sy = feed_meta.get("syndication")
    if is_atom:
        alternate = [link for link in feed_meta.get("links") or () if (link.rel or "alternate") == "alternate"]
        feed_link = html.unescape(alternate[0].href) if alternate else None
    else:
        feed_link = feed_meta.get("link")
    return {
        "title": feed_meta.get("title"),
        "link": feed_link,
        "updated_parsed": _fp_parse_date(feed_meta["updated"]) if feed_meta.get("updated") else None,
        "published_parsed": _fp_parse_date(feed_meta["published"]) if feed_meta.get("published") else None,
        "language": feed_meta.get("language"),
        "ttl": feed_meta.get("ttl"),
        "sy_updateperiod": getattr(sy, "update_period", None) if sy is not None else None,
        "sy_updatefrequency": getattr(sy, "update_frequency", None) if sy is not None else None,
    }


def fast_parse(body: bytes, headers: dict[str, str], accelerator):
    """feedparser-rs's result as plain dicts shaped like feedparser's, or None
    whenever the reference parser must decide (see the module docstring).
    ``accelerator`` is the feedparser_rs module, None when it is not installed."""
    if accelerator is None or not _plain_utf8(body, headers):
        return None
    try:
        result = _accelerated(body, accelerator)
        if result is None:
            return None
        is_atom = result.version == "atom10"
        entries = []
        for e in result.entries:
            entry = _entry(e, is_atom)
            if entry is None:
                return None
            entries.append(entry)
        feed = _feed(result.feed, is_atom)
    except Exception:  # noqa: BLE001 - any trouble in the fast path: the reference decides
        return None
    return {"entries": entries, "feed": feed, "version": result.version, "bozo": False}
