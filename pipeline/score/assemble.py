"""Whole-pattern hits from the automaton's part matches.

Owns: joining the parts of a gapped pattern (``imposed .. sanctions``: at most
``max_gap_words`` words between parts, never across ``.;!?:``) and choosing among
overlapping hits (most matched characters, then the longer span, then the
heavier category).

Must not touch: modality, actors, relevance, weights.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from typing import Any

#: one hit: (start, end, category id, gapped)
Hit = tuple[int, int, str, bool]
#: what a gap may not hold: the parts of a pattern stay in one sentence and clause
_GAP_STOPS = frozenset(".;!?:")
#: characters of a long gap read first: the next part may be far away in a long text
_GAP_PEEK = 128


def assemble(lex: Any, text: str, parts: list[tuple[int, int, int, int]]) -> list[Hit]:
    """Whole-pattern hits from part matches; the longest of overlapping hits wins."""
    patterns = lex.patterns
    cands: list[tuple[int, int, str, int, bool]] = []
    multi: dict[int, list[tuple[int, int, int]]] = {}
    for start, end, pid, part in parts:
        pat = patterns[pid]
        if pat.n_parts == 1:
            cands.append((start, end, pat.category, end - start, False))
        else:
            multi.setdefault(pid, []).append((part, start, end))
    if multi:
        _join_gapped(lex, text, multi, cands)
    if len(cands) > 1:
        return _non_overlapping(lex, cands)
    return [(h[0], h[1], h[2], h[4]) for h in cands]


def _join_gapped(lex: Any, text: str, multi: dict[int, list[tuple[int, int, int]]],
                 cands: list[tuple[int, int, str, int, bool]]) -> None:
    """Append to ``cands`` every gapped pattern whose parts follow each other closely enough.

    Each later part takes the first match (by start) at or after the previous part's end;
    a gap only grows with a later start (more words, maybe punctuation), so when that first
    one is too far, every later one is too: one bisect and one gap check per part."""
    patterns = lex.patterns
    max_gap = lex.max_gap_words
    for pid, plist in multi.items():
        pat = patterns[pid]
        if len(plist) < pat.n_parts:
            continue  # a part is missing (most first parts stand alone: "troops", "warned")
        by_part: list[list[tuple[int, int]]] = [[] for _ in range(pat.n_parts)]
        for part, s, e in plist:
            by_part[part].append((s, e))
        if not all(by_part):
            continue
        category = pat.category
        later = []
        for p in by_part[1:]:
            p.sort()
            later.append((p, [s for s, _ in p]))
        for s0, e0 in by_part[0]:
            cur_end = e0
            matched = e0 - s0
            for nxt, starts in later:
                i = bisect_left(starts, cur_end)
                if i == len(nxt):
                    break
                s, e = nxt[i]
                if not _gap_fits(text, cur_end, s, max_gap):
                    break
                matched += e - s
                cur_end = e
            else:
                cands.append((s0, cur_end, category, matched, True))


def _gap_fits(text: str, a: int, b: int, max_gap: int) -> bool:
    """At most ``max_gap`` words and none of ``.;!?:`` between offsets a and b. A gap only
    grows with b, so a long one is first judged by its opening: when that already has too
    many words or a stop, so has the whole gap (no slicing up to a part far away)."""
    if b - a > _GAP_PEEK:
        head = text[a : a + _GAP_PEEK]
        if len(head.split()) > max_gap or not _GAP_STOPS.isdisjoint(head):
            return False
    gap = text[a:b]
    return len(gap.split()) <= max_gap and _GAP_STOPS.isdisjoint(gap)


def _non_overlapping(lex: Any, cands: list[tuple[int, int, str, int, bool]]) -> list[Hit]:
    """Most matched characters first (gap words do not count, so a long gapped match
    does not swallow a tight phrase); on a tie the longer span, then the heavier (more
    specific) category wins."""
    cats = lex.categories
    # a hit inside another hit's span is part of that phrase ("lift trade
    # and travel restrictions"): drop it before ranking
    gapped = sorted(o for o in cands if o[4])
    if gapped:
        # ... unless the outer one is a generic word that yields to it ("warned of severe
        # sanctions against": the sanctions threat, not a generic threat of force)
        starts = [o[0] for o in gapped]
        longest = max(o[1] - o[0] for o in gapped)
        cands = [h for h in cands if not _inside_gapped(cats, h, gapped, bisect_left(starts, h[1] - longest))]
        # and an outer gapped hit that holds one it yields to gives way to it before ranking
        # ("bolsters eastern flank with extra warships": the alliance's deployment, not a
        # build-up; yields_to would drop the outer one later anyway, once the inner one stood)
        cands = [o for o in cands if not (o[4] and _holds_yielded(cats, o, cands))]
    cands.sort(key=lambda h: (-h[3], h[0] - h[1], -cats[h[2]].weight, h[0]))
    # spans taken so far, sorted by start and never overlapping, so their ends are sorted too:
    # the one taken span that can overlap a candidate is the first ending after its start
    taken_starts: list[int] = []
    taken_ends: list[int] = []
    out = []
    for h in cands:
        i = bisect_right(taken_ends, h[0])
        if i < len(taken_ends) and taken_starts[i] < h[1]:
            continue
        taken_starts.insert(i, h[0])
        taken_ends.insert(i, h[1])
        out.append((h[0], h[1], h[2], h[4]))
    out.sort()
    return out


def _inside_gapped(cats: Any, h: tuple[int, int, str, int, bool], gapped: list[tuple[int, int, str, int, bool]],
                   lo: int) -> bool:
    """``h`` lies inside a longer gapped hit that does not yield to it (``gapped`` sorted by
    start; from ``lo`` on they start late enough to reach over ``h``)."""
    for i in range(lo, len(gapped)):
        o = gapped[i]
        if o[0] > h[0]:
            return False
        if h[1] <= o[1] and (o[1] - o[0]) > (h[1] - h[0]) and h[2] not in cats[o[2]].yields_to and h[2] != o[2]:
            # (a hit of the same category stays a candidate: when the gapped one loses to an
            # overlapping hit, "требует от Минска" still stands for "требует от Минска освободить")
            return True
    return False


def _holds_yielded(cats: Any, o: tuple[int, int, str, int, bool], cands: list[tuple[int, int, str, int, bool]]) -> bool:
    """The gapped hit ``o``, an act, spans a shorter hit of a category it yields to."""
    cat = cats[o[2]]
    if cat.kind != "act":
        return False  # a threat phrase keeps the act it is about ("ответ на атаки .. будет")
    yields = cat.yields_to
    return bool(yields) and any(h[2] in yields and o[0] <= h[0] and h[1] <= o[1] and h is not o for h in cands)
