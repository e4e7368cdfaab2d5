"""Relevance and weight of every kept hit: does it count, how much, and why.

Owns: the contexts of a sentence (the taxonomy's context phrases, ``actor``,
``two_actors``), the category's ``needs`` and ``vetoed_by`` (a veto lifted by a
military context, strict vetoes, vetoes that reach the whole article from the
headline), the relevance gate's floor and rescue contexts, the modality
multipliers, the decay of a repeated category, talks and deals between allies (the
watchlist's ``allies``: no de-escalation), and the ``why`` of each signal.

Must not touch: cues and modality (:mod:`.modality`), the theatre.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from typing import Any

from .actors import actors_for
from .modality import Judged
from .text import Layout

#: one weighed hit: (start, end, category, modality, source, target, weight, sentence start,
#: sentence end, kind, why)
Weighed = tuple[int, int, Any, str, Any, Any, float, int, int, str, str]
_NO_CONTEXT: frozenset[str] = frozenset()
_NONE: frozenset[str] = frozenset()


def _sentence_contexts(ctx_cues: list[tuple[int, int, str, str | None]], actors: list[tuple[int, int, str]],
                       sentences: list[int]) -> dict[int, set[str]]:
    """The context names found in each sentence (by index; sentences with none are
    missing), ``actor`` when a gazetteer actor is in it. One pass over the cues and the
    actors, each placed in the sentence its start is in."""
    found: dict[int, set[str]] = {}
    for c in ctx_cues:
        found.setdefault(bisect_right(sentences, c[0]) - 1, set()).add(c[3])  # type: ignore[arg-type]
    for a in actors:
        found.setdefault(bisect_right(sentences, a[0]) - 1, set()).add("actor")
    return found


def weigh(lex: Any, text: str, final: list[Judged], lay: Layout, actors: list[tuple[int, int, str]],
          ctx_cues: list[tuple[int, int, str, str | None]], judgement: Any) -> list[Weighed]:
    """Actors, relevance, weight and the reason of every kept hit.

    A hit counts when (1) its modality counts (not negated or denied), (2) its
    sentence meets the category's ``needs`` and no ``vetoed_by`` context stands
    there unlifted, and (3) the relevance gate says the text is geopolitical, or
    is between its floor and its threshold with a rescue context in the sentence.
    Repeats of a category decay over the hits that count.
    """
    cats = lex.categories
    counts: dict[str, int] = {}
    out: list[Weighed] = []
    ctx_of = _sentence_contexts(ctx_cues, actors, lay.sentences)
    actor_starts = [a[0] for a in actors]  # sorted (dedupe_actors)
    art_vetoes = _article_vetoes(lex, ctx_cues, lay.sentences)
    # the gate's verdict, in the "why" of every hit: worded once per text
    gate_why = "no relevance gate" if judgement is None else judgement.explain()
    for j in final:
        modality = j.modality
        cat = cats[j.category]
        s_lo, s_hi = lay.sentence_span(j.sentence)
        in_sentence = actors[bisect_left(actor_starts, s_lo) : bisect_left(actor_starts, s_hi)]
        source, target = actors_for(text, in_sentence, j.start, j.end, s_lo, s_hi, lay.clauses[j.clause], j.warn_at,
                                    lex.complementizers, lex.conjunctions if cat.direction == "de-escalation" else _NONE)
        kind = cat.kind if modality not in ("threat", "conditional") or cat.direction != "escalation" else "threat"
        if modality == "conditional" and cat.kind == "act" and cat.direction == "escalation":
            kind = "threat"
        ctx = ctx_of.get(j.sentence, _NO_CONTEXT)
        if source and target:
            ctx = ctx | {"two_actors"}
        why = _relevance_refusal(lex, cat, ctx, judgement, art_vetoes, gate_why)
        if why is None:
            why = j.refusal
        if why is None and cat.id in lex.allied_categories and (allied := _allied_parties(
                lex.blocs, {a[2] for a in in_sentence if a[0] < j.start}, source, target)):
            why = f"not counted: between allies ({', '.join(allied)}), no de-escalation"
        weight, why = _weight(lex, cat, j, why, counts, source, target, ctx, judgement, gate_why)
        out.append((j.start, j.end, cat, modality, source, target, weight, s_lo, s_hi, kind, why))
    return out


def _allied_parties(blocs: Any, before: set[str], source: str | None, target: str | None) -> list[str]:
    """The parties of a talk or deal, sorted, when they are allies; [] when they are not.

    The parties are the source and target the actors rule picked, unless the actors named
    before the trigger are two or more and not all allies: "Ukraine and Russia hold talks in
    Belarus" is Ukraine's and Russia's talk, though the rule paired Russia with Belarus. With
    no target, the actors before the trigger are the parties ("Putin and Lukashenko hold
    talks"). Actors of no bloc (the UN, the OSCE) are hosts, not parties."""
    def members(codes: set[str]) -> set[str]:
        return {c for c in codes if any(c in b for b in blocs)}

    def one_bloc(codes: set[str]) -> bool:
        return any(codes <= b for b in blocs)

    named = members(before)
    if len(named) > 1 and not one_bloc(named):
        return []
    parties = members({source, target} if source and target else named | ({source} if source else set()))
    return sorted(parties) if len(parties) > 1 and one_bloc(parties) else []


def _weight(lex: Any, cat: Any, j: Judged, refusal: str | None, counts: dict[str, int], source: Any,
            target: Any, ctx: set[str], judgement: Any, gate_why: str) -> tuple[float, str]:
    """The hit's weight and its ``why``: 0 with the refusal, or the category weight times
    the modality's multiplier, decayed by the category's earlier counted hits.
    ``gate_why``: ``judgement.explain()`` ("no relevance gate" without one)."""
    modality = j.modality
    shown = f"{modality} (cue {j.cue!r})" if j.cue else modality
    mw = lex.modality_weights
    if modality == "threat":
        mult = mw["threat_kind"] if cat.kind == "threat" else mw["threat"]
    else:
        mult = mw[modality]
    if refusal is not None:
        return 0.0, refusal
    if mult == 0:
        return 0.0, f"not counted: {shown}"
    k = counts.get(cat.id, 0)
    counts[cat.id] = k + 1
    weight = cat.weight * mult * (lex.repeat_decay**k)
    if cat.direction == "de-escalation":
        weight = -weight
    weight = round(weight, 3) + 0.0
    why = f"counted: {shown}; actors {source or '?'} -> {target or '?'}; "
    if judgement is None or judgement.relevant:
        why += gate_why
    else:
        rescue = "/".join(sorted(ctx & lex.rescue_contexts))
        why += f"relevance p={judgement.probability:.2f} under the gate's threshold, kept for its {rescue} context"
    return weight, why


def _article_vetoes(lex: Any, ctx_cues: list[tuple[int, int, str, str | None]],
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


def vetoed_by(context: str) -> str:
    """The start of the ``why`` of a hit a context vetoed (the theatre step reads it back)."""
    return f"not counted: {context} context"


def _relevance_refusal(lex: Any, cat: Any, ctx: set[str], judgement: Any,
                       art_vetoes: frozenset[str] = frozenset(), gate_why: str | None = None) -> str | None:
    """Why a hit does not count as geopolitics, or None when it does. A veto stands
    unless the hit's own sentence has a context that lifts it; ``art_vetoes`` (see
    :func:`_article_vetoes`) stand as if they were in the sentence; ``gate_why``:
    ``judgement.explain()`` when the caller has it."""
    if cat.vetoed_by:
        for v in sorted(cat.vetoed_by & (ctx | art_vetoes)):
            if not (ctx & lex.strict_vetoes.get(v, lex.veto_lifted_by)):
                return f"{vetoed_by(v)} in the {'sentence' if v in ctx else 'article'}"
    if cat.needs and not (cat.needs & ctx):
        return f"not counted: the sentence has no {' or '.join(sorted(cat.needs))} context"
    if judgement is None or judgement.relevant:
        return None
    if judgement.probability >= lex.gate_floor and ctx & lex.rescue_contexts:
        return None
    return "not counted: the text is " + (judgement.explain() if gate_why is None else gate_why)
