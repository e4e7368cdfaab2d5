"""parse_feed over real saved news feeds (issue 12): ../shared/data/realfeeds, read in place.

52 RSS/Atom/RDF files from outlets' feeds and from scrapers of outlets' websites, in
English, Russian, Ukrainian, German and Chinese (see that directory's README and
index.tsv). The files stay out of the repository; every test here is skipped when
../shared is absent.

- accounting: every entry feedparser returns is an article, a duplicate or a refusal,
  and no two articles of a feed share an identity (or a canonical URL, which the store
  keeps once);
- text: each article's title and summary are feedparser's after normalisation (NFC,
  markup and whitespace removed), entry by entry; the feed's declared language is kept;
- encodings: the Cyrillic and Chinese feeds re-encoded in memory as windows-1251,
  KOI8-R, GB18030 or UTF-16 parse to the same articles as the UTF-8 originals.

Run with ``-s -p no:xdist`` to see the corpus totals.
"""

from __future__ import annotations

import csv
import html
import io
import re
import unicodedata
from datetime import UTC, datetime
from pathlib import Path

import feedparser
import pytest

from pipeline import parse
from pipeline.parse import MAX_SUMMARY_CHARS, parse_feed

pytestmark = [pytest.mark.shared, pytest.mark.timeout(120)]

#: after the newest file of the corpus (2026-08-22), so no real date is clamped as future
NOW = datetime(2026, 12, 1, tzinfo=UTC)
_TAG = re.compile(r"<[^>]*>")
_SPACE = re.compile(r"\s+")


def _files(realfeeds: Path) -> list[Path]:
    return sorted(realfeeds.glob("*.xml"))


def _reference(body: bytes):
    # feedparser as a user would call it (defaults: sanitising on), given a stream
    return feedparser.parse(io.BytesIO(body))


def _parse(path: Path, body: bytes | None = None, **kwargs):
    return parse_feed(path.read_bytes() if body is None else body, feed_url=f"https://feeds.example/{path.name}",
                      now=NOW, **kwargs)  # fmt: skip


def _norm(text: str | None) -> str:
    """Text as a reader sees it, spacing aside: tags out, entities decoded, NFC, no whitespace
    (the two put spaces at inline tags differently: "<b>a</b>b")."""
    text = html.unescape(_TAG.sub(" ", text or ""))
    return _SPACE.sub("", unicodedata.normalize("NFC", text))


def _entry_summary(entry) -> str:
    summary = entry.get("summary") or ""
    if not summary.strip():
        for content in entry.get("content") or ():
            if content.get("value"):
                return content["value"]
    return summary


def test_corpus_is_there(realfeeds):
    index = list(csv.DictReader((realfeeds / "index.tsv").open(encoding="utf-8"), delimiter="\t"))
    assert {row["file"] for row in index} == {p.name for p in _files(realfeeds)}


def test_every_entry_is_an_article_a_duplicate_or_a_refusal(realfeeds):
    totals = dict(files=0, entries=0, stored=0, duplicates=0, refused=0)
    for path in _files(realfeeds):
        parsed = _parse(path)
        entries = len(_reference(path.read_bytes()).entries)
        where = f"{path.name}: {len(parsed.articles)} stored, {parsed.duplicates} duplicates, {parsed.refused}"
        assert len(parsed.articles) + parsed.duplicates + len(parsed.refused) == entries == parsed.entries, where
        guids = [a.guid for a in parsed.articles]
        assert len(set(guids)) == len(guids), path.name
        links = [a.canonical_url for a in parsed.articles if a.canonical_url is not None]
        assert len(set(links)) == len(links), path.name  # the store keeps one article per canonical URL
        assert all(a.title for a in parsed.articles), path.name  # never a blank headline
        totals["files"] += 1
        totals["entries"] += entries
        totals["stored"] += len(parsed.articles)
        totals["duplicates"] += parsed.duplicates
        totals["refused"] += len(parsed.refused)
    print("\nrealfeeds corpus: " + ", ".join(f"{k} {v:,}" for k, v in totals.items()))
    assert totals["files"] >= 50


def test_the_scraped_feed_whose_items_share_the_home_page_keeps_every_story(realfeeds):
    parsed = _parse(realfeeds / "meduza_2.xml")
    assert parsed.entries == 24 and len(parsed.articles) == 24
    assert parsed.warnings == (parse.SHARED_LINK_WARNING,)
    # the same file parsed later (its epoch dates become the first-seen time): the same identities
    later = parse_feed((realfeeds / "meduza_2.xml").read_bytes(), feed_url="https://feeds.example/meduza_2.xml",
                       now=datetime(2027, 1, 1, tzinfo=UTC))  # fmt: skip
    assert [a.guid for a in later.articles] == [a.guid for a in parsed.articles]


def test_repeats_are_duplicates_and_edits_under_one_id_are_refused_with_a_reason(realfeeds):
    # holod_1.xml lists 9 of its items twice, word for word (no guid, same link)
    holod = _parse(realfeeds / "holod_1.xml")
    assert (holod.entries, len(holod.articles), holod.duplicates, holod.refused) == (44, 35, 9, ())
    # cnn_top_stories_1.xml repeats 6 links (its guids) with edited headlines: the first is kept
    cnn = _parse(realfeeds / "cnn_top_stories_1.xml")
    assert (cnn.entries, len(cnn.articles), cnn.duplicates) == (84, 78, 0)
    assert {reason for _, reason in cnn.refused} == {parse.REFUSED_SAME_ID} and len(cnn.refused) == 6
    # dw_ukrainian_1.xml was saved from a browser's XML view: two items collapsed to "..."
    dw = _parse(realfeeds / "dw_ukrainian_1.xml")
    assert dw.refused == ((1, parse.REFUSED_EMPTY), (2, parse.REFUSED_EMPTY))


def test_text_is_feedparsers_entry_by_entry(realfeeds):
    """Differential: walk feedparser's entries beside our articles. Each entry is the next
    article (same title and summary after normalisation), a refusal at its position, or a
    repeat of an article already seen; nothing else."""
    checked = 0
    for path in _files(realfeeds):
        body = path.read_bytes()
        parsed = _parse(path)
        reference = _reference(body)
        refused = {position for position, _ in parsed.refused}
        articles = list(parsed.articles)
        seen: set[tuple[str, str]] = set()
        repeats = 0
        for position, entry in enumerate(reference.entries, 1):
            if position in refused:
                continue
            title, summary = _norm(entry.get("title")), _norm(_entry_summary(entry))
            if articles:
                a = articles[0]
                ours_title = "" if a.title_derived else _norm(a.title)
                ours_summary = _norm(a.summary)
                if len(a.summary) >= MAX_SUMMARY_CHARS - 1:  # capped: a prefix of the whole
                    summary = summary[: len(ours_summary)]
                if (ours_title, ours_summary) == (title, summary):
                    seen.add((title, summary))
                    articles.pop(0)
                    checked += 1
                    continue
            assert (title, summary) in seen, f"{path.name} item {position}: {entry.get('title')!r} differs"
            repeats += 1
        assert articles == [], f"{path.name}: {len(articles)} articles match no entry"
        assert repeats == parsed.duplicates, path.name
    assert checked > 3000


def test_the_declared_language_is_kept_per_article(realfeeds):
    """The language the feed declares (<language>, or xml:lang as on bbc_chinese_1.xml), as
    feedparser reads it, is every article's; the configured fallback fills the rest only."""
    declared = 0
    for path in _files(realfeeds):
        reference = _reference(path.read_bytes())
        parsed = _parse(path, language="xx-fallback")
        refused = {position for position, _ in parsed.refused}
        feed_language = reference.feed.get("language")
        want = {
            ((entry.get("title_detail") or {}).get("language") or feed_language or "xx-fallback").strip().lower()
            for position, entry in enumerate(reference.entries, 1)
            if position not in refused
        }
        assert {a.language for a in parsed.articles} == want, path.name
        declared += want != {"xx-fallback"}
    assert declared >= 35


def _encodable(text: str, codec: str) -> bool:
    try:
        text.encode(codec)
    except UnicodeEncodeError:
        return False
    return True


def _recoded(body: bytes, codec: str) -> bytes:
    """The document in another encoding, its XML declaration saying so; characters the
    codec lacks (emoji, some dashes) become character references outside CDATA."""
    text = body.decode("utf-8")
    decl = re.match(r"<\?xml[^>]*\?>", text)
    rest = text[decl.end() :] if decl else text
    # Python's utf-16 codec writes a BOM, as UTF-16 feeds do
    return f'<?xml version="1.0" encoding="{codec}"?>{rest}'.encode(codec, "xmlcharrefreplace")


@pytest.mark.parametrize(
    "codec, languages",
    [("windows-1251", ("ru", "uk")), ("koi8-r", ("ru",)), ("gb18030", ("zh",)), ("utf-16", ("ru", "uk", "zh"))],
)
def test_other_encodings_of_the_same_text_parse_the_same(realfeeds, codec, languages):
    index = csv.DictReader((realfeeds / "index.tsv").open(encoding="utf-8"), delimiter="\t")
    names = [row["file"] for row in index if row["language"].split("-")[0] in languages]
    compared = 0
    for name in names:
        path = realfeeds / name
        body = path.read_bytes()
        text = body.decode("utf-8")
        if "<![CDATA[" in text and not _encodable(text, codec):
            continue  # a character reference inside CDATA stays literal text: not the same document
        original = _parse(path)
        recoded = _parse(path, _recoded(body, codec))
        assert recoded.articles == original.articles, f"{name} as {codec}"
        assert (recoded.title, recoded.entries, recoded.duplicates, recoded.refused) == (
            original.title, original.entries, original.duplicates, original.refused,
        )  # fmt: skip
        compared += 1
    assert compared >= 3
