"""The rules of feeds.yaml and their messages: a YAML tree in, FeedsConfig or ConfigError out.

Owns what a valid file is (the keys of a feed and of ``settings``, their types
and ranges, unique URLs and names, durations, language codes, User-Agents),
the wording of every problem, and turning the tree's positions into
``file:line:col``. Also the value helpers callers share: ``parse_interval``,
``validate_url``, ``normalize_url``. It reads only the tree of :mod:`.tree`
(whichever parser built it) and must not touch files, YAML libraries or the
network.
"""

from __future__ import annotations

import difflib
import functools
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import fields
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from ..errors import ConfigError, ConfigProblem
from ..types import MAX_INTERVAL_S, MIN_INTERVAL_S, FeedsConfig, FeedSpec, Settings
from .tree import Position, YamlMapping, YamlSequence, start_of

#: keys of one feed entry, in the order the editor writes them
FEED_KEYS = ("name", "url", "interval", "enabled", "tags", "language", "user_agent")
_TOP_LEVEL_KEYS = ("feeds", "settings")

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
_USER_AGENT_MAX_CHARS = 512

_SECONDS_PER_UNIT = {
    "s": 1, "sec": 1, "secs": 1, "second": 1, "seconds": 1,
    "m": 60, "min": 60, "mins": 60, "minute": 60, "minutes": 60,
    "h": 3600, "hr": 3600, "hrs": 3600, "hour": 3600, "hours": 3600,
    "d": 86400, "day": 86400, "days": 86400,
    "w": 604800, "week": 604800, "weeks": 604800,
}  # fmt: skip
_DURATION_PART_RE = re.compile(r"\s*(\d+)\s*([a-z]+)\s*")
#: a BCP 47-like language tag: ISO 639 code, then subtags (also used by opml.py)
LANGUAGE_TAG_RE = re.compile(r"[A-Za-z]{2,3}(?:-[A-Za-z0-9]{2,8})*")
_INTERVAL_HINT = "write whole seconds (900) or a duration like '90s', '15m', '1h', '1h30m'"
#: whitespace (str.isspace(): re's \s is the same set) and control characters; one
#: regex scan instead of a Python loop over the URL's characters
_URL_BAD_CHAR_RE = re.compile(r"[\s\x00-\x1f\x7f]")


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
        m = _DURATION_PART_RE.match(text, pos)
        if not m or m.group(2) not in _SECONDS_PER_UNIT:
            raise ValueError(_INTERVAL_HINT)
        total += int(m.group(1)) * _SECONDS_PER_UNIT[m.group(2)]
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
    if _URL_BAD_CHAR_RE.search(url):
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
    """What a message says was found: "got 5", "got 'soon'", "got a list", "got nothing"."""
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
    if not LANGUAGE_TAG_RE.fullmatch(value):
        return f"must be a language code like 'en', 'uk' or 'zh-Hant' (got {value!r})"
    primary = value.split("-", 1)[0].lower()
    if primary not in _language_codes():
        return f"unknown language code {primary!r} (use ISO 639, e.g. 'en', 'ru', 'ar')"
    return None


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


class _Problems:
    """Collects problems; positions are the tree's 0-based (line, col) pairs."""

    def __init__(self, path: str):
        self.path = path
        self.items: list[ConfigProblem] = []

    def add(self, pos: Position | None, field: str, message: str) -> None:
        line = col = None
        if pos is not None:
            line, col = pos[0] + 1, pos[1] + 1
        self.items.append(ConfigProblem(self.path, line, col, field, message))

    def __bool__(self) -> bool:
        return bool(self.items)


# --------------------------------------------------------------------------- the file


def validate_tree(doc: Any, path: str) -> FeedsConfig:
    """The tree from loader.py -> FeedsConfig, or ConfigError with every problem."""
    problems = _Problems(path)
    if doc is None:
        problems.add((0, 0), "", "file is empty: expected a mapping with a 'feeds:' list")
        raise ConfigError(problems.items, path)
    if not isinstance(doc, Mapping):
        problems.add(
            start_of(doc) or (0, 0),
            "",
            f"top level must be a mapping with a 'feeds:' list ({_got(doc)})",
        )
        raise ConfigError(problems.items, path)

    for key in doc:
        if key not in _TOP_LEVEL_KEYS:
            problems.add(doc.key_start(key), str(key), _did_you_mean(key, _TOP_LEVEL_KEYS))

    feeds: list[FeedSpec] = []
    if "feeds" not in doc:
        problems.add(start_of(doc) or (0, 0), "feeds", "missing: add a 'feeds:' list of feeds")
    elif not isinstance(doc["feeds"], list):
        hint = " (write 'feeds: []' for none)" if doc["feeds"] is None else ""
        problems.add(
            doc.value_start("feeds"), "feeds", f"must be a list of feeds ({_got(doc['feeds'])}){hint}"
        )
    else:
        feeds = _validate_feeds(doc["feeds"], problems)

    settings = Settings()
    if "settings" in doc and doc["settings"] is not None:
        if not isinstance(doc["settings"], Mapping):
            problems.add(
                doc.value_start("settings"),
                "settings",
                f"must be a mapping ({_got(doc['settings'])})",
            )
        else:
            settings = _validate_settings(doc["settings"], problems)

    if problems:
        raise ConfigError(problems.items, path)
    return FeedsConfig(feeds=tuple(feeds), settings=settings, path=path)


# --------------------------------------------------------------------------- feeds


def _validate_feeds(seq: YamlSequence, problems: _Problems) -> list[FeedSpec]:
    """Every entry checked; the FeedSpecs of the entries without a problem."""
    specs: list[FeedSpec] = []
    #: normalised URL / case-folded name -> (index, line) of the first feed that has it
    first_url: dict[str, tuple[int, int | None]] = {}
    first_name: dict[str, tuple[int, int | None]] = {}
    for i, item in enumerate(seq):
        where = f"feeds[{i}]"
        pos = seq.item_start(i)
        if not isinstance(item, Mapping):
            problems.add(pos, where, f"must be a mapping with 'name' and 'url' ({_got(item)})")
            continue
        before = len(problems.items)
        values = _feed_values(item, where, pos, problems)
        line = pos[0] + 1 if pos else None
        if "url" in values:
            norm = normalize_url(values["url"])
            if norm in first_url:
                j, j_line = first_url[norm]
                problems.add(
                    item.value_start("url"),
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
                    item.value_start("name"),
                    f"{where}.name",
                    f"duplicate of feeds[{j}] (line {j_line}): {values['name']!r}; names must be unique",
                )
            else:
                first_name[folded] = (i, line)
        if len(problems.items) == before:
            specs.append(FeedSpec(line=line, **values))
    return specs


def _feed_values(item: YamlMapping, where: str, pos: Position | None, problems: _Problems) -> dict[str, Any]:
    """The FeedSpec fields of one entry that passed their checks; problems for the rest."""
    for key in item:
        if key not in FEED_KEYS:
            problems.add(item.key_start(key), f"{where}.{key}", _did_you_mean(key, FEED_KEYS))
    for key in ("name", "url"):
        if key not in item:
            problems.add(start_of(item) or pos, f"{where}.{key}", "missing (required)")
    values: dict[str, Any] = {}
    for key, field, check in _FIELD_CHECKS:
        if key in item:
            value = check(item, where, problems)
            if value is not None:
                values[field] = value
    return values


def _check_name(item: YamlMapping, where: str, problems: _Problems) -> str | None:
    name = item["name"]
    if not isinstance(name, str):
        problems.add(
            item.value_start("name"),
            f"{where}.name",
            f"must be a string ({_got(name)}); quote it if it looks like a number",
        )
    elif not name.strip():
        problems.add(item.value_start("name"), f"{where}.name", "must not be empty")
    else:
        return str(name).strip()
    return None


def _check_url(item: YamlMapping, where: str, problems: _Problems) -> str | None:
    url = item["url"]
    why = validate_url(url)
    if why:
        problems.add(item.value_start("url"), f"{where}.url", why)
        return None
    return str(url)


def _check_interval(item: YamlMapping, where: str, problems: _Problems) -> int | None:
    raw = item["interval"]
    pos = item.value_start("interval")
    try:
        if raw is None:
            raise ValueError("missing value; " + _INTERVAL_HINT)
        seconds = parse_interval(raw)
    except ValueError as e:
        problems.add(pos, f"{where}.interval", f"{e} ({_got(raw)})")
        return None
    shown = _got(raw)[4:]
    if seconds < MIN_INTERVAL_S:
        problems.add(pos, f"{where}.interval", f"must be at least {MIN_INTERVAL_S} seconds (got {shown})")
    elif seconds > MAX_INTERVAL_S:
        problems.add(pos, f"{where}.interval", f"must be at most {MAX_INTERVAL_S} seconds (7 days) (got {shown})")
    else:
        return seconds
    return None


def _check_enabled(item: YamlMapping, where: str, problems: _Problems) -> bool | None:
    enabled = item["enabled"]
    if not isinstance(enabled, bool):
        problems.add(item.value_start("enabled"), f"{where}.enabled", f"must be true or false ({_got(enabled)})")
        return None
    return enabled


def _check_tags(item: YamlMapping, where: str, problems: _Problems) -> tuple[str, ...] | None:
    """The tags, de-duplicated in order; () when the list itself is wrong. Null means none."""
    tags = item["tags"]
    if tags is None:
        return None
    if isinstance(tags, str):
        problems.add(
            item.value_start("tags"),
            f"{where}.tags",
            f"must be a list of strings, e.g. [{tags}] ({_got(tags)})",
        )
        return ()
    if not isinstance(tags, list):
        problems.add(item.value_start("tags"), f"{where}.tags", f"must be a list of strings ({_got(tags)})")
        return ()
    out: list[str] = []
    for k, tag in enumerate(tags):
        tag_pos = tags.item_start(k)
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


def _check_language(item: YamlMapping, where: str, problems: _Problems) -> str | None:
    lang = item["language"]
    if lang is None:
        return None  # null: no language hint
    why = (
        f"must be a language code like 'en' ({_got(lang)})"
        if not isinstance(lang, str)
        else _language_problem(lang)
    )
    if why:
        problems.add(item.value_start("language"), f"{where}.language", why)
        return None
    return str(lang)


def _check_user_agent(item: YamlMapping, where: str, problems: _Problems) -> str | None:
    agent = item["user_agent"]
    if agent is None:
        return None  # null: the poller's own User-Agent
    why = _user_agent_problem(agent)
    if why:
        problems.add(item.value_start("user_agent"), f"{where}.user_agent", why)
        return None
    return agent.strip()


#: (YAML key, FeedSpec field, check) in the order problems are listed for one entry;
#: a check returns the field's value, or None to leave the FeedSpec default
_FIELD_CHECKS: tuple[tuple[str, str, Callable[[YamlMapping, str, _Problems], Any]], ...] = (
    ("name", "name", _check_name),
    ("url", "url", _check_url),
    ("interval", "interval_s", _check_interval),
    ("enabled", "enabled", _check_enabled),
    ("tags", "tags", _check_tags),
    ("language", "language", _check_language),
    ("user_agent", "user_agent", _check_user_agent),
)


# --------------------------------------------------------------------------- settings


def _validate_settings(section: YamlMapping, problems: _Problems) -> Settings:
    values: dict[str, Any] = {}
    for key in section:
        if key not in _SETTINGS_RULES:
            problems.add(section.key_start(key), f"settings.{key}", _did_you_mean(key, _SETTINGS_RULES))
            continue
        number = _setting_value(key, section[key], section.value_start(key), problems)
        if number is not None:
            values[key] = number

    timeout = values.get("timeout_s", Settings().timeout_s)
    connect = values.get("connect_timeout_s")
    if connect is not None and connect > timeout:
        problems.add(
            section.value_start("connect_timeout_s"),
            "settings.connect_timeout_s",
            f"must not exceed timeout_s ({timeout:g}); the whole request has that deadline",
        )
    return Settings(**values)


def _setting_value(key: str, raw: Any, pos: Position | None, problems: _Problems) -> Any:
    """One setting checked against its rule: its value, or None after adding a problem."""
    kind, low, high = _SETTINGS_RULES[key]
    field = f"settings.{key}"
    if kind == "bool":
        if isinstance(raw, bool):
            return raw
        problems.add(pos, field, f"must be true or false ({_got(raw)})")
        return None
    if kind == "duration":
        try:
            number: float = parse_interval(raw)
        except ValueError as e:
            problems.add(pos, field, f"{e} ({_got(raw)})")
            return None
    elif kind == "int":
        if isinstance(raw, bool) or not isinstance(raw, int):
            problems.add(pos, field, f"must be a whole number ({_got(raw)})")
            return None
        number = int(raw)
    else:
        if isinstance(raw, bool) or not isinstance(raw, int | float):
            problems.add(pos, field, f"must be a number of seconds ({_got(raw)})")
            return None
        number = float(raw)
    if low is not None and number < low:
        problems.add(pos, field, f"must be at least {low:g} ({_got(raw)})")
    elif high is not None and number > high:
        problems.add(pos, field, f"must be at most {high:g} ({_got(raw)})")
    else:
        return number
    return None


def settings_keys_match() -> bool:
    """Test hook: the validator knows every Settings field and nothing else."""
    return set(_SETTINGS_RULES) == {f.name for f in fields(Settings)}
