"""The taxonomy's pattern syntax and the text normalisation every match runs over.

Matching runs over a normalised copy of the text: lower-cased, every character
that is not a letter or digit replaced by a space. Each replacement is one
character for one, so offsets map 1:1 back to the original text. A pattern is
one or more parts joined by `` .. `` gaps, each part with ``(a|b|)`` groups that
expand to literal alternatives and an optional trailing ``*`` (a prefix).

Owns: :func:`normalise`, :func:`expand`, :func:`pattern_parts`, shared by the
validation of the data files (:mod:`pipeline.signals.data_files`) and the
compile (:mod:`pipeline.signals.lexicon`). Must not touch: the data files, the
automaton. Pure.
"""

from __future__ import annotations

import re

# every char that is not a letter or digit becomes a space (1:1, offsets kept)
_PUNCT = "".join(chr(i) for i in range(128) if not chr(i).isalnum()) + (
    "\u2018\u2019\u201c\u201d\u2013\u2014\u2026\u00a0\u00ab\u00bb\u2032\u02bc\u00b4\u2212"
)
_NORMALISE = str.maketrans(_PUNCT, " " * len(_PUNCT))
_GROUP_RE = re.compile(r"\(([^()]*)\)")


def normalise(text: str) -> str:
    """Lower-case ``text`` and blank out punctuation, keeping every offset."""
    low = text.lower()
    if len(low) != len(text):  # e.g. "İ" lower-cases to two characters
        low = "".join(c.lower() if len(c.lower()) == 1 else c for c in text)
    return low.translate(_NORMALISE)


def expand(pattern: str) -> list[str]:
    """Expand ``(a|b|)`` groups into every literal alternative (whitespace tidied)."""
    out: list[str] = []
    todo = [pattern]
    while todo:
        p = todo.pop()
        m = _GROUP_RE.search(p)
        if m is None:
            lit = " ".join(p.split())
            if lit and lit not in out:
                out.append(lit)
            continue
        for alt in m.group(1).split("|"):
            todo.append(p[: m.start()] + alt + p[m.end() :])
    return out


def pattern_parts(pattern: str) -> list[list[str]]:
    """Split a pattern on `` .. `` gaps and expand each part."""
    return [expand(part) for part in pattern.split(" .. ")]

