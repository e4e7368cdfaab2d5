"""The signal data files, compiled into one automaton, and the raw scan of a text.

Three data files drive the scorer (all in ``pipeline/data``): ``taxonomy.yaml``
(categories, patterns, modality cues, weights), ``gazetteer.yaml`` (actor names
-> codes) and ``watchlist.yaml`` (the theatres). :func:`load_lexicon` validates
them (one :class:`ConfigError` listing every problem with its line) and
compiles every phrase, cue and actor name into a single Aho-Corasick automaton,
once per process; :func:`scan` runs it over one text and returns raw matches
with character spans. The judgement (modality, actors, weights) is in
:mod:`pipeline.score`.

The work is in three modules, each importable alone:

* :mod:`~pipeline.signals.patterns`: the pattern syntax and :func:`normalise`;
* :mod:`~pipeline.signals.data_files`: reading and validating the three files;
* :mod:`~pipeline.signals.lexicon`: the compiled :class:`Lexicon` and the scan.

Owns: re-exporting the names callers use, so ``from pipeline.signals import X``
works as it did when this was one module. Must not touch: anything else; the
code lives in the modules above. Pure: no clock, no network, no database.
"""

from __future__ import annotations

from .data_files import (
    ACTOR_CONTEXTS,
    CUE_TYPES,
    DATA_DIR,
    DIRECTIONS,
    GAZETTEER_PATH,
    KINDS,
    MODALITIES,
    OPTIONAL_CUE_TYPES,
    TAXONOMY_PATH,
    WATCHLIST_PATH,
    Category,
    Theatre,
    category_labels,
    load_gazetteer,
    load_taxonomy,
    load_watchlist,
)
from .lexicon import (
    ACTOR,
    CUE,
    LEXICON_SOURCES,
    TRIGGER,
    Lexicon,
    Pattern,
    Scan,
    compile_lexicon,
    load_lexicon,
    scan,
)
from .patterns import expand, normalise, pattern_parts

__all__ = [
    "ACTOR",
    "ACTOR_CONTEXTS",
    "CUE",
    "CUE_TYPES",
    "DATA_DIR",
    "DIRECTIONS",
    "GAZETTEER_PATH",
    "KINDS",
    "LEXICON_SOURCES",
    "MODALITIES",
    "OPTIONAL_CUE_TYPES",
    "TAXONOMY_PATH",
    "TRIGGER",
    "WATCHLIST_PATH",
    "Category",
    "Lexicon",
    "Pattern",
    "Scan",
    "Theatre",
    "category_labels",
    "compile_lexicon",
    "expand",
    "load_gazetteer",
    "load_lexicon",
    "load_taxonomy",
    "load_watchlist",
    "normalise",
    "pattern_parts",
    "scan",
]
