"""Train the relevance gate and ship it as pipeline/data/relevance.npz.

    .venv/bin/pip install -e '.[train]'
    .venv/bin/python scripts/train_relevance.py [--shared ../shared]

Reads only tuning data (see pipeline/relevance_train.py): news_tuning/labelled.csv
(target: theatre != none), news_tuning/ag_news_all.csv and HuffPost 2022 by
section (weak labels). Prints the grouped cross-validation report of the whole
scorer (`escalation-watch evaluate --dataset news`) first, then fits the shipped
gate on everything and records the data files' sha256 and the CV figures in it.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pipeline.evaluate_news import evaluate_news, format_news_report  # noqa: E402
from pipeline.relevance import RELEVANCE_PATH, save_gate  # noqa: E402
from pipeline.relevance_train import (  # noqa: E402
    TrainConfig, extra_items, file_sha256, fit_gate, labelled_items, load_labelled, with_titles,
)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--shared", default=str(ROOT.parent / "shared"), help="the shared folder (default ../shared)")
    ap.add_argument("--out", default=str(RELEVANCE_PATH))
    ap.add_argument("--skip-cv", action="store_true", help="fit and save without the cross-validation report")
    args = ap.parse_args()
    labelled = Path(args.shared) / "data" / "news_tuning" / "labelled.csv"
    cfg = TrainConfig()
    cv = None
    if not args.skip_cv:
        cv = evaluate_news(labelled)
        print(format_news_report(cv))
    rows = load_labelled(labelled)
    weak = extra_items(labelled.parent, rows, cfg)
    items = with_titles(labelled_items(rows) + weak)
    meta = {
        "trained_on": {"labelled.csv": file_sha256(labelled), "weak_items": len(weak), "labelled_items": len(rows)},
        "target": "news_tuning theatre != none; weak: ag_news World / HuffPost WORLD NEWS vs other sections",
        "cv": None if cv is None else {k: cv[k] for k in ("all", "rules_holdout")},
    }
    gate = fit_gate(items, cfg, meta)
    save_gate(args.out, gate.weights, gate.bias, gate.threshold, gate.meta)
    print(f"wrote {args.out}: {len(gate.weights)} features, threshold {gate.threshold}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
