"""Editing feeds.yaml in place, as the dashboard's feed editor does: comments and order kept.

Owns the edit verbs (``add_feed``, ``add_feeds``, ``update_feed``,
``set_enabled``, ``remove_feed``) and what makes them safe: the lock file
(``path + ".lock"``, fcntl.flock), the check that nobody saved the file while
it was being changed, and the atomic write (temporary file in the same
directory, fsync, file mode kept, ``os.replace``). Changes are made on
ruamel.yaml's round-trip tree, so comments, order and quoting survive; every
result is validated by the same rules as ``load`` before it is written. It
must not decide what is valid (validator.py) nor read the file any other way
than loader.py does.
"""

from __future__ import annotations

import contextlib
import copy
import fcntl
import io
import os
import re
import stat
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from ..errors import ConfigError
from ..types import FeedsConfig
from . import loader
from .validator import FEED_KEYS, normalize_url

if TYPE_CHECKING:
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

# ruamel.yaml is imported by the functions that build round-trip nodes: loading
# feeds.yaml does not need it, and would otherwise pay its import (~40 ms).

#: how long an edit waits for another editor's lock before giving up
_LOCK_TIMEOUT_S = 10.0


# --------------------------------------------------------------------------- the verbs


def add_feeds(path: str | os.PathLike[str], specs: Iterable[Mapping[str, Any]]) -> FeedsConfig:
    """Append feeds (dicts with the YAML keys: name, url, interval, ...) in one write."""
    from ruamel.yaml.comments import CommentedSeq

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
    shown_path = os.fspath(path)

    def change(doc: CommentedMap) -> None:
        entry = doc["feeds"][_find_feed(doc, url, shown_path)]
        for key, value in changes.items():
            if value is None:
                entry.pop(key, None)
            elif key in entry:
                entry[key] = _as_yaml_value(key, value)
            else:
                rank = FEED_KEYS.index(key) if key in FEED_KEYS else len(FEED_KEYS)
                at = sum(1 for k in entry if k in FEED_KEYS and FEED_KEYS.index(k) < rank)
                old_last = list(entry)[-1] if entry else None
                entry.insert(at, key, _as_yaml_value(key, value))
                if old_last is not None and list(entry)[-1] == key:
                    _move_following_comments(entry, old_last, key)

    return _edit(path, change)


def set_enabled(path: str | os.PathLike[str], url: str, enabled: bool) -> FeedsConfig:
    return update_feed(path, url, {"enabled": bool(enabled)})


def remove_feed(path: str | os.PathLike[str], url: str) -> FeedsConfig:
    """Delete the feed with this URL; comments below it (section headers) are kept."""
    shown_path = os.fspath(path)

    def change(doc: CommentedMap) -> None:
        feeds = doc["feeds"]
        i = _find_feed(doc, url, shown_path)
        following = _detach_following_comments(feeds[i])
        del feeds[i]
        if following is not None:
            _reattach_comments(feeds, i, following)

    return _edit(path, change)


# --------------------------------------------------------------------------- one edit


def _edit(path: str | os.PathLike[str], change: Callable[[CommentedMap], None]) -> FeedsConfig:
    """Lock, read, check, change, validate, re-check, write atomically (see module doc)."""
    shown_path = os.fspath(path)
    real_path = os.path.realpath(shown_path)  # replace a symlink's target, not the link
    with _locked(real_path):
        for _attempt in range(2):
            raw = loader.read_bytes(real_path)
            text = loader.decode(raw, shown_path)
            loader.loads(text, shown_path)  # a bad file is never rewritten
            mapping, sequence, offset = _guess_indent(text)
            yaml = loader.round_trip_yaml()
            yaml.indent(mapping=mapping, sequence=sequence, offset=offset)
            doc = yaml.load(text.removeprefix("\ufeff"))
            change(doc)
            out = io.StringIO()
            yaml.dump(doc, out)
            new_text = out.getvalue()
            config = loader.loads(new_text, shown_path)
            if loader.read_bytes(real_path) != raw:
                continue  # saved by someone else meanwhile (a text editor): start over
            data = new_text.encode("utf-8")
            if b"\r\n" in raw:
                data = data.replace(b"\n", b"\r\n")
            if raw.startswith(b"\xef\xbb\xbf"):
                data = b"\xef\xbb\xbf" + data
            _atomic_write(real_path, data)
            return config
    raise ConfigError(
        "changed on disk while being edited (saved by another program); reload and try again",
        path=shown_path,
    )


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


# --------------------------------------------------------------------------- entries and comments


def _as_yaml_value(key: str, value: Any) -> Any:
    """What the round-trip tree holds for a spec value: tags as a flow list ``[a, b]``."""
    if key == "tags" and isinstance(value, list | tuple):
        from ruamel.yaml.comments import CommentedSeq

        seq = CommentedSeq(list(value))
        seq.fa.set_flow_style()
        return seq
    return value


def _new_entry(spec: Mapping[str, Any]) -> CommentedMap:
    from ruamel.yaml.comments import CommentedMap

    entry = CommentedMap()
    ordered = [k for k in FEED_KEYS if k in spec] + [k for k in spec if k not in FEED_KEYS]
    for key in ordered:
        if spec[key] is not None:
            entry[key] = _as_yaml_value(key, spec[key])
    return entry


def _find_feed(doc: Any, url: str, path: str) -> int:
    feeds = doc.get("feeds") if isinstance(doc, Mapping) else None
    target = normalize_url(url)
    for i, item in enumerate(feeds or ()):
        if isinstance(item, Mapping) and isinstance(item.get("url"), str):
            if normalize_url(item["url"]) == target:
                return i
    raise ConfigError(f"no feed with url {url}", path=path)


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


def _detach_following_comments(entry: Any) -> Any:
    """The comment lines after a feed about to be removed (a section header for the
    next feed), cut from it; None if there are none. ruamel attaches them to the
    entry's last key, after that key's own end-of-line comment, which goes."""
    from ruamel.yaml.comments import CommentedMap

    if not isinstance(entry, CommentedMap) or not entry:
        return None
    slot = entry.ca.items.get(list(entry)[-1])
    if not slot or len(slot) <= 2 or slot[2] is None:
        return None
    token = slot[2]
    tail = token.value.split("\n", 1)[1] if "\n" in token.value else ""
    if not tail.strip():
        return None
    token.value = "\n" + tail
    return token


def _reattach_comments(feeds: CommentedSeq, i: int, token: Any) -> None:
    """Put comment lines cut from removed feed ``i`` after the feed before it, or,
    when the removed feed was the first, above the new first feed."""
    from ruamel.yaml.comments import CommentedMap

    if i > 0 and isinstance(feeds[i - 1], CommentedMap) and feeds[i - 1]:
        prev = feeds[i - 1]
        slot = prev.ca.items.setdefault(list(prev)[-1], [None, None, None, None])
        if slot[2] is None:
            slot[2] = token
        else:
            slot[2].value = slot[2].value.rstrip("\n") + "\n" + token.value.lstrip("\n")
    elif i < len(feeds):
        token.value = token.value.lstrip("\n")
        slot = feeds.ca.items.setdefault(i, [None, [], None, None])
        if slot[1] is None:
            slot[1] = []
        slot[1].insert(0, token)
