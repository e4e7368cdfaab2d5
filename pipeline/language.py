"""Which language is an article in? A light, offline answer from the letters.

The scorer reads English, Russian and Ukrainian (:data:`SCORED_LANGUAGES`); an
article in any other language is stored and listed but not scored, and does not
count in any theatre's denominator. :func:`detect_language` decides from the
text, with the feed's declared language as a hint:

* the script first: Latin, Cyrillic, Arabic, Greek, Hebrew, CJK, kana, Hangul,
  Devanagari ... (a text is in the script most of its letters are in);
* within Cyrillic, the letters that only one language uses: і ї є ґ and the
  apostrophe inside a word are Ukrainian, ы э ъ ё Russian, ў Belarusian, ј љ њ
  ђ ћ џ Serbian or Macedonian, ә ғ қ ң ө ұ ү һ Kazakh; a handful of frequent
  words that differ (що / что, це / это, від / от) settle headlines without
  those letters; the hint breaks a tie;
* in Latin script, the hint when the feed declares one, else English: a feed
  of French or German news says so in its ``language``, and telling English
  from other Latin-script languages without a hint is a detector package's
  job, not worth its size here.

Owns: the language codes the rest of the product sees (ISO 639-1, lower case).
Must not touch: scoring, the store. Pure: no I/O.
"""

from __future__ import annotations

import re

__all__ = ["SCORED_LANGUAGES", "UNDETERMINED", "detect_language", "is_scored", "primary_code"]

#: languages the taxonomy has lexicons for (pipeline/data/taxonomy.yaml, pipeline/data/lexicon/*.yaml)
SCORED_LANGUAGES = ("en", "ru", "uk")
#: ISO 639-2 "undetermined": no letters to go by and no hint
UNDETERMINED = "und"

_LETTER = re.compile(r"[^\W\d_]")
_CYRILLIC = re.compile(r"[\u0400-\u04ff]")
_LATIN = re.compile(r"[A-Za-z\u00c0-\u024f]")
#: scripts other than Latin and Cyrillic, with the language their text is taken to be in
#: (the hint wins when it names a language of that script: "fa" for Arabic script)
_SCRIPTS = (
    (re.compile(r"[\u0600-\u06ff\u0750-\u077f]"), "ar", ("ar", "fa", "ur", "ps", "ku")),
    (re.compile(r"[\u0370-\u03ff]"), "el", ("el",)),
    (re.compile(r"[\u0590-\u05ff]"), "he", ("he", "yi")),
    (re.compile(r"[\u3040-\u30ff]"), "ja", ("ja",)),
    (re.compile(r"[\uac00-\ud7af\u1100-\u11ff]"), "ko", ("ko",)),
    (re.compile(r"[\u4e00-\u9fff]"), "zh", ("zh", "ja")),
    (re.compile(r"[\u0900-\u097f]"), "hi", ("hi", "mr", "ne")),
    (re.compile(r"[\u0e00-\u0e7f]"), "th", ("th",)),
    (re.compile(r"[\u10a0-\u10ff]"), "ka", ("ka",)),
    (re.compile(r"[\u0530-\u058f]"), "hy", ("hy",)),
)
_UK_LETTERS = "іїєґ"
_RU_LETTERS = "ыэъё"
_UK_APOSTROPHE = re.compile(r"[^\W\d_]['\u2019\u02bc][^\W\d_]")
_UK_WORDS = re.compile(r"(?i)(?<!\w)(що|це|від|та|як|який|яка|які|буде|після|через|його|її|їх|ще|вже|також|проти|під час)(?!\w)")
_RU_WORDS = re.compile(r"(?i)(?<!\w)(что|это|от|и|как|который|которая|которые|будет|после|через|его|её|их|ещё|уже|также|против|во время)(?!\w)")
#: Cyrillic languages told by their own letters, when neither Russian nor Ukrainian marks are there
_OTHER_CYRILLIC = (("kk", "әғқңөұүһ"), ("be", "ў"), ("mk", "ѓќѕ"), ("sr", "јљњђћџ"))
_CYRILLIC_HINTS = frozenset({"ru", "uk", "be", "bg", "sr", "mk", "kk", "ky", "mn", "tg", "tt", "ba", "cv"})


def is_scored(language: str | None) -> bool:
    """Does the scorer read articles in ``language``? None (an article stored before
    languages were told apart, all read as English then) counts as read."""
    return language is None or language in SCORED_LANGUAGES


def primary_code(code: str | None) -> str | None:
    """``"en-GB"`` -> ``"en"``, ``"UK_ua"`` -> ``"uk"``; None or empty -> None."""
    if not code:
        return None
    primary = re.split(r"[-_]", code.strip(), maxsplit=1)[0].lower()
    return primary or None


def detect_language(text: str, hint: str | None = None) -> str:
    """The language of ``text``: an ISO 639-1 code, ``hint`` when the text cannot tell,
    :data:`UNDETERMINED` when neither can."""
    hint = primary_code(hint)
    if text.isascii():  # most English headlines: no letter outside Latin, nothing to count
        if not any(c.isalpha() for c in text):
            return hint or UNDETERMINED
        return hint if hint and hint not in _CYRILLIC_HINTS and not _is_other_script_hint(hint) else "en"
    letters = len(_LETTER.findall(text))
    if letters == 0:
        return hint or UNDETERMINED
    cyrillic = len(_CYRILLIC.findall(text))
    if cyrillic * 2 >= letters:
        return _cyrillic_language(text, hint)
    latin = len(_LATIN.findall(text))
    if latin * 2 >= letters:
        if hint and hint not in _CYRILLIC_HINTS and not _is_other_script_hint(hint):
            return hint
        return "en"
    best, best_n, best_hints = None, 0, ()
    for pattern, code, hints in _SCRIPTS:
        n = len(pattern.findall(text))
        if n > best_n:
            best, best_n, best_hints = code, n, hints
    if best is None:
        return hint or UNDETERMINED
    return hint if hint in best_hints else best


def _is_other_script_hint(hint: str) -> bool:
    return any(hint in hints for _, _, hints in _SCRIPTS)


def _cyrillic_language(text: str, hint: str | None) -> str:
    low = text.lower()
    for code, marks in _OTHER_CYRILLIC:  # letters neither Russian nor Ukrainian has
        if any(ch in low for ch in marks):
            return code
    uk = 2 * sum(low.count(ch) for ch in _UK_LETTERS) + 2 * len(_UK_APOSTROPHE.findall(low))
    ru = 2 * sum(low.count(ch) for ch in _RU_LETTERS)
    if uk == ru == 0 and hint in _CYRILLIC_HINTS and hint not in ("ru", "uk"):
        return hint  # Bulgarian has neither set of marks
    uk += len(_UK_WORDS.findall(low))
    ru += len(_RU_WORDS.findall(low))
    if uk > ru:
        return "uk"
    if ru > uk:
        return "ru"
    if hint in _CYRILLIC_HINTS:
        return hint
    return "ru"
