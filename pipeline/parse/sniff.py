"""Bytes before the parser: what is plainly not a feed, wide encodings, entity bombs.

Owns: refusing bodies that are empty, compressed, binary, JSON, HTML or not XML
(``_sniff``, with a :class:`ParseError` that says which), transcoding UTF-16/32
to UTF-8 (``_utf8_body``), the DOCTYPE internal subset that is dropped before
parsing (``_DOCTYPE_SUBSET``: see the safety notes in :mod:`pipeline.parse`) and
the root element's name. Must not touch: the entries. Pure.
"""

from __future__ import annotations

import re

from ..errors import ParseError

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


def _root_name(body: bytes) -> str | None:
    head = _head_text(body)
    match = _ROOT_TAG.match(head, _PROLOG.match(head).end())
    return match.group(1) if match else None
