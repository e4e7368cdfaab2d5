"""Whole-pattern hits from the automaton's part matches.

Owns: joining the parts of a gapped pattern (``imposed .. sanctions``: at most
``max_gap_words`` words between parts, never across ``.;!?:``) and choosing among
overlapping hits (most matched characters, then the longer span, then the
heavier category).

Must not touch: modality, actors, relevance, weights.
"""

from __future__ import annotations

from typing import Any

#: one hit: (start, end, category id, gapped)
Hit = tuple[int, int, str, bool]


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
    """Append to ``cands`` every gapped pattern whose parts follow each other closely enough."""
    patterns = lex.patterns
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


def _non_overlapping(lex: Any, cands: list[tuple[int, int, str, int, bool]]) -> list[Hit]:
    """Most matched characters first (gap words do not count, so a long gapped match
    does not swallow a tight phrase); on a tie the longer span, then the heavier (more
    specific) category wins."""
    cats = lex.categories
    # a hit inside another hit's span is part of that phrase ("lift trade
    # and travel restrictions"): drop it before ranking
    gapped = [o for o in cands if o[4]]
    if gapped:
        # ... unless the outer one is a generic word that yields to it ("warned of severe
        # sanctions against": the sanctions threat, not a generic threat of force)
        cands = [h for h in cands
                 if not any(o[0] <= h[0] and h[1] <= o[1] and (o[1] - o[0]) > (h[1] - h[0])
                            and h[2] not in cats[o[2]].yields_to for o in gapped)]
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
