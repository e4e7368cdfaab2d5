"""OPML in and out: the feed list other readers export and import.

Owns ``to_opml`` (a FeedsConfig as OPML 2.0, tags in ``category``) and
``from_opml`` (an OPML file as spec dicts for ``add_feeds``: nested folders
flattened into tags, duplicate URLs dropped). The XML is parsed with expat with
every DOCTYPE and entity declaration refused, so entity bombs and external
entities never expand. It must not write feeds.yaml (the caller passes the
specs to editor.py) nor validate feeds beyond what OPML itself says.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit
from xml.parsers import expat
from xml.sax.saxutils import escape, quoteattr

from ..errors import ConfigError, ConfigProblem
from ..types import FeedsConfig
from .validator import LANGUAGE_TAG_RE, normalize_url

_OPML_MAX_BYTES = 20 * 1024 * 1024


def to_opml(config: FeedsConfig, title: str = "Escalation Watch feeds") -> str:
    """OPML 2.0 with one outline per feed; tags go into ``category`` (no slashes = tags)."""
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<opml version="2.0">',
        "  <head>",
        f"    <title>{escape(title)}</title>",
        "  </head>",
        "  <body>",
    ]
    for feed in config.feeds:
        attrs = [("type", "rss"), ("text", feed.name), ("title", feed.name), ("xmlUrl", feed.url)]
        if feed.tags:
            attrs.append(("category", ",".join(feed.tags)))
        if feed.language:
            attrs.append(("language", feed.language))
        body = " ".join(f"{k}={quoteattr(v)}" for k, v in attrs)
        lines.append(f"    <outline {body}/>")
    lines += ["  </body>", "</opml>", ""]
    return "\n".join(lines)


class _HostileXML(Exception):
    pass


def from_opml(text: str | bytes, path: str = "feeds.opml") -> list[dict[str, Any]]:
    """Feeds of an OPML file as spec dicts for ``add_feeds`` (name, url, tags, language).

    Nested outlines are flattened; the titles of enclosing folders and the
    outline's ``category`` entries become tags. Duplicate URLs are dropped.
    DOCTYPEs and entities are refused (no entity expansion, no external fetch).
    """
    data = text.encode("utf-8") if isinstance(text, str) else text
    if len(data) > _OPML_MAX_BYTES:
        raise ConfigError(f"OPML larger than {_OPML_MAX_BYTES // 2**20} MiB", path=path)
    parser = expat.ParserCreate()

    def refuse(*_args: Any) -> Any:
        raise _HostileXML("DOCTYPE and entity declarations are not allowed in OPML")

    parser.StartDoctypeDeclHandler = refuse
    parser.EntityDeclHandler = refuse
    parser.UnparsedEntityDeclHandler = refuse
    parser.ExternalEntityRefHandler = refuse
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)

    outlines = _OutlineReader()
    parser.StartElementHandler = outlines.start
    parser.EndElementHandler = outlines.end
    try:
        parser.Parse(data, True)
    except _HostileXML as e:
        problem = ConfigProblem(path, parser.CurrentLineNumber, parser.CurrentColumnNumber + 1, "", str(e))
        raise ConfigError([problem], path) from None
    except expat.ExpatError as e:
        problem = ConfigProblem(path, e.lineno, e.offset + 1, "", f"not well-formed XML: {expat.errors.messages[e.code]}")
        raise ConfigError([problem], path) from None
    root = outlines.root
    if root != "opml":
        raise ConfigError(f"not an OPML document (root element is {root or 'missing'!r})", path=path)
    return outlines.specs


class _OutlineReader:
    """expat's element handlers: collects a spec per feed outline, folders as tags."""

    def __init__(self) -> None:
        self.specs: list[dict[str, Any]] = []
        self.root: str | None = None
        self._seen_urls: set[str] = set()
        #: one entry per open <outline>: a folder's title (tag), or None for a feed / no title
        self._folders: list[str | None] = []

    def start(self, name: str, attrs: dict[str, str]) -> None:
        if self.root is None:
            self.root = name
        if name != "outline":
            return
        lower = {k.lower(): v for k, v in attrs.items()}
        url = (lower.get("xmlurl") or "").strip()
        label = (lower.get("title") or lower.get("text") or "").strip()
        if not url:
            self._folders.append(label.replace(",", " ").strip() or None)
            return
        self._folders.append(None)
        norm = normalize_url(url)
        if norm in self._seen_urls:
            return
        self._seen_urls.add(norm)
        tags: list[str] = []
        for folder in self._folders[:-1]:
            if folder and folder not in tags:
                tags.append(folder)
        for category in (lower.get("category") or "").split(","):
            leaf = [part.strip() for part in category.split("/") if part.strip()]
            if leaf and leaf[-1] not in tags:
                tags.append(leaf[-1])
        spec: dict[str, Any] = {"name": label or urlsplit(url).hostname or url, "url": url}
        if tags:
            spec["tags"] = tags
        language = (lower.get("language") or "").strip()
        if language and LANGUAGE_TAG_RE.fullmatch(language):
            spec["language"] = language
        self.specs.append(spec)

    def end(self, name: str) -> None:
        if name == "outline" and self._folders:
            self._folders.pop()
