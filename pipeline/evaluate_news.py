"""The scorer on real news: ``escalation-watch evaluate --dataset news labelled.csv``.

``news_tuning/labelled.csv`` is tuning data (../shared/data/README.md), and the
relevance gate is trained on it, so a figure on it is honest only out of fold:
for each of 5 grouped folds (:func:`pipeline.relevance_train.grouped_folds`) a
gate is trained on the other four (plus the section-labelled weak data) and the
held-out fold is scored with it. Every figure below is over those out-of-fold
scores, beside the rules without a gate and the GPR-style keyword regex on the
same rows in the same run.

Fold 4 is also reported alone: its texts were never read while the rules'
patterns and cues were written (the rules were written from folds 0-3, from
ConfliBERT train.csv and from our own sentences), so on fold 4 neither the gate
nor the rules have seen the text. On folds 0-3 the rules are in-sample.

Needs scikit-learn (``pip install -e '.[train]'``) to train the fold gates.

Must not touch: the scorer's rules and weights: it measures them, never tunes them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .evaluate import DatasetError, _is_escalation, _strongest, gpr_baseline, prf
from .score import score_text

__all__ = ["evaluate_news", "format_news_report", "RULES_HOLDOUT_FOLD"]

#: the fold whose texts were not read while the rules were written
RULES_HOLDOUT_FOLD = 4
K = 5
_COUNTED_MODALITIES = ("action", "threat", "conditional", "hedged")


def evaluate_news(path: str | Path, k: int = K) -> dict[str, Any]:
    from .relevance_train import TrainConfig, extra_items, grouped_folds, labelled_items, load_labelled

    try:
        import sklearn  # noqa: F401
    except ImportError as e:
        raise DatasetError(f"evaluate --dataset news trains a gate per fold and needs scikit-learn "
                           f"(pip install -e '.[train]'): {e}") from None
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(str(path))
    rows = load_labelled(path)
    if not rows:
        raise DatasetError(f"{path}: no rows")
    cfg = TrainConfig()
    folds = grouped_folds(rows, k)
    items = labelled_items(rows)
    texts = [it.text for it in items]
    weak = extra_items(path.parent, rows, cfg)
    scored = _out_of_fold_scores(items, weak, folds, k, cfg)
    rules_only = [score_text(t, gate=False) for t in texts]
    run = _NewsRun(
        rows=rows,
        scored=scored,
        gold=[r["esc"].strip().lower() == "true" for r in rows],
        gold_de=[r.get("deesc", "").strip().lower() == "true" for r in rows],
        ours=[_is_escalation(s.signals) for s in scored],
        rules=[_is_escalation(s.signals) for s in rules_only],
        base=[gpr_baseline(t) for t in texts],
    )
    own = _own_block(cfg, items + weak)
    everything = list(range(len(rows)))
    holdout = [i for i in everything if folds[i] == RULES_HOLDOUT_FOLD]
    confident = [i for i in everything if rows[i].get("confidence", "high") == "high"]
    return {
        "dataset": "news",
        "path": str(path),
        "rows": len(rows),
        "folds": k,
        "weak_items": len(weak),
        "gate_config": cfg.as_dict(),
        "all": _block(run, everything),
        "rules_holdout": _block(run, holdout),
        "high_confidence": _block(run, confident),
        "own_test": own,
    }


def _out_of_fold_scores(items: list[Any], weak: list[Any], folds: list[int], k: int, cfg: Any) -> list[Any]:
    """Each row scored with a gate trained on the other folds (plus the weak data)."""
    from .relevance_train import fit_gate, with_titles

    scored: list[Any] = [None] * len(items)
    for f in range(k):
        gate = fit_gate(with_titles([it for i, it in enumerate(items) if folds[i] != f] + weak), cfg)
        for i in range(len(items)):
            if folds[i] == f:
                scored[i] = score_text(items[i].text, gate=gate)
    return scored


@dataclass(frozen=True)
class _NewsRun:
    """One run over the labelled rows: the gold labels and each method's answer, row by row."""

    rows: list[dict[str, Any]]
    #: out-of-fold ScoredArticles
    scored: list[Any]
    gold: list[bool]
    gold_de: list[bool]
    ours: list[bool]
    rules: list[bool]
    base: list[bool]


def _deesc(s: Any) -> bool:
    return any(g.direction == "de-escalation" and g.weight != 0 for g in s.signals)


def _block(run: _NewsRun, idx: list[int]) -> dict[str, Any]:
    """The figures over the rows ``idx``: ours, the rules without a gate and the baseline side by side."""
    rows, gold, ours, rules, base = run.rows, run.gold, run.ours, run.rules, run.base
    g = [gold[i] for i in idx]
    off = [i for i in idx if rows[i].get("ag_class", "World") != "World"]
    mod_rows = [i for i in idx if gold[i] and rows[i].get("modality") in _COUNTED_MODALITIES]
    mod_ok = mod_found = 0
    for i in mod_rows:
        m = _strongest(run.scored[i].signals, "escalation")
        mod_found += m is not None
        mod_ok += m is not None and m.modality == rows[i]["modality"]
    th_rows = [i for i in idx if gold[i]]
    th_ok = sum(run.scored[i].theatre == rows[i]["theatre"] for i in th_rows)
    return {
        "n": len(idx),
        "ours": prf(g, [ours[i] for i in idx]).as_dict(),
        "rules_without_gate": prf(g, [rules[i] for i in idx]).as_dict(),
        "baseline": prf(g, [base[i] for i in idx]).as_dict(),
        "deescalation": prf([run.gold_de[i] for i in idx], [_deesc(run.scored[i]) for i in idx]).as_dict(),
        "off_topic_rows": len(off),
        "off_topic_false_alarm": {
            "ours": round(sum(ours[i] for i in off) / len(off), 4) if off else None,
            "rules_without_gate": round(sum(rules[i] for i in off) / len(off), 4) if off else None,
            "baseline": round(sum(base[i] for i in off) / len(off), 4) if off else None,
        },
        "modality_rows": len(mod_rows),
        "modality_accuracy": round(mod_ok / len(mod_rows), 4) if mod_rows else None,
        "modality_accuracy_detected": round(mod_ok / mod_found, 4) if mod_found else None,
        "modality_detected_rows": mod_found,
        "theatre_rows": len(th_rows),
        "theatre_accuracy": round(th_ok / len(th_rows), 4) if th_rows else None,
    }


def _own_block(cfg: Any, items: list[Any]) -> dict[str, Any] | None:
    """Our own held-out sentences (every third row of scripts/data/own_sentences.csv),
    scored with a gate trained on ``items`` (everything else: news_tuning, weak data,
    our train part): escalation, category, modality and theatre."""
    from .relevance_train import fit_gate, load_own, with_titles

    test = load_own("test")
    if not test:
        return None
    gate = fit_gate(with_titles(items), cfg)
    scored = [score_text(r["text"], gate=gate) for r in test]
    gold = [r["esc"] == "1" for r in test]
    pred = [_is_escalation(s.signals) for s in scored]
    esc_rows = [i for i, r in enumerate(test) if r["esc"] == "1"]
    mod_ok = cat_ok = th_ok = found = 0
    for i in esc_rows:
        m = _strongest(scored[i].signals, "escalation")
        found += m is not None
        mod_ok += m is not None and m.modality == test[i]["modality"]
        cat_ok += any(g.signal == test[i]["category"] and g.weight > 0 for g in scored[i].signals)
        th_ok += scored[i].theatre == test[i]["theatre"]
    n = len(esc_rows) or 1
    return {"n": len(test), "escalation": prf(gold, pred).as_dict(), "modality_accuracy": round(mod_ok / n, 4),
            "modality_accuracy_detected": round(mod_ok / found, 4) if found else None,
            "category_recall": round(cat_ok / n, 4), "theatre_accuracy": round(th_ok / n, 4),
            "baseline": prf(gold, [gpr_baseline(r["text"]) for r in test]).as_dict()}



def _line(name: str, d: dict[str, Any]) -> str:
    return (f"  {name:<28} P {d['precision']:.3f}  R {d['recall']:.3f}  F1 {d['f1']:.3f}"
            f"   (tp {d['tp']}, fp {d['fp']}, fn {d['fn']}, n+ {d['support']})")


def format_news_report(r: dict[str, Any]) -> str:
    out = [f"dataset news: {r['path']} ({r['rows']} rows, {r['folds']} grouped folds, gate trained per fold on "
           f"the other folds + {r['weak_items']} section-labelled items; taxonomy {r.get('taxonomy_version', '?')})"]
    for key, title in (("all", "all rows, out of fold"),
                       ("rules_holdout", f"fold {RULES_HOLDOUT_FOLD} only (texts never read while writing rules)"),
                       ("high_confidence", "rows the annotator marked high confidence, out of fold")):
        b = r.get(key)
        if not b:
            continue
        fa = b["off_topic_false_alarm"]
        out.append(f"escalation, {title} (n={b['n']})")
        out.append(_line("ours (rules + gate)", b["ours"]))
        out.append(_line("rules without the gate", b["rules_without_gate"]))
        out.append(_line("GPR keyword baseline", b["baseline"]))
        out.append(_line("de-escalation (ours)", b["deescalation"]))
        if b["off_topic_rows"]:
            out.append(f"  sport/business/sci-tech rows flagged: ours {fa['ours']:.3f}, rules without gate "
                       f"{fa['rules_without_gate']:.3f}, baseline {fa['baseline']:.3f} (n={b['off_topic_rows']})")
        if b["modality_accuracy"] is not None:
            out.append(f"  modality of the main signal right: {b['modality_accuracy']:.3f} of the {b['modality_rows']} "
                       f"escalation rows (a miss counts as wrong), {b['modality_accuracy_detected']:.3f} of the "
                       f"{b['modality_detected_rows']} we flag")
        if b["theatre_accuracy"] is not None:
            out.append(f"  theatre right: {b['theatre_accuracy']:.3f} (n={b['theatre_rows']} escalation rows)")
    o = r.get("own_test")
    if o:
        out.append(f"our own held-out sentences (every third row of scripts/data/own_sentences.csv, n={o['n']}; "
                   f"gate trained on everything else)")
        out.append(_line("ours", o["escalation"]))
        out.append(_line("GPR keyword baseline", o["baseline"]))
        out.append(f"  on the escalation rows: category found {o['category_recall']:.3f}, modality right "
                   f"{o['modality_accuracy']:.3f} ({o['modality_accuracy_detected']:.3f} of those flagged), theatre right "
                   f"{o['theatre_accuracy']:.3f}")
    return "\n".join(out)
