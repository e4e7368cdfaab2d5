"""Measure the scorer on labelled sentences, next to a keyword baseline.

Datasets (loaders below; files stay in ../shared, never in the repo):

* ``plover``: ``plover_sentences.csv`` (``id, text, plover_type, ...``), the OEDA
  CAMEO-manual gold standard coded with PLOVER types;
* ``conflibert``: the ConfliBERT ``cameo_class`` csv (``id, text, label``, and
  in test.csv ``plover_overlap_id``); rows without an overlap id are reported
  separately as well (the real-news sentences);
* ``csv``: any ``text,label`` file, label 1 = escalation, 0 = not.

An article "is escalation" when it has at least one escalation signal that
counts: it has a weight (not negated or denied, and judged geopolitical by the
relevance checks of :mod:`pipeline.score`). The mapping from our categories to PLOVER types and
ConfliBERT classes is ``pipeline/data/eval_mapping.yaml``.

``systems`` adds the shipped linear models (:mod:`pipeline.model`, trained on
ConfliBERT train.csv only) next to the rules in the same run: ``model`` (word
features) and ``hybrid`` (word features + the rule scorer's output); a text is
escalation when P(class 3 or 4) reaches the model's CV-chosen threshold. Their
rows sit beside ``ours`` (the rules) in every binary block.

On PLOVER a second, single-label reading of the rules is reported beside the
per-type figures (never instead of them): every PLOVER row carries exactly one
gold type (data/README.md), so predict only the type(s) of the *strongest*
counting signal (largest |weight|, the earliest on a tie) rather than of every
signal found. With ``hybrid`` the same rule is also shown restricted to signals
whose direction agrees with the hybrid's decision.

The baseline is a GPR-style keyword regex: the word groups of the
Caldara-Iacoviello geopolitical risk index (Caldara & Iacoviello 2022, "Measuring
Geopolitical Risk", AER 112(4), Table 1: war threats, peace threats, military
build-ups, nuclear threats, terror threats, beginning of war, escalation of war,
terror acts), each group a pair of word lists that must co-occur in the
sentence, as the index searches them in one article. It is an approximation of
the published search (which runs over whole newspaper articles with proximity
operators), computed on the same rows in the same run.

Must not touch: the scorer's rules and weights: it measures them, never tunes them.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Sequence

from .score import score_text
from .signals import DATA_DIR, load_lexicon

EVAL_MAPPING_PATH = DATA_DIR / "eval_mapping.yaml"
NOT_COUNTING = ("negated", "denied")
#: systems that can be evaluated; "rules" is the product scorer and always runs
SYSTEMS = ("rules", "model", "hybrid")
_MODEL_LABELS = {"model": "model (linear, words)", "hybrid": "hybrid (linear, words+rules)"}


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
    """The signals that count: a weight (negated, denied and not geopolitical ones have none)."""
    return [g for g in signals if g.weight != 0 and g.modality not in NOT_COUNTING]


def _is_escalation(signals: Iterable[Any]) -> bool:
    return any(g.direction == "escalation" for g in _counting(signals))


def _binary_block(gold: list[bool], ours: list[bool], base: list[bool],
                  extra: dict[str, list[bool]] | None = None) -> dict[str, Any]:
    out = {"ours": prf(gold, ours).as_dict(), "baseline": prf(gold, base).as_dict(), "n": len(gold)}
    for name, pred in (extra or {}).items():
        out[name] = prf(gold, pred).as_dict()
    return out


def _check_systems(systems: Sequence[str]) -> tuple[str, ...]:
    unknown = [s for s in systems if s not in SYSTEMS]
    if unknown:
        raise DatasetError(f"unknown system(s) {', '.join(unknown)} ({', '.join(SYSTEMS)})")
    return tuple(s for s in SYSTEMS if s in systems and s != "rules")


def _model_predictions(texts: list[str], scored: list[Any], systems: tuple[str, ...]) -> dict[str, list[bool]]:
    """Escalation decisions of the shipped linear models, one batch per system."""
    if not systems:
        return {}
    from .model import load_model

    bundle = load_model()
    out = {}
    for name in systems:
        m = bundle.system(name)
        out[name] = (m.escalation_proba(texts, scored) >= m.threshold).tolist()
    return out


def _model_info(systems: tuple[str, ...]) -> dict[str, Any]:
    from .model import MODEL_PATH, load_model

    meta = load_model().meta
    return {
        "path": str(MODEL_PATH),
        "train_sha256": meta.get("train_sha256"),
        "systems": {s: {"threshold": meta["systems"][s]["threshold"], "config": meta["systems"][s]["config"]}
                    for s in systems},
    }


def _strongest(signals: Iterable[Any], direction: str | None = None) -> Any:
    """The counting signal with the largest |weight| (the earliest on a tie), optionally
    only of one direction; None when there is none."""
    best = None
    for g in _counting(signals):
        if direction is not None and g.direction != direction:
            continue
        if best is None or abs(g.weight) > abs(best.weight):
            best = g
    return best


# --- datasets -----------------------------------------------------------------------


def evaluate_plover(path: str | Path, mapping: dict[str, Any] | None = None,
                    systems: Sequence[str] = ()) -> dict[str, Any]:
    models = _check_systems(systems)
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
    model_all = _model_predictions([r["text"] for r in rows], scored, models)
    report: dict[str, Any] = {
        "dataset": "plover",
        "path": str(path),
        "rows": len(rows),
        "escalation": _binary_block(gold, ours, base, {k: [v[i] for i in esc_idx] for k, v in model_all.items()}),
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
    # single-label reading: the strongest counting signal only (see the module docstring)
    cat_types_map: dict[str, set[str]] = {}
    for t, cset in type_cats.items():
        for c in cset:
            cat_types_map.setdefault(c, set()).add(t)

    def single(direction_of: list[str | None] | None) -> dict[str, Any]:
        pred_types: list[set[str]] = []
        for i, s in enumerate(scored):
            g = None
            if direction_of is not None:
                g = _strongest(s.signals, direction_of[i])
            if g is None:
                g = _strongest(s.signals)
            pred_types.append(cat_types_map.get(g.signal, set()) if g is not None else set())
        pt = {t: prf([x == t for x in types], [t in p for p in pred_types]).as_dict() for t in sorted(type_cats)}
        ev = [v["f1"] for t, v in pt.items() if v["support"] > 0]
        return {"macro_f1": round(sum(ev) / len(ev), 4) if ev else 0.0, "per_type": pt}

    report["single_label"] = {"rules_strongest": single(None)}
    if "hybrid" in model_all:
        dirs = ["escalation" if e else "de-escalation" for e in model_all["hybrid"]]
        report["single_label"]["hybrid_direction_strongest"] = single(dirs)
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


def evaluate_conflibert(path: str | Path, mapping: dict[str, Any] | None = None,
                        systems: Sequence[str] = ()) -> dict[str, Any]:
    models = _check_systems(systems)
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
    model_all = _model_predictions([r["text"] for r in rows], scored, models)
    preds = {"ours": ours_all, "baseline": base_all, **model_all}

    def rate(pred: list[bool], idx: list[int]) -> float | None:
        return round(sum(pred[i] for i in idx) / len(idx), 4) if idx else None

    def block(idx: list[int]) -> dict[str, Any]:
        sel = [i for i in idx if labels[i] in pos or labels[i] in neg]
        out = _binary_block([labels[i] in pos for i in sel], [ours_all[i] for i in sel], [base_all[i] for i in sel],
                            {k: [v[i] for i in sel] for k, v in model_all.items()})
        neu = [i for i in idx if labels[i] in neutral]
        out["neutral_rows"] = len(neu)
        out["neutral_false_alarm_rate"] = {k: rate(v, neu) for k, v in preds.items()}
        by_class: dict[str, Any] = {}
        for c in sorted(set(labels)):
            ci = [i for i in idx if labels[i] == c]
            by_class[str(c)] = {"n": len(ci), **{k: rate(v, ci) if ci else 0.0 for k, v in preds.items()}}
        out["escalation_rate_by_class"] = by_class
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


def evaluate_csv(path: str | Path, systems: Sequence[str] = ()) -> dict[str, Any]:
    models = _check_systems(systems)
    rows = _read_csv(path, ("text", "label"))
    gold = []
    for n, r in enumerate(rows, start=2):
        v = (r["label"] or "").strip()
        if v not in ("0", "1"):
            raise DatasetError(f"{path}:{n}: label must be 0 or 1 (got {v!r})")
        gold.append(v == "1")
    scored = [score_text(r["text"]) for r in rows]
    ours = [_is_escalation(s.signals) for s in scored]
    base = [gpr_baseline(r["text"]) for r in rows]
    extra = _model_predictions([r["text"] for r in rows], scored, models)
    return {"dataset": "csv", "path": str(path), "rows": len(rows),
            "escalation": _binary_block(gold, ours, base, extra)}


def evaluate(dataset: str, path: str | Path, systems: Sequence[str] = ("rules",)) -> dict[str, Any]:
    """Run one dataset; returns a JSON-ready report.

    ``systems``: any of "rules" (always run: the ``ours`` rows), "model", "hybrid".
    """
    models = _check_systems(systems)
    if dataset == "plover":
        report = evaluate_plover(path, systems=systems)
    elif dataset == "conflibert":
        report = evaluate_conflibert(path, systems=systems)
    elif dataset == "csv":
        report = evaluate_csv(path, systems=systems)
    elif dataset == "news":
        from .evaluate_news import evaluate_news

        report = evaluate_news(path)
    elif dataset == "languages":
        from .evaluate_languages import evaluate_languages

        report = evaluate_languages(path)
    else:
        raise DatasetError(f"unknown dataset {dataset!r} (plover, conflibert, csv, news, languages)")
    if models:
        report["model"] = _model_info(models)
    report["taxonomy_version"] = load_lexicon().taxonomy_version
    report["baseline"] = "GPR-style keyword regex (Caldara & Iacoviello 2022, Table 1 word groups)"
    return report


# --- report formatting --------------------------------------------------------------------


def _line(name: str, d: dict[str, Any]) -> str:
    return (f"  {name:<28} P {d['precision']:.3f}  R {d['recall']:.3f}  F1 {d['f1']:.3f}"
            f"   (tp {d['tp']}, fp {d['fp']}, fn {d['fn']}, n+ {d['support']})")


def _models_in(b: dict[str, Any]) -> list[str]:
    return [k for k in _MODEL_LABELS if k in b]


def _binary(title: str, b: dict[str, Any]) -> list[str]:
    out = [f"{title} (n={b['n']})", _line("ours", b["ours"])]
    out += [_line(_MODEL_LABELS[k], b[k]) for k in _models_in(b)]
    out.append(_line("GPR keyword baseline", b["baseline"]))
    if "neutral_false_alarm_rate" in b and b.get("neutral_rows"):
        fa = b["neutral_false_alarm_rate"]
        models = "".join(f", {k} {fa[k]:.3f}" for k in _models_in(fa))
        out.append(f"  neutral class 0 flagged as escalation: ours {fa['ours']:.3f}{models}, baseline {fa['baseline']:.3f}"
                   f" (n={b['neutral_rows']})")
    return out


def format_report(r: dict[str, Any]) -> str:
    if r["dataset"] == "news":
        from .evaluate_news import format_news_report

        return format_news_report(r)
    if r["dataset"] == "languages":
        from .evaluate_languages import format_languages_report

        return format_languages_report(r)
    lines = [f"dataset {r['dataset']}: {r['path']} ({r['rows']} rows, taxonomy {r.get('taxonomy_version', '?')})"]
    if r["dataset"] == "plover":
        lines += _binary("escalation: THREATEN/MOBILIZE/SANCTION/COERCE/ASSAULT/FIGHT vs cooperative types",
                         r["escalation"])
        lines.append(f"per PLOVER type (one-vs-rest over all rows), macro-F1 {r['macro_f1']:.3f}")
        for t, d in r["per_type"].items():
            lines.append(_line(t, d))
        sl = r.get("single_label", {})
        if "rules_strongest" in sl:
            lines.append(f"single-label rules (the strongest counting signal's type(s) only), macro-F1 "
                         f"{sl['rules_strongest']['macro_f1']:.3f}")
        if "hybrid_direction_strongest" in sl:
            lines.append(f"single-label hybrid (the strongest signal agreeing with the hybrid's direction), macro-F1 "
                         f"{sl['hybrid_direction_strongest']['macro_f1']:.3f}")
        lines.append("per signal (gold: the row's PLOVER type is one the signal maps to)")
        for c, d in r["per_signal"].items():
            if d["plover_types"]:
                lines.append(_line(c, d))
    elif r["dataset"] == "conflibert":
        lines += _binary("conflict: classes 3-4 vs 1-2, all rows", r["conflict"])
        if "non_overlap" in r:
            lines += _binary(f"conflict: the {r['non_overlap']['rows']} rows without plover_overlap_id",
                             r["non_overlap"])
        by_class = r["conflict"]["escalation_rate_by_class"]
        cols = ["ours", *_models_in(next(iter(by_class.values()), {})), "baseline"]
        lines.append(f"escalation rate by class ({' / '.join(cols)})")
        for c, d in by_class.items():
            lines.append(f"  class {c}: {' / '.join(f'{d[k]:.3f}' for k in cols)}  (n={d['n']})")
        lines.append("per signal: how often it fired, and the share on its right classes")
        for c, d in r["per_signal"].items():
            p = "-" if d["precision"] is None else f"{d['precision']:.3f}"
            lines.append(f"  {c:<28} fired {d['fired']:>4}  precision {p}")
    else:
        lines += _binary("escalation (label 1 vs 0)", r["escalation"])
    if "model" in r:
        m = r["model"]
        ts = ", ".join(f"{k} threshold {v['threshold']}" for k, v in m["systems"].items())
        lines.append(f"models: {m['path']} (trained on train.csv sha256 {str(m['train_sha256'])[:12]}...; {ts})")
    return "\n".join(lines)
