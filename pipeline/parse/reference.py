"""The reference path: feedparser, the most forgiving parser of broken feeds.

Owns: the call to ``feedparser.parse`` and the response headers it is given.
Must not touch: what becomes of the entries (pipeline.parse.entries). Every body
the fast path (pipeline.parse.fast) declines comes here.
"""

from __future__ import annotations

import io

import feedparser

from ..errors import ParseError


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


def _reference_parse(body: bytes, headers: dict[str, str], feed_url: str):
    try:
        # BytesIO, not bytes: see the safety notes in pipeline.parse
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
