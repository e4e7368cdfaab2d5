"""The compiled lexicon: one Aho-Corasick automaton over every phrase, cue and actor name.

:func:`compile_lexicon` takes what :mod:`pipeline.signals.data_files` read from
the three data files and adds every literal of every pattern, modality cue,
context phrase and actor name to a single automaton; :func:`load_lexicon` does
that once per process (and once per machine, through
:mod:`pipeline.lexicon_cache`). :func:`scan` runs the automaton over one text
and returns raw matches with character spans; the judgement (modality, actors,
weights) is in :mod:`pipeline.score`.

The automaton runs over :func:`~pipeline.signals.patterns.normalise` of the
text, padded with one space at each end, and its keys carry their own spaces
(`` troops ``), so only whole words match and no per-match boundary check is
needed.

Owns: :class:`Lexicon`, :class:`Pattern`, :class:`Scan`, the automaton's entries
and the scan. Must not touch: the files' format and messages (data_files), the
judgement (pipeline.score). Pure: no clock, no network, no database.
"""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ahocorasick

from .data_files import (
    GAZETTEER_PATH,
    TAXONOMY_PATH,
    WATCHLIST_PATH,
    Category,
    Theatre,
    load_gazetteer,
    load_taxonomy,
    load_watchlist,
)
from .patterns import _NORMALISE, normalise, pattern_parts

# words that open a new clause: cues in one clause do not reach the next
_CLAUSE_CUES = ("but", "while", "whereas", "although", "though", "yet")

# automaton entry kinds
TRIGGER, CUE, ACTOR = 0, 1, 2

#: what load_taxonomy returns that a Lexicon holds as it is, under the same name
_TAXONOMY_FIELDS = (
    "categories", "modality_weights", "score_scale", "repeat_decay", "max_gap_words", "negation_window_words",
    "threat_window_words", "gate_floor", "rescue_contexts", "veto_lifted_by", "strict_vetoes", "headline_vetoes",
    "article_vetoes",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Pattern:
    """One taxonomy pattern: 1 part, or several parts joined by `` .. `` gaps."""

    category: str
    source: str
    n_parts: int


@dataclass(slots=True)
class Scan:
    """Raw matches in one text; spans index the original text."""

    text: str
    #: (start, end, pattern_index, part_index)
    parts: list[tuple[int, int, int, int]]
    #: (start, end, cue_type, flag)
    cues: list[tuple[int, int, str, str | None]]
    #: (start, end, actor_code)
    actors: list[tuple[int, int, str]]
    #: the normalised text the automaton ran over (padded with a space at each end)
    norm: str = ""


@dataclass(frozen=True)
class Lexicon:
    taxonomy_version: str
    categories: dict[str, Category]
    patterns: tuple[Pattern, ...]
    modality_weights: dict[str, float]
    score_scale: float
    repeat_decay: float
    max_gap_words: int
    negation_window_words: int
    threat_window_words: int
    theatres: tuple[Theatre, ...]
    default_theatre: str
    actor_codes: frozenset[str]
    automaton: Any
    gazetteer_version: str = ""
    watchlist_version: str = ""
    #: the watchlist's ``allies``: blocs of actor codes, and the de-escalation categories
    #: that do not count between two members of one bloc ("Zelenskyy meets a US delegation")
    blocs: tuple[frozenset[str], ...] = ()
    allied_categories: frozenset[str] = frozenset()
    #: context names (taxonomy ``contexts``), matched as cues of type "context"
    contexts: frozenset[str] = frozenset()
    #: below this relevance-gate probability nothing in the text counts
    gate_floor: float = 0.2
    #: contexts that let a signal count when the gate is between the floor and its threshold
    rescue_contexts: frozenset[str] = frozenset()
    #: contexts that lift a category's ``vetoed_by``
    veto_lifted_by: frozenset[str] = frozenset()
    #: vetoes that only their own contexts lift (a court's sentence is not lifted by the
    #: word "militant" in it, only by a political target: opposition, journalists ...)
    strict_vetoes: dict[str, frozenset[str]] = dataclasses.field(default_factory=dict)
    #: vetoes that reach every sentence when found in the headline ("Hurricane Ivan
    #: batters Grand Cayman. ... Ivan has killed at least 60 people": the storm's dead)
    headline_vetoes: frozenset[str] = frozenset()
    #: vetoes that reach every sentence when found anywhere in a text that has no
    #: ``veto_lifted_by`` context at all
    article_vetoes: frozenset[str] = frozenset()
    # --- the language of the words (pipeline.lexicons for Russian and Ukrainian) ---
    language: str = "en"
    #: word -> lemma; None: match the normalised surface text (English)
    lemma: Any = None
    #: (word form, lemma) pairs the lexicon fixes over the dictionary (see pipeline.lexicons)
    lemma_overrides: tuple[tuple[str, str], ...] = ()
    #: words that, after a comma, open a new clause (", which", ", and")
    comma_clause_words: frozenset[str] = frozenset(
        "and as after before when amid which who since because despite".split())
    #: what may follow a negation cue without negating the signal after it ("not only ...
    #: but also"; "will not give in to threats", "would not dare attack": the refusal is of
    #: the giving in, the threat stands)
    negation_exempt_after: tuple[str, ...] = (" only", " give in", " bow to", " yield to", " be intimidated",
                                              " be cowed", " be blackmailed", " dare")
    #: what, after a negation, keeps an option open instead of negating ("did not rule out
    #: sending troops", "не исключил удара"): the signal after it is hedged, not negated
    negation_keeps_open: tuple[str, ...] = (" rule out", " ruled out", " rule it out", " rule that out",
                                            " rule anything out", " exclude", " excluded", " excluding")
    #: what may follow a clause word without opening a clause ("but also")
    clause_continuations: tuple[str, ...] = (" also",)
    #: negations that refuse nothing by themselves ("no deal yet" is negated, not a refusal)
    bare_negations: frozenset[str] = frozenset({"not", "no", "never", "without", "nor", "neither"})
    #: "any invasion would ...": the words before and after a hypothesis
    any_words: frozenset[str] = frozenset({"any"})
    hypothesis_words: tuple[str, ...] = (" would ", " will ", " could ", " would,", " will,")
    #: words that open a reported clause ("said that ...", "заявил, что ..."): the actors
    #: before one are the speaker's side, not the doer and the done-to of what follows
    complementizers: frozenset[str] = frozenset()
    #: words that join the two parties of a talk, deal or truce ("Russia and Ukraine agreed")
    conjunctions: frozenset[str] = frozenset({"and"})
    #: endings of a trigger's first word that mark the future (Ukrainian "атакуватиме"),
    #: and words right before it that do ("будут наступать"): a future act is threatened,
    #: as English "will" makes it
    future_suffixes: tuple[str, ...] = ()
    future_auxiliaries: frozenset[str] = frozenset()
    #: a refused de-escalation ("refused to withdraw") is the category's ``negated_variant``, a
    #: (mild) escalation; False: it stays a negated de-escalation, as news_tuning/GUIDE.md's
    #: "ruled out" (the Russian and Ukrainian lexicons; see their files)
    refusal_escalates: bool = True
    #: endings of a past-tense verb: "заявили, что не атаковали" denies a deed (see modality)
    past_suffixes: tuple[str, ...] = ()

    def scan(self, text: str) -> Scan:
        if self.lemma is not None:
            from ..lexicons import scan_lemmas

            return scan_lemmas(self, text)
        return scan(self, text)


# --- compile -----------------------------------------------------------------


def _key(literal: str) -> tuple[str, bool]:
    """Automaton key for one literal; ``word*`` is a prefix match (no end space)."""
    prefix = literal.endswith("*")
    if prefix:
        literal = literal[:-1]
    norm = " ".join(normalise(literal).split())
    return (" " + norm + ("" if prefix else " ")), prefix


def _add(auto: Any, key: str, entry: tuple) -> None:
    existing = auto.get(key, None)
    if existing is None:
        auto.add_word(key, [entry])
    elif entry not in existing:
        existing.append(entry)


def compile_lexicon(
    taxonomy_path: Path = TAXONOMY_PATH,
    gazetteer_path: Path = GAZETTEER_PATH,
    watchlist_path: Path = WATCHLIST_PATH,
) -> Lexicon:
    tax = load_taxonomy(Path(taxonomy_path))
    gaz = load_gazetteer(Path(gazetteer_path))
    actor_codes = frozenset(gaz["forms"].values())
    wl = load_watchlist(Path(watchlist_path), actor_codes)

    auto = ahocorasick.Automaton()
    patterns: list[Pattern] = []
    for cat in tax["categories"].values():
        for src in cat.patterns:
            parts = pattern_parts(src)
            pid = len(patterns)
            patterns.append(Pattern(cat.id, src, len(parts)))
            for part_idx, lits in enumerate(parts):
                for lit in lits:
                    key, prefix = _key(lit)
                    # entry: (TRIGGER, key length, prefix, pattern id, part index)
                    _add(auto, key, (TRIGGER, len(key), prefix, pid, part_idx))
    # modality cues, and context phrases as cues of type "context" flagged with their name
    cue_lists = [(t, None, lst) for t, lst in tax["cues"].items()]
    cue_lists += [("context", name, lst) for name, lst in tax["contexts"].items()]
    for cue_type, name, cue_list in cue_lists:
        for src in cue_list:
            for lits in pattern_parts(src):
                for lit in lits:
                    key, prefix = _key(lit)
                    flag = name
                    if cue_type == "hedged" and lit == "may":
                        flag = "lower"  # "May" is the month
                    elif cue_type == "conditional" and lit == "should":
                        flag = "clause_start"
                    _add(auto, key, (CUE, len(key), prefix, cue_type, flag))
    for word in _CLAUSE_CUES:  # clause boundaries for pipeline.score
        _add(auto, " " + word + " ", (CUE, len(word) + 2, False, "clause", None))
    exact = gaz["exact_case"]
    for form, code in gaz["forms"].items():
        key, _ = _key(form)
        # exact: the original must equal the form (letters/digits, case kept);
        # capital: a capitalised form must start with a capital in the text
        check = form.translate(_NORMALISE).split() if form in exact else None
        _add(auto, key, (ACTOR, len(key), False, code, (" ".join(check) if check else None, form[:1].isupper())))
    auto.make_automaton()
    return Lexicon(
        taxonomy_version=tax["version"],
        patterns=tuple(patterns),
        theatres=wl["theatres"],
        default_theatre=wl["default"],
        actor_codes=actor_codes,
        automaton=auto,
        gazetteer_version=gaz["version"],
        watchlist_version=wl["version"],
        blocs=wl["blocs"],
        allied_categories=wl["allied_categories"],
        contexts=frozenset(tax["contexts"]),
        **{name: tax[name] for name in _TAXONOMY_FIELDS},
    )


#: what a compiled lexicon depends on: the data files and the code that reads and
#: compiles them. That code is every module of this subpackage (data_files validates
#: and builds the categories, patterns normalises the keys, this module compiles), so
#: all of them are listed: editing any one builds a new cache entry (pipeline.lexicon_cache).
LEXICON_SOURCES = (TAXONOMY_PATH, GAZETTEER_PATH, WATCHLIST_PATH, *sorted(Path(__file__).parent.glob("*.py")))


@functools.lru_cache(maxsize=1)
def _english_lexicon() -> Lexicon:
    """compile_lexicon(), cached on disk between processes (pipeline.lexicon_cache)."""
    from ..lexicon_cache import cached

    return cached("lexicon-en", LEXICON_SOURCES, compile_lexicon)


def load_lexicon(language: str | None = None) -> Lexicon:
    """The packaged lexicon of ``language`` (English when None), validated and compiled
    once per process; Russian and Ukrainian come from pipeline.lexicons."""
    if language is None or language == "en":
        return _english_lexicon()
    from ..lexicons import language_lexicon

    return language_lexicon(language)


# --- scan ----------------------------------------------------------------------


def scan(lex: Lexicon, text: str) -> Scan:
    """Every trigger part, modality cue and actor name in ``text`` (whole words)."""
    norm = " " + normalise(text) + " "
    parts: list[tuple[int, int, int, int]] = []
    cues: list[tuple[int, int, str, str | None]] = []
    actors: list[tuple[int, int, str]] = []
    n = len(text)
    # a later part of a gapped pattern only matters after its first part
    first_seen: set[int] = set()
    for end_idx, entries in lex.automaton.iter(norm):
        for kind, klen, prefix, a, b in entries:
            if kind == TRIGGER:
                if not b:
                    first_seen.add(a)  # (one-part patterns too: only later parts ask)
                elif a not in first_seen:
                    continue
            # key " word " ends on the space after the word at norm index end_idx,
            # i.e. text index end_idx - 1; the word starts at text index start
            start = end_idx - klen + 1
            if prefix:
                end = end_idx
                while end < n and norm[end + 1] != " ":
                    end += 1
            else:
                end = end_idx - 1
            if kind == TRIGGER:
                parts.append((start, end, a, b))
            elif kind == CUE:
                if b == "lower" and text[start:end] != "may":
                    continue
                cues.append((start, end, a, b))
            else:
                exact, capital = b
                if exact is not None:
                    if " ".join(text[start:end].translate(_NORMALISE).split()) != exact:
                        continue
                elif capital and not text[start].isupper():
                    continue
                actors.append((start, end, a))
    return Scan(text, parts, cues, actors, norm)
