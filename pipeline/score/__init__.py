"""Turn a text into explainable escalation signals and a 0-100 score.

``score_text(text)`` is the whole stage, a short pipeline of named steps, each
in its own module and testable alone:

1. **match** — :meth:`pipeline.signals.Lexicon.scan` finds every phrase part, cue
   and actor name in one automaton pass;
2. **assemble** (:mod:`.assemble`) — multi-part patterns (``imposed .. sanctions``)
   are joined and the longest of overlapping matches kept;
3. **clauses** (:mod:`.text`) — sentences (``.!?;`` not after an abbreviation) and
   clauses (``, but``, ``:``, `` - ``...), so cues reach only their own clause;
4. **modality** (:mod:`.modality`) — denied > negated > conditional > hedged >
   threat > action; a threatened act becomes its category's ``threat_variant``, a
   refused de-escalation its ``negated_variant``; a condition ("... if Russia
   invades") folds into its threat instead of counting as an act;
5. **relevance** (:mod:`pipeline.relevance`) — is the text about geopolitics at all;
6. **actors and weight** (:mod:`.actors`, :mod:`.weigh`) — source -> target, the
   category's needs and vetoes, weight x modality multiplier (negative for
   de-escalation, 0 when not counted, repeats decay), and each signal's ``why``;
7. **theatre** (:func:`.actors.theatre`) — the watchlist dyad the article is about.

The article score maps the sum of weights to 0-100: ``100 * (1 - exp(-sum / score_scale))``.

Spans (``Evidence.start/end``) index the text that was scored. For an article
that text is :func:`article_text` (title, ". ", summary), so callers map spans
with that same function. Pure: no clock, network or database.

Must not touch: I/O: no clock, network or database.
"""

from __future__ import annotations

import math
from typing import Any

from ..language import SCORED_LANGUAGES, detect_language
from ..relevance import RULE_GATE, lexicon_features, load_gate
from ..signals import Lexicon, load_lexicon
from ..types import Evidence, ScoredArticle, Signal, article_text
from .actors import dedupe_actors, theatre
from .assemble import assemble
from .modality import Cues, fold, judge
from .text import layout
from .weigh import Weighed, vetoed_by, weigh

__all__ = [
    "NO_THEATRE",
    "TAXONOMY_VERSION",
    "article_text",
    "score_article",
    "score_text",
    "scored_to_dict",
]

TAXONOMY_VERSION: str = load_lexicon().taxonomy_version

#: the theatre of an article with nothing geopolitical in it ("other" is geopolitics off the watchlist)
NO_THEATRE = "none"
#: the refusals (weigh._relevance_refusal) that put a hit in a world other than geopolitics
_OFF_WORLD_VETOES = tuple(vetoed_by(v) for v in ("crime", "sport", "business"))


def score_article(title: str, summary: str, language: str | None = None, hint: str | None = None) -> ScoredArticle:
    """Score an article's title and summary as one text (see :func:`article_text`);
    ``language`` and ``hint`` as :func:`score_text`."""
    return score_text(article_text(title, summary), language=language, hint=hint)


def score_text(text: str, lexicon: Lexicon | None = None, gate: Any = None,
               language: str | None = None, hint: str | None = None) -> ScoredArticle:
    """Score one text. Spans in the result index ``text``.

    ``gate``: the relevance gate (:mod:`pipeline.relevance`); None is the shipped
    one, ``False`` none at all (the rules alone, for comparisons and tests).
    ``language``: the text's language (ISO 639-1) when known, else it is detected
    (:func:`pipeline.language.detect_language`, with ``hint``, the language the
    feed declares, for what the letters cannot tell); a language without a
    lexicon scores 0 with no theatre and its ``language`` says so. ``lexicon``
    wins over all three.
    """
    text = text or ""
    lex, gate, language = _lexicon_and_gate(text, lexicon, gate, language, hint)
    if lex is None:
        return ScoredArticle(0.0, NO_THEATRE, (), TAXONOMY_VERSION, language)
    sc = lex.scan(text)  # 1. match
    hits = assemble(lex, text, sc.parts) if sc.parts else []  # 2. assemble
    if not hits:
        return _no_signal(lex, text, sc, gate)
    # 3. clauses ("not only ... but also" goes on, it does not open a new clause)
    clause_cues = [c[0] for c in sc.cues if c[2] == "clause" and not text.startswith(lex.clause_continuations, c[1])]
    lay = layout(text, clause_cues, lex.comma_clause_words)
    cues = Cues(text, sc.cues, clause_cues)
    final = fold(lex, *judge(lex, text, hits, lay, cues), cues.contrasts)  # 4. modality
    judgement = gate.decide(text, lexicon_features(sc), sc.norm or None) if gate is not None else None  # 5.
    actors = dedupe_actors(sc.actors)
    weighed = weigh(lex, text, final, lay, actors, cues.context, judgement)  # 6. actors and weight
    return _scored(lex, text, weighed, actors, judgement, cues.context)  # 7. theatre


def _scored(lex: Lexicon, text: str, weighed: list[Weighed], actors: list[tuple[int, int, str]],
            judgement: Any, ctx_cues: list[tuple[int, int, str, Any]]) -> ScoredArticle:
    """The article: its theatre, its signals and the 0-100 score."""
    total = sum(p[6] for p in weighed)
    counted = [(p[4], p[5], abs(p[6]), p[2].id) for p in weighed if p[6] != 0]
    if judgement is not None and not judgement.relevant and not counted:
        where = NO_THEATRE  # the words are there, the world is not: a match report, a strike by workers
    elif not counted and (not actors or _off_world(weighed, actors, ctx_cues)):
        where = NO_THEATRE
    else:
        where = theatre(lex, actors, counted)
    signals = tuple([
        Signal(cat.id, cat.direction, kind, modality, source, target, where,
               Evidence(start, end, text[start:end], text[s_lo:s_hi].rstrip(), s_lo), weight, why)
        for start, end, cat, modality, source, target, weight, s_lo, s_hi, kind, why in weighed
    ])
    score = 100.0 * (1.0 - math.exp(-max(total, 0.0) / lex.score_scale))
    return ScoredArticle(round(score, 1), where, signals, lex.taxonomy_version, lex.language)


def _off_world(weighed: list[Weighed], actors: list[tuple[int, int, str]],
               ctx_cues: list[tuple[int, int, str, Any]]) -> bool:
    """Nothing counts, everything the rules found is crime, sport or business, and nothing
    else in the text is about states: "Police arrest man after knife attack on London bus"
    (London is a place there, not an actor). Not accidents (war zones have floods too), nor
    with a political or military context or two actors ("American basketball star freed in
    US-Russia prisoner exchange")."""
    if not weighed or not all(p[10].startswith(_OFF_WORLD_VETOES) for p in weighed):
        return False
    if len({a[2] for a in actors}) > 1:
        return False
    return not any(c[3] in ("political", "military") for c in ctx_cues)


def _no_signal(lex: Lexicon, text: str, sc: Any, gate: Any) -> ScoredArticle:
    """An article without signals: its theatre, or "none" when nothing geopolitical is in it."""
    actors = dedupe_actors(sc.actors)
    if not actors or (gate is not None and not gate.decide(text, lexicon_features(sc), sc.norm or None).relevant):
        return ScoredArticle(0.0, NO_THEATRE, (), lex.taxonomy_version, lex.language)
    return ScoredArticle(0.0, theatre(lex, actors, ()), (), lex.taxonomy_version, lex.language)


def _lexicon_and_gate(
    text: str, lexicon: Lexicon | None, gate: Any, language: str | None, hint: str | None
) -> tuple[Any, Any, str]:
    """The lexicon and relevance gate for ``text``; lexicon None: the text's language is unreadable."""
    if lexicon is None:
        if language is None:
            language = detect_language(text, hint)
        if language not in SCORED_LANGUAGES:
            return None, None, language
        lexicon = load_lexicon(language)
    if gate is False:
        return lexicon, None, lexicon.language
    if gate is None:
        # the learned gate read English only; other languages get the rule gate
        gate = load_gate() if lexicon.language == "en" else RULE_GATE
    return lexicon, gate, lexicon.language


def scored_to_dict(s: ScoredArticle) -> dict[str, Any]:
    """The JSON contract of ``escalation-watch score-text --json``."""
    return {
        "score": s.score,
        "theatre": s.theatre,
        "language": s.language,
        "taxonomy_version": s.taxonomy_version,
        "signals": [
            {
                "signal": g.signal,
                "direction": g.direction,
                "kind": g.kind,
                "modality": g.modality,
                "source": g.source,
                "target": g.target,
                "evidence": {
                    "start": g.evidence.start,
                    "end": g.evidence.end,
                    "text": g.evidence.text,
                    "sentence": g.evidence.sentence,
                },
                "weight": g.weight,
                "why": g.why,
            }
            for g in s.signals
        ],
    }
