"""Measure the scorer on labelled sentences, next to a keyword baseline.

Datasets (loaders below; files stay in ../shared, never in the repo):

* ``plover``: ``plover_sentences.csv`` (``id, text, plover_type, ...``), the OEDA
  CAMEO-manual gold standard coded with PLOVER types;
* ``conflibert``: the ConfliBERT ``cameo_class`` csv (``id, text, label``, and
  in test.csv ``plover_overlap_id``); rows without an overlap id are reported
  separately as well (the real-news sentences);
* ``csv``: any ``text,label`` file, label 1 = escalation, 0 = not.

An article "is escalation" when it has at least one escalation signal that is
not negated or denied. The mapping from our categories to PLOVER types and
ConfliBERT classes is ``pipeline/data/eval_mapping.yaml``.

The baseline is a GPR-style keyword regex: the word groups of the
Caldara-Iacoviello geopolitical risk index (Caldara & Iacoviello 2022, "Measuring
Geopolitical Risk", AER 112(4), Table 1: war threats, peace threats, military
build-ups, nuclear threats, terror threats, beginning of war, escalation of war,
terror acts), each group a pair of word lists that must co-occur in the
sentence, as the index searches them in one article. It is an approximation of
the published search (which runs over whole newspaper articles with proximity
operators), computed on the same rows in the same run.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

from .score import score_text
from .signals import DATA_DIR, load_lexicon

EVAL_MAPPING_PATH = DATA_DIR / "eval_mapping.yaml"
NOT_COUNTING = ("negated", "denied")


class DatasetError(Exception):
    """The dataset file is not in the expected format."""


# --- GPR-style keyword baseline -----------------------------------------------------


def _w(words: str) -> str:
    return r"\b(?:" + "|".join(w.replace("*", r"\w*") for w in words.split()) + r")\b"


# (threat-or-act, first word list, second word list); a group fires when a word
# of each list occurs in the text. Wording after Caldara & Iacoviello (2022), Table 1.
GPR_GROUPS: tuple[tuple[str, str, str, str], ...] = (
    ("war threats", "threat", "war* conflict* hostilit* revolution* insurrection* uprising* revolt* coup* geopolitic*",
     "risk* warn* fear* menace* threat* concern* danger* doubt* crisis tension* imminen* inevitab* brink scare* peril* footing"),
    ("peace threats", "threat", "peace truce armistice treaty parley",
     "threat* menace* peril* danger* fear* risk* collapse* break* end* violat* jeopardi*"),
    ("military buildups", "threat", "military troop* army armies navy missile* arms weapon* warship* forces",
     "buildup* build-up* mobiliz* mobilis* massing massed deploy* sanction* blockade* embargo* ultimatum* alert"),
    ("nuclear threats", "threat", "nuclear atomic",
     "war* threat* bomb* weapon* missile* warhead* test* arsenal* attack* strike*"),
    ("terror threats", "threat", "terror* guerrilla* hostage*",
     "threat* warn* fear* menace* risk* danger* plot* alert"),
    ("beginning of war", "act", "war* invasion* invade* hostilit* offensive",
     "begin* began begun start* declar* outbreak* broke erupt* launch*"),
    ("escalation of war", "act", "war* conflict* fighting battle* offensive* bombing* air strike* airstrike* shelling",
     "escalat* intensif* expand* widen* resum* heavy heavier"),
    ("terror acts", "act", "terror* suicide bomb* gunm*",
     "attack* act* bomb* kill* explosion* blast* hostage* shoot*"),
)
_GPR_COMPILED = tuple(
    (name, kind, re.compile(_w(a), re.IGNORECASE), re.compile(_w(b), re.IGNORECASE))
    for name, kind, a, b in GPR_GROUPS
)
# single phrases that are acts on their own in the index's act groups
_GPR_ACT_PHRASES = re.compile(
    _w("invasion invaded declared* air strike* airstrike* bombing* shelling terrorist attack* suicide bomb*"),
    re.IGNORECASE,
)


def gpr_baseline(text: str) -> bool:
    """True when the GPR-style keyword groups flag ``text`` as geopolitical risk."""
    if _GPR_ACT_PHRASES.search(text):
        return True
    return any(a.search(text) and b.search(text) for _, _, a, b in _GPR_COMPILED)


# --- metrics ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PRF:
    tp: int
    fp: int
    fn: int
    tn: int

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "precision": round(self.precision, 4),
            "recall": round(self.recall, 4),
            "f1": round(self.f1, 4),
            "tp": self.tp,
            "fp": self.fp,
            "fn": self.fn,
            "tn": self.tn,
            "support": self.tp + self.fn,
        }


def prf(gold: Iterable[bool], pred: Iterable[bool]) -> PRF:
    tp = fp = fn = tn = 0
    for g, p in zip(gold, pred, strict=True):
        if g and p:
            tp += 1
        elif p:
            fp += 1
        elif g:
            fn += 1
        else:
            tn += 1
    return PRF(tp, fp, fn, tn)


# --- loading ----------------------------------------------------------------------


def load_mapping(path: Path = EVAL_MAPPING_PATH) -> dict[str, Any]:
    from ruamel.yaml import YAML

    doc = YAML(typ="safe").load(Path(path).read_text(encoding="utf-8"))
    cats = set(load_lexicon().categories)
    for t, clist in doc["plover"]["type_categories"].items():
        unknown = set(clist) - cats
        if unknown:
            raise DatasetError(f"{path}: plover.type_categories.{t}: unknown categories {sorted(unknown)}")
    return doc


def _read_csv(path: str | Path, required: tuple[str, ...]) -> list[dict[str, str]]:
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(str(p))
    with p.open(encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        missing = [c for c in required if c not in (reader.fieldnames or [])]
        if missing:
            raise DatasetError(f"{p}: missing column(s) {', '.join(missing)} (has: {', '.join(reader.fieldnames or [])})")
        rows = list(reader)
    if not rows:
        raise DatasetError(f"{p}: no rows")
    return rows


def _counting(signals: Iterable[Any]) -> list[Any]:
    return [g for g in signals if g.modality not in NOT_COUNTING]


def _is_escalation(signals: Iterable[Any]) -> bool:
    return any(g.direction == "escalation" for g in _counting(signals))


def _binary_block(gold: list[bool], ours: list[bool], base: list[bool]) -> dict[str, Any]:
    return {"ours": prf(gold, ours).as_dict(), "baseline": prf(gold, base).as_dict(), "n": len(gold)}


# --- datasets -----------------------------------------------------------------------


def evaluate_plover(path: str | Path, mapping: dict[str, Any] | None = None) -> dict[str, Any]:
    mapping = mapping or load_mapping()
    pm = mapping["plover"]
    rows = _read_csv(path, ("text", "plover_type"))
    pos, neg = set(pm["positive_types"]), set(pm["negative_types"])
    type_cats: dict[str, set[str]] = {t: set(c) for t, c in pm["type_categories"].items()}
    scored = [score_text(r["text"]) for r in rows]
    found = [{g.signal for g in _counting(s.signals)} for s in scored]
    types = [r["plover_type"].strip().upper() for r in rows]

    esc_idx = [i for i, t in enumerate(types) if t in pos or t in neg]
    gold = [types[i] in pos for i in esc_idx]
    ours = [_is_escalation(scored[i].signals) for i in esc_idx]
    base = [gpr_baseline(rows[i]["text"]) for i in esc_idx]
    report: dict[str, Any] = {
        "dataset": "plover",
        "path": str(path),
        "rows": len(rows),
        "escalation": _binary_block(gold, ours, base),
    }
    per_type = {}
    for t, cset in sorted(type_cats.items()):
        g = [x == t for x in types]
        p = [bool(f & cset) for f in found]
        per_type[t] = prf(g, p).as_dict()
    evaluated = {t: v for t, v in per_type.items() if v["support"] > 0}
    report["per_type"] = per_type
    report["macro_f1"] = round(sum(v["f1"] for v in evaluated.values()) / len(evaluated), 4) if evaluated else 0.0
    report["macro_f1_types"] = sorted(evaluated)
    # per signal: gold = the sentence's type is one the category maps to
    cat_types: dict[str, set[str]] = {}
    for t, cset in type_cats.items():
        for c in cset:
            cat_types.setdefault(c, set()).add(t)
    per_signal = {}
    for c in load_lexicon().categories:
        ts = cat_types.get(c, set())
        per_signal[c] = prf([x in ts for x in types], [c in f for f in found]).as_dict()
        per_signal[c]["plover_types"] = sorted(ts)
    report["per_signal"] = per_signal
    return report


def evaluate_conflibert(path: str | Path, mapping: dict[str, Any] | None = None) -> dict[str, Any]:
    mapping = mapping or load_mapping()
    cm = mapping["conflibert"]
    rows = _read_csv(path, ("text", "label"))
    try:
        labels = [int(r["label"]) for r in rows]
    except ValueError as e:
        raise DatasetError(f"{path}: label must be an integer 0-4: {e}") from None
    pos, neg, neutral = set(cm["positive_classes"]), set(cm["negative_classes"]), set(cm["neutral_classes"])
    scored = [score_text(r["text"]) for r in rows]
    ours_all = [_is_escalation(s.signals) for s in scored]
    base_all = [gpr_baseline(r["text"]) for r in rows]

    def block(idx: list[int]) -> dict[str, Any]:
        sel = [i for i in idx if labels[i] in pos or labels[i] in neg]
        out = _binary_block([labels[i] in pos for i in sel], [ours_all[i] for i in sel], [base_all[i] for i in sel])
        neu = [i for i in idx if labels[i] in neutral]
        out["neutral_rows"] = len(neu)
        out["neutral_false_alarm_rate"] = {
            "ours": round(sum(ours_all[i] for i in neu) / len(neu), 4) if neu else None,
            "baseline": round(sum(base_all[i] for i in neu) / len(neu), 4) if neu else None,
        }
        out["escalation_rate_by_class"] = {
            str(c): {
                "n": sum(1 for i in idx if labels[i] == c),
                "ours": round(sum(ours_all[i] for i in idx if labels[i] == c) / max(1, sum(1 for i in idx if labels[i] == c)), 4),
                "baseline": round(sum(base_all[i] for i in idx if labels[i] == c) / max(1, sum(1 for i in idx if labels[i] == c)), 4),
            }
            for c in sorted(set(labels))
        }
        return out

    all_idx = list(range(len(rows)))
    report: dict[str, Any] = {"dataset": "conflibert", "path": str(path), "rows": len(rows), "conflict": block(all_idx)}
    if "plover_overlap_id" in (rows[0].keys()):
        news = [i for i in all_idx if not (rows[i].get("plover_overlap_id") or "").strip()]
        report["non_overlap"] = block(news)
        report["non_overlap"]["rows"] = len(news)
    esc_cls, de_cls = set(cm["escalation_classes"]), set(cm["de_escalation_classes"])
    lex = load_lexicon()
    per_signal = {}
    for c, cat in lex.categories.items():
        fired = [i for i, s in enumerate(scored) if any(g.signal == c for g in _counting(s.signals))]
        right = esc_cls if cat.direction == "escalation" else de_cls
        ok = sum(1 for i in fired if labels[i] in right)
        per_signal[c] = {"fired": len(fired), "precision": round(ok / len(fired), 4) if fired else None,
                         "right_classes": sorted(right)}
    report["per_signal"] = per_signal
    return report


def evaluate_csv(path: str | Path) -> dict[str, Any]:
    rows = _read_csv(path, ("text", "label"))
    gold = []
    for n, r in enumerate(rows, start=2):
        v = (r["label"] or "").strip()
        if v not in ("0", "1"):
            raise DatasetError(f"{path}:{n}: label must be 0 or 1 (got {v!r})")
        gold.append(v == "1")
    ours = [_is_escalation(score_text(r["text"]).signals) for r in rows]
    base = [gpr_baseline(r["text"]) for r in rows]
    return {"dataset": "csv", "path": str(path), "rows": len(rows), "escalation": _binary_block(gold, ours, base)}


def evaluate(dataset: str, path: str | Path) -> dict[str, Any]:
    """Run one dataset; returns a JSON-ready report."""
    if dataset == "plover":
        report = evaluate_plover(path)
    elif dataset == "conflibert":
        report = evaluate_conflibert(path)
    elif dataset == "csv":
        report = evaluate_csv(path)
    else:
        raise DatasetError(f"unknown dataset {dataset!r} (plover, conflibert, csv)")
    report["taxonomy_version"] = load_lexicon().taxonomy_version
    report["baseline"] = "GPR-style keyword regex (Caldara & Iacoviello 2022, Table 1 word groups)"
    return report


# --- report formatting --------------------------------------------------------------------


def _line(name: str, d: dict[str, Any]) -> str:
    return (f"  {name:<28} P {d['precision']:.3f}  R {d['recall']:.3f}  F1 {d['f1']:.3f}"
            f"   (tp {d['tp']}, fp {d['fp']}, fn {d['fn']}, n+ {d['support']})")


def _binary(title: str, b: dict[str, Any]) -> list[str]:
    out = [f"{title} (n={b['n']})", _line("ours", b["ours"]), _line("GPR keyword baseline", b["baseline"])]
    if "neutral_false_alarm_rate" in b and b.get("neutral_rows"):
        fa = b["neutral_false_alarm_rate"]
        out.append(f"  neutral class 0 flagged as escalation: ours {fa['ours']:.3f}, baseline {fa['baseline']:.3f}"
                   f" (n={b['neutral_rows']})")
    return out


def format_report(r: dict[str, Any]) -> str:
    lines = [f"dataset {r['dataset']}: {r['path']} ({r['rows']} rows, taxonomy {r.get('taxonomy_version', '?')})"]
    if r["dataset"] == "plover":
        lines += _binary("escalation: THREATEN/MOBILIZE/SANCTION/COERCE/ASSAULT/FIGHT vs cooperative types",
                         r["escalation"])
        lines.append(f"per PLOVER type (one-vs-rest over all rows), macro-F1 {r['macro_f1']:.3f}")
        for t, d in r["per_type"].items():
            lines.append(_line(t, d))
        lines.append("per signal (gold: the row's PLOVER type is one the signal maps to)")
        for c, d in r["per_signal"].items():
            if d["plover_types"]:
                lines.append(_line(c, d))
    elif r["dataset"] == "conflibert":
        lines += _binary("conflict: classes 3-4 vs 1-2, all rows", r["conflict"])
        if "non_overlap" in r:
            lines += _binary(f"conflict: the {r['non_overlap']['rows']} rows without plover_overlap_id",
                             r["non_overlap"])
        lines.append("escalation rate by class (ours / baseline)")
        for c, d in r["conflict"]["escalation_rate_by_class"].items():
            lines.append(f"  class {c}: {d['ours']:.3f} / {d['baseline']:.3f}  (n={d['n']})")
        lines.append("per signal: how often it fired, and the share on its right classes")
        for c, d in r["per_signal"].items():
            p = "-" if d["precision"] is None else f"{d['precision']:.3f}"
            lines.append(f"  {c:<28} fired {d['fired']:>4}  precision {p}")
    else:
        lines += _binary("escalation (label 1 vs 0)", r["escalation"])
    return "\n".join(lines)
