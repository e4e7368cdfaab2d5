"""``escalation-watch evaluate --dataset languages PATH``: Russian and Ukrainian sentences.

The file is a CSV in the scheme of our English sentences (``id, language, text,
relevant, esc, deesc, category, modality, theatre, note``): ``esc`` / ``deesc``
1 when the row carries a counted escalation / de-escalation signal, ``category``
and ``modality`` of its main signal, ``theatre`` the watchlist theatre ("none"
for a story that is not geopolitical). Per language it reports how many rows
the scorer gets right on each of escalation, de-escalation, category and
modality, on all four at once, and the theatre of the escalation rows.

``scripts/data/lang_heldout.csv`` is the held-out set, written blind by an
annotator who never saw the lexicons; ``scripts/data/own_sentences_ru_uk.csv``
the tuning set the lexicons were written against. The report names the file;
only the held-out figures are the product's.

Owns: the language report. Must not touch: the scorer's rules.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from .evaluate import NOT_COUNTING, DatasetError, _counting, _strongest
from .language import SCORED_LANGUAGES
from .score import NO_THEATRE, score_text

__all__ = ["evaluate_languages", "format_languages_report"]

_COLUMNS = ("language", "text", "esc", "deesc", "category", "modality", "theatre")
_CHECKS = ("escalation", "de-escalation", "category", "modality", "all four", "theatre")


def _flag(value: str) -> bool:
    return str(value).strip() in ("1", "true", "True", "yes")


def _read(path: str | Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        missing = [c for c in _COLUMNS if c not in (reader.fieldnames or ())]
        if missing:
            raise DatasetError(f"{path}: missing column(s) {', '.join(missing)}")
        return [r for r in reader if (r.get("text") or "").strip()]


def _main_signal(signals: Any, category: str, modality: str) -> Any:
    """The row's main signal as the scorer sees it: for a negated or denied label, the
    signal of that category with that modality (it does not count); otherwise the
    strongest counting signal."""
    if modality in NOT_COUNTING:
        for g in signals:
            if g.modality == modality and (not category or g.signal == category):
                return g
        return next((g for g in signals if g.modality == modality), None)
    return _strongest(signals)


def judge_row(row: dict[str, str]) -> dict[str, bool | None]:
    """Right / wrong per check for one labelled row (None: the check does not apply)."""
    scored = score_text(row["text"], language=row["language"].strip())
    counting = _counting(scored.signals)
    esc = any(g.direction == "escalation" for g in counting)
    deesc = any(g.direction == "de-escalation" for g in counting)
    category = (row.get("category") or "").strip()
    modality = (row.get("modality") or "").strip()
    main = _main_signal(scored.signals, category, modality)
    out: dict[str, bool | None] = {
        "escalation": esc == _flag(row["esc"]),
        "de-escalation": deesc == _flag(row["deesc"]),
        "category": (main is not None and main.signal == category) if category else None,
        "modality": (main is not None and main.modality == modality) if modality else None,
    }
    out["all four"] = all(v is not False for v in out.values())
    theatre = (row.get("theatre") or "").strip()
    out["theatre"] = (scored.theatre == theatre) if _flag(row["esc"]) and theatre else None
    return out


def evaluate_languages(path: str | Path) -> dict[str, Any]:
    rows = _read(path)
    by_lang: dict[str, dict[str, list[bool]]] = {}
    misses: dict[str, list[dict[str, str]]] = {}
    for row in rows:
        lang = row["language"].strip()
        if lang not in SCORED_LANGUAGES:
            raise DatasetError(f"{path}: row {row.get('id')}: language {lang!r} has no lexicon")
        res = judge_row(row)
        block = by_lang.setdefault(lang, {c: [] for c in _CHECKS})
        for check in _CHECKS:
            if res[check] is not None:
                block[check].append(bool(res[check]))
        if not res["all four"]:
            misses.setdefault(lang, []).append({"id": row.get("id", ""), "text": row["text"]})
    report: dict[str, Any] = {"dataset": "languages", "path": str(path), "rows": len(rows), "languages": {}}
    for lang, block in sorted(by_lang.items()):
        report["languages"][lang] = {
            check: {"right": sum(v), "n": len(v), "share": (sum(v) / len(v)) if v else None}
            for check, v in block.items()
        }
        report["languages"][lang]["misses"] = len(misses.get(lang, []))
    report["no_theatre"] = NO_THEATRE
    return report


def format_languages_report(r: dict[str, Any]) -> str:
    lines = [f"dataset languages: {r['path']} ({r['rows']} rows, taxonomy {r.get('taxonomy_version', '?')})"]
    for lang, block in r["languages"].items():
        lines.append(f"  {lang}:")
        for check in _CHECKS:
            d = block[check]
            share = "   n/a" if d["share"] is None else f"{d['share']:6.1%}"
            lines.append(f"    {check:<14} {share}  ({d['right']}/{d['n']})")
    return "\n".join(lines)
