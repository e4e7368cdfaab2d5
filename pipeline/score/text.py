"""Sentences and clauses: where a cue's reach ends.

Owns: splitting a text into sentence starts (``.!?;`` not after an abbreviation)
and clause starts (``, but``, ``:``, `` - ``, dashes, the clause words the
automaton found), and counting words between two offsets. Plain ``str.find``
loops rather than regexes: this runs for every scored text.

Must not touch: categories, cues' meanings, actors or weights (they live in
:mod:`.modality`, :mod:`.actors` and :mod:`.weigh`).
"""

from __future__ import annotations

from dataclasses import dataclass

# words before a full stop that do not end a sentence ("Mr.", "Gen.", "Jan.")
_ABBREV = frozenset(
    "mr mrs ms dr gen lt col maj sgt capt cmdr adm sen rep gov pres prof st mt jan feb mar apr jun jul aug "
    "sep sept oct nov dec no vs etc inc corp ltd co jr sr".split()
)
_CLOSERS = "\"')]\u201d\u2019\u00bb"


@dataclass(slots=True)
class Layout:
    """Sentence and clause starts of one text (both sorted, both begin with 0)."""

    text_len: int
    sentences: list[int]
    clauses: list[int]

    def sentence_span(self, s_idx: int) -> tuple[int, int]:
        starts = self.sentences
        return starts[s_idx], (starts[s_idx + 1] if s_idx + 1 < len(starts) else self.text_len)


def layout(text: str, clause_cues: list[int], comma_words: frozenset[str]) -> Layout:
    """The sentences and clauses of ``text``; ``clause_cues``: offsets of the clause
    words the automaton found (but, while, although ...)."""
    sents = sentences(text)
    return Layout(len(text), sents, clauses(text, sents, clause_cues, comma_words))


def sentences(text: str) -> list[int]:
    """Start offsets of the sentences in ``text`` (always begins with 0).

    A sentence ends at . ! ? ; or a newline followed by white space, except
    after an abbreviation ("U.S. forces", "Gen. Milley").
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


def clauses(text: str, sent_starts: list[int], clause_cues: list[int], comma_words: frozenset[str]) -> list[int]:
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


def words_between(text: str, a: int, b: int) -> int:
    """Words strictly between offsets a and b (cue and trigger spans exclude
    their spaces, so the gap " x y " has one more space than words)."""
    return text.count(" ", a, b) - 1 if b > a else 0
