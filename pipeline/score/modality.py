"""The modality of every hit, read from the cues of its own clause.

Owns: what each cue does to a hit (denied > negated > conditional > hedged >
threat > action; a request, "urges sanctions", is hedged), how far it reaches (its
clause; a negation stops at a condition, a hedge reaches only the words near the
trigger, "not only ... but also" is no negation, a background phrase stops a cue
before it), the category variants a modality calls for (a threatened act becomes its
``threat_variant``, a requested one its ``request_variant``, a refused de-escalation
its ``negated_variant``; a refused demand stays a demand), the refusals of idioms ("heart attack") and agenda topics
("talks on nuclear threats"), and then :func:`fold`: a condition folded into its
threat, ``yields_to``/``yields_after``, one hit per category and sentence.

Issue 14, round 4 (cues the Russian and Ukrainian lexicons name; English has none of
the first three): an ``aim`` ("чтобы") threatens the act it aims at and makes a
de-escalation no step taken; a ``demand`` ("требует") and a ``prerequisite`` ("до
начала", "перед") make what follows not count; a ``denied_predicate`` after a dash
("— фейк") denies; a de-escalation right after a background phrase is background; a
hedge between commas reaches its clause; a phrase condition ("в случае X") covers
only its noun phrase; a negation inside an if-clause stops at its comma; a past
deed said not done ("заявили, что не атаковали") is denied; the future (a lexicon's
``future_suffixes``/``future_auxiliaries``) threatens; a negated, denied or hedged
threat keeps the act it is about.

Must not touch: actors, relevance, weights (:mod:`.weigh`), the theatre.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from typing import Any

from .assemble import Hit
from .text import Layout, words_between

_AGENDA_WINDOW_WORDS = 10
#: "to stop", "will halt": a negation cue that, inside a trigger, is the trigger's own demand
_PURPOSE = re.compile(r"(?i)(to|will|would) ")
_HEDGE_BEFORE_WORDS = 8
_HEDGE_AFTER_WORDS = 4
#: "чтобы согласиться на перемирие", "до начала переговоров": how far an aim reaches
_AIM_WINDOW_WORDS = 8
#: "после перемирия", "despite the ceasefire": a de-escalation this close after a background
#: phrase is the background
_BACKGROUND_WINDOW_WORDS = 1
#: "в случае нападения", "у разі удару": the noun phrase a phrase condition covers
_PHRASE_CONDITION_WORDS = 2
#: "Сообщения о взятии Купянска — фейк": how far back a falsehood after a dash reaches
_PREDICATE_WINDOW_WORDS = 10
_DASHES = ("\u2014", "\u2013", "-")
_NOT_COUNTING = ("negated", "denied")
_BLOCKED_BY_BACKGROUND = frozenset(("negated_before", "hedged", "threat", "request", "refusal"))


class Judged:
    """One hit with its modality, where it stands, and why it may not count."""

    __slots__ = ("start", "end", "category", "modality", "sentence", "clause", "in_condition", "fold_key",
                 "refusal", "own_category", "cue", "warn_at", "neg_at")

    def __init__(self, start: int, end: int, category: str, modality: str, sentence: int, clause: int,
                 in_condition: bool, fold_key: Any, refusal: str | None, own_category: str, cue: str | None,
                 warn_at: int, neg_at: int = -1):
        self.start = start
        self.end = end
        #: the category it counts as (a variant of ``own_category`` when threatened or refused)
        self.category = category
        self.modality = modality
        self.sentence = sentence
        self.clause = clause
        #: inside the condition of a conditional ("... if Russia invades")
        self.in_condition = in_condition
        #: the clause (or sentence) whose threat a condition folds into
        self.fold_key = fold_key
        #: an idiom's or an agenda topic's "not counted: ..."
        self.refusal = refusal
        self.own_category = own_category
        #: the cue that set the modality, for the signal's "why"
        self.cue = cue
        #: start of a threat cue before the trigger ("Kremlin warns Kyiv of a response"), else -1
        self.warn_at = warn_at
        #: start of the negation cue that negated it, else -1
        self.neg_at = neg_at


class Cues:
    """The scan's cues sorted by kind, once per text (and the modal ones by sentence,
    :meth:`in_sentence`, the first time a hit asks)."""

    __slots__ = ("modal", "context", "swallowing", "hedge_spans", "cond_starts", "clause_cond_starts", "contrasts",
                 "background", "_by_sentence")

    def __init__(self, text: str, scan_cues: list[tuple[int, int, str, Any]], contrasts: list[int] = ()):
        #: where a contrasting clause opens (", but", "while"): a denial before it does not reach past it
        self.contrasts = contrasts
        self.modal = [c for c in scan_cues if c[2] != "clause" and c[2] != "context"]
        self.context = [c for c in scan_cues if c[2] == "context"]
        # a denial's own phrase, and "would be met with" (the phrase is the cue, not a meeting)
        self.swallowing = [(c[0], c[1]) for c in self.modal if c[2] in ("denied_before", "consequence")]
        # "unsure if ... a bluff": the "if" is part of a hedge, not a condition
        self.hedge_spans = [(c[0], c[1]) for c in self.modal if c[2] == "hedged" and " " in text[c[0] : c[1]]]
        self.cond_starts = [c[0] for c in self.modal if c[2] == "conditional"]
        # "if ..." and "якщо ...": conditions that run to the next comma (not "в случае X")
        self.clause_cond_starts = [c[0] for c in self.modal if c[2] == "conditional" and c[3] != "np"]
        # "plans to exit ... over the invasion", "could fall ... amid attacks": what follows
        # one of these is the background, which a threat, hedge or negation before it misses
        self.background = [c[0] for c in self.modal if c[2] == "background"]
        self._by_sentence: list[list[tuple[int, int, str, Any]]] | None = None

    def in_sentence(self, sentences: list[int], s_idx: int) -> list[tuple[int, int, str, Any]]:
        """The modal cues that overlap sentence ``s_idx`` (``sentences``: the text's sentence
        starts), in scan order; grouped once per text, so a hit reads only its own sentence's."""
        if self._by_sentence is None:
            by: list[list[tuple[int, int, str, Any]]] = [[] for _ in sentences]
            last = len(sentences) - 1
            for c in self.modal:
                # sentence i spans [sentences[i], sentences[i + 1]): the cue is in the one its
                # start is in and in each later one that starts before its end
                i = bisect_right(sentences, c[0]) - 1
                by[i].append(c)
                while i < last and sentences[i + 1] < c[1]:
                    i += 1
                    by[i].append(c)
            self._by_sentence = by
        return self._by_sentence[s_idx]

    def behind_background(self, cue_end: int, start: int) -> bool:
        """A background phrase stands between a cue and the hit it would reach."""
        return bool(self.background) and any(cue_end <= b < start for b in self.background)


class _Reading:
    """What the cues of one hit's clause say about it."""

    __slots__ = ("denied", "negated", "conditional", "hedged", "threatened", "requested", "refused",
                 "in_condition", "fold_key", "topic_cue", "idiom", "neg_cue", "cue_of", "warn_at", "aim",
                 "background", "demanded", "awaited", "neg_inside", "neg_at")

    def __init__(self, fold_key: int):
        self.denied = self.negated = self.conditional = self.hedged = False
        self.threatened = self.requested = self.refused = self.in_condition = False
        self.fold_key: Any = fold_key
        self.topic_cue: str | None = None
        self.idiom: str | None = None  # "heart attack", "attack submarine": part of a phrase of peace
        self.neg_cue = ""
        self.cue_of: dict[str, str] = {}  # modality -> the cue that set it
        self.warn_at = -1
        self.aim: str | None = None  # "чтобы", "до начала": what a demand or condition aims at
        self.background: str | None = None  # "после", "despite": the background of the news
        self.demanded: str | None = None  # "требует", "вимагає": what follows is demanded, not done
        self.awaited: str | None = None  # "до начала", "перед": what follows is yet to come
        self.neg_inside = False  # the negation is a word of the hit itself ("требует прекратить")
        self.neg_at = -1  # where the negation cue starts


def judge(lex: Any, text: str, hits: list[Hit], lay: Layout, cues: Cues) -> tuple[list[Judged], list[Judged]]:
    """Every hit's modality and variant: (judged, idiomatic). Hits inside an idiom
    ("attack helicopters") are returned apart: shown with their reason, they take no
    part in folding, yielding or the one-per-sentence dedupe."""
    judged: list[Judged] = []
    idiomatic: list[Judged] = []
    cats = lex.categories
    sents, clauses, n = lay.sentences, lay.clauses, lay.text_len
    swallowing = cues.swallowing
    for start, end, cat_id, gapped in hits:
        if swallowing and any(ds <= start and end <= de for ds, de in swallowing):
            continue  # "rejected claims": the phrase is the denial itself
        s_idx = bisect_right(sents, start) - 1
        c_idx = bisect_right(clauses, start) - 1
        s_lo = sents[s_idx]
        s_hi = sents[s_idx + 1] if s_idx + 1 < len(sents) else n
        c_lo = clauses[c_idx]
        c_hi = min(clauses[c_idx + 1] if c_idx + 1 < len(clauses) else n, s_hi)
        r = _read_cues(lex, text, cues, start, end, gapped, sents, s_lo, c_lo, c_hi, s_idx, c_idx)
        cat = cats[cat_id]
        if cat.direction == "escalation" and not (r.threatened or r.negated or r.denied) and (
                r.aim is not None or _future(lex, text, start, c_lo)):
            # "стягують резерви, щоб посилити штурми", "Іран атакуватиме бази": the act is
            # aimed at or announced, not done (English "will")
            r.threatened = True
            r.cue_of.setdefault("threat", r.aim or text[start:end].split()[0])
        if r.neg_inside and r.negated and cat.refusal_confirms:
            r.negated = False  # "потребовала от НАТО отказаться от ...": what is demanded, not a refusal
        if r.refused and r.negated and cat.refusal_confirms:
            r.negated = False  # "rejects Russia's demand to surrender": the demand was made
        if not r.conditional and _any_would(lex, text, start, end, c_lo, c_hi):
            r.conditional = True  # "any invasion would be very tough": a hypothesis, not an act
            r.cue_of["conditional"] = "any ... would"
        modality = ("denied" if r.denied else "negated" if r.negated else "conditional" if r.conditional else
                    "hedged" if r.hedged or r.requested else
                    "threat" if r.threatened or (cat.kind == "threat" and cat.stated_as == "threat") else "action")
        own = cat_id
        if cat.direction == "escalation":
            if r.requested and not r.conditional:
                cat_id = cat.request_variant or cat_id
            elif cat.threat_variant and (r.threatened or (r.conditional and not r.in_condition)) and not (
                    r.negated or r.denied or (r.hedged and not r.conditional)):
                # a negated, denied or hedged threat keeps the act it is about: "не собирается
                # наращивать войска" is a negated build-up, "ймовірно, готується до наступу" a
                # hedged offensive (news_tuning/GUIDE.md labels the act)
                cat_id = cat.threat_variant
        elif modality == "negated" and cat.negated_variant and lex.refusal_escalates and (
                r.neg_cue not in lex.bare_negations or " " in text[start:end]):
            # "refused to withdraw", "will not lift the embargo": a refusal to
            # de-escalate is itself a (mild) escalation; "not a done deal" is not
            cat_id = cat.negated_variant
            modality = "action"
        topic_cue = r.topic_cue if cats[cat_id].kind == "threat" else None  # "talks on the attacks": they happened
        refusal = (f"not counted: {r.idiom!r} names no conflict" if r.idiom is not None else
                   f"not counted: a topic of the talks ({topic_cue!r}), not a threat made" if topic_cue is not None
                   else None)
        if refusal is None and r.awaited is not None and modality not in _NOT_COUNTING:
            # "до завершення бойових дій", "перед наступом", "до начала переговоров": a time
            # yet to come, named as the frame of the news, not reported
            refusal = f"not counted: what is yet to come ({r.awaited!r}), not the news"
        if refusal is None and r.demanded is not None and not cat.refusal_confirms and modality not in _NOT_COUNTING:
            # "Москва требует прекратить обстрелы", "вимагає зняти санкції": the demand is the
            # signal (its own category), what it asks for is neither done nor threatened
            refusal = f"not counted: what a demand asks for ({r.demanded!r}), not done"
        if refusal is None and cats[cat_id].direction == "de-escalation" and modality not in _NOT_COUNTING:
            if r.aim is not None:
                # "дав Путіну 10 днів, щоб погодитися на припинення вогню", "вывести войска до начала
                # переговоров": demanded or awaited, not a step taken
                refusal = f"not counted: what a demand or condition aims at ({r.aim!r}), not a step taken"
            elif r.background is not None:
                # "удари тривають навіть після перемир'я", "despite the ceasefire": the background
                refusal = f"not counted: the background ({r.background!r}), not the news"
        row = Judged(start, end, cat_id, modality, s_idx, c_idx, r.in_condition, r.fold_key, refusal, own,
                     r.cue_of.get(modality), r.warn_at, r.neg_at if modality == "negated" else -1)
        (idiomatic if r.idiom is not None else judged).append(row)
    return judged, idiomatic


def _read_cues(lex: Any, text: str, cues: Cues, start: int, end: int, gapped: bool, sents: list[int],
               s_lo: int, c_lo: int, c_hi: int, s_idx: int, c_idx: int) -> _Reading:
    """Apply every cue of the hit's sentence that reaches it."""
    r = _Reading(c_idx)
    cue_of = r.cue_of
    for cs, ce, ctype, flag in cues.in_sentence(sents, s_idx):
        if ctype == "denied_before":
            # anywhere earlier in the sentence, but not across a contrast: "Russia denied massing
            # troops, but NATO said tanks were moving" denies the massing, not the tanks
            if s_lo <= cs and ce <= start and not (cues.contrasts and any(ce <= b < start for b in cues.contrasts)):
                r.denied = True
                cue_of.setdefault("denied", text[cs:ce])
        elif ctype == "consequence":
            # "An attack would be met with sanctions": what comes before is the
            # condition, what comes after the conditional threat
            r.conditional = True
            cue_of.setdefault("conditional", text[cs:ce])
            if start >= cs:
                continue  # the consequence, or a threat that opens with the cue ("повлечет ответ")
            r.in_condition = True
            r.fold_key = ("s", s_idx)
        elif ctype == "denied_predicate":
            # "Сообщения о взятии Купянска — фейк": a falsehood said of what comes before the dash
            if cs >= end and words_between(text, end, cs) <= _PREDICATE_WINDOW_WORDS and \
                    text[s_lo:cs].rstrip().endswith(_DASHES):
                r.denied = True
                cue_of.setdefault("denied", text[cs:ce])
        elif cs < c_lo or ce > c_hi:
            continue
        elif ce <= start and ctype in _BLOCKED_BY_BACKGROUND and cues.behind_background(ce, start):
            continue  # "BP plans to exit ... over the invasion": the invasion is no plan
        elif ctype == "negated_before":
            _negation_before(lex, text, cues, r, cs, ce, start, end, gapped)
        elif ctype == "negated_after":
            # not across a comma: "Прилеты зафиксированы в промзоне, пострадавших нет" negates
            # the casualties, not the strikes
            if cs >= end and words_between(text, end, cs) <= 3 and "," not in text[end:cs]:
                r.negated = True
                cue_of.setdefault("negated", text[cs:ce])
        elif ctype == "denied_after":
            if cs >= end and words_between(text, end, cs) <= 8:
                r.denied = True
                cue_of.setdefault("denied", text[cs:ce])
        elif ctype == "conditional":
            _condition(text, cues, r, cs, ce, start, flag, c_lo, s_lo)
        elif ctype == "hedged":
            # near the trigger: "an apparent assassination attempt" hedges the attempt,
            # not the gunfire at the start of a long clause; a hedge set off by commas
            # ("Кибератака ..., предположительно, была проведена") hedges its whole clause
            if (ce <= start and words_between(text, ce, start) <= _HEDGE_BEFORE_WORDS) or (
                    cs >= end and words_between(text, end, cs) <= _HEDGE_AFTER_WORDS) or start <= cs < end or \
                    _parenthetical(text, cs, ce, s_lo):
                r.hedged = True
                cue_of.setdefault("hedged", text[cs:ce])
        elif ctype == "threat" or ctype == "request":
            if (ce <= start and words_between(text, ce, start) <= lex.threat_window_words) or (
                    cs == start and ce < end):  # or the trigger opens with it: "ready to deploy"
                r.threatened = True
                if ctype == "request":  # "urges sanctions": asked for, hedged
                    r.requested = True
                    cue_of.setdefault("hedged", text[cs:ce])
                else:
                    cue_of.setdefault("threat", text[cs:ce])
                if cs < start and ctype == "threat":  # a warning's addressee is its target, a request's is not
                    r.warn_at = cs
        elif ctype == "refusal":
            if ce <= start and words_between(text, ce, start) <= lex.negation_window_words:
                r.refused = True
        elif ctype == "aim":
            if ce <= start and words_between(text, ce, start) <= _AIM_WINDOW_WORDS:
                r.aim = text[cs:ce]
        elif ctype == "prerequisite":
            # "до начала переговоров", or a cue whose last word opens the hit ("до освобождения
            # заложников")
            if cs < start and (start < ce or words_between(text, ce, start) <= _AIM_WINDOW_WORDS):
                r.awaited = text[cs:ce]
        elif ctype == "demand":
            if ce <= start and words_between(text, ce, start) <= _AIM_WINDOW_WORDS:
                r.demanded = text[cs:ce]
        elif ctype == "background":
            # the phrase right after the cue ("after the talks", "навіть після перемир'я"), not a
            # clause of its own ("after Israel ended its assault", "over Kashmir, through talks")
            if ce <= start and words_between(text, ce, start) <= _BACKGROUND_WINDOW_WORDS and \
                    "," not in text[ce:start] and not any(w[:1].isupper() for w in text[ce:start].split()):
                r.background = text[cs:ce]
        elif ctype == "agenda":
            if ce <= start and words_between(text, ce, start) <= _AGENDA_WINDOW_WORDS:
                r.topic_cue = text[cs:ce]
        elif ctype == "idiom":
            if cs <= start and end <= ce:
                r.idiom = text[cs:ce]
    return r


def _negation_before(lex: Any, text: str, cues: Cues, r: _Reading, cs: int, ce: int, start: int, end: int,
                     gapped: bool) -> None:
    if text.startswith(lex.negation_exempt_after, ce):
        return  # "not only ... but also" is not a negation
    if lex.negation_keeps_open:
        if text.startswith(lex.negation_keeps_open, ce):
            # "did not rule out sending troops": an option kept open, hedged as "may" is
            # (news_tuning/GUIDE.md: negated is "ruled out", hedged "may, could")
            if ce <= start and words_between(text, ce, start) <= lex.negation_window_words + 2:
                r.hedged = True
                kept_open = next(w for w in lex.negation_keeps_open if text.startswith(w, ce))
                r.cue_of.setdefault("hedged", text[cs : ce + len(kept_open)])
            return
        if (" " + text[cs:ce].lower()).startswith(lex.negation_keeps_open) and \
                text[max(0, cs - 8) : cs].lower().rstrip().endswith(("not", "n't", "never", "не")):
            return  # the "rule out" of "not rule out": read at the "not"
    if ce <= start and words_between(text, ce, start) <= lex.negation_window_words:
        if any(ce <= q < start for q in cues.cond_starts):  # "won't open if Russia invades"
            return
        if "," in text[ce:start] and any(
                q < cs and "," not in text[q:cs] for q in cues.clause_cond_starts if q >= _sentence_start(text, cs)):
            return  # "Якщо Тбілісі не відмовиться від закону, Брюссель може ...": the condition's own negation
        if lex.past_suffixes and _denial_in_past(lex, text, cs, ce):
            # "заявили, що не атакували": a deed said not to have been done is denied
            r.denied = True
            r.cue_of.setdefault("denied", text[cs:ce])
            return
        r.negated = True
        r.neg_cue = text[cs:ce].lower()
        r.neg_at = cs
        r.cue_of.setdefault("negated", text[cs:ce])
    elif gapped and start < cs and ce < end and not _PURPOSE.match(text, cs):
        # "NATO ruled out sending troops"; but "warned Moscow to stop" is the demand itself, and a
        # cue that closes the hit is its own last word ("судноплавство ... зупинено")
        r.negated = True
        r.neg_inside = True
        r.cue_of.setdefault("negated", text[cs:ce])


def _sentence_start(text: str, at: int) -> int:
    """Where the sentence holding ``at`` starts, read back to the nearest ``.!?;``."""
    i = max(text.rfind(c, 0, at) for c in ".!?;")
    return i + 1


def _denial_in_past(lex: Any, text: str, cs: int, ce: int) -> bool:
    """A negation right before a past-tense verb in a reported clause: "заявили, що не
    атакували", "утверждают, что не наносили ударов"."""
    verb = text[ce : ce + 40].split()[:1]
    if not verb or not verb[0].lower().rstrip(".,;:!?»\"").endswith(lex.past_suffixes):
        return False
    before = [w.strip(",.«»\"").lower() for w in text[max(0, cs - 40) : cs].split()[-3:]]
    return any(w in lex.complementizers for w in before)


def _condition(text: str, cues: Cues, r: _Reading, cs: int, ce: int, start: int, flag: Any,
               c_lo: int, s_lo: int) -> None:
    if cues.hedge_spans and any(hs <= cs and ce <= he for hs, he in cues.hedge_spans):
        return
    if flag == "np":
        # "В случае нападения на Калининград Москва применит все средства": the condition is
        # the noun phrase after the cue, the rest of the clause what is threatened
        r.conditional = True
        r.cue_of.setdefault("conditional", text[cs:ce])
        if ce <= start and words_between(text, ce, start) <= _PHRASE_CONDITION_WORDS:
            r.in_condition = True
        return
    if flag == "clause_start":
        before = text[max(c_lo, cs - 3) : cs].strip()
        if not (cs == c_lo or before.endswith(",") or cs == s_lo):
            return
    r.conditional = True
    r.cue_of.setdefault("conditional", text[cs:ce])
    # the condition runs from the cue to the next comma:
    # "If Russia invades, the West will impose sanctions"
    if ce <= start and "," not in text[ce:start]:
        r.in_condition = True


def _parenthetical(text: str, cs: int, ce: int, s_lo: int) -> bool:
    """The cue stands between commas, or opens its sentence before one: "Россия, возможно,
    ...", "Возможно, Китай ..." — a comment on its whole clause."""
    if not text[ce:].lstrip().startswith(","):
        return False
    return cs == s_lo or text[s_lo:cs].rstrip().endswith(",")


def _future(lex: Any, text: str, start: int, c_lo: int) -> bool:
    """The trigger's first word is in the future ("атакуватиме"), or follows a future
    auxiliary ("будут наступать"): an act announced, as English "will"."""
    if not (lex.future_suffixes or lex.future_auxiliaries):
        return False
    rest = text[start : start + 40].split()
    if rest and rest[0].lower().rstrip(".,;:!?»\"").endswith(lex.future_suffixes or ("\x00",)):
        return True
    before = text[max(c_lo, start - 16) : start].lower().split()
    return bool(before) and before[-1] in lex.future_auxiliaries


def _any_would(lex: Any, text: str, start: int, end: int, c_lo: int, c_hi: int) -> bool:
    """ "Any invasion would ...", "any Russian incursion will ...": a hypothesis.

    "any" (the lexicon's ``any_words``) one or two words before the trigger, and
    would/will/could (``hypothesis_words``) after it in the clause. Plain string
    checks: this runs for every hit.
    """
    before = [w.strip("\u00ab\u00bb\"'\u201c\u201e(") for w in text[max(c_lo, start - 24) : start].lower().split()]
    if not before or not lex.any_words.intersection(before[-3:]):
        return False
    after = text[end:c_hi].lower()
    return any(w in after for w in lex.hypothesis_words)


def fold(lex: Any, judged: list[Judged], idiomatic: list[Judged], contrasts: list[int] = ()) -> list[Judged]:
    """Fold conditions into their threat, apply ``yields_to`` and ``yields_after``,
    keep one hit per category and sentence; idiomatic hits join at the end.
    ``contrasts``: where contrasting clauses open (:attr:`Cues.contrasts`)."""
    cats = lex.categories
    counting_by_clause: dict[Any, int] = {}
    for j in judged:
        if not j.in_condition and cats[j.category].direction == "escalation" and j.modality not in _NOT_COUNTING:
            for key in (j.clause, ("s", j.sentence)):
                counting_by_clause[key] = counting_by_clause.get(key, 0) + 1
    present: dict[int, set[str]] = {}
    #: ... of them the ones not reported as done: what a generic threat word may be about
    present_unacted: dict[int, set[str]] = {}
    kept: list[Judged] = []
    for j in judged:
        if j.in_condition and cats[j.category].direction == "escalation" and counting_by_clause.get(j.fold_key):
            continue  # "warned of sanctions if Russia invades": the invasion is the condition
        kept.append(j)
        if j.modality not in _NOT_COUNTING:
            present.setdefault(j.sentence, set()).add(j.category)
            if j.modality != "action":
                present_unacted.setdefault(j.sentence, set()).add(j.category)
    # "відхилив пропозицію про перемир'я": the rejection is the refused truce, not rhetoric beside it
    # (a category that yields after that de-escalation yields to its refusal too)
    refusing = {j.neg_at: j.category for j in kept if j.neg_at >= 0 and cats[j.category].direction == "de-escalation"}
    if refusing:
        kept = [j for j in kept if refusing.get(j.start) not in cats[j.category].yields_after]
    kept_in: dict[int, list[Judged]] = {}  # sentence -> its kept hits
    for j in kept:
        kept_in.setdefault(j.sentence, []).append(j)
    final: list[Judged] = []
    seen: dict[tuple[int, str], int] = {}  # (sentence, category) -> its hit's index in final
    for j in kept:
        cat = cats[j.category]
        beside = present_unacted if cat.kind == "threat" and cat.stated_as == "threat" else present
        if cat.yields_to and j.own_category == j.category and cat.yields_to & beside.get(j.sentence, set()):
            # a generic word beside a specific one; a threatened act keeps its own evidence. A
            # generic threat yields only to a specific threat: "vowed to retaliate after the
            # strikes" is a threat beside an act
            continue
        if cat.yields_after and any(
            k.start < j.start and k.category in cat.yields_after and k.modality not in _NOT_COUNTING
            and k.refusal is None for k in kept_in[j.sentence]
        ):
            continue  # background after a de-escalation main verb
        key = (j.sentence, j.category)
        at = seen.get(key)
        if at is not None:
            # one hit per category and sentence, but a counting one after a denied or negated one
            # across a contrast is kept beside it ("Russia denied massing troops, but NATO said
            # tanks were moving"): the first weighs nothing, so nothing counts twice
            first = final[at]
            if first.modality in _NOT_COUNTING and j.modality not in _NOT_COUNTING and any(
                    first.end <= b < j.start for b in contrasts):
                seen[key] = len(final)
                final.append(j)
            elif first.own_category != first.category and j.own_category == j.category and \
                    first.modality not in _NOT_COUNTING and j.modality not in _NOT_COUNTING:
                # the phrase of the category outranks an act read as its variant: "ни один удар
                # не останется безнаказанным" is the threat of the second phrase, not the first
                final[at] = j
            continue
        seen[key] = len(final)
        final.append(j)
    for j in idiomatic:
        if (j.sentence, j.category) not in seen:
            seen[(j.sentence, j.category)] = len(final)
            final.append(j)
    if idiomatic:
        final.sort(key=lambda j: j.start)
    return final
