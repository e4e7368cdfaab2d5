"""feeds.yaml: load and validate it, edit it safely, move it to and from OPML.

This package is the config stage's facade: callers import the names in
``__all__`` from ``pipeline.config`` (and ``ConfigError``, ``FeedsConfig``,
``FeedSpec``, ``Settings`` as before); the modules behind it are private.

Loading (loader.py, validator.py, tree.py)
    ``load(path)`` / ``loads(text)`` return a frozen :class:`FeedsConfig` or raise
    one :class:`ConfigError` listing every problem, sorted by line::

        feeds.yaml:14:5: feeds[3].interval: must be at least 60 seconds (got 5)

    Field paths index feeds from 0 (``feeds[0]`` is the first entry); lines and
    columns count from 1, like editors do. The loader reads the file into a tree
    of plain dicts and lists that keep each key's and value's position
    (tree.py); the validator reads only that tree.

    YAML is read as ruamel.yaml reads it (YAML 1.2: ``yes`` and ``on`` are
    strings, ``1:30`` too, ``0o17`` is 15). ruamel.yaml is pure Python and slow
    (about 1.5 s per 1,000 feeds), so the loader reads with libyaml (PyYAML's C
    composer, node positions included) and resolves plain scalars itself with
    ruamel.yaml's YAML 1.2 rules, not PyYAML's 1.1 ones. What libyaml might read
    otherwise, or what ruamel.yaml turns into no plain value (tabs, unusual line
    breaks and control characters, directives, anchors, explicit tags, merge
    keys, timestamps, complex keys) and every YAML error (syntax, duplicate
    keys) go to ruamel.yaml, so those files read, and those messages read, as
    they always did.

Decisions (validator.py)
    * Unknown keys are errors, with "did you mean" from difflib or a table of
      common synonyms (``title`` -> ``name``).
    * Duplicate URLs are errors; URLs are compared after lower-casing scheme and
      host, dropping a default port, the fragment and a trailing slash.
    * Duplicate names are errors too (compared case-insensitively): the
      dashboard lists feeds by name, and two "BBC" rows cannot be told apart.
    * ``interval`` is whole seconds (``900``) or a duration (``"15m"``,
      ``"1h30m"``, ``"90s"``, ``"2d"``).
    * An explicit null is an error for ``name``, ``url``, ``interval`` and
      ``enabled``; for ``tags``, ``language`` and ``user_agent`` it means "none".

Editing, the dashboard's feed editor (editor.py)
    ``add_feed``, ``add_feeds``, ``update_feed``, ``remove_feed``,
    ``set_enabled``: each takes ``path + ".lock"`` (fcntl.flock), reads the file,
    refuses to touch it if it is already invalid, applies the change on
    ruamel.yaml's round-trip tree (comments and order kept), validates the
    result with the same validator, checks that nobody saved the file meanwhile
    (retrying once), then writes a temporary file in the same directory, fsyncs
    it, keeps the file mode and ``os.replace``\\ s it over the original. A text
    editor does not take the lock; the content check is what catches it.
    Comments directly above a removed feed go with it; other comments stay.

OPML (opml.py)
    ``to_opml(config)`` writes OPML 2.0 (tags become a ``category`` list);
    ``from_opml(text)`` returns spec dicts for ``add_feeds``. The XML is parsed
    with expat with every DOCTYPE and entity declaration refused, so entity
    bombs and external entities never expand.

Must not touch: the store, the network.
"""

from __future__ import annotations

# the records of this stage, importable from here as they always were (not in __all__)
from ..errors import ConfigError, ConfigProblem  # noqa: F401
from ..types import FeedsConfig, FeedSpec, Settings  # noqa: F401
from .editor import add_feed, add_feeds, remove_feed, set_enabled, update_feed
from .loader import load, loads
from .opml import from_opml, to_opml
from .validator import FEED_KEYS, normalize_url, parse_interval, validate_url

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
