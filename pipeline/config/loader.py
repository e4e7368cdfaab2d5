"""Reading feeds.yaml: bytes, text, the YAML tree with positions; ``load`` and ``loads``.

Owns everything between a path and the tree of :mod:`.tree`: reading the file
(OS errors become a ConfigError naming the path), decoding it (UTF-8 with or
without a BOM; UTF-16 and bad bytes refused with line and column), parsing it
(libyaml through PyYAML, with the scalars resolved here as ruamel.yaml resolves
them; ruamel.yaml itself for what libyaml cannot be trusted with and for every
YAML error), and ``load``/``loads``, which hand the tree to the validator. It
must not touch the validation rules (validator.py) and never writes a file
(editor.py does).
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import yaml

from ..errors import ConfigError, ConfigProblem
from ..types import FeedsConfig
from .tree import YamlMapping, YamlSequence
from .validator import validate_tree

if TYPE_CHECKING:
    from ruamel.yaml import YAML


def loads(text: str, path: str = "feeds.yaml") -> FeedsConfig:
    """Validate YAML text; ``path`` is only used in messages and ``FeedsConfig.path``."""
    if text.startswith("\ufeff"):
        text = text[1:]
    return validate_tree(parse(text, path), path)


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


# --------------------------------------------------------------------------- parsing


def parse(text: str, path: str) -> Any:
    """The tree of ``text``: libyaml's where it reads the text as ruamel.yaml does
    (any file in the usual layout), else ruamel.yaml's, which also words every
    YAML error (syntax, duplicate keys) as the messages always were."""
    try:
        return parse_with_libyaml(text)
    except NeedsRuamel:
        return parse_with_ruamel(text, path)


class NeedsRuamel(Exception):
    """libyaml cannot be trusted to read this text as ruamel.yaml would: ruamel.yaml decides."""


#: What libyaml (YAML 1.1) may read differently from ruamel.yaml (YAML 1.2 by
#: default): tabs (where YAML allows them is subtle); NEL, LS and PS (line breaks
#: in 1.1 only) and the other characters the two readers may treat apart (C0 and
#: C1 controls, a BOM inside the text, surrogates, non-characters).
_RUAMEL_ONLY_CHAR_RE = re.compile(
    "[\t\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029\ufeff\ufffe\uffff\ud800-\udfff]"
)
#: a directive: "%YAML 1.1" switches ruamel.yaml to the 1.1 rules
_DIRECTIVE_RE = re.compile(r"^%", re.M)
#: an anchor where a node can start: ruamel.yaml makes an anchored "true" a
#: ScalarBoolean, which is no bool (and a file without anchors has no aliases).
#: A false alarm ("Tom &Jerry") only costs the slow parser.
_ANCHOR_RE = re.compile(r"(?:^|[\s\[\]{},:])&", re.M)


def _needs_ruamel(text: str) -> bool:
    """Whether the text has anything libyaml may read differently from ruamel.yaml
    (substring tests guard the slower regexes: most files have no "%" or "&")."""
    return bool(
        _RUAMEL_ONLY_CHAR_RE.search(text)
        or ("\r" in text and "\r" in text.replace("\r\n", ""))  # a CR without its LF
        or ("%" in text and _DIRECTIVE_RE.search(text))
        or ("&" in text and _ANCHOR_RE.search(text))
    )


# The composer's tags for untagged nodes; resolve() below gives them. Any other
# tag on a node was written in the file (!!str, !foo) and is left to ruamel.yaml,
# whose round-trip types for tagged nodes (TaggedScalar, ...) are not plain values.
_PLAIN = "?plain"  # an untagged plain scalar, resolved here by YAML 1.2
_QUOTED = "?quoted"  # an untagged quoted or block scalar: a string
_SEQUENCE = "?sequence"
_MAPPING = "?mapping"
#: the non-specific tag "!" on a collection. On a scalar libyaml marks it plain
#: implicit, so "! 5" is resolved as 5, as ruamel.yaml (of PyYAML's lineage) does too
_NON_SPECIFIC = "?non-specific"


if getattr(yaml, "__with_libyaml__", False):

    class _ComposingLoader(yaml.CSafeLoader):  # type: ignore[misc, name-defined]
        """libyaml's parser and composer, with PyYAML's YAML 1.1 tag resolution
        replaced by markers, so this module resolves plain scalars by YAML 1.2."""

        def resolve(self, kind: type, value: Any, implicit: Any) -> str:
            if kind is yaml.ScalarNode:
                if implicit[0]:
                    return _PLAIN
                return _QUOTED if implicit[1] else _NON_SPECIFIC
            if not implicit:
                return _NON_SPECIFIC
            return _SEQUENCE if kind is yaml.SequenceNode else _MAPPING

else:  # PyYAML without libyaml: its pure-Python reader would be no faster than ruamel.yaml
    _ComposingLoader = None


def parse_with_libyaml(text: str) -> Any:
    """The tree of ``text`` read by libyaml, the same tree ruamel.yaml gives;
    NeedsRuamel when the text uses what only ruamel.yaml reads as today (see
    _needs_ruamel; explicit tags, merge keys, timestamps, complex keys) or is
    not valid YAML (syntax errors, duplicate keys: ruamel.yaml words them)."""
    if _ComposingLoader is None or _needs_ruamel(text):
        raise NeedsRuamel
    loader = _ComposingLoader(text)
    try:
        root = loader.get_single_node()
    except yaml.YAMLError:
        raise NeedsRuamel from None
    finally:
        loader.dispose()
    if root is None:
        return None  # no document, or only comments
    try:
        return _tree_from_node(root, {})
    except RecursionError:  # nested deeper than Python recurses: rare enough for the slow path
        raise NeedsRuamel from None


_UNSEEN = object()


def _tree_from_node(node: Any, plain_values: dict[str, Any]) -> Any:
    """A composed node as the tree: scalars as ruamel.yaml constructs them, mappings
    and sequences with each node's start (libyaml's marks count lines and columns
    from 0, in characters, as ruamel.yaml's do). ``plain_values`` remembers each
    plain scalar's value: keys and tags repeat on every feed. Plain keys and
    quoted values are handled in the mapping's loop rather than by a call each
    (calls were a third of the time)."""
    tag = node.tag
    if tag == _PLAIN:
        value = plain_values.get(node.value, _UNSEEN)
        if value is _UNSEEN:
            value = plain_values[node.value] = _plain_scalar(node.value)
        return value
    if tag == _QUOTED:
        return node.value
    mark = node.start_mark
    if tag == _MAPPING:
        mapping = YamlMapping((mark.line, mark.column))
        key_starts, value_starts = mapping.key_starts, mapping.value_starts
        for key_node, value_node in node.value:
            if key_node.tag == _PLAIN:
                key = plain_values.get(key_node.value, _UNSEEN)
                if key is _UNSEEN:
                    key = plain_values[key_node.value] = _plain_scalar(key_node.value)
            else:
                key = _tree_from_node(key_node, plain_values)
                if isinstance(key, YamlMapping | YamlSequence):
                    raise NeedsRuamel  # a complex key
            if key in mapping:
                raise NeedsRuamel  # a duplicate key: ruamel.yaml reports it
            value_tag = value_node.tag
            if value_tag == _QUOTED:
                mapping[key] = value_node.value
            else:
                mapping[key] = _tree_from_node(value_node, plain_values)
            key_mark, value_mark = key_node.start_mark, value_node.start_mark
            key_starts[key] = (key_mark.line, key_mark.column)
            value_starts[key] = (value_mark.line, value_mark.column)
        return mapping
    if tag == _SEQUENCE:
        seq = YamlSequence((mark.line, mark.column))
        for item_node in node.value:
            item_mark = item_node.start_mark
            seq.append_at(_tree_from_node(item_node, plain_values), (item_mark.line, item_mark.column))
        return seq
    raise NeedsRuamel  # a tag written in the file


# --------------------------------------------------------------------------- YAML 1.2 scalars
# Plain scalars are resolved as ruamel.yaml resolves them (ruamel/yaml/resolver.py,
# its YAML 1.2 rows: the first character picks the candidates, tried in order,
# the first match wins) and built as its round-trip constructor builds them
# (RoundTripConstructor.construct_yaml_int, _float, ...), minus the subclasses it
# uses to write a number back as it was (HexInt, ScalarFloat...): they compare,
# format and validate as the plain int and float do. So "yes", "on", "1:30" and
# "0x1F_" read here as they read in ruamel.yaml (strings, strings, a string and
# 31), not as PyYAML's YAML 1.1 resolver reads them.


def _bool(text: str) -> bool:
    return text.lower() == "true"


def _null(text: str) -> None:
    return None


def _int(text: str) -> int:
    """construct_yaml_int under YAML 1.2: underscores dropped, 0b / 0o / 0x bases,
    leading zeros decimal (octal only in 1.1)."""
    digits = text.replace("_", "")
    try:
        sign = -1 if digits[0] == "-" else 1
        if digits[0] in "+-":
            digits = digits[1:]
        base = {"0b": 2, "0o": 8, "0x": 16}.get(digits[:2])
        return sign * (int(digits[2:], base) if base else int(digits))
    except (IndexError, ValueError):  # "+_", "0x": ruamel.yaml fails its own way on those
        raise NeedsRuamel from None


#: ruamel.yaml's nan_value: one object for every .nan (two .nan keys are duplicates)
_NAN = -math.inf / math.inf


def _float(text: str) -> float:
    """construct_yaml_float under YAML 1.2: underscores dropped, case ignored, .inf / .nan."""
    digits = text.replace("_", "").lower()
    sign = -1 if digits[0] == "-" else 1
    if digits[0] in "+-":
        digits = digits[1:]
    if digits == ".inf":
        return sign * math.inf
    if digits == ".nan":
        return _NAN
    try:
        return sign * float(digits)
    except ValueError:  # "._": ruamel.yaml fails its own way
        raise NeedsRuamel from None


def _ruamel_type(text: str) -> Any:
    """A timestamp ("2024-01-01"), merge key ("<<") or value key ("="): ruamel.yaml's
    own types (TimeStamp, merged mappings), left to it."""
    raise NeedsRuamel


# fmt: off
#: (first characters, pattern, builder): ruamel.yaml's implicit_resolvers rows for
#: YAML 1.2, in its order (its last row, for "!", "&" and "*", can never match a
#: plain scalar and is left out)
_RESOLVERS_1_2: list[tuple[tuple[str, ...], str, Callable[[str], Any]]] = [
    (tuple("tTfF"), r"""^(?:true|True|TRUE|false|False|FALSE)$""", _bool),
    (tuple("-+0123456789."), r"""^(?:
         [-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
        |[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)
        |[-+]?\.[0-9_]+(?:[eE][-+][0-9]+)?
        |[-+]?\.(?:inf|Inf|INF)
        |\.(?:nan|NaN|NAN))$""", _float),
    (tuple("-+0123456789"), r"""^(?:[-+]?0b[0-1_]+
        |[-+]?0o?[0-7_]+
        |[-+]?[0-9_]+
        |[-+]?0x[0-9a-fA-F_]+)$""", _int),
    (("<",), r"^(?:<<)$", _ruamel_type),
    (("~", "n", "N", ""), r"""^(?: ~
        |null|Null|NULL
        | )$""", _null),
    (tuple("0123456789"), r"""^(?:[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]
        |[0-9][0-9][0-9][0-9] -[0-9][0-9]? -[0-9][0-9]?
        (?:[Tt]|[ \t]+)[0-9][0-9]?
        :[0-9][0-9] :[0-9][0-9] (?:\.[0-9]*)?
        (?:[ \t]*(?:Z|[-+][0-9][0-9]?(?::[0-9][0-9])?))?)$""", _ruamel_type),
    (("=",), r"^(?:=)$", _ruamel_type),
]
# fmt: on


def _resolvers_by_first_character() -> dict[str, tuple[tuple[re.Pattern[str], Callable[[str], Any]], ...]]:
    table: dict[str, list[tuple[re.Pattern[str], Callable[[str], Any]]]] = {}
    for firsts, pattern, build in _RESOLVERS_1_2:
        compiled = re.compile(pattern, re.X)
        for first in firsts:
            table.setdefault(first, []).append((compiled, build))
    return {first: tuple(rows) for first, rows in table.items()}


_RESOLVERS = _resolvers_by_first_character()


def _plain_scalar(text: str) -> Any:
    """The value of an untagged plain scalar, as ruamel.yaml builds it."""
    for pattern, build in _RESOLVERS.get(text[:1], ()):
        if pattern.match(text):
            return build(text)
    return text


# --------------------------------------------------------------------------- ruamel.yaml
# ruamel.yaml is imported where it is used: a file in the usual layout is read
# without it, and importing it costs ~40 ms.


def round_trip_yaml() -> YAML:
    """ruamel.yaml's round-trip loader and dumper, set up as the editor writes feeds.yaml."""
    from ruamel.yaml import YAML

    rt_yaml = YAML(typ="rt")
    rt_yaml.preserve_quotes = True
    # long URLs and tag lists must not be folded onto a second line
    rt_yaml.width = 4096
    return rt_yaml


def parse_with_ruamel(text: str, path: str) -> Any:
    """The tree of any YAML text, read by ruamel.yaml (YAML 1.2); syntax errors and
    duplicate keys become a ConfigError with the line and column ruamel.yaml gives."""
    from ruamel.yaml.error import MarkedYAMLError, YAMLError

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


