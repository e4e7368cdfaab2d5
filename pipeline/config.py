"""feeds.yaml: load and validate it, edit it safely, move it to and from OPML.

Loading
    ``load(path)`` / ``loads(text)`` return a frozen :class:`FeedsConfig` or raise
    one :class:`ConfigError` listing every problem, sorted by line::

        feeds.yaml:14:5: feeds[3].interval: must be at least 60 seconds (got 5)

    Field paths index feeds from 0 (``feeds[0]`` is the first entry); lines and
    columns count from 1, like editors do. YAML is read with ruamel.yaml's
    round-trip loader, which keeps each key's and value's position (``.lc``).

    ruamel.yaml is pure Python and slow (about 1 s per 1,000 feeds). A file
    written in the plain layout feeds.yaml uses (block list of block mappings,
    plain or simply quoted scalars, flow lists of tags) is therefore read first by
    a small line parser, ``_fast_parse``; anything it is not sure about makes it
    give up, and the file is read by ruamel.yaml. When the fast tree has any
    problem, the file is read again by ruamel.yaml, so every error message comes
    from the one authoritative parser.

Decisions
    * Unknown keys are errors, with "did you mean" from difflib or a table of
      common synonyms (``title`` -> ``name``).
    * Duplicate URLs are errors; URLs are compared after lower-casing scheme and
      host, dropping a default port, the fragment and a trailing slash.
    * Duplicate names are errors too (compared case-insensitively): the
      dashboard lists feeds by name, and two "BBC" rows cannot be told apart.
    * ``interval`` is whole seconds (``900``) or a duration (``"15m"``,
      ``"1h30m"``, ``"90s"``, ``"2d"``).
    * An explicit null is an error for ``name``, ``url``, ``interval`` and
      ``enabled``; for ``tags`` and ``language`` it means "none".

Editing (the dashboard's feed editor)
    ``add_feed``, ``add_feeds``, ``update_feed``, ``remove_feed``,
    ``set_enabled``: each takes ``path + ".lock"`` (fcntl.flock), reads the file,
    refuses to touch it if it is already invalid, applies the change on the
    round-trip tree (comments and order kept), validates the result with the
    same validator, checks that nobody saved the file meanwhile (retrying once),
    then writes a temporary file in the same directory, fsyncs it, keeps the
    file mode and ``os.replace``\\ s it over the original. A text editor does not
    take the lock; the content check is what catches it. Comments directly above
    a removed feed go with it; other comments stay.

OPML
    ``to_opml(config)`` writes OPML 2.0 (tags become a ``category`` list);
    ``from_opml(text)`` returns spec dicts for ``add_feeds``. The XML is parsed
    with expat with every DOCTYPE and entity declaration refused, so entity
    bombs and external entities never expand.
"""

from __future__ import annotations

import contextlib
import copy
import difflib
import fcntl
import functools
import io
import os
import re
import stat
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import fields
from typing import Any
from urllib.parse import urlsplit, urlunsplit
from xml.parsers import expat
from xml.sax.saxutils import escape, quoteattr

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from .errors import ConfigError, ConfigProblem
from .types import (
    DEFAULT_INTERVAL_S,
    MAX_INTERVAL_S,
    MIN_INTERVAL_S,
    FeedsConfig,
    FeedSpec,
    Settings,
)

__all__ = [
    "FEED_KEYS",
    "add_feed",
    "add_feeds",
    "from_opml",
    "load",
    "loads",
    "normalize_url",
    "parse_interval",
    "remove_feed",
    "set_enabled",
    "to_opml",
    "update_feed",
    "validate_url",
]

#: keys of one feed entry, in the order the editor writes them
FEED_KEYS = ("name", "url", "interval", "enabled", "tags", "language", "user_agent")
_TOP_KEYS = ("feeds", "settings")

#: key people write -> the key they meant (checked before difflib)
_SYNONYMS = {
    "title": "name",
    "label": "name",
    "link": "url",
    "href": "url",
    "xmlurl": "url",
    "feed": "url",
    "interval_s": "interval",
    "every": "interval",
    "period": "interval",
    "refresh": "interval",
    "poll": "interval",
    "active": "enabled",
    "enable": "enabled",
    "disabled": "enabled",
    "tag": "tags",
    "category": "tags",
    "categories": "tags",
    "lang": "language",
    "locale": "language",
    "useragent": "user_agent",
    "user-agent": "user_agent",
    "ua": "user_agent",
    "agent": "user_agent",
}

#: settings key -> (kind, low, high). Ranges are sanity bounds, not tuning advice:
#: below them the poller cannot work (0 s timeouts, 0 workers), above them a
#: typo is far likelier than intent (a 1 GiB feed, 1000 redirects).
_SETTINGS_RULES: dict[str, tuple[str, float | None, float | None]] = {
    "deny_private_networks": ("bool", None, None),
    "timeout_s": ("number", 1, 600),
    "connect_timeout_s": ("number", 0.5, 120),
    "max_bytes": ("int", 64 * 1024, 1024**3),
    "max_redirects": ("int", 0, 20),
    "concurrency": ("int", 1, 256),
    "max_backoff_s": ("duration", MIN_INTERVAL_S, 30 * 24 * 3600),
}

_TAG_MAX_CHARS = 64
_OPML_MAX_BYTES = 20 * 1024 * 1024
#: how long an edit waits for another editor's lock before giving up
_LOCK_TIMEOUT_S = 10.0

_UNITS_S = {
    "s": 1, "sec": 1, "secs": 1, "second": 1, "seconds": 1,
    "m": 60, "min": 60, "mins": 60, "minute": 60, "minutes": 60,
    "h": 3600, "hr": 3600, "hrs": 3600, "hour": 3600, "hours": 3600,
    "d": 86400, "day": 86400, "days": 86400,
    "w": 604800, "week": 604800, "weeks": 604800,
}  # fmt: skip
_DURATION_PART = re.compile(r"\s*(\d+)\s*([a-z]+)\s*")
_LANGUAGE_RE = re.compile(r"[A-Za-z]{2,3}(?:-[A-Za-z0-9]{2,8})*")
_INTERVAL_HINT = "write whole seconds (900) or a duration like '90s', '15m', '1h', '1h30m'"


# --------------------------------------------------------------------------- values


def parse_interval(value: Any) -> int:
    """Seconds from an int or a duration string ("15m", "1h30m"); ValueError if neither.

    The range is not checked here; the validator does that.
    """
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValueError(_INTERVAL_HINT)
    if isinstance(value, int):
        return int(value)
    text = value.strip().lower()
    if text.isdigit():
        return int(text)
    total, pos = 0, 0
    while pos < len(text):
        m = _DURATION_PART.match(text, pos)
        if not m or m.group(2) not in _UNITS_S:
            raise ValueError(_INTERVAL_HINT)
        total += int(m.group(1)) * _UNITS_S[m.group(2)]
        pos = m.end()
    if not text:
        raise ValueError(_INTERVAL_HINT)
    return total


def validate_url(url: Any) -> str | None:
    """Why ``url`` cannot be a feed URL, or None if it can (http/https with a host)."""
    if not isinstance(url, str):
        return f"must be a string ({_got(url)})"
    if not url.strip():
        return "must not be empty"
    if any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in url):
        return "must not contain spaces or control characters"
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError as e:
        return f"is not a valid URL ({e})"
    scheme = parts.scheme.lower()
    if not scheme or not url.lower().startswith(scheme + ":"):
        return "must start with http:// or https://"
    if scheme not in ("http", "https"):
        return f"scheme '{scheme}:' is not allowed; use http:// or https://"
    if not parts.hostname:
        return "has no host"
    return None


def normalize_url(url: str) -> str:
    """The form URLs are compared in: scheme and host lower-cased, default port,
    fragment and trailing slash dropped. Not a canonicaliser: query order stays."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return url.strip()
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if port is not None and (scheme, port) not in (("http", 80), ("https", 443)):
        host = f"{host}:{port}"
    if parts.username or parts.password:
        userinfo = parts.username or ""
        if parts.password is not None:
            userinfo += ":" + parts.password
        host = f"{userinfo}@{host}"
    return urlunsplit((scheme, host, parts.path.rstrip("/"), parts.query, ""))


def _got(value: Any) -> str:
    if value is None:
        return "got nothing"
    if isinstance(value, bool):
        return f"got {'true' if value else 'false'}"
    if isinstance(value, Mapping):
        return "got a mapping"
    if isinstance(value, list | tuple):
        return "got a list"
    if isinstance(value, str):
        shown = str(value)
        if len(shown) > 60:
            shown = shown[:57] + "..."
        return f"got {shown!r}"
    if isinstance(value, int | float):
        return f"got {value}"
    return f"got a {type(value).__name__}"


@functools.cache
def _language_codes() -> frozenset[str]:
    import pycountry  # imported late: its database costs ~100 ms and is rarely needed

    codes = set()
    for lang in pycountry.languages:
        for attr in ("alpha_2", "alpha_3"):
            code = getattr(lang, attr, None)
            if code:
                codes.add(code.lower())
    return frozenset(codes)


def _language_problem(value: str) -> str | None:
    if not _LANGUAGE_RE.fullmatch(value):
        return f"must be a language code like 'en', 'uk' or 'zh-Hant' (got {value!r})"
    primary = value.split("-", 1)[0].lower()
    if primary not in _language_codes():
        return f"unknown language code {primary!r} (use ISO 639, e.g. 'en', 'ru', 'ar')"
    return None


def _did_you_mean(key: str, known: Iterable[str]) -> str:
    known = list(known)
    guess = _SYNONYMS.get(key.lower()) if isinstance(key, str) else None
    if guess not in known:
        close = difflib.get_close_matches(str(key).lower(), known, n=1, cutoff=0.6)
        guess = close[0] if close else None
    allowed = ", ".join(known)
    if guess:
        return f"unknown key; did you mean {guess!r}?"
    return f"unknown key (allowed: {allowed})"


# --------------------------------------------------------------------------- positions


class _Problems:
    """Collects problems; positions are ruamel's 0-based (line, col) pairs."""

    def __init__(self, path: str):
        self.path = path
        self.items: list[ConfigProblem] = []

    def add(self, pos: tuple[int, int] | None, field: str, message: str) -> None:
        line = col = None
        if pos is not None:
            line, col = pos[0] + 1, pos[1] + 1
        self.items.append(ConfigProblem(self.path, line, col, field, message))

    def __bool__(self) -> bool:
        return bool(self.items)


def _node_pos(node: Any) -> tuple[int, int] | None:
    lc = getattr(node, "lc", None)
    if lc is None or lc.line is None:
        return None
    return (lc.line, lc.col)


def _key_pos(mapping: Any, key: Any) -> tuple[int, int] | None:
    try:
        return tuple(mapping.lc.key(key))  # type: ignore[return-value]
    except (AttributeError, KeyError, TypeError):
        return _node_pos(mapping)


def _value_pos(mapping: Any, key: Any) -> tuple[int, int] | None:
    with contextlib.suppress(Exception):
        if mapping[key] is None:  # ruamel puts an empty value where the next token starts
            return _key_pos(mapping, key)
    try:
        return tuple(mapping.lc.value(key))  # type: ignore[return-value]
    except (AttributeError, KeyError, TypeError):
        return _key_pos(mapping, key)


def _item_pos(seq: Any, index: int, fallback: tuple[int, int] | None) -> tuple[int, int] | None:
    try:
        return tuple(seq.lc.item(index))  # type: ignore[return-value]
    except (AttributeError, KeyError, TypeError, IndexError):
        return fallback


# --------------------------------------------------------------------------- validation


def _validate(doc: Any, path: str) -> FeedsConfig:
    """The tree from a YAML loader -> FeedsConfig, or ConfigError with every problem."""
    problems = _Problems(path)
    if doc is None:
        problems.add((0, 0), "", "file is empty: expected a mapping with a 'feeds:' list")
        raise ConfigError(problems.items, path)
    if not isinstance(doc, Mapping):
        problems.add(
            _node_pos(doc) or (0, 0),
            "",
            f"top level must be a mapping with a 'feeds:' list ({_got(doc)})",
        )
        raise ConfigError(problems.items, path)

    for key in doc:
        if key not in _TOP_KEYS:
            problems.add(_key_pos(doc, key), str(key), _did_you_mean(key, _TOP_KEYS))

    feeds: list[FeedSpec] = []
    if "feeds" not in doc:
        problems.add(_node_pos(doc) or (0, 0), "feeds", "missing: add a 'feeds:' list of feeds")
    elif not isinstance(doc["feeds"], list):
        hint = " (write 'feeds: []' for none)" if doc["feeds"] is None else ""
        problems.add(
            _value_pos(doc, "feeds"), "feeds", f"must be a list of feeds ({_got(doc['feeds'])}){hint}"
        )
    else:
        feeds = _validate_feeds(doc["feeds"], _value_pos(doc, "feeds"), problems)

    settings = Settings()
    if "settings" in doc and doc["settings"] is not None:
        if not isinstance(doc["settings"], Mapping):
            problems.add(
                _value_pos(doc, "settings"),
                "settings",
                f"must be a mapping ({_got(doc['settings'])})",
            )
        else:
            settings = _validate_settings(doc["settings"], problems)

    if problems:
        raise ConfigError(problems.items, path)
    return FeedsConfig(feeds=tuple(feeds), settings=settings, path=path)


def _validate_feeds(
    seq: list[Any], seq_pos: tuple[int, int] | None, problems: _Problems
) -> list[FeedSpec]:
    specs: list[FeedSpec] = []
    first_url: dict[str, tuple[int, int | None]] = {}
    first_name: dict[str, tuple[int, int | None]] = {}
    for i, item in enumerate(seq):
        where = f"feeds[{i}]"
        pos = _item_pos(seq, i, seq_pos)
        if not isinstance(item, Mapping):
            problems.add(pos, where, f"must be a mapping with 'name' and 'url' ({_got(item)})")
            continue
        before = len(problems.items)
        values: dict[str, Any] = {}
        for key in item:
            if key not in FEED_KEYS:
                problems.add(_key_pos(item, key), f"{where}.{key}", _did_you_mean(key, FEED_KEYS))

        for key in ("name", "url"):
            if key not in item:
                problems.add(_node_pos(item) or pos, f"{where}.{key}", "missing (required)")

        if "name" in item:
            name = item["name"]
            if not isinstance(name, str):
                problems.add(
                    _value_pos(item, "name"),
                    f"{where}.name",
                    f"must be a string ({_got(name)}); quote it if it looks like a number",
                )
            elif not name.strip():
                problems.add(_value_pos(item, "name"), f"{where}.name", "must not be empty")
            else:
                values["name"] = str(name).strip()

        if "url" in item:
            url = item["url"]
            why = validate_url(url)
            if why:
                problems.add(_value_pos(item, "url"), f"{where}.url", why)
            else:
                values["url"] = str(url)

        if "interval" in item:
            raw = item["interval"]
            try:
                if raw is None:
                    raise ValueError("missing value; " + _INTERVAL_HINT)
                seconds = parse_interval(raw)
            except ValueError as e:
                problems.add(_value_pos(item, "interval"), f"{where}.interval", f"{e} ({_got(raw)})")
            else:
                shown = _got(raw)[4:]
                if seconds < MIN_INTERVAL_S:
                    problems.add(
                        _value_pos(item, "interval"),
                        f"{where}.interval",
                        f"must be at least {MIN_INTERVAL_S} seconds (got {shown})",
                    )
                elif seconds > MAX_INTERVAL_S:
                    problems.add(
                        _value_pos(item, "interval"),
                        f"{where}.interval",
                        f"must be at most {MAX_INTERVAL_S} seconds (7 days) (got {shown})",
                    )
                else:
                    values["interval_s"] = seconds

        if "enabled" in item:
            enabled = item["enabled"]
            if not isinstance(enabled, bool):
                problems.add(
                    _value_pos(item, "enabled"),
                    f"{where}.enabled",
                    f"must be true or false ({_got(enabled)})",
                )
            else:
                values["enabled"] = enabled

        if "tags" in item and item["tags"] is not None:
            values["tags"] = _validate_tags(item, where, problems)

        if "language" in item and item["language"] is not None:
            lang = item["language"]
            why = (
                f"must be a language code like 'en' ({_got(lang)})"
                if not isinstance(lang, str)
                else _language_problem(lang)
            )
            if why:
                problems.add(_value_pos(item, "language"), f"{where}.language", why)
            else:
                values["language"] = str(lang)

        if "user_agent" in item and item["user_agent"] is not None:
            agent = item["user_agent"]
            why = _user_agent_problem(agent)
            if why:
                problems.add(_value_pos(item, "user_agent"), f"{where}.user_agent", why)
            else:
                values["user_agent"] = agent.strip()

        line = pos[0] + 1 if pos else None
        if "url" in values:
            norm = normalize_url(values["url"])
            if norm in first_url:
                j, j_line = first_url[norm]
                problems.add(
                    _value_pos(item, "url"),
                    f"{where}.url",
                    f"duplicate of feeds[{j}] (line {j_line}): {values['url']}",
                )
            else:
                first_url[norm] = (i, line)
        if "name" in values:
            folded = values["name"].casefold()
            if folded in first_name:
                j, j_line = first_name[folded]
                problems.add(
                    _value_pos(item, "name"),
                    f"{where}.name",
                    f"duplicate of feeds[{j}] (line {j_line}): {values['name']!r}; names must be unique",
                )
            else:
                first_name[folded] = (i, line)

        if len(problems.items) == before:
            specs.append(FeedSpec(line=line, **values))
    return specs


_USER_AGENT_MAX_CHARS = 512


def _user_agent_problem(agent: Any) -> str | None:
    """Why ``agent`` cannot be sent as a User-Agent header, or None. Printable ASCII
    only: a line break would start a header of its own."""
    if not isinstance(agent, str) or not agent.strip():
        return f"must be a non-empty string, e.g. \"Mozilla/5.0 (X11; Linux x86_64)\" ({_got(agent)})"
    if len(agent) > _USER_AGENT_MAX_CHARS:
        return f"must be at most {_USER_AGENT_MAX_CHARS} characters (got {len(agent)})"
    bad = next((ch for ch in agent if not (" " <= ch <= "~")), None)
    if bad is not None:
        return f"must be printable ASCII, no line breaks or control characters (got {bad!r})"
    return None


def _validate_tags(item: Mapping[str, Any], where: str, problems: _Problems) -> tuple[str, ...]:
    tags = item["tags"]
    if isinstance(tags, str):
        problems.add(
            _value_pos(item, "tags"),
            f"{where}.tags",
            f"must be a list of strings, e.g. [{tags}] ({_got(tags)})",
        )
        return ()
    if not isinstance(tags, list):
        problems.add(_value_pos(item, "tags"), f"{where}.tags", f"must be a list of strings ({_got(tags)})")
        return ()
    out: list[str] = []
    for k, tag in enumerate(tags):
        tag_pos = _item_pos(tags, k, _value_pos(item, "tags"))
        if not isinstance(tag, str) or not tag.strip():
            problems.add(tag_pos, f"{where}.tags[{k}]", f"must be a non-empty string ({_got(tag)})")
        elif "," in tag:
            # OPML's category attribute is comma-separated; a comma would split the tag
            problems.add(tag_pos, f"{where}.tags[{k}]", f"must not contain a comma ({_got(tag)})")
        elif len(tag) > _TAG_MAX_CHARS:
            problems.add(tag_pos, f"{where}.tags[{k}]", f"must be at most {_TAG_MAX_CHARS} characters")
        elif tag.strip() not in out:
            out.append(str(tag).strip())
    return tuple(out)


def _validate_settings(section: Mapping[str, Any], problems: _Problems) -> Settings:
    values: dict[str, Any] = {}
    for key in section:
        if key not in _SETTINGS_RULES:
            problems.add(_key_pos(section, key), f"settings.{key}", _did_you_mean(key, _SETTINGS_RULES))
            continue
        kind, low, high = _SETTINGS_RULES[key]
        raw = section[key]
        field = f"settings.{key}"
        pos = _value_pos(section, key)
        if kind == "bool":
            if isinstance(raw, bool):
                values[key] = raw
            else:
                problems.add(pos, field, f"must be true or false ({_got(raw)})")
            continue
        if kind == "duration":
            try:
                number: float = parse_interval(raw)
            except ValueError as e:
                problems.add(pos, field, f"{e} ({_got(raw)})")
                continue
        elif kind == "int":
            if isinstance(raw, bool) or not isinstance(raw, int):
                problems.add(pos, field, f"must be a whole number ({_got(raw)})")
                continue
            number = int(raw)
        else:
            if isinstance(raw, bool) or not isinstance(raw, int | float):
                problems.add(pos, field, f"must be a number of seconds ({_got(raw)})")
                continue
            number = float(raw)
        if low is not None and number < low:
            problems.add(pos, field, f"must be at least {low:g} ({_got(raw)})")
        elif high is not None and number > high:
            problems.add(pos, field, f"must be at most {high:g} ({_got(raw)})")
        else:
            values[key] = number

    timeout = values.get("timeout_s", Settings.timeout_s)
    connect = values.get("connect_timeout_s")
    if connect is not None and connect > timeout:
        problems.add(
            _value_pos(section, "connect_timeout_s"),
            "settings.connect_timeout_s",
            f"must not exceed timeout_s ({timeout:g}); the whole request has that deadline",
        )
    return Settings(**values)


# --------------------------------------------------------------------------- reading


def _read_bytes(path: str) -> bytes:
    """Read the whole file; OS errors become ConfigError naming the path."""
    try:
        with open(path, "rb") as f:
            return f.read()
    except FileNotFoundError:
        raise ConfigError("file not found", path=path) from None
    except IsADirectoryError:
        raise ConfigError("is a directory, not a file", path=path) from None
    except OSError as e:
        raise ConfigError(f"cannot read: {e.strerror or e}", path=path) from e


def _decode(raw: bytes, path: str) -> str:
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise ConfigError(
            [ConfigProblem(path, 1, 1, "", "file is UTF-16; save it as UTF-8")], path
        )
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = raw.count(b"\n", 0, e.start) + 1
        col = e.start - (raw.rfind(b"\n", 0, e.start) + 1) + 1
        byte = raw[e.start : e.start + 1].hex()
        problem = ConfigProblem(
            path, line, col, "", f"not valid UTF-8 (byte 0x{byte}); save the file as UTF-8"
        )
        raise ConfigError([problem], path) from None


def _rt_yaml() -> YAML:
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    # long URLs and tag lists must not be folded onto a second line
    yaml.width = 4096
    return yaml


def _parse_slow(text: str, path: str) -> Any:
    try:
        return _rt_yaml().load(text)
    except MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        what = e.problem or "invalid YAML"
        if e.context and e.problem:
            what = f"{e.context}: {e.problem}"
        line = mark.line + 1 if mark else None
        col = mark.column + 1 if mark else None
        raise ConfigError([ConfigProblem(path, line, col, "", f"YAML syntax error: {what}")], path) from e
    except YAMLError as e:
        raise ConfigError(f"YAML syntax error: {e}", path=path) from e


def loads(text: str, path: str = "feeds.yaml") -> FeedsConfig:
    """Validate YAML text; ``path`` is only used in messages and ``FeedsConfig.path``."""
    if text.startswith("\ufeff"):
        text = text[1:]
    fast = _fast_parse(text)
    if fast is not None:
        try:
            return _validate(fast, path)
        except ConfigError:
            pass  # re-read by ruamel.yaml so the messages come from one parser
    return _validate(_parse_slow(text, path), path)


def load(path: str | os.PathLike[str]) -> FeedsConfig:
    """Read and validate feeds.yaml; ConfigError lists every problem, sorted by line."""
    path = os.fspath(path)
    return loads(_decode(_read_bytes(path), path), path)


# --------------------------------------------------------------------------- fast path


class _LC:
    """The part of ruamel.yaml's LineCol that the validator uses."""

    __slots__ = ("line", "col", "data")

    def __init__(self, line: int, col: int):
        self.line, self.col = line, col
        self.data: dict[Any, tuple[int, ...]] = {}

    def key(self, k: Any) -> tuple[int, int]:
        return self.data[k][0], self.data[k][1]

    def value(self, k: Any) -> tuple[int, int]:
        return self.data[k][2], self.data[k][3]

    def item(self, i: int) -> tuple[int, int]:
        return self.data[i][0], self.data[i][1]


class _FastMap(dict):  # type: ignore[type-arg]
    __slots__ = ("lc",)


class _FastSeq(list):  # type: ignore[type-arg]
    __slots__ = ("lc",)


class _GiveUp(Exception):
    pass


_LINE_RE = re.compile(r"(?P<indent> *)(?P<dash>- +)?(?P<key>[A-Za-z_][A-Za-z0-9_]*):(?: +(?P<rest>.*))?")
_SKIP_RE = re.compile(r" *(?:#.*)?")
_COMMENT_TAIL = re.compile(r"(?: +#.*)?")
_INT_RE = re.compile(r"0|[1-9][0-9]*")
_FLOAT_RE = re.compile(r"(?:0|[1-9][0-9]*)\.[0-9]+")
_DURATION_RE = re.compile(r"(?:[0-9]+[a-z]+)+")
#: plain scalars whose YAML type differs between 1.1 and 1.2 or by case: leave to ruamel
_AMBIGUOUS_WORDS = frozenset("true false null yes no on off y n".split())
#: characters ruamel.yaml treats specially (other line breaks, non-printables)
_UNSAFE_CHARS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\ufeff\ufffe\uffff\ud800-\udfff]")
_FLOW_ITEM_RE = re.compile(r"[A-Za-z][A-Za-z0-9 _./-]*")


def _fast_scalar(text: str) -> Any:
    """A plain scalar whose type is beyond doubt, else _GiveUp."""
    if text in ("true", "false"):
        return text == "true"
    if text in ("null", "~"):
        return None
    if "\t" in text or ": " in text or text.endswith(":") or " #" in text:
        raise _GiveUp
    first = text[:1]
    if first.isdigit():
        if _INT_RE.fullmatch(text):
            return int(text)
        if _FLOAT_RE.fullmatch(text):
            return float(text)
        if _DURATION_RE.fullmatch(text):
            return text
        raise _GiveUp
    if first.isalpha():
        if text.lower() in _AMBIGUOUS_WORDS:
            raise _GiveUp
        return text
    raise _GiveUp


def _fast_value(rest: str, line: int, col: int) -> tuple[Any, int]:
    """Value text after 'key: ' -> (value, column); only forms known to be unambiguous."""
    if rest.startswith("#"):
        raise _GiveUp  # "key: # comment" is null: rare, leave it to ruamel
    if rest.startswith('"'):
        m = re.match(r'"([^"\\]*)"', rest)
        if not m or not _COMMENT_TAIL.fullmatch(rest[m.end() :]):
            raise _GiveUp
        return m.group(1), col
    if rest.startswith("'"):
        m = re.match(r"'((?:[^']|'')*)'", rest)
        if not m or not _COMMENT_TAIL.fullmatch(rest[m.end() :]):
            raise _GiveUp
        return m.group(1).replace("''", "'"), col
    if rest.startswith("["):
        end = rest.find("]")
        if end < 0 or not _COMMENT_TAIL.fullmatch(rest[end + 1 :]):
            raise _GiveUp
        inner = rest[1:end]
        if any(c in inner for c in "[{}\"'#&*!|>%@`"):
            raise _GiveUp
        seq = _FastSeq()
        seq.lc = _LC(line, col)
        if inner.strip():
            offset = col + 1
            for k, part in enumerate(inner.split(",")):
                item = part.strip()
                if not _FLOW_ITEM_RE.fullmatch(item) or item.lower() in _AMBIGUOUS_WORDS:
                    raise _GiveUp
                seq.lc.data[k] = (line, offset + len(part) - len(part.lstrip()))
                seq.append(item)
                offset += len(part) + 1
        return seq, col
    hash_at = rest.find(" #")
    text = (rest if hash_at < 0 else rest[:hash_at]).rstrip(" ")
    return _fast_scalar(text), col


def _fast_parse(text: str) -> _FastMap | None:
    """Parse the plain feeds.yaml layout quickly; None when unsure (ruamel.yaml decides)."""
    try:
        return _fast_parse_or_give_up(text)
    except _GiveUp:
        return None


def _fast_parse_or_give_up(text: str) -> _FastMap:
    if "\r" in text or "\t" in text or _UNSAFE_CHARS.search(text):
        raise _GiveUp
    doc = _FastMap()
    doc.lc = _LC(0, 0)
    section: str | None = None
    seq: _FastSeq | None = None
    item: _FastMap | None = None
    dash_indent = key_indent = -1
    for n, line in enumerate(text.split("\n")):
        if _SKIP_RE.fullmatch(line):
            continue
        m = _LINE_RE.fullmatch(line)
        if not m:
            raise _GiveUp
        indent = len(m.group("indent"))
        dash = m.group("dash")
        key = m.group("key")
        rest = m.group("rest")
        if rest is not None and not rest.strip():
            rest = None
        if indent == 0 and not dash:
            if key in doc or rest is not None or key not in _TOP_KEYS:
                raise _GiveUp
            if not doc:
                doc.lc.line = n
            section, item, dash_indent, key_indent = key, None, -1, -1
            if key == "feeds":
                seq = _FastSeq()
                seq.lc = _LC(n + 1, 0)
                doc[key] = seq
            else:
                doc[key] = _FastMap()
                doc[key].lc = _LC(n + 1, 0)
            doc.lc.data[key] = (n, 0, n + 1, 0)
            continue
        if rest is None:
            raise _GiveUp  # an empty value or a nested block: leave to ruamel
        if section == "feeds":
            assert seq is not None
            if dash:
                if dash_indent < 0:
                    dash_indent = indent
                    seq.lc.line, seq.lc.col = n, indent
                    doc.lc.data["feeds"] = (*doc.lc.data["feeds"][:2], n, indent)
                if indent != dash_indent:
                    raise _GiveUp
                col = indent + len(dash)
                if key_indent >= 0 and col != key_indent:
                    raise _GiveUp
                key_indent = col
                item = _FastMap()
                item.lc = _LC(n, col)
                seq.lc.data[len(seq)] = (n, col)
                seq.append(item)
            elif item is None or indent != key_indent:
                raise _GiveUp
        elif section == "settings":
            item = doc["settings"]
            if dash or (key_indent >= 0 and indent != key_indent) or indent == 0:
                raise _GiveUp
            if key_indent < 0:
                key_indent = indent
                item.lc.line, item.lc.col = n, indent
                doc.lc.data["settings"] = (*doc.lc.data["settings"][:2], n, indent)
        else:
            raise _GiveUp
        assert item is not None
        if key in item:
            raise _GiveUp  # ruamel reports duplicate keys
        value_col = m.start("rest")
        value, _ = _fast_value(rest, n, value_col)
        item[key] = value
        item.lc.data[key] = (n, m.start("key"), n, value_col)
    if not doc or ("feeds" in doc and not doc["feeds"]):
        raise _GiveUp  # "feeds:" with no entries is null to YAML: ruamel reports it
    return doc


# --------------------------------------------------------------------------- editing


@contextlib.contextmanager
def _locked(path: str) -> Iterator[None]:
    lock_path = path + ".lock"
    try:
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o666)
    except OSError as e:
        raise ConfigError(f"cannot create lock file {lock_path}: {e.strerror or e}", path=path) from e
    try:
        deadline = time.monotonic() + _LOCK_TIMEOUT_S
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise ConfigError(
                        f"another editor has held {lock_path} for {_LOCK_TIMEOUT_S:g} s; try again",
                        path=path,
                    ) from None
                time.sleep(0.01)
        yield
    finally:
        os.close(fd)  # releases the lock; the lock file stays (deleting it would race)


def _atomic_write(path: str, data: bytes) -> None:
    """Replace ``path`` by ``data`` all at once: temp file in the same dir, fsync, rename."""
    directory = os.path.dirname(path) or "."
    mode = stat.S_IMODE(os.stat(path).st_mode)
    fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            os.fchmod(f.fileno(), mode)
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as e:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(e, OSError):
            raise ConfigError(f"cannot write: {e.strerror or e}; file left as it was", path=path) from e
        raise
    # make the rename itself durable; best effort (some filesystems refuse)
    with contextlib.suppress(OSError):
        dir_fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


def _guess_indent(text: str) -> tuple[int, int, int]:
    """(mapping, sequence, offset) for ruamel's yaml.indent(), from the feeds list layout."""
    m = re.search(r"^feeds:[^\n]*\n(?:[ \t]*(?:#[^\n]*)?\n)*( *)(- +)\S", text, re.M)
    if not m:
        return 2, 4, 2
    offset = len(m.group(1))
    sequence = offset + len(m.group(2))
    mapping = sequence - offset if offset else 2
    s = re.search(r"^settings:[^\n]*\n(?:[ \t]*(?:#[^\n]*)?\n)*( +)\S", text, re.M)
    if s:
        mapping = len(s.group(1))
    return mapping, sequence, offset


def _flow_list(values: Iterable[Any]) -> CommentedSeq:
    seq = CommentedSeq(list(values))
    seq.fa.set_flow_style()
    return seq


def _yaml_value(key: str, value: Any) -> Any:
    if key == "tags" and isinstance(value, list | tuple):
        return _flow_list(value)
    return value


def _find_feed(doc: Any, url: str, path: str) -> int:
    feeds = doc.get("feeds") if isinstance(doc, Mapping) else None
    target = normalize_url(url)
    for i, item in enumerate(feeds or ()):
        if isinstance(item, Mapping) and isinstance(item.get("url"), str):
            if normalize_url(item["url"]) == target:
                return i
    raise ConfigError(f"no feed with url {url}", path=path)


def _edit(path: str | os.PathLike[str], change: Callable[[CommentedMap], None]) -> FeedsConfig:
    """Lock, read, check, change, validate, re-check, write atomically (see module doc)."""
    shown = os.fspath(path)
    real = os.path.realpath(shown)  # replace a symlink's target, not the link
    with _locked(real):
        for _attempt in range(2):
            raw = _read_bytes(real)
            text = _decode(raw, shown)
            loads(text, shown)  # a bad file is never rewritten
            mapping, sequence, offset = _guess_indent(text)
            yaml = _rt_yaml()
            yaml.indent(mapping=mapping, sequence=sequence, offset=offset)
            doc = yaml.load(text.removeprefix("\ufeff"))
            change(doc)
            out = io.StringIO()
            yaml.dump(doc, out)
            new_text = out.getvalue()
            config = loads(new_text, shown)
            if _read_bytes(real) != raw:
                continue  # saved by someone else meanwhile (a text editor): start over
            data = new_text.encode("utf-8")
            if b"\r\n" in raw:
                data = data.replace(b"\n", b"\r\n")
            if raw.startswith(b"\xef\xbb\xbf"):
                data = b"\xef\xbb\xbf" + data
            _atomic_write(real, data)
            return config
    raise ConfigError(
        "changed on disk while being edited (saved by another program); reload and try again",
        path=shown,
    )


def _new_entry(spec: Mapping[str, Any]) -> CommentedMap:
    entry = CommentedMap()
    ordered = [k for k in FEED_KEYS if k in spec] + [k for k in spec if k not in FEED_KEYS]
    for key in ordered:
        if spec[key] is not None:
            entry[key] = _yaml_value(key, spec[key])
    return entry


def add_feeds(path: str | os.PathLike[str], specs: Iterable[Mapping[str, Any]]) -> FeedsConfig:
    """Append feeds (dicts with the YAML keys: name, url, interval, ...) in one write."""
    entries = [_new_entry(spec) for spec in specs]

    def change(doc: CommentedMap) -> None:
        feeds = doc.get("feeds")
        if not isinstance(feeds, CommentedSeq):
            feeds = CommentedSeq()
            doc["feeds"] = feeds
        if feeds.fa.flow_style():  # "feeds: []" stays readable once it has entries
            feeds.fa.set_block_style()
        feeds.extend(entries)

    return _edit(path, change)


def add_feed(path: str | os.PathLike[str], spec: Mapping[str, Any]) -> FeedsConfig:
    """Append one feed; ConfigError (file untouched) if the result is invalid."""
    return add_feeds(path, [spec])


def update_feed(path: str | os.PathLike[str], url: str, changes: Mapping[str, Any]) -> FeedsConfig:
    """Change keys of the feed with this URL; a value of None removes the key (default)."""
    shown = os.fspath(path)

    def change(doc: CommentedMap) -> None:
        entry = doc["feeds"][_find_feed(doc, url, shown)]
        for key, value in changes.items():
            if value is None:
                entry.pop(key, None)
            elif key in entry:
                entry[key] = _yaml_value(key, value)
            else:
                rank = FEED_KEYS.index(key) if key in FEED_KEYS else len(FEED_KEYS)
                at = sum(1 for k in entry if k in FEED_KEYS and FEED_KEYS.index(k) < rank)
                old_last = list(entry)[-1] if entry else None
                entry.insert(at, key, _yaml_value(key, value))
                if old_last is not None and list(entry)[-1] == key:
                    _move_following_comments(entry, old_last, key)

    return _edit(path, change)


def _move_following_comments(entry: CommentedMap, old_last: Any, new_last: Any) -> None:
    """ruamel attaches the comment lines after an entry to its last key; when a key
    is appended, those lines (not the old key's end-of-line comment) move to it."""
    slot = entry.ca.items.get(old_last)
    if not slot or len(slot) < 3 or slot[2] is None or "\n" not in slot[2].value:
        return
    token = slot[2]
    first, rest = token.value.split("\n", 1)
    if not rest:
        return
    moved = copy.copy(token)
    moved.value = "\n" + rest
    if first.strip():
        token.value = first + "\n"
    else:
        slot[2] = None
    entry.ca.items.setdefault(new_last, [None, None, None, None])[2] = moved


def set_enabled(path: str | os.PathLike[str], url: str, enabled: bool) -> FeedsConfig:
    return update_feed(path, url, {"enabled": bool(enabled)})


def remove_feed(path: str | os.PathLike[str], url: str) -> FeedsConfig:
    """Delete the feed with this URL; comments below it (section headers) are kept."""
    shown = os.fspath(path)

    def change(doc: CommentedMap) -> None:
        feeds = doc["feeds"]
        i = _find_feed(doc, url, shown)
        entry = feeds[i]
        # ruamel attaches the comment lines that follow an entry to its last key,
        # after that key's own end-of-line comment: keep those lines.
        keep = None
        if isinstance(entry, CommentedMap) and entry:
            last = list(entry)[-1]
            slot = entry.ca.items.get(last)
            if slot and len(slot) > 2 and slot[2] is not None:
                token = slot[2]
                tail = token.value.split("\n", 1)[1] if "\n" in token.value else ""
                if tail.strip():
                    token.value = "\n" + tail
                    keep = token
        del feeds[i]
        if keep is None:
            return
        if i > 0 and isinstance(feeds[i - 1], CommentedMap) and feeds[i - 1]:
            prev = feeds[i - 1]
            last = list(prev)[-1]
            slot = prev.ca.items.setdefault(last, [None, None, None, None])
            if slot[2] is None:
                slot[2] = keep
            else:
                slot[2].value = slot[2].value.rstrip("\n") + "\n" + keep.value.lstrip("\n")
        elif i < len(feeds):
            # now the first entry: the lines go above it
            keep.value = keep.value.lstrip("\n")
            slot = feeds.ca.items.setdefault(i, [None, [], None, None])
            if slot[1] is None:
                slot[1] = []
            slot[1].insert(0, keep)

    return _edit(path, change)


# --------------------------------------------------------------------------- OPML


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

    specs: list[dict[str, Any]] = []
    seen: set[str] = set()
    folders: list[str | None] = []
    root: list[str] = []

    def start(name: str, attrs: dict[str, str]) -> None:
        if not root:
            root.append(name)
        if name != "outline":
            return
        lower = {k.lower(): v for k, v in attrs.items()}
        url = (lower.get("xmlurl") or "").strip()
        label = (lower.get("title") or lower.get("text") or "").strip()
        if not url:
            folders.append(label.replace(",", " ").strip() or None)
            return
        folders.append(None)
        norm = normalize_url(url)
        if norm in seen:
            return
        seen.add(norm)
        tags: list[str] = []
        for folder in folders[:-1]:
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
        if language and _LANGUAGE_RE.fullmatch(language):
            spec["language"] = language
        specs.append(spec)

    def end(name: str) -> None:
        if name == "outline" and folders:
            folders.pop()

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    try:
        parser.Parse(data, True)
    except _HostileXML as e:
        problem = ConfigProblem(path, parser.CurrentLineNumber, parser.CurrentColumnNumber + 1, "", str(e))
        raise ConfigError([problem], path) from None
    except expat.ExpatError as e:
        problem = ConfigProblem(path, e.lineno, e.offset + 1, "", f"not well-formed XML: {expat.errors.messages[e.code]}")
        raise ConfigError([problem], path) from None
    if root != ["opml"]:
        raise ConfigError(f"not an OPML document (root element is {root[0] if root else 'missing'!r})", path=path)
    return specs


def _settings_keys_match() -> bool:
    """Test hook: the validator knows every Settings field and nothing else."""
    return set(_SETTINGS_RULES) == {f.name for f in fields(Settings)}
