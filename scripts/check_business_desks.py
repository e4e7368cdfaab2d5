"""How often the scorer raises an escalation on business-desk headlines (tuning data).

``../shared/data/news_unlabelled/`` holds real business-desk headlines (Reuters
2018-20, Guardian business 2017-20, CNBC 2017-20) with no labels of ours. They are
full of "trade war", "price war", "bid battle", "markets rally" and workers' strikes:
the hard negatives a relevance decision must get right, beside real sanctions and
attack stories that do move markets (Iran sanctions, the Aramco attacks). This prints,
per desk, the share of a fixed random sample that carries a counted escalation, the
categories, and a sample of the flagged headlines to read by eye. Tuning data only
(../shared/data/README.md); nothing here is fitted.

    .venv/bin/python scripts/check_business_desks.py [--sample 3000] [--show 20]
"""

from __future__ import annotations

import argparse
import collections
import csv
import random
from pathlib import Path

from pipeline.evaluate import _is_escalation
from pipeline.score import article_text, score_text

DESKS = ("reuters_headlines_2018_2020", "guardian_headlines_2017_2020", "cnbc_headlines_2017_2020")
ROOT = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "news_unlabelled"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sample", type=int, default=3000)
    ap.add_argument("--show", type=int, default=20)
    ap.add_argument("--root", type=Path, default=ROOT)
    args = ap.parse_args()
    for desk in DESKS:
        path = args.root / desk / f"{desk}.csv"
        if not path.is_file():
            print(f"{desk}: {path} absent, skipped")
            continue
        with path.open(encoding="utf-8", newline="") as f:
            rows = list(csv.DictReader(f))
        rows = random.Random(7).sample(rows, min(args.sample, len(rows)))
        flagged = []
        for r in rows:
            s = score_text(article_text(r["title"], r.get("summary", "")))
            if _is_escalation(s.signals):
                g = max((g for g in s.signals if g.direction == "escalation" and g.weight > 0), key=lambda g: g.weight)
                flagged.append((g.signal, g.evidence.text, r["title"]))
        cats = collections.Counter(f[0] for f in flagged).most_common(6)
        print(f"{desk}: {len(flagged)} of {len(rows)} flagged ({len(flagged) / len(rows):.1%}); "
              + ", ".join(f"{c} {n}" for c, n in cats))
        for cat, ev, title in random.Random(1).sample(flagged, min(args.show, len(flagged))):
            print(f"    {cat:<20} {ev!r:<28} {title[:100]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
