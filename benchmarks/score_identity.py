"""Identity check for scorer optimisations: score a fixed set of texts and write one JSON
line per text (``scored_to_dict``, sorted keys), or compare against a saved baseline.

    .venv/bin/python benchmarks/score_identity.py --write /tmp/baseline.jsonl
    .venv/bin/python benchmarks/score_identity.py --compare /tmp/baseline.jsonl

The set: 2,000 dense crisis articles (benchmarks/stages.py's feeds, parsed), the same
joined 4 and 16 to a text (625 long texts), 3,000 short
synthetic title+summary texts per language (benchmarks/score.py), the texts of
scripts/data/own_sentences*.csv, and titles + descriptions of the first 3,000 rows of
../shared/data/news_tuning/ag_news_all.csv when that file is there.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pipeline.score import article_text, score_article, score_text, scored_to_dict  # noqa: E402

AG_NEWS = ROOT.parent / "shared" / "data" / "news_tuning" / "ag_news_all.csv"


def cases(ag_news: Path = AG_NEWS):
    """(label, thunk) per text, in a fixed order."""
    from benchmarks.score import synthesise
    from benchmarks.stages import bodies
    from pipeline.parse import parse_feed

    now = datetime(2024, 6, 2, tzinfo=UTC)
    dense = [a for u, b in bodies(40, 50, "dense") for a in parse_feed(b, feed_url=u, now=now).articles]
    for a in dense:
        yield "dense", (lambda a=a: score_article(a.title, a.summary, hint=a.language))
    # long texts: 4 and 16 dense stories in one (where a per-hit walk over the text shows)
    for k, sep in ((4, " "), (16, "\n\n")):
        for i in range(0, len(dense), k):
            text = sep.join(article_text(a.title, a.summary) for a in dense[i : i + k])
            yield f"dense-x{k}", (lambda t=text: score_text(t))
    for lang in ("en", "ru", "uk"):
        for t, s in synthesise(3000, language=lang):
            yield f"short-{lang}", (lambda t=t, s=s, lang=lang: score_article(t, s, lang))
    for path in sorted((ROOT / "scripts" / "data").glob("own_sentences*.csv")):
        with path.open(encoding="utf-8", newline="") as f:
            for r in csv.DictReader(f):
                yield path.stem, (lambda t=r["text"]: score_text(t))
    if ag_news.is_file():
        with ag_news.open(encoding="utf-8", newline="") as f:
            for i, r in enumerate(csv.DictReader(f)):
                if i >= 3000:
                    break
                yield "ag_news", (lambda t=r["title"], s=r["summary"]: score_article(t, s))
                yield "ag_news-gateless", (lambda t=r["title"] + ". " + r["summary"]: score_text(t, gate=False))


def main() -> int:
    ap = argparse.ArgumentParser()
    g = ap.add_mutually_exclusive_group(required=True)
    g.add_argument("--write", type=Path)
    g.add_argument("--compare", type=Path)
    ap.add_argument("--ag-news", type=Path, default=AG_NEWS, help=f"default {AG_NEWS}")
    args = ap.parse_args()
    lines = [f"{label}\t{json.dumps(scored_to_dict(fn()), sort_keys=True)}" for label, fn in cases(args.ag_news)]
    if args.write:
        args.write.write_text("\n".join(lines) + "\n", encoding="utf-8")
        print(f"wrote {len(lines)} texts to {args.write}")
        return 0
    base = args.compare.read_text(encoding="utf-8").splitlines()
    diff = [i for i, (a, b) in enumerate(zip(base, lines)) if a != b]
    if len(base) != len(lines) or diff:
        print(f"DIFFERENT: {len(diff)} of {len(lines)} texts differ (baseline {len(base)}); first at {diff[:5]}")
        for i in diff[:3]:
            print("  base:", base[i][:400])
            print("  now: ", lines[i][:400])
        return 1
    print(f"identical: {len(lines)} texts")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
