"""Who acts on whom, and which theatre the article is about.

Owns: choosing among overlapping actor names, the source -> target of a hit
(nearest actor before the trigger in its clause, first other actor after it; a
warning's speaker and addressee; "was attacked by X" and "attacks by X" swap them;
"Taiwan's air defence zone": the possessor is what is hit, "Russia's invasion": who
does it) and the article's theatre from the
watchlist (the dyad the counted signals are about; third parties acting over a
dyad's crisis count half; a wider theatre defers to a narrower one unless its
heaviest signal is the kind it keeps).

Must not touch: modality, relevance, weights.
"""

from __future__ import annotations

import re
from typing import Any

_PASSIVE_TAIL = ("was ", "were ", "been ", "being ", "is ", "are ", "got ")
_IRREGULAR_PARTICIPLES = frozenset("struck hit shot overrun taken beaten caught held sunk seized shelled".split())


#: nouns of a deed whose possessor does it ("Russia's invasion", "Israel's strikes"), unlike
#: places and things hit ("Taiwan's air defence zone", "Ukraine's capital")
_AGENT_NOUNS = frozenset(
    "invasion invasions attack attacks assault assaults offensive offensives counteroffensive war aggression "
    "bombardment bombardments shelling strikes airstrikes missiles missile troops forces army military "
    "buildup build-up blockade threats threat ultimatum demands demand sanctions drills exercises "
    "mobilisation mobilization annexation occupation incursion incursions crackdown retaliation warning "
    "warnings deployment deployments escalation siege operation operations".split())
_BY_AGENT = re.compile(r"(?i) by (the )?")


def _agent_noun(text: str, start: int, end: int) -> bool:
    """The trigger is (or ends in) a noun of a deed: "invasion", "full-scale invasion"."""
    words = text[start:end].lower().replace("\u2019", "'").split()
    return bool(words) and (words[0] in _AGENT_NOUNS or words[-1] in _AGENT_NOUNS)


def _participle(trig: str) -> bool:
    """The trigger (lower case) opens with a past participle: "attacked", "struck"."""
    first = trig.split(" ", 1)[0]
    return first.endswith("ed") or first in _IRREGULAR_PARTICIPLES


def dedupe_actors(actors: list[tuple[int, int, str]]) -> list[tuple[int, int, str]]:
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


def actors_for(
    text: str, actors: list[tuple[int, int, str]], start: int, end: int, s_lo: int, s_hi: int, c_lo: int,
    warn_at: int = -1, complementizers: frozenset[str] = frozenset(), parties: frozenset[str] = frozenset(),
) -> tuple[str | None, str | None]:
    """(source, target) of the hit ``start:end`` in the sentence ``s_lo:s_hi``, clause from
    ``c_lo``. ``actors``: sorted by start, the text's or only the sentence's (weigh passes
    those, so a hit never walks the actors of the whole text). ``complementizers``: the
    words that open a reported clause (see :func:`_subject_and_object`). ``parties``: for
    a hit between two parties (talks, a deal, a truce), the words that join them ("and",
    "и", "і"): "Си и Трамп поговорили о Тайване" is China and the US, not the US and Taiwan."""
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
        if gap[:2] in ("'s", "\u2019s") and len(gap.split()) <= 3 and not _agent_noun(text, start, end):
            # "Taiwan's air defence zone": the possessor is what is hit ("Russia's invasion":
            # who invades)
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
    if parties and len(befores) > 1:
        # the last two actors of the clause joined by "and" ("Україна та Росія за посередництва
        # Туреччини уклали меморандум": Ukraine and Russia, not Turkey)
        for i in range(len(befores) - 1, 0, -1):
            a, b = befores[i - 1], befores[i]
            if a[0] < c_lo:
                break
            if a[2] != b[2] and text[a[1] : b[0]].strip().lower() in parties:
                return a[2], b[2]
    source = src_actor[2] if src_actor else None
    # " by " asked first: the cheaper question, and the rarer answer
    if after and after[0][0] - end <= 16 and _BY_AGENT.match(text, end, min(after[0][0] + 1, end + 24)) and \
            _agent_noun(text, start, end):
        # "under assault by Russia", "attacks by Russian forces": the agent follows the noun
        agent = after[0][2]
        target = source if source != agent else None
        if target is None:
            target = next((a[2] for a in after[1:] if a[2] != agent), None)
        return agent, target
    # passive: "Ukraine was attacked by Russia"
    trig = text[start:end].lower()
    if (text[max(s_lo, start - 8) : start].lower().endswith(_PASSIVE_TAIL) and _participle(trig)) or \
            trig.startswith(_PASSIVE_TAIL):
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
    if target is None and complementizers and len(befores) > 1:
        return _subject_and_object(text, befores, start, max(s_lo, c_lo), complementizers) or (source, None)
    return source, target


_WORD_RE = re.compile(r"[^\W_]+", re.UNICODE)


def _subject_and_object(text: str, befores: list[tuple[int, int, str]], start: int, lo: int,
                        complementizers: frozenset[str]) -> tuple[str, str] | None:
    """A trigger that ends its clause with no actor after it: "Захарова назвала слова главы
    МИД Эстонии бредом", "Киев и Вашингтон подписали соглашение". Its first actor is the
    doer, the last other one before it the done-to. Not across a reported clause's opening
    ("США заявили, что Россия готовит наступление": the speaker is no party to it)."""
    for m in _WORD_RE.finditer(text, lo, start):
        if m.group().lower() in complementizers:
            lo = m.end()
    inside = [a for a in befores if a[0] >= lo]
    if len(inside) < 2:
        return None
    source = inside[0][2]
    target = next((a[2] for a in reversed(inside) if a[2] != source), None)
    return (source, target) if target is not None else None


def theatre(lex: Any, actors: list[tuple[int, int, str]], pairs: Any) -> str:
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
        if not (both or anchored) and th.posture and codes <= side_a | side_b and any(
                codes & who and any(p[3] in what for p in pairs) for who, what in th.posture):
            anchored = True  # an alliance's posture with no other theatre's actor in sight
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
    elif wider is not None and wider.defers_to and heaviest is not None and heaviest[3] in wider.hands_over:
        return wider.defers_to
    elif heaviest is not None:
        # the other way round: the narrower theatre won, but the article is about what the
        # wider one keeps ("Moscow demands guarantees that Ukraine never joins NATO")
        for th in lex.theatres:
            if th.defers_to == best and th.id in present and heaviest[3] in th.keeps and (
                    codes & th.sides[0] and codes & th.sides[1]):
                return th.id
    return best
