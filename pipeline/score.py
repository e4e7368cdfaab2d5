"""Turn a text into explainable escalation signals and a 0-100 score.

``score_text(text)`` is the whole stage: :func:`pipeline.signals.scan` finds
every phrase, cue and actor name in one automaton pass, then this module

1. assembles multi-part patterns (``imposed .. sanctions``) and keeps the
   longest of overlapping matches;
2. splits sentences (``.!?;`` not after an abbreviation) and clauses (``, but``,
   ``:``, `` - ``...) so cues only reach their own clause;
3. gives each hit a modality: denied > negated > conditional > hedged > threat >
   action. A threatened or conditional act becomes its category's
   ``threat_variant``; a negated de-escalation ("refused to withdraw") becomes
   its ``negated_variant``; the condition of a conditional threat ("... if Russia
   invades") is folded into that threat rather than counted as an act;
4. finds source -> target actors (nearest actor before the trigger in the
   clause, first other actor after it; "was attacked by X" swaps them);
5. weighs each signal (category weight x modality multiplier, negative for
   de-escalation, 0 when negated or denied, repeats of a category decay) and
   maps the sum to 0-100: ``100 * (1 - exp(-sum / score_scale))``;
6. picks the article theatre from the watchlist.

Spans (``Evidence.start/end``) index the text that was scored. For an article
that text is :func:`article_text` (title, ". ", summary), so callers map spans
with that same function. Pure: no clock, network or database.
"""

from __future__ import annotations

import math
import re
from bisect import bisect_right
from typing import Any

from .language import SCORED_LANGUAGES, detect_language
from .relevance import RULE_GATE, lexicon_features, load_gate
from .signals import Lexicon, load_lexicon
from .types import Evidence, ScoredArticle, Signal

__all__ = [
    "TAXONOMY_VERSION",
    "article_text",
    "score_article",
    "score_text",
    "scored_to_dict",
]

TAXONOMY_VERSION: str = load_lexicon().taxonomy_version

#: the theatre of an article with nothing geopolitical in it ("other" is geopolitics off the watchlist)
NO_THEATRE = "none"

_MODALITY_ORDER = ("denied", "negated", "conditional", "hedged", "threat", "action")

# words before a full stop that do not end a sentence ("Mr.", "Gen.", "Jan.")
_ABBREV = frozenset(
    "mr mrs ms dr gen lt col maj sgt capt cmdr adm sen rep gov pres prof st mt jan feb mar apr jun jul aug "
    "sep sept oct nov dec no vs etc inc corp ltd co jr sr".split()
)
_PASSIVE_TAIL = ("was ", "were ", "been ", "being ", "is ", "are ", "got ")
_IRREGULAR_PARTICIPLES = frozenset("struck hit shot overrun taken beaten caught held sunk seized shelled".split())


def article_text(title: str, summary: str) -> str:
    """The text :func:`score_article` scores: ``title + ". " + summary``.

    The separator is ". " (a sentence break, so a title's cues do not leak into
    the summary), or just " " when the title already ends with . ! ? or the
    summary is empty. Evidence spans of :func:`score_article` index this string.
    """
    title = (title or "").strip()
    summary = (summary or "").strip()
    if not summary:
        return title
    if not title:
        return summary
    sep = " " if title[-1] in ".!?;:" else ". "
    return title + sep + summary


def score_article(title: str, summary: str, language: str | None = None, hint: str | None = None) -> ScoredArticle:
    """Score an article's title and summary as one text (see :func:`article_text`);
    ``language`` and ``hint`` as :func:`score_text`."""
    return score_text(article_text(title, summary), language=language, hint=hint)


_CLOSERS = "\"')]\u201d\u2019\u00bb"


def _sentences(text: str) -> list[int]:
    """Start offsets of the sentences in ``text`` (always begins with 0).

    A sentence ends at . ! ? ; or a newline followed by white space, except
    after an abbreviation ("U.S. forces", "Gen. Milley"). str.find loops
    rather than a regex: this runs for every scored text.
    """
    starts = [0]
    n = len(text)
    for ch in ".!?;\n":
        i = text.find(ch)
        while i != -1:
            j = i + 1
            while j < n and (text[j] in _CLOSERS or text[j] == ch):
                j += 1
            if j < n and (text[j].isspace() or ch == "\n"):
                k = j
                while k < n and text[k].isspace():
                    k += 1
                if k < n and not (ch == "." and _abbreviation(text, i)):
                    starts.append(k)
            i = text.find(ch, j)
    if len(starts) > 2:
        starts = sorted(set(starts))
    elif len(starts) == 2 and starts[1] == 0:
        starts = [0]
    return starts


def _abbreviation(text: str, dot: int) -> bool:
    """True when the full stop at ``dot`` ends an abbreviation, not a sentence."""
    k = dot
    while k > 0 and (text[k - 1].isalpha() or text[k - 1] == "."):
        k -= 1
    word = text[k:dot]
    if not word:
        return False
    if "." in word or (len(word) == 1 and word.isupper()):
        return True  # U.S. / U.N. / initials
    return word.lower() in _ABBREV


def _clauses(text: str, sent_starts: list[int], clause_cues: list[int],
             comma_words: frozenset[str]) -> list[int]:
    """Clause starts: sentence starts, ': ', ' - ', dashes, ', and/which/...',
    and the clause words found by the automaton (but, while, although...)."""
    bounds = list(sent_starts)
    bounds.extend(clause_cues)
    for ch in ":\u2013\u2014":
        i = text.find(ch)
        while i != -1:
            bounds.append(i)
            i = text.find(ch, i + 1)
    i = text.find(" - ")
    while i != -1:
        bounds.append(i)
        i = text.find(" - ", i + 1)
    i = text.find(",")
    while i != -1:
        nxt = text[i + 1 : i + 12].split(" ", 2)
        word = nxt[1] if len(nxt) > 1 and not nxt[0] else (nxt[0] if nxt else "")
        if word.lower() in comma_words:
            bounds.append(i)
        i = text.find(",", i + 1)
    bounds.sort()
    return bounds


_AGENDA_WINDOW_WORDS = 10
#: "to stop", "will halt": a negation cue that, inside a trigger, is the trigger's own demand
_PURPOSE = re.compile(r"(?i)(to|will|would) ")
_HEDGE_BEFORE_WORDS = 8
_HEDGE_AFTER_WORDS = 4


def _any_would(lex: Lexicon, text: str, start: int, end: int, c_lo: int, c_hi: int) -> bool:
    """ "Any invasion would ...", "any Russian incursion will ...": a hypothesis.

    "any" (the lexicon's ``any_words``) one or two words before the trigger, and
    would/will/could (``hypothesis_words``) after it in the clause. Plain string
    checks: this runs for every hit.
    """
    before = text[max(c_lo, start - 24) : start].lower().split()
    if not before or not lex.any_words.intersection(before[-3:]):
        return False
    after = text[end:c_hi].lower()
    return any(w in after for w in lex.hypothesis_words)


def _words_between(text: str, a: int, b: int) -> int:
    """Words strictly between offsets a and b (cue and trigger spans exclude
    their spaces, so the gap " x y " has one more space than words)."""
    return text.count(" ", a, b) - 1 if b > a else 0


def _no_signal(lex: Lexicon, text: str, sc: Any, gate: Any) -> ScoredArticle:
    """An article without signals: its theatre, or "none" when nothing geopolitical is in it."""
    actors = _dedupe_actors(sc.actors)
    if not actors or (gate is not None and not gate.decide(text, lexicon_features(sc), sc.norm or None).relevant):
        return ScoredArticle(0.0, NO_THEATRE, (), lex.taxonomy_version, lex.language)
    return ScoredArticle(0.0, _theatre(lex, actors, ()), (), lex.taxonomy_version, lex.language)


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
    sc = lex.scan(text)
    if not sc.parts:
        return _no_signal(lex, text, sc, gate)
    hits = _assemble(lex, text, sc.parts)
    if not hits:
        return _no_signal(lex, text, sc, gate)

    sent_starts = _sentences(text)
    # "not only ... but also" goes on, it does not open a new clause
    clause_starts = _clauses(text, sent_starts, [c[0] for c in sc.cues if c[2] == "clause"
                                                 and not text.startswith(lex.clause_continuations, c[1])],
                             lex.comma_clause_words)
    cues = [c for c in sc.cues if c[2] != "clause" and c[2] != "context"]
    ctx_cues = [c for c in sc.cues if c[2] == "context"]
    actors = _dedupe_actors(sc.actors)
    cats = lex.categories
    denial_spans = [(c[0], c[1]) for c in cues if c[2] == "denied_before"]
    # "would be met with": the phrase is the cue, not a meeting
    swallowing = denial_spans + [(c[0], c[1]) for c in cues if c[2] == "consequence"]
    # "unsure if ... a bluff": the "if" is part of a hedge, not a condition
    hedge_spans = [(c[0], c[1]) for c in cues if c[2] == "hedged" and " " in text[c[0] : c[1]]]
    cond_starts = [c[0] for c in cues if c[2] == "conditional"]

    # --- per hit: clause, modality, variant -------------------------------------
    # [start, end, cat_id, modality, sent_idx, clause_idx, in_condition, fold_key, refusal (an idiom's or an
    #  agenda topic's "not counted: ..."), own category,
    #  the cue of the modality]
    judged: list[list[Any]] = []
    # hits inside an idiom ("attack helicopters"): shown with their reason, but they take
    # no part in folding, yielding or the one-per-sentence dedupe below
    idiomatic: list[list[Any]] = []
    for start, end, cat_id, gapped in hits:
        if any(ds <= start and end <= de for ds, de in swallowing):
            continue  # "rejected claims": the phrase is the denial itself
        s_idx = bisect_right(sent_starts, start) - 1
        c_idx = bisect_right(clause_starts, start) - 1
        s_lo = sent_starts[s_idx]
        s_hi = sent_starts[s_idx + 1] if s_idx + 1 < len(sent_starts) else len(text)
        c_lo = clause_starts[c_idx]
        c_hi = clause_starts[c_idx + 1] if c_idx + 1 < len(clause_starts) else len(text)
        c_hi = min(c_hi, s_hi)
        denied = negated = conditional = hedged = threatened = in_condition = False
        fold_key: Any = c_idx
        topic_cue = None
        idiom = None  # "heart attack", "attack submarine": the trigger is part of a phrase of peace
        neg_cue = ""
        cue_of: dict[str, str] = {}  # modality -> the cue that set it, for the signal's "why"
        warn_at = -1  # start of a threat cue before the trigger: "Kremlin warns Kyiv of a response"
        for cs, ce, ctype, flag in cues:
            if cs >= s_hi or ce <= s_lo:
                continue
            if ctype == "denied_before":
                if s_lo <= cs and ce <= start:
                    denied = True
                    cue_of.setdefault("denied", text[cs:ce])
            elif ctype == "consequence":
                # "An attack would be met with sanctions": what comes before is the
                # condition, what comes after the conditional threat
                conditional = True
                cue_of.setdefault("conditional", text[cs:ce])
                if ce <= start:
                    continue
                in_condition = True
                fold_key = ("s", s_idx)
            elif cs < c_lo or ce > c_hi:
                continue
            elif ctype == "negated_before":
                if text.startswith(lex.negation_exempt_after, ce):
                    continue  # "not only ... but also" is not a negation
                if ce <= start and _words_between(text, ce, start) <= lex.negation_window_words:
                    if not any(ce <= q < start for q in cond_starts):  # "won't open if Russia invades"
                        negated = True
                        neg_cue = text[cs:ce].lower()
                        cue_of.setdefault("negated", text[cs:ce])
                elif gapped and start < cs and ce <= end and not _PURPOSE.match(text, cs):
                    # "NATO ruled out sending troops"; but "warned Moscow to stop" is the demand itself
                    negated = True
                    cue_of.setdefault("negated", text[cs:ce])
            elif ctype == "negated_after":
                if cs >= end and _words_between(text, end, cs) <= 3:
                    negated = True
                    cue_of.setdefault("negated", text[cs:ce])
            elif ctype == "denied_after":
                if cs >= end and _words_between(text, end, cs) <= 8:
                    denied = True
                    cue_of.setdefault("denied", text[cs:ce])
            elif ctype == "conditional":
                if hedge_spans and any(hs <= cs and ce <= he for hs, he in hedge_spans):
                    continue
                if flag == "clause_start":
                    before = text[max(c_lo, cs - 3) : cs].strip()
                    if not (cs == c_lo or before.endswith(",") or cs == s_lo):
                        continue
                conditional = True
                cue_of.setdefault("conditional", text[cs:ce])
                # the condition runs from the cue to the next comma:
                # "If Russia invades, the West will impose sanctions"
                if ce <= start and "," not in text[ce:start]:
                    in_condition = True
            elif ctype == "hedged":
                # near the trigger: "an apparent assassination attempt" hedges the attempt,
                # not the gunfire at the start of a long clause
                if (ce <= start and _words_between(text, ce, start) <= _HEDGE_BEFORE_WORDS) or (
                        cs >= end and _words_between(text, end, cs) <= _HEDGE_AFTER_WORDS) or start <= cs < end:
                    hedged = True
                    cue_of.setdefault("hedged", text[cs:ce])
            elif ctype == "threat":
                if ce <= start and _words_between(text, ce, start) <= lex.threat_window_words:
                    threatened = True
                    cue_of.setdefault("threat", text[cs:ce])
                    warn_at = cs
                elif cs == start and ce < end:  # the trigger opens with it: "ready to deploy"
                    threatened = True
                    cue_of.setdefault("threat", text[cs:ce])
            elif ctype == "agenda":
                if ce <= start and _words_between(text, ce, start) <= _AGENDA_WINDOW_WORDS:
                    topic_cue = text[cs:ce]
            elif ctype == "idiom":
                if cs <= start and end <= ce:
                    idiom = text[cs:ce]
        if not conditional and _any_would(lex, text, start, end, c_lo, c_hi):
            conditional = True  # "any invasion would be very tough": a hypothesis, not an act
            cue_of["conditional"] = "any ... would"
        cat = cats[cat_id]
        if denied:
            modality = "denied"
        elif negated:
            modality = "negated"
        elif conditional:
            modality = "conditional"
        elif hedged:
            modality = "hedged"
        elif threatened or (cat.kind == "threat" and cat.stated_as == "threat"):
            modality = "threat"
        else:
            modality = "action"
        own = cat_id
        if cat.direction == "escalation":
            if cat.threat_variant and (threatened or (conditional and not in_condition)):
                cat_id = cat.threat_variant
        elif modality == "negated" and cat.negated_variant and (
                neg_cue not in lex.bare_negations or " " in text[start:end]):
            # "refused to withdraw", "will not lift the embargo": a refusal to
            # de-escalate is itself a (mild) escalation; "not a done deal" is not
            cat_id = cat.negated_variant
            modality = "action"
        if topic_cue is not None and cats[cat_id].kind != "threat":
            topic_cue = None  # "talks on the attacks": the attacks still happened
        refusal = (f"not counted: {idiom!r} names no conflict" if idiom is not None else
                   f"not counted: a topic of the talks ({topic_cue!r}), not a threat made" if topic_cue is not None
                   else None)
        row = [start, end, cat_id, modality, s_idx, c_idx, in_condition, fold_key, refusal, own,
               cue_of.get(modality), warn_at]
        (idiomatic if idiom is not None else judged).append(row)

    # --- fold conditions into their threat, apply yields_to, dedupe ----------------
    counting_by_clause: dict[Any, int] = {}
    for j in judged:
        if not j[6] and cats[j[2]].direction == "escalation" and j[3] not in ("negated", "denied"):
            for key in (j[5], ("s", j[4])):
                counting_by_clause[key] = counting_by_clause.get(key, 0) + 1
    present: dict[int, set[str]] = {}
    kept: list[list[Any]] = []
    for j in judged:
        if j[6] and cats[j[2]].direction == "escalation" and counting_by_clause.get(j[7]):
            continue  # "warned of sanctions if Russia invades": the invasion is the condition
        kept.append(j)
        if j[3] not in ("negated", "denied"):
            present.setdefault(j[4], set()).add(j[2])
    final: list[list[Any]] = []
    seen: set[tuple[int, str]] = set()
    for j in kept:
        cat = cats[j[2]]
        if cat.yields_to and j[9] == j[2] and cat.yields_to & present.get(j[4], set()):
            continue  # a generic word beside a specific one; a threatened act keeps its own evidence
        if cat.yields_after and any(
            k[4] == j[4] and k[0] < j[0] and k[2] in cat.yields_after and k[3] not in ("negated", "denied")
            for k in kept
        ):
            continue  # background after a de-escalation main verb
        key = (j[4], j[2])
        if key in seen:
            continue
        seen.add(key)
        final.append(j)
    for j in idiomatic:
        if (j[4], j[2]) not in seen:
            seen.add((j[4], j[2]))
            final.append(j)
    if idiomatic:
        final.sort(key=lambda j: j[0])

    # --- actors, relevance, weights, signals ----------------------------------------
    judgement = gate.decide(text, lexicon_features(sc), sc.norm or None) if gate is not None else None
    pre = _weigh(lex, text, final, sent_starts, clause_starts, actors, ctx_cues, judgement)
    total = sum(p[6] for p in pre)
    counted = [(p[4], p[5], abs(p[6]), p[2].id) for p in pre if p[6] != 0]
    if judgement is not None and not judgement.relevant and not counted:
        theatre = NO_THEATRE  # the words are there, the world is not: a match report, a strike by workers
    elif not counted and not actors:
        theatre = NO_THEATRE
    else:
        theatre = _theatre(lex, actors, counted)
    signals = []
    for start, end, cat, modality, source, target, weight, s_lo, s_hi, kind, why in pre:
        signals.append(
            Signal(
                signal=cat.id,
                direction=cat.direction,
                kind=kind,
                modality=modality,
                source=source,
                target=target,
                theatre=theatre,
                evidence=Evidence(start, end, text[start:end], text[s_lo:s_hi].rstrip(), s_lo),
                weight=weight,
                why=why,
            )
        )
    score = 100.0 * (1.0 - math.exp(-max(total, 0.0) / lex.score_scale))
    return ScoredArticle(round(score, 1), theatre, tuple(signals), lex.taxonomy_version, lex.language)


def _sentence_contexts(ctx_cues: list[tuple[int, int, str, str | None]], actors: list[tuple[int, int, str]],
                       s_lo: int, s_hi: int) -> set[str]:
    """The context names found in one sentence, ``actor`` when a gazetteer actor is in it."""
    found = {c[3] for c in ctx_cues if s_lo <= c[0] < s_hi}  # type: ignore[misc]
    if any(s_lo <= a[0] < s_hi for a in actors):
        found.add("actor")
    return found


def _weigh(lex: Lexicon, text: str, final: list[list[Any]], sent_starts: list[int], clause_starts: list[int],
           actors: list[tuple[int, int, str]], ctx_cues: list[tuple[int, int, str, str | None]],
           judgement: Any) -> list[tuple[Any, ...]]:
    """Actors, relevance, weight and the reason of every kept hit.

    A hit counts when (1) its modality counts (not negated or denied), (2) its
    sentence meets the category's ``needs`` and no ``vetoed_by`` context stands
    there unlifted, and (3) the relevance gate says the text is geopolitical, or
    is between its floor and its threshold with a rescue context in the sentence.
    Repeats of a category decay over the hits that count.
    """
    cats = lex.categories
    mw = lex.modality_weights
    counts: dict[str, int] = {}
    out: list[tuple[Any, ...]] = []
    ctx_cache: dict[int, set[str]] = {}
    art_vetoes = _article_vetoes(lex, ctx_cues, sent_starts)
    for start, end, cat_id, modality, s_idx, c_idx, _, _, refusal, _, mod_cue, warn_at in final:
        shown = f"{modality} (cue {mod_cue!r})" if mod_cue else modality
        cat = cats[cat_id]
        s_lo = sent_starts[s_idx]
        s_hi = sent_starts[s_idx + 1] if s_idx + 1 < len(sent_starts) else len(text)
        c_lo = clause_starts[c_idx]
        source, target = _actors_for(text, actors, start, end, s_lo, s_hi, c_lo, warn_at)
        kind = cat.kind if modality not in ("threat", "conditional") or cat.direction != "escalation" else "threat"
        if modality == "conditional" and cat.kind == "act" and cat.direction == "escalation":
            kind = "threat"
        ctx = ctx_cache.get(s_idx)
        if ctx is None:
            ctx = ctx_cache[s_idx] = _sentence_contexts(ctx_cues, actors, s_lo, s_hi)
        if source and target:
            ctx = ctx | {"two_actors"}
        why = _relevance_refusal(lex, cat, ctx, judgement, art_vetoes)
        if why is None:
            why = refusal
        if modality == "threat":
            mult = mw["threat_kind"] if cat.kind == "threat" else mw["threat"]
        else:
            mult = mw[modality]
        weight = 0.0
        if why is None:
            if mult == 0:
                why = f"not counted: {shown}"
            else:
                k = counts.get(cat_id, 0)
                counts[cat_id] = k + 1
                weight = cat.weight * mult * (lex.repeat_decay**k)
                if cat.direction == "de-escalation":
                    weight = -weight
                weight = round(weight, 3) + 0.0
                why = f"counted: {shown}; actors {source or '?'} -> {target or '?'}; "
                if judgement is None:
                    why += "no relevance gate"
                elif judgement.relevant:
                    why += judgement.explain()
                else:
                    rescue = "/".join(sorted(ctx & lex.rescue_contexts))
                    why += f"relevance p={judgement.probability:.2f} under the gate's threshold, kept for its {rescue} context"
        out.append((start, end, cat, modality, source, target, weight, s_lo, s_hi, kind, why))
    return out


def _article_vetoes(lex: Lexicon, ctx_cues: list[tuple[int, int, str, str | None]],
                    sent_starts: list[int]) -> frozenset[str]:
    """The vetoes that reach every sentence of this text: the taxonomy's
    ``headline_vetoes`` found in the headline (the first sentence), and its
    ``article_vetoes`` found anywhere when no ``veto_lifted_by`` context stands anywhere."""
    if not ctx_cues or not (lex.headline_vetoes or lex.article_vetoes):
        return frozenset()
    head_hi = sent_starts[1] if len(sent_starts) > 1 else None
    out = {c[3] for c in ctx_cues if c[3] in lex.headline_vetoes and (head_hi is None or c[0] < head_hi)}
    if lex.article_vetoes:
        found = {c[3] for c in ctx_cues}
        if not found & lex.veto_lifted_by:
            out |= found & lex.article_vetoes
    return frozenset(out)  # type: ignore[arg-type]


def _relevance_refusal(lex: Lexicon, cat: Any, ctx: set[str], judgement: Any,
                       art_vetoes: frozenset[str] = frozenset()) -> str | None:
    """Why a hit does not count as geopolitics, or None when it does. A veto stands
    unless the hit's own sentence has a context that lifts it; ``art_vetoes`` (see
    :func:`_article_vetoes`) stand as if they were in the sentence."""
    if cat.vetoed_by:
        for v in sorted(cat.vetoed_by & (ctx | art_vetoes)):
            if not (ctx & lex.strict_vetoes.get(v, lex.veto_lifted_by)):
                return f"not counted: {v} context in the {'sentence' if v in ctx else 'article'}"
    if cat.needs and not (cat.needs & ctx):
        return f"not counted: the sentence has no {' or '.join(sorted(cat.needs))} context"
    if judgement is None or judgement.relevant:
        return None
    if judgement.probability >= lex.gate_floor and ctx & lex.rescue_contexts:
        return None
    return "not counted: the text is " + judgement.explain()


def _assemble(lex: Lexicon, text: str, parts: list[tuple[int, int, int, int]]) -> list[tuple[int, int, str, bool]]:
    """Whole-pattern hits from part matches; the longest of overlapping hits wins."""
    patterns = lex.patterns
    cands: list[tuple[int, int, str]] = []
    multi: dict[int, list[tuple[int, int, int]]] = {}
    for start, end, pid, part in parts:
        pat = patterns[pid]
        if pat.n_parts == 1:
            cands.append((start, end, pat.category, end - start, False))
        else:
            multi.setdefault(pid, []).append((part, start, end))
    if multi:
        max_gap = lex.max_gap_words
        for pid, plist in multi.items():
            if len(plist) < 2 or not any(x[0] == 0 for x in plist):
                continue
            pat = patterns[pid]
            by_part: list[list[tuple[int, int]]] = [[] for _ in range(pat.n_parts)]
            for part, s, e in plist:
                by_part[part].append((s, e))
            if any(not p for p in by_part):
                continue
            for s0, e0 in by_part[0]:
                cur_end = e0
                matched = e0 - s0
                ok = True
                for nxt in by_part[1:]:
                    best = None
                    for s, e in sorted(nxt):
                        if s >= cur_end:
                            gap = text[cur_end:s]
                            if len(gap.split()) <= max_gap and not any(ch in gap for ch in ".;!?:"):
                                best = (s, e)
                                break
                    if best is None:
                        ok = False
                        break
                    matched += best[1] - best[0]
                    cur_end = best[1]
                if ok:
                    cands.append((s0, cur_end, pat.category, matched, True))
    if len(cands) > 1:
        # most matched characters first (gap words do not count, so a long
        # gapped match does not swallow a tight phrase); on a tie the longer
        # span, then the heavier (more specific) category wins
        cats = lex.categories
        # a hit inside another hit's span is part of that phrase ("lift trade
        # and travel restrictions"): drop it before ranking
        gapped = [o for o in cands if o[4]]
        if gapped:
            cands = [h for h in cands
                     if not any(o[0] <= h[0] and h[1] <= o[1] and (o[1] - o[0]) > (h[1] - h[0]) for o in gapped)]
        cands.sort(key=lambda h: (-h[3], h[0] - h[1], -cats[h[2]].weight, h[0]))
        taken: list[tuple[int, int]] = []
        out = []
        for h in cands:
            if any(h[0] < te and ts < h[1] for ts, te in taken):
                continue
            taken.append((h[0], h[1]))
            out.append((h[0], h[1], h[2], h[4]))
        out.sort()
        return out
    return [(h[0], h[1], h[2], h[4]) for h in cands]


def _dedupe_actors(actors: list[tuple[int, int, str]]) -> list[tuple[int, int, str]]:
    """Sorted by position; of overlapping names ("South Korea" / "Korea") the longest."""
    if len(actors) < 2:
        return actors
    actors = sorted(actors, key=lambda a: (a[0], a[0] - a[1]))
    out = [actors[0]]
    for a in actors[1:]:
        if a[0] < out[-1][1]:
            continue
        out.append(a)
    return out


def _actors_for(
    text: str, actors: list[tuple[int, int, str]], start: int, end: int, s_lo: int, s_hi: int, c_lo: int,
    warn_at: int = -1,
) -> tuple[str | None, str | None]:
    if warn_at >= 0:
        # "the Kremlin warns Kyiv of a military response": who warns is before the cue,
        # whom it warns between the cue and the threat
        speaker = [a for a in actors if max(s_lo, c_lo) <= a[0] < warn_at]
        addressee = [a for a in actors if warn_at < a[0] < start]
        if speaker and addressee and speaker[-1][2] != addressee[0][2]:
            return speaker[-1][2], addressee[0][2]
    befores: list[tuple[int, int, str]] = []
    after: list[tuple[int, int, str]] = []
    for a in actors:
        if a[0] < s_lo:
            continue
        if a[0] >= s_hi:
            break
        if a[0] <= start:
            befores.append(a)
        else:
            after.append(a)
    possessed = None
    if befores:
        gap = text[befores[-1][1] : start]
        if gap[:2] in ("'s", "\u2019s") and len(gap.split()) <= 3:
            # "Taiwan's air defence zone": the possessor is what is hit
            possessed = befores.pop()
    src_actor = None
    for a in reversed(befores):
        if a[0] >= c_lo:
            src_actor = a
            break
    if src_actor is None and befores:
        src_actor = befores[-1]
    if possessed is not None:
        after.insert(0, possessed)
    source = src_actor[2] if src_actor else None
    # passive: "Ukraine was attacked by Russia"
    lead = text[max(s_lo, start - 8) : start].lower()
    trig = text[start:end].lower()
    first = trig.split(" ", 1)[0]
    participle = first.endswith("ed") or first in _IRREGULAR_PARTICIPLES
    if (lead.endswith(_PASSIVE_TAIL) and participle) or trig.startswith(_PASSIVE_TAIL):
        by_actor = None
        for a in after:
            if text[max(end, a[0] - 4) : a[0]].lower().endswith("by ") and a[0] - end < 40:
                by_actor = a
                break
        return (by_actor[2] if by_actor else None), source
    target = None
    for a in after:
        if a[2] != source:
            target = a[2]
            break
    return source, target


def _theatre(lex: Lexicon, actors: list[tuple[int, int, str]], pairs: Any) -> str:
    """The watchlist theatre the article is about; ``pairs``: (source, target, |weight|, category)."""
    codes = {a[2] for a in actors}
    if not codes:
        return lex.default_theatre
    scores: dict[str, float] = {}
    present: set[str] = set()
    for th in lex.theatres:
        side_a, side_b = th.sides
        both = bool(codes & side_a and codes & side_b)
        anchored = bool(codes & th.anchors)
        if anchored and not both and th.anchor_categories and pairs and not any(
                p[3] in th.anchor_categories for p in pairs):
            anchored = False  # the anchor alone, but not the kind of signal it stands for
        if not (both or anchored):
            continue  # a theatre needs both sides present, or an anchor actor
        present.add(th.id)
        members = side_a | side_b
        score = 3 * both + anchored
        for src, tgt, w, _ in pairs:
            if (src in side_a and tgt in side_b) or (src in side_b and tgt in side_a):
                score += 2 * w
            elif src in members or tgt in members:
                other = tgt if src in members else src
                # USA -> EU over Russia's build-up, RUS -> UKR seen from RUS-NATO: half
                score += 0.5 * w if other is not None else w
        scores[th.id] = score
    best, best_score, wider = lex.default_theatre, 0.0, None
    for th in lex.theatres:
        if th.id in scores and scores[th.id] > best_score:
            best, best_score, wider = th.id, scores[th.id], th
    heaviest = max(pairs, key=lambda p: p[2], default=None)
    if wider is not None and wider.defers_to in present:
        if heaviest is None or heaviest[3] not in wider.keeps:
            return wider.defers_to
    elif heaviest is not None:
        # the other way round: the narrower theatre won, but the article is about what the
        # wider one keeps ("Moscow demands guarantees that Ukraine never joins NATO")
        for th in lex.theatres:
            if th.defers_to == best and th.id in present and heaviest[3] in th.keeps and (
                    codes & th.sides[0] and codes & th.sides[1]):
                return th.id
    return best


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
