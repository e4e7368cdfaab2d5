"""Differential test of the parse fast path (feedparser-rs) against the reference (feedparser).

For every body, parse_feed with the fast path on must return exactly what it
returns with the fast path off (the same ParsedFeed: every Article field, the
feed title, TTL and ill-formed flag), or the same ParseError. The corpus: every
fixture in tests/data/feeds/, generated RSS and Atom feeds, and hand-written
real-world quirks and breakages below. Where the fast path is expected to be
taken (plain UTF-8 RSS 2.0 / Atom 1.0), the test also checks that it was, so the
comparison is never vacuous.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from pipeline import parse
from pipeline.errors import ParseError
from tests.feedgen import make_atom, make_rss

pytestmark = pytest.mark.skipif(parse._feedparser_rs is None, reason="feedparser-rs not installed")

FEEDS = Path(__file__).parent.parent / "data" / "feeds"
NOW = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)


def _parse(body: bytes, fast: bool, headers=None, feed_url="https://feeds.example/f.xml"):
    old = parse.FAST_PARSE
    parse.FAST_PARSE = fast
    try:
        return parse.parse_feed(body, feed_url=feed_url, now=NOW, headers=headers, language="en")
    except ParseError as e:
        return ("ParseError", e.reason)
    finally:
        parse.FAST_PARSE = old


def assert_same(body: bytes, headers=None) -> bool:
    """Both paths agree; returns whether the fast path accepted the body."""
    reference = _parse(body, False, headers)
    fast = _parse(body, True, headers)
    if isinstance(reference, tuple) or isinstance(fast, tuple):
        assert fast == reference
    else:
        assert fast.title == reference.title
        assert fast.ttl_s == reference.ttl_s
        assert fast.ill_formed == reference.ill_formed
        assert len(fast.articles) == len(reference.articles)
        for a, b in zip(fast.articles, reference.articles):
            assert a == b
        assert fast == reference
    return parse._fast_parse(parse._DOCTYPE_SUBSET.sub(rb"\1", body, count=1), headers or {}) is not None


@pytest.mark.parametrize("name", sorted(p.name for p in FEEDS.glob("*.xml")))
def test_fixture_feeds(name):
    assert_same((FEEDS / name).read_bytes())


@pytest.mark.parametrize("seed", range(6))
def test_generated_feeds_take_the_fast_path(seed):
    for make in (make_rss, make_atom):
        body = make(f"gen{seed}", 20, item_bytes=300 + 400 * seed, seed=seed)
        assert assert_same(body), make.__name__
        assert assert_same(body, {"Content-Type": "application/rss+xml; charset=utf-8"})


def rss(items: str, channel: str = "", decl: str = '<?xml version="1.0" encoding="utf-8"?>', ns: str = "") -> bytes:
    return (
        f'{decl}<rss version="2.0" {ns}><channel><title>T &amp; co</title><link>https://x.example/</link>'
        f"{channel}{items}</channel></rss>"
    ).encode("utf-8")


def atom(entries: str, attrs: str = "") -> bytes:
    return (
        f'<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom" {attrs}>'
        f"<title>A</title><id>urn:a</id><updated>2024-05-01T00:00:00Z</updated>{entries}</feed>"
    ).encode("utf-8")


QUIRKS = {
    "cdata": rss("<item><title><![CDATA[Troops <b>mass</b> & wait]]></title>"
                 "<description><![CDATA[<p>Hello &amp; <i>world</i></p>]]></description><guid>c1</guid></item>"),
    "entities_in_title": rss("<item><title>Kyiv &amp;amp; Moscow &#8211; talks &#x201C;stall&#x201D;</title>"
                             "<guid>e1</guid></item>"),
    "no_guid_relative_link": rss("<item><title>Rel</title><link>/news/1?utm_source=x&amp;id=3</link></item>"),
    "no_guid_no_link": rss("<item><title>Only a title</title><description>text</description></item>"),
    "guid_permalink": rss('<item><title>P</title><guid isPermaLink="true">https://x.example/p?fbclid=1</guid></item>'),
    "content_encoded": rss(
        "<item><title>C</title><guid>ce</guid><description></description>"
        "<content:encoded><![CDATA[<p>Full <script>x()</script>text</p>]]></content:encoded></item>",
        ns='xmlns:content="http://purl.org/rss/1.0/modules/content/"'),
    "dates": rss("<item><title>d1</title><guid>d1</guid><pubDate>Tue, 10 Jun 2003 04:00:00 GMT</pubDate></item>"
                 "<item><title>d2</title><guid>d2</guid><pubDate>Tue, 10 Jun 2003 04:00:00 +0200</pubDate></item>"
                 "<item><title>d3</title><guid>d3</guid><pubDate>2003-06-10T04:00:00Z</pubDate></item>"
                 "<item><title>d4</title><guid>d4</guid><pubDate>not a date</pubDate></item>"
                 "<item><title>d5</title><guid>d5</guid><pubDate>Wed, 01 Jan 2031 00:00:00 GMT</pubDate></item>"
                 "<item><title>d6</title><guid>d6</guid><dc:date>2024-05-30T08:00:00+01:00</dc:date></item>",
                 ns='xmlns:dc="http://purl.org/dc/elements/1.1/"'),
    "ttl_and_language": rss("<item><title>t</title><guid>t</guid></item>",
                            channel="<ttl>30</ttl><language>de-DE</language>"),
    "sy_update": rss("<item><title>s</title><guid>s</guid></item>",
                     channel="<sy:updatePeriod>hourly</sy:updatePeriod><sy:updateFrequency>4</sy:updateFrequency>",
                     ns='xmlns:sy="http://purl.org/rss/1.0/modules/syndication/"'),
    "author_forms": rss("<item><title>a1</title><guid>a1</guid><author>jo@x.example (Jo Bloggs)</author></item>"
                        "<item><title>a2</title><guid>a2</guid><dc:creator>Ana &lt;b&gt;</dc:creator></item>",
                        ns='xmlns:dc="http://purl.org/dc/elements/1.1/"'),
    "duplicate_guids": rss("<item><title>one</title><guid>dup</guid></item><item><title>two</title><guid>dup</guid></item>"),
    "whitespace_and_controls": rss("<item><title>\n  Spaced\t\tout  \n</title><guid> g  </guid>"
                                   "<description>a&#x7;b</description></item>"),
    "empty_items": rss("<item></item><item><title></title></item>"),
    "no_decl": rss("<item><title>x</title><guid>x</guid></item>", decl=""),
    "latin1": rss("<item><title>Caf\u00e9</title><guid>l</guid></item>",
                  decl='<?xml version="1.0" encoding="iso-8859-1"?>').decode("utf-8").encode("latin-1"),
    "undefined_entity": rss("<item><title>A&nbsp;B</title><guid>u</guid></item>"),
    "unclosed": rss("<item><title>Open</title><guid>o</guid>")[:-20],
    "rss091": b'<?xml version="1.0"?><rss version="0.91"><channel><title>o</title>'
              b"<item><title>old</title><link>https://x.example/o</link></item></channel></rss>",
    "item_in_description_text": rss("<item><title>t</title><guid>i</guid><description>&lt;item&gt; is a tag"
                                    "</description></item>"),
    "atom_content_types": atom(
        '<entry><title type="html">&lt;b&gt;Bold&lt;/b&gt; move</title><id>x1</id><updated>2024-05-01T00:00:00Z</updated>'
        '<content type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml"><p>X<b>H</b>TML</p></div></content></entry>'
        '<entry><title>t2</title><id>x2</id><published>2024-05-02T10:00:00+02:00</published>'
        '<summary>S</summary><content type="html">&lt;p&gt;C&lt;/p&gt;</content>'
        '<link rel="enclosure" href="https://x.example/a.mp3"/><link rel="alternate" href="https://x.example/2"/></entry>'
    ),
    "atom_entry_lang": atom('<entry xml:lang="fr"><title>Bonjour</title><id>l1</id></entry>', 'xml:lang="en"'),
    "atom_base": atom('<entry><title>b</title><id>b1</id><link href="rel/1"/></entry>',
                      'xml:base="https://base.example/dir/"'),
    "atom_relative_link": atom('<entry><title>r</title><id>r1</id><link href="/a/b?utm_medium=x"/></entry>'),
    "atom_no_id": atom('<entry><title>n</title><link href="https://x.example/n"/></entry>'),
    "atom_author": atom("<entry><title>au</title><id>au</id><author><name>Name</name><email>e@x</email></author></entry>"),
    "doctype": b'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY e "expanded">]><rss version="2.0"><channel>'
               b"<title>d</title><item><title>&e;</title><guid>d</guid></item></channel></rss>",
    "prefixed_atom": b'<?xml version="1.0" encoding="utf-8"?><a:feed xmlns:a="http://www.w3.org/2005/Atom">'
                     b"<a:title>P</a:title><a:entry><a:title>pe</a:title><a:id>pe</a:id></a:entry></a:feed>",
    "bom": b"\xef\xbb\xbf" + rss("<item><title>bom</title><guid>b</guid></item>"),
    "long_title": rss("<item><title>" + "war " * 600 + "</title><guid>long</guid></item>"),
    "unicode": rss("<item><title>\u0412\u0456\u0439\u0441\u044c\u043a\u0430 \U0001F1FA\U0001F1E6 "
                   "\u05e9\u05dc\u05d5\u05dd \u200f</title><guid>\u00fc</guid></item>"),
}  # fmt: skip


# the same quirks with a date on every entry: dateless entries always go to feedparser,
# so these are the ones that exercise the fast path
QUIRKS.update({
    f"{name}+date": re.sub(rb"<(item|(?:a:)?entry)( [^>]*)?>", rb"\g<0><pubDate>Fri, 31 May 2024 10:00:00 GMT</pubDate>"
                           if body.lstrip(b"\xef\xbb\xbf").startswith(b"<?xml") and b"<rss" in body else
                           rb"\g<0><updated>2024-05-31T10:00:00Z</updated>", body)
    for name, body in list(QUIRKS.items())
})  # fmt: skip


@pytest.mark.parametrize("name", sorted(QUIRKS))
def test_real_world_quirks_and_breakage(name):
    assert_same(QUIRKS[name])


@pytest.mark.parametrize("ctype", ["text/xml", "text/xml; charset=iso-8859-1", "application/xml; charset=UTF-8"])
def test_content_type_charsets(ctype):
    assert_same(make_rss("ct", 5), {"Content-Type": ctype})


def test_the_fast_path_is_taken_for_plain_feeds():
    # without this the differential tests above could pass by always falling back
    fast = [name for name, body in QUIRKS.items() if parse._fast_parse(body, {}) is not None]
    assert len(fast) >= 15, fast
    for name in ("cdata+date", "dates", "content_encoded+date", "no_guid_relative_link+date", "unicode+date"):
        assert parse._fast_parse(QUIRKS[name], {}) is not None, name


def test_the_reference_decides_unusual_documents():
    for name in ("latin1", "doctype", "unclosed", "rss091", "atom_base", "atom_entry_lang"):
        assert parse._fast_parse(QUIRKS[name], {}) is None, name


def test_a_fast_path_error_falls_back(monkeypatch):
    class Broken:
        @staticmethod
        def parse(body):
            raise RuntimeError("boom")

    monkeypatch.setattr(parse, "_feedparser_rs", Broken)
    assert parse._fast_parse(make_rss("b", 2), {}) is None
    assert len(parse.parse_feed(make_rss("b", 2), feed_url="u", now=NOW).articles) == 2


def _mutations(body: bytes, n: int, seed: int) -> list[bytes]:
    """Broken variants: truncated, a byte replaced, a tag dropped, an entity or control character injected."""
    import random

    rng = random.Random(seed)
    inserts = [b"&nbsp;", b"&amp;", b"\x01", b"<", b"&#x92;", b"</item>", b"<![CDATA[x]]>", b"\xff", b"\xe2\x80\x8b"]
    out = []
    for _ in range(n):
        i = rng.randrange(len(body))
        kind = rng.randrange(4)
        if kind == 0:
            out.append(body[:i])
        elif kind == 1:
            out.append(body[:i] + bytes([rng.randrange(32, 127)]) + body[i + 1 :])
        elif kind == 2:
            j = body.find(b">", i)
            out.append(body[: body.rfind(b"<", 0, i)] + body[j + 1 :] if j > 0 else body)
        else:
            out.append(body[:i] + rng.choice(inserts) + body[i:])
    return out


@pytest.mark.parametrize("make", [make_rss, make_atom])
def test_mutated_feeds(make):
    for body in _mutations(make("mut", 4, item_bytes=500), 60, seed=3):
        assert_same(body)


def test_mutated_quirks():
    for i, name in enumerate(sorted(QUIRKS)):
        for body in _mutations(QUIRKS[name], 4, seed=i):
            assert_same(body)
