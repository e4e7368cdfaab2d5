"""Russian and Ukrainian lexicons: the same taxonomy, matched on lemmas.

One taxonomy (``taxonomy.yaml``: categories, weights, variants, modality
weights, relevance rules, the watchlist) serves every language; what changes per
language is the words. ``pipeline/data/lexicon/<code>.yaml`` gives, for the
language ``<code>``, the phrase patterns of each category (same ids), the
modality cues, the context phrases, the actor names and the few clause words
the scorer needs, in the taxonomy's pattern syntax. :func:`compile_language`
turns one file into a :class:`~pipeline.signals.Lexicon` that
:func:`pipeline.score.score_text` uses unchanged.

Russian and Ukrainian inflect: "обстреляли", "обстрелов" and "обстрел" are one
word to an analyst. Matching therefore runs on lemmas: the text is cut into
words, each word is lemmatised (simplemma's dictionaries, cached per word), and
the automaton runs over the lemma string; every pattern word was lemmatised the
same way when the lexicon was compiled, so a pattern may be written in any form
("войска" and "войск" both become "войско"). ``stem*`` is a prefix of a lemma
("мобилиз*": мобилизация, мобилизовать). Spans map back to the original words,
so evidence points into the text as published.

Why simplemma: MIT code, dictionaries under open licences that allow any use
(ODbL, CC BY-SA, CC BY; see its ``licenses``), both languages in one pure-Python
package, about 1.4 microseconds a word. pymorphy3 with pymorphy3-dicts-ru is the
better Russian analyser but ~170 microseconds a word uncached, and
pymorphy3-dicts-uk is compiled from VESUM, whose data is CC BY-NC-SA 4.0: not
usable by a tool that commercial risk desks run.

Owns: the language files' format, their validation and the lemma scan. Must not
touch: the judgement (pipeline.score), the English taxonomy file.
"""

from __future__ import annotations

import dataclasses
import functools
import re
from bisect import bisect_right
from pathlib import Path
from typing import Any, Callable

import ahocorasick

from .signals import (
    ACTOR,
    CUE,
    CUE_TYPES,
    DATA_DIR,
    TRIGGER,
    Lexicon,
    Pattern,
    Scan,
    load_lexicon,
    pattern_parts,
)
# the YAML reader, problem list and automaton helper of the English files, shared
from .signals.data_files import _check_cue, _check_pattern, _line, _load_yaml, _Problems, _str_list
from .signals.lexicon import _add

__all__ = ["LEXICON_DIR", "compile_language", "language_lexicon", "lemmatizer", "scan_lemmas"]

LEXICON_DIR = DATA_DIR / "lexicon"

#: a word: letters and digits, with an apostrophe inside (Ukrainian "перемир'я", "з'їзд")
_WORD = re.compile(r"[^\W_]+(?:['\u2019\u02bc`][^\W_]+)*")
_APOSTROPHES = str.maketrans({"\u2019": "'", "\u02bc": "'", "`": "'"})

_FILE_KEYS = (
    "language", "version", "clause_words", "comma_clause_words", "negation_exempt_after", "negation_keeps_open",
    "clause_continuations", "bare_negations", "any_words", "hypothesis_words", "modality_cues",
    "contexts", "actors", "lemmas", "categories", "classes", "phrase_conditionals", "complementizers",
    "future_suffixes", "future_auxiliaries", "conjunctions", "max_gap_words", "past_suffixes",
    "refusal_escalates",
)
#: ``@name`` in a pattern, cue or context phrase: one of the file's word classes
_CLASS_REF = re.compile(r"@([a-z_]+)")


@functools.lru_cache(maxsize=8)
def lemmatizer(language: str, overrides: tuple[tuple[str, str], ...] = ()) -> Callable[[str], str]:
    """word -> lower-case lemma for ``language``, cached per word form.

    ``overrides``: (lower-case word form, lemma) pairs, for forms the dictionary reads
    as another word (the lexicon's ``lemmas``: "николаев", the city, is not
    "николай", the first name).

    A lemma that does not begin like its word is distrusted and the word itself
    is kept: the dictionaries map a few frequent forms to another word ("Киев" ->
    "кий", a billiard cue; "штрафной" -> "удар"), and one such mapping would
    make every strike a penalty kick. Suppletive forms ("шёл" -> "идти") stay
    themselves too, which the lexicons, written in plain forms, never need."""
    dictionary_lemma = _dictionary_lemmatizer(language)
    fixed = dict(overrides)

    @functools.lru_cache(maxsize=262_144)
    def lemma(word: str) -> str:
        low = word.lower().translate(_APOSTROPHES)
        if low in fixed:
            return fixed[low].replace("ё", "е")
        lem = dictionary_lemma(low).lower()
        k = min(3, len(low))
        # "населённый" and "населенный" are one word: news writes ё as е as often as not
        return (lem if lem[:k] == low[:k] else low).replace("ё", "е")

    return lemma


@functools.cache
def _dictionary_lemmatizer(language: str) -> Callable[[str], str]:
    """simplemma's lemmatiser for ``language`` with its dictionary in a MARISA trie.

    simplemma's default keeps the whole dictionary in a Python dict: 1.36 million
    Russian forms, ~2.6 s to load and ~150 MB in every process that scores
    Russian. Its own ``TrieDictionaryFactory`` (the ``marisa-trie`` extra) builds a
    trie once per machine (~7 s) into our cache directory and then maps it in
    ~0.1 s at a few MB; the lookups, and so the lemmas, are the same. Without a
    private cache directory (``ESCALATION_WATCH_CACHE_DIR=off``, a shared
    directory) simplemma's low-memory stream is used: slower to open, as frugal.
    """
    from simplemma import Lemmatizer
    from simplemma.strategies import DefaultStrategy

    from .lexicon_cache import private_cache_subdir

    directory = private_cache_subdir("simplemma")
    if directory is None:
        strategy = DefaultStrategy(low_memory=True)
    else:
        strategy = DefaultStrategy(dictionary_factory=_atomic_trie_factory(directory))
    lemmatize = Lemmatizer(lemmatization_strategy=strategy).lemmatize
    return functools.partial(lemmatize, lang=language)


def _atomic_trie_factory(directory: Path) -> Any:
    """simplemma's TrieDictionaryFactory writing each trie atomically: two processes
    building at once each write their own file and rename it into place."""
    import os
    import tempfile

    from simplemma.__metadata__ import __version__ as simplemma_version
    from simplemma.strategies.dictionaries.trie_dictionary_factory import TrieDictionaryFactory

    class AtomicTrieFactory(TrieDictionaryFactory):
        __slots__ = ()

        def _write_trie_to_disk(self, lang: str, trie: Any) -> None:
            self._cache_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self._cache_dir, prefix=f".{lang}-", suffix=".tmp")
            os.close(fd)
            try:
                trie.save(tmp)
                os.replace(tmp, self._cache_dir / f"{lang}.dic")
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise

    return AtomicTrieFactory(disk_cache_dir=str(directory / simplemma_version))


def _literal_key(literal: str, lemma: Callable[[str], str]) -> tuple[str, bool]:
    """Automaton key of one pattern literal: its words lemmatised, `` a b `` ; a final
    ``stem*`` stays as written and is a prefix (no closing space)."""
    prefix = literal.endswith("*")
    words = _WORD.findall(literal[:-1] if prefix else literal)
    if prefix:
        *head, last = words
        lemmas = [lemma(w) for w in head] + [last.lower().translate(_APOSTROPHES).replace("ё", "е")]
    else:
        lemmas = [lemma(w) for w in words]
    return " " + " ".join(lemmas) + ("" if prefix else " "), prefix


def _words(node: Any, probs: _Problems, field: str, line: int | None) -> list[str]:
    return _str_list(node, probs, field, line) if node is not None else []


def _classes(doc: dict[str, Any], probs: _Problems) -> dict[str, str]:
    """The file's word classes, each as the group it stands for: ``@units`` -> "(войско|...)".

    A class is a family of words a pattern means as one (the units that move, the verbs
    of a withdrawal): written once, it reaches every pattern that names it, so a word
    added to the family reaches all of them, not only the pattern it was missed in."""
    node = doc.get("classes") or {}
    if not isinstance(node, dict):
        probs.add(_line(doc, "classes"), "classes", "must be a mapping of class name -> words")
        return {}
    out: dict[str, str] = {}
    for name, words in node.items():
        field = f"classes.{name}"
        if not _CLASS_REF.fullmatch(f"@{name}"):
            probs.add(_line(node, name), field, "a class name is lower-case letters and _")
            continue
        alts = _str_list(words, probs, field, _line(node, name))
        if any(c in w for w in alts for c in "()|@"):
            probs.add(_line(node, name), field, "a class lists plain words or stems (no groups, no classes)")
            continue
        out[str(name)] = "(" + "|".join(alts) + ")"
    return out


def _expand_classes(p: str, classes: dict[str, str], probs: _Problems, field: str, line: int | None) -> str:
    """``p`` with every ``@name`` replaced by its class's group."""
    if "@" not in p:
        return p

    def sub(m: re.Match[str]) -> str:
        if m.group(1) not in classes:
            probs.add(line, field, f"unknown class @{m.group(1)} in {p!r}")
            return m.group(0)
        return classes[m.group(1)]

    return _CLASS_REF.sub(sub, p)


def load_language_file(path: Path, english: Lexicon) -> dict[str, Any]:
    """Validate one language file against the English taxonomy (raises ConfigError)."""
    doc = _load_yaml(path)
    probs = _Problems(path)
    if not isinstance(doc, dict):
        probs.add(1, "", "must be a mapping with `language`, `version` and `categories`")
        probs.raise_if_any()
    probs.unknown_keys(doc, _FILE_KEYS, "")
    if str(doc.get("version", "")) != english.taxonomy_version:
        probs.add(_line(doc, "version") if "version" in doc else 1, "version",
                  f"must equal taxonomy.yaml's version {english.taxonomy_version!r} (one taxonomy, "
                  f"one version: bump both when either changes)")
    classes = _classes(doc, probs)
    cues: dict[str, list[str]] = {}
    node = doc.get("modality_cues") or {}
    probs.unknown_keys(node, CUE_TYPES, "modality_cues")
    for cue_type in CUE_TYPES:
        where = f"modality_cues.{cue_type}"
        cues[cue_type] = [_expand_classes(p, classes, probs, where, _line(node, cue_type))
                          for p in _words(node.get(cue_type), probs, where, _line(node, cue_type))]
        for p in cues[cue_type]:
            _check_cue(p, probs, f"modality_cues.{cue_type}", _line(node, cue_type))
    contexts: dict[str, list[str]] = {}
    node = doc.get("contexts") or {}
    probs.unknown_keys(node, tuple(sorted(english.contexts)), "contexts")
    for name in node:
        contexts[str(name)] = [_expand_classes(p, classes, probs, f"contexts.{name}", _line(node, name))
                               for p in _words(node.get(name), probs, f"contexts.{name}", _line(node, name))]
    actors: dict[str, list[str]] = {}
    node = doc.get("actors") or {}
    for code in node:
        if str(code) not in english.actor_codes:
            probs.add(_line(node, code), f"actors.{code}", "unknown actor code (codes come from gazetteer.yaml)")
        actors[str(code)] = _words(node.get(code), probs, f"actors.{code}", _line(node, code))
    lemmas: dict[str, str] = {}
    node = doc.get("lemmas") or {}
    if not isinstance(node, dict):
        probs.add(_line(doc, "lemmas"), "lemmas", "must be a mapping of word form -> lemma")
        node = {}
    for form, lem in node.items():
        if not isinstance(lem, str) or not str(form).strip() or not lem.strip():
            probs.add(_line(node, form), f"lemmas.{form}", "must map a word form to a lemma (both words)")
            continue
        lemmas[str(form).lower()] = lem.lower()
    categories: dict[str, Any] = {}
    node = doc.get("categories")
    if not isinstance(node, dict) or not node:
        probs.add(_line(doc, "categories"), "categories", "required: a mapping of category id -> patterns")
        node = {}
    for cid, cnode in node.items():
        where = f"categories.{cid}"
        if str(cid) not in english.categories:
            probs.add(_line(node, cid), where, "unknown category id (ids come from taxonomy.yaml)")
            continue
        if not isinstance(cnode, dict):
            probs.add(_line(node, cid), where, "must be a mapping with `patterns` and `examples`")
            continue
        probs.unknown_keys(cnode, ("patterns", "examples"), where)
        pats = [_expand_classes(p, classes, probs, f"{where}.patterns", _line(cnode, "patterns"))
                for p in _str_list(cnode.get("patterns"), probs, f"{where}.patterns", _line(cnode, "patterns"))]
        for p in pats:
            _check_pattern(p, probs, f"{where}.patterns", _line(cnode, "patterns"))
        ex = cnode.get("examples") or {}
        pos = _words(ex.get("positive"), probs, f"{where}.examples.positive", _line(ex, "positive"))
        neg = _words(ex.get("negative"), probs, f"{where}.examples.negative", _line(ex, "negative"))
        categories[str(cid)] = (pats, tuple(pos), tuple(neg))
    missing = sorted(set(english.categories) - set(categories))
    if missing:
        probs.add(_line(doc, "categories"), "categories", f"every category needs patterns; missing: {', '.join(missing)}")
    gap = _gap(doc, probs, english.max_gap_words)
    refusal_escalates = doc.get("refusal_escalates", english.refusal_escalates)
    if not isinstance(refusal_escalates, bool):
        probs.add(_line(doc, "refusal_escalates"), "refusal_escalates",
                  f"must be true or false (got {refusal_escalates!r})")
        refusal_escalates = english.refusal_escalates
    probs.raise_if_any()

    def words(key: str) -> list[str]:
        return [str(w) for w in (doc.get(key) or [])]

    return {"language": str(doc.get("language") or path.stem), "cues": cues, "contexts": contexts,
            "actors": actors, "lemmas": lemmas, "categories": categories, "clause_words": words("clause_words"),
            "comma_clause_words": words("comma_clause_words"),
            "negation_exempt_after": words("negation_exempt_after"),
            "negation_keeps_open": words("negation_keeps_open"),
            "clause_continuations": words("clause_continuations"),
            "bare_negations": words("bare_negations"), "any_words": words("any_words"),
            "hypothesis_words": words("hypothesis_words"), "phrase_conditionals": words("phrase_conditionals"),
            "complementizers": words("complementizers"), "future_suffixes": words("future_suffixes"),
            "future_auxiliaries": words("future_auxiliaries"), "conjunctions": words("conjunctions"),
            "max_gap_words": gap, "past_suffixes": words("past_suffixes"),
            "refusal_escalates": refusal_escalates}


def _gap(doc: dict[str, Any], probs: _Problems, default: int) -> int:
    """The file's ``max_gap_words``: Russian and Ukrainian put a destination and adjectives
    between a verb and its object ("перебросило в провинцию Фуцзянь дополнительные ракетные
    подразделения") where English puts them after it."""
    value = doc.get("max_gap_words", default)
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 10:
        probs.add(_line(doc, "max_gap_words"), "max_gap_words", f"must be a whole number from 1 to 10 (got {value!r})")
        return default
    return value


def compile_language(language: str, path: Path | None = None, english: Lexicon | None = None) -> Lexicon:
    """The lexicon of ``language`` (``ru``, ``uk``): English taxonomy, this language's words."""
    english = english or load_lexicon()
    spec = load_language_file(Path(path or LEXICON_DIR / f"{language}.yaml"), english)
    lemma = lemmatizer(spec["language"], tuple(sorted(spec["lemmas"].items())))
    auto = ahocorasick.Automaton()
    patterns: list[Pattern] = []
    categories = {}
    for cid, cat in english.categories.items():
        pats, pos, neg = spec["categories"][cid]
        categories[cid] = dataclasses.replace(cat, patterns=tuple(pats), positives=pos, negatives=neg)
        for src in pats:
            parts = pattern_parts(src)
            pid = len(patterns)
            patterns.append(Pattern(cid, src, len(parts)))
            for part_idx, lits in enumerate(parts):
                for lit in lits:
                    key, prefix = _literal_key(lit, lemma)
                    _add(auto, key, (TRIGGER, len(key), prefix, pid, part_idx))
    cue_lists = [(t, None, lst) for t, lst in spec["cues"].items()]
    cue_lists += [("context", name, lst) for name, lst in spec["contexts"].items()]
    cue_lists += [("clause", None, spec["clause_words"])]
    # "в случае нападения", "у разі удару": a condition that is a noun phrase, not a clause
    phrase_conditionals = {lit for src in spec["phrase_conditionals"] for lits in pattern_parts(src) for lit in lits}
    for cue_type, name, cue_list in cue_lists:
        for src in cue_list:
            for lits in pattern_parts(src):
                for lit in lits:
                    key, prefix = _literal_key(lit, lemma)
                    flag = "np" if cue_type == "conditional" and any(
                        lit == p or lit.startswith(p + " ") for p in phrase_conditionals) else name
                    _add(auto, key, (CUE, len(key), prefix, cue_type, flag))
    for code, forms in spec["actors"].items():
        for form in forms:
            key, _ = _literal_key(form, lemma)
            _add(auto, key, (ACTOR, len(key), False, code, (None, form[:1].isupper())))
    auto.make_automaton()

    def spaced(key: str) -> tuple[str, ...]:
        return tuple(" " + w for w in spec[key])

    return dataclasses.replace(
        english,
        categories=categories,
        patterns=tuple(patterns),
        automaton=auto,
        contexts=frozenset(spec["contexts"]),
        language=spec["language"],
        lemma=lemma,
        lemma_overrides=tuple(sorted(spec["lemmas"].items())),
        comma_clause_words=frozenset(spec["comma_clause_words"]),
        negation_exempt_after=spaced("negation_exempt_after"),
        negation_keeps_open=spaced("negation_keeps_open"),
        clause_continuations=spaced("clause_continuations"),
        bare_negations=frozenset(spec["bare_negations"]),
        any_words=frozenset(spec["any_words"]),
        hypothesis_words=tuple(f" {w}{end}" for w in spec["hypothesis_words"] for end in (" ", ",")),
        complementizers=frozenset(spec["complementizers"]),
        future_suffixes=tuple(spec["future_suffixes"]),
        future_auxiliaries=frozenset(spec["future_auxiliaries"]),
        conjunctions=frozenset(spec["conjunctions"]) or english.conjunctions,
        max_gap_words=spec["max_gap_words"],
        past_suffixes=tuple(spec["past_suffixes"]),
        refusal_escalates=spec["refusal_escalates"],
    )


@functools.lru_cache(maxsize=8)
def language_lexicon(language: str) -> Lexicon:
    """The packaged lexicon of ``language``, compiled once per process and cached on disk
    (:mod:`pipeline.lexicon_cache`; the lemmatiser is rebuilt, not pickled)."""
    from . import signals
    from .lexicon_cache import cached

    sources = [*signals.LEXICON_SOURCES, Path(__file__), LEXICON_DIR / f"{language}.yaml"]
    return cached(
        f"lexicon-{language}", sources, lambda: compile_language(language),
        before_store=lambda lex: dataclasses.replace(lex, lemma=None),
        after_load=lambda lex: dataclasses.replace(lex, lemma=lemmatizer(lex.language, lex.lemma_overrides)),
    )  # fmt: skip


def scan_lemmas(lex: Lexicon, text: str) -> Scan:
    """:func:`pipeline.signals.scan` for a lemma lexicon: the automaton runs over the
    lemmas of the words of ``text``; spans are the original words'."""
    lemma = lex.lemma
    spans = [(m.start(), m.end()) for m in _WORD.finditer(text)]
    starts: list[int] = []
    buf = [" "]
    pos = 1
    for s, e in spans:
        lem = lemma(text[s:e])
        starts.append(pos)
        buf.append(lem)
        buf.append(" ")
        pos += len(lem) + 1
    lemmas = "".join(buf)
    parts: list[tuple[int, int, int, int]] = []
    cues: list[tuple[int, int, str, str | None]] = []
    actors: list[tuple[int, int, str]] = []
    first_seen: set[int] = set()
    for end_idx, entries in lex.automaton.iter(lemmas):
        for kind, klen, prefix, a, b in entries:
            if kind == TRIGGER and b and a not in first_seen:
                continue
            first_word = bisect_right(starts, end_idx - klen + 2) - 1
            last_word = bisect_right(starts, end_idx if prefix else end_idx - 1) - 1
            if first_word < 0:
                continue
            start, end = spans[first_word][0], spans[last_word][1]
            if kind == TRIGGER:
                if b == 0 and lex.patterns[a].n_parts > 1:
                    first_seen.add(a)
                parts.append((start, end, a, b))
            elif kind == CUE:
                cues.append((start, end, a, b))
            else:
                if b[1] and not text[start].isupper():
                    continue
                actors.append((start, end, a))
    return Scan(text, parts, cues, actors, lemmas)
