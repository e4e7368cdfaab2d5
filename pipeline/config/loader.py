"""Reading feeds.yaml: bytes, text, the YAML tree with positions; ``load`` and ``loads``.

Owns everything between a path and the tree of :mod:`.tree`: reading the file
(OS errors become a ConfigError naming the path), decoding it (UTF-8 with or
without a BOM; UTF-16 and bad bytes refused with line and column), the two
parsers (the fast line parser for the plain layout, ruamel.yaml for anything
else and for every YAML syntax error), and ``load``/``loads``, which hand the
tree to the validator. It must not touch the validation rules (validator.py)
and never writes a file (editor.py does).
"""

from __future__ import annotations

import os
import re
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from ..errors import ConfigError, ConfigProblem
from ..types import FeedsConfig
from .tree import YamlMapping, YamlSequence
from .validator import validate_tree


def loads(text: str, path: str = "feeds.yaml") -> FeedsConfig:
    """Validate YAML text; ``path`` is only used in messages and ``FeedsConfig.path``."""
    if text.startswith("\ufeff"):
        text = text[1:]
    fast_tree = parse_plain_layout(text)
    if fast_tree is not None:
        try:
            return validate_tree(fast_tree, path)
        except ConfigError:
            pass  # re-read by ruamel.yaml so the messages come from one parser
    return validate_tree(parse_with_ruamel(text, path), path)


def load(path: str | os.PathLike[str]) -> FeedsConfig:
    """Read and validate feeds.yaml; ConfigError lists every problem, sorted by line."""
    path = os.fspath(path)
    return loads(decode(read_bytes(path), path), path)


# --------------------------------------------------------------------------- bytes and text


def read_bytes(path: str) -> bytes:
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


def decode(raw: bytes, path: str) -> str:
    """UTF-8 text (a BOM is dropped); UTF-16 and invalid bytes are ConfigErrors with line:col."""
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


# --------------------------------------------------------------------------- ruamel.yaml


def round_trip_yaml() -> YAML:
    """ruamel.yaml's round-trip loader and dumper, set up as the editor writes feeds.yaml."""
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    # long URLs and tag lists must not be folded onto a second line
    yaml.width = 4096
    return yaml


def parse_with_ruamel(text: str, path: str) -> Any:
    """The tree of any YAML text, read by ruamel.yaml (YAML 1.2); syntax errors and
    duplicate keys become a ConfigError with the line and column ruamel.yaml gives."""
    try:
        doc = round_trip_yaml().load(text)
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
    return tree_from_ruamel(doc, {})


def tree_from_ruamel(node: Any, done: dict[int, Any]) -> Any:
    """ruamel.yaml's CommentedMap / CommentedSeq (positions in ``.lc``) as the tree of
    :mod:`.tree`; scalars are kept as ruamel.yaml made them. ``done`` maps the id of
    each container already converted to its copy, so an alias stays one object."""
    if not isinstance(node, dict | list):
        return node
    if id(node) in done:
        return done[id(node)]
    lc = getattr(node, "lc", None)
    start = (lc.line, lc.col) if lc is not None and lc.line is not None else None
    places = lc.data if lc is not None else {}
    if isinstance(node, dict):
        mapping = done[id(node)] = YamlMapping(start)
        for key, value in node.items():
            mapping[key] = tree_from_ruamel(value, done)
            if key in places:
                key_line, key_col, value_line, value_col = places[key]
                mapping.key_starts[key] = (key_line, key_col)
                mapping.value_starts[key] = (value_line, value_col)
        return mapping
    seq = done[id(node)] = YamlSequence(start)
    for index, item in enumerate(node):
        place = places.get(index)
        seq.append_at(tree_from_ruamel(item, done), (place[0], place[1]) if place else None)
    return seq


# --------------------------------------------------------------------------- plain layout


class _NotPlainLayout(Exception):
    """The text uses something the plain-layout parser does not read: ruamel.yaml decides."""


_LINE_RE = re.compile(r"(?P<indent> *)(?P<dash>- +)?(?P<key>[A-Za-z_][A-Za-z0-9_]*):(?: +(?P<rest>.*))?")
_BLANK_OR_COMMENT_RE = re.compile(r" *(?:#.*)?")
_COMMENT_TAIL_RE = re.compile(r"(?: +#.*)?")
_INT_RE = re.compile(r"0|[1-9][0-9]*")
_FLOAT_RE = re.compile(r"(?:0|[1-9][0-9]*)\.[0-9]+")
_DURATION_RE = re.compile(r"(?:[0-9]+[a-z]+)+")
#: plain scalars whose YAML type differs between 1.1 and 1.2 or by case: leave to ruamel
_AMBIGUOUS_WORDS = frozenset("true false null yes no on off y n".split())
#: characters ruamel.yaml treats specially (other line breaks, non-printables)
_UNSAFE_CHARS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\ufeff\ufffe\uffff\ud800-\udfff]")
_FLOW_ITEM_RE = re.compile(r"[A-Za-z][A-Za-z0-9 _./-]*")
_TOP_LEVEL_KEYS = ("feeds", "settings")


def parse_plain_layout(text: str) -> YamlMapping | None:
    """Parse the plain feeds.yaml layout quickly; None when unsure (ruamel.yaml decides).

    The layout: a block list of block mappings, plain or simply quoted scalars,
    flow lists of tags. ruamel.yaml is pure Python and slow (about 1 s per
    1,000 feeds); this line parser reads that layout in a few milliseconds.
    """
    try:
        return _parse_plain_layout(text)
    except _NotPlainLayout:
        return None


def _plain_scalar(text: str) -> Any:
    """A plain scalar whose type is beyond doubt, else _NotPlainLayout."""
    if text in ("true", "false"):
        return text == "true"
    if text in ("null", "~"):
        return None
    if "\t" in text or ": " in text or text.endswith(":") or " #" in text:
        raise _NotPlainLayout
    first = text[:1]
    if first.isdigit():
        if _INT_RE.fullmatch(text):
            return int(text)
        if _FLOAT_RE.fullmatch(text):
            return float(text)
        if _DURATION_RE.fullmatch(text):
            return text
        raise _NotPlainLayout
    if first.isalpha():
        if text.lower() in _AMBIGUOUS_WORDS:
            raise _NotPlainLayout
        return text
    raise _NotPlainLayout


def _value(rest: str, line: int, col: int) -> Any:
    """Value text after 'key: ' -> the value; only forms known to be unambiguous."""
    if rest.startswith("#"):
        raise _NotPlainLayout  # "key: # comment" is null: rare, leave it to ruamel
    if rest.startswith('"'):
        m = re.match(r'"([^"\\]*)"', rest)
        if not m or not _COMMENT_TAIL_RE.fullmatch(rest[m.end() :]):
            raise _NotPlainLayout
        return m.group(1)
    if rest.startswith("'"):
        m = re.match(r"'((?:[^']|'')*)'", rest)
        if not m or not _COMMENT_TAIL_RE.fullmatch(rest[m.end() :]):
            raise _NotPlainLayout
        return m.group(1).replace("''", "'")
    if rest.startswith("["):
        return _flow_list(rest, line, col)
    hash_at = rest.find(" #")
    text = (rest if hash_at < 0 else rest[:hash_at]).rstrip(" ")
    return _plain_scalar(text)


def _flow_list(rest: str, line: int, col: int) -> YamlSequence:
    """A one-line flow list of plain words (``[global, wire]``)."""
    end = rest.find("]")
    if end < 0 or not _COMMENT_TAIL_RE.fullmatch(rest[end + 1 :]):
        raise _NotPlainLayout
    inner = rest[1:end]
    if any(c in inner for c in "[{}\"'#&*!|>%@`"):
        raise _NotPlainLayout
    seq = YamlSequence((line, col))
    if inner.strip():
        offset = col + 1
        for part in inner.split(","):
            item = part.strip()
            if not _FLOW_ITEM_RE.fullmatch(item) or item.lower() in _AMBIGUOUS_WORDS:
                raise _NotPlainLayout
            seq.append_at(item, (line, offset + len(part) - len(part.lstrip())))
            offset += len(part) + 1
    return seq


def _parse_plain_layout(text: str) -> YamlMapping:
    if "\r" in text or "\t" in text or _UNSAFE_CHARS.search(text):
        raise _NotPlainLayout
    doc = YamlMapping((0, 0))
    section: str | None = None
    seq: YamlSequence | None = None
    item: YamlMapping | None = None
    dash_indent = key_indent = -1
    for n, line in enumerate(text.split("\n")):
        if _BLANK_OR_COMMENT_RE.fullmatch(line):
            continue
        m = _LINE_RE.fullmatch(line)
        if not m:
            raise _NotPlainLayout
        indent = len(m.group("indent"))
        dash = m.group("dash")
        key = m.group("key")
        rest = m.group("rest")
        if rest is not None and not rest.strip():
            rest = None
        if indent == 0 and not dash:
            if key in doc or rest is not None or key not in _TOP_LEVEL_KEYS:
                raise _NotPlainLayout
            if not doc:
                doc.start = (n, 0)
            section, item, dash_indent, key_indent = key, None, -1, -1
            if key == "feeds":
                seq = doc[key] = YamlSequence((n + 1, 0))
            else:
                doc[key] = YamlMapping((n + 1, 0))
            doc.key_starts[key], doc.value_starts[key] = (n, 0), (n + 1, 0)
            continue
        if rest is None:
            raise _NotPlainLayout  # an empty value or a nested block: leave to ruamel
        if section == "feeds":
            assert seq is not None
            if dash:
                if dash_indent < 0:
                    dash_indent = indent
                    seq.start = doc.value_starts["feeds"] = (n, indent)
                if indent != dash_indent:
                    raise _NotPlainLayout
                col = indent + len(dash)
                if key_indent >= 0 and col != key_indent:
                    raise _NotPlainLayout
                key_indent = col
                item = YamlMapping((n, col))
                seq.append_at(item, (n, col))
            elif item is None or indent != key_indent:
                raise _NotPlainLayout
        elif section == "settings":
            item = doc["settings"]
            if dash or (key_indent >= 0 and indent != key_indent) or indent == 0:
                raise _NotPlainLayout
            if key_indent < 0:
                key_indent = indent
                item.start = doc.value_starts["settings"] = (n, indent)
        else:
            raise _NotPlainLayout
        assert item is not None
        if key in item:
            raise _NotPlainLayout  # ruamel reports duplicate keys
        value_col = m.start("rest")
        item[key] = _value(rest, n, value_col)
        item.key_starts[key], item.value_starts[key] = (n, m.start("key")), (n, value_col)
    if not doc or ("feeds" in doc and not doc["feeds"]):
        raise _NotPlainLayout  # "feeds:" with no entries is null to YAML: ruamel reports it
    return doc
