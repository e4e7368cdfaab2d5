"""Compiled lexicons cached on disk, so a process starts in a fraction of a second.

Compiling the taxonomy (validating three YAML files, expanding ~800 patterns,
building the Aho-Corasick automaton) takes about a second, and every command
that scores pays it before doing anything: a ``poll --once`` of one dead feed
spent most of its time there. The compiled :class:`~pipeline.signals.Lexicon`
is therefore pickled once into the user's cache directory and loaded (~50 ms)
by the next process.

* **Key**: a SHA-256 of the data files' bytes (taxonomy, gazetteer, watchlist,
  the language's lexicon) and of the code that compiles them (every module of
  ``pipeline/signals/``, and ``pipeline/lexicons.py``: the callers list them),
  the package version, the Python version and pyahocorasick's; any change builds
  a new entry, and older entries of the same lexicon are removed when it is
  written. Nothing is ever read stale.
* **Concurrent first runs**: each writer writes its own temporary file in the
  cache directory and renames it into place (atomic on POSIX); two processes
  starting at once both compile, and either result is the same.
* **Safety**: pickle runs code when loaded, so an entry is read only from a
  directory this user owns that no one else can write to, and only when the
  file is this user's; anything else (a corrupt file, an unreadable or
  unwritable directory, a read-only home) compiles in memory as before, with a
  debug log line. The directory is ``$ESCALATION_WATCH_CACHE_DIR``, else
  ``$XDG_CACHE_HOME/escalation-watch``, else ``~/.cache/escalation-watch``;
  ``ESCALATION_WATCH_CACHE_DIR=off`` turns the cache off.

Owns: the cache directory and its files. Must not touch: what a lexicon holds
(pipeline.signals, pipeline.lexicons build it; this module only stores it).
"""

from __future__ import annotations

import hashlib
import logging
import os
import pickle
import stat
import sys
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TypeVar

__all__ = ["cache_dir", "cached", "private_cache_subdir"]

log = logging.getLogger(__name__)

T = TypeVar("T")
#: bump when what is pickled changes shape in a way the package version does not say
CACHE_FORMAT = "1"
OFF = "off"


def cache_dir() -> Path | None:
    """Where compiled lexicons are kept; None when the cache is turned off."""
    env = os.environ.get("ESCALATION_WATCH_CACHE_DIR")
    if env is not None:
        return None if env.strip().lower() in (OFF, "") else Path(env)
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg) if xdg else Path.home() / ".cache"
    return base / "escalation-watch"


def _private_cache_dir() -> Path | None:
    """:func:`cache_dir`, created, when the cache is on and this user alone can write to
    it; else None (the caller then works without a disk cache)."""
    directory = cache_dir()
    if directory is None:
        return None
    try:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        if _private_dir(directory):
            return directory
        log.debug("cache directory writable by others, not used", extra={"path": str(directory)})
    except OSError as e:
        log.debug("cache directory unusable", extra={"path": str(directory), "error": repr(e)})
    return None


def private_cache_subdir(name: str) -> Path | None:
    """``cache_dir() / name``, created, under the same conditions as the cache itself."""
    directory = _private_cache_dir()
    if directory is None:
        return None
    try:
        sub = directory / name
        sub.mkdir(mode=0o700, exist_ok=True)
        return sub if _private_dir(sub) else None
    except OSError as e:
        log.debug("cache directory unusable", extra={"path": str(directory), "error": repr(e)})
        return None


def _key(sources: Iterable[Path]) -> str:
    import ahocorasick

    from . import __version__

    h = hashlib.sha256()
    for part in (CACHE_FORMAT, __version__, sys.version, str(getattr(ahocorasick, "__version__", ""))):
        h.update(part.encode() + b"\0")
    for path in sources:
        h.update(path.name.encode() + b"\0")
        h.update(path.read_bytes())
        h.update(b"\0")
    return h.hexdigest()[:32]


def _private_dir(path: Path) -> bool:
    """Does this user own ``path``, with no one else allowed to write in it?"""
    st = path.stat()
    return stat.S_ISDIR(st.st_mode) and st.st_uid == os.geteuid() and not st.st_mode & (stat.S_IWGRP | stat.S_IWOTH)


def _read(path: Path) -> object | None:
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except FileNotFoundError:
        return None
    with os.fdopen(fd, "rb") as f:
        st = os.fstat(f.fileno())
        if st.st_uid != os.geteuid() or st.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
            log.debug("lexicon cache entry not ours, ignored", extra={"path": str(path)})
            return None
        return pickle.load(f)


def _write(directory: Path, name: str, target: Path, value: object) -> None:
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{name}-", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            pickle.dump(value, f, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    for old in directory.glob(f"{name}-*.pickle"):
        if old != target:
            old.unlink(missing_ok=True)


def cached(
    name: str,
    sources: Iterable[Path],
    build: Callable[[], T],
    *,
    before_store: Callable[[T], T] = lambda v: v,
    after_load: Callable[[T], T] = lambda v: v,
) -> T:
    """``build()``, or its cached result for these ``sources``.

    ``before_store`` makes the value picklable (drops what cannot be pickled, such
    as a lemmatiser); ``after_load`` puts it back. Both also run on a freshly built
    value, so a cached and a built value are the same thing.
    """
    directory = _private_cache_dir()
    if directory is None:
        return build()
    sources = [Path(p) for p in sources]
    try:
        target = directory / f"{name}-{_key(sources)}.pickle"
    except OSError as e:  # a data file unreadable: the build will say so
        log.debug("lexicon cache key failed", extra={"error": str(e)})
        return build()
    try:
        value = _read(target)
        if value is not None:
            return after_load(value)  # type: ignore[arg-type]
    except Exception as e:  # noqa: BLE001 - a corrupt or unreadable entry: compile instead
        log.debug("lexicon cache unreadable, compiling", extra={"path": str(target), "error": repr(e)})
    fresh = before_store(build())
    try:
        _write(directory, name, target, fresh)
    except Exception as e:  # noqa: BLE001 - read-only home, full disk: the cache is an optimisation
        log.debug("lexicon cache not written", extra={"path": str(target), "error": repr(e)})
    return after_load(fresh)
