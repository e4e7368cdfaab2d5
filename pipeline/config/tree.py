"""The YAML tree the validator reads: plain dicts and lists that know where each part starts.

Owns :class:`YamlMapping` and :class:`YamlSequence`, a ``dict`` and a ``list``
that also carry the 0-based ``(line, column)`` at which the node, each key,
each value and each item starts, so a field path can be turned into
``file:line:col``. Both parsers in loader.py build this tree, whichever read
the file; the validator reads nothing else. It must not touch files, YAML
libraries or validation rules: it is the plain data between them.
"""

from __future__ import annotations

from typing import Any

#: 0-based (line, column) of a node's first character, as YAML parsers count
Position = tuple[int, int]


class YamlMapping(dict):  # type: ignore[type-arg]
    """A YAML mapping: its items, and where it, each key and each value start."""

    __slots__ = ("start", "key_starts", "value_starts")

    def __init__(self, start: Position | None):
        super().__init__()
        self.start = start
        self.key_starts: dict[Any, Position] = {}
        self.value_starts: dict[Any, Position] = {}

    def key_start(self, key: Any) -> Position | None:
        """Where ``key`` starts (the mapping's start for a key with no recorded place)."""
        return self.key_starts.get(key, self.start)

    def value_start(self, key: Any) -> Position | None:
        """Where the value of ``key`` starts; for an empty or null value, where its key
        starts: parsers put an empty value where the next token begins, often the
        next line, which would point the reader at the wrong entry."""
        if self.get(key) is None or key not in self.value_starts:
            return self.key_start(key)
        return self.value_starts[key]


class YamlSequence(list):  # type: ignore[type-arg]
    """A YAML sequence: its items, and where it and each item start."""

    __slots__ = ("start", "item_starts")

    def __init__(self, start: Position | None):
        super().__init__()
        self.start = start
        self.item_starts: list[Position | None] = []

    def item_start(self, index: int) -> Position | None:
        """Where item ``index`` starts (the sequence's start if unknown)."""
        if 0 <= index < len(self.item_starts) and self.item_starts[index] is not None:
            return self.item_starts[index]
        return self.start

    def append_at(self, item: Any, start: Position | None) -> None:
        self.append(item)
        self.item_starts.append(start)


def start_of(node: Any) -> Position | None:
    """Where a mapping or sequence of the tree starts; None for a scalar (no place kept)."""
    return getattr(node, "start", None)
