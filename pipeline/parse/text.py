"""Plain text out of feed markup: tags, entities and control characters gone, bounded.

Owns: :func:`plain_text`, the caps on titles and summaries, the content hash
that tells an edited entry from a repeated one, and the headline derived from a
summary's first sentence. Must not touch: the feed document, identities, URLs.
Pure.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from html.parser import HTMLParser

#: Headlines run to ~100-300 chars; 1,000 keeps every real one and stops a
#: feed from filling the store and the scorer with megabytes per "title".
MAX_TITLE_CHARS = 1_000
#: Summaries are teasers or at most a full article (~5-15 k chars); the
#: scorer reads this text, so it is bounded to keep scoring time per article flat.
MAX_SUMMARY_CHARS = 20_000
#: HTML looked at before the cap: tag-stripping is linear, but a 10 MB summary
#: need not be walked to keep its first 20,000 characters of text.
_MAX_MARKUP_CHARS = 10 * MAX_SUMMARY_CHARS
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
