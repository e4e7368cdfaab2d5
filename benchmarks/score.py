"""Articles per second of the scorer on title+summary texts, on one core.

    python benchmarks/score.py [--n 20000] [--headlines PATH] [--json]

Texts are synthesised from templates (about half geopolitical, half ordinary
news, like a mixed feed), or, with --headlines, read from a CSV with a ``title``
column (e.g. ../shared/data/headlines/headlines.csv; only used as load, never to
pick keywords). Prints the full scorer (automaton, modality, actors, evidence,
theatre) next to a plain ``re`` baseline in the same run: one compiled regex per
taxonomy category, searched in a loop, matching only.

Times are CPU time of this process (time.process_time), so the figure is per
core and does not drop when other processes share the machine.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import re
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pipeline.score import article_text, score_article  # noqa: E402
from pipeline.signals import load_lexicon, pattern_parts  # noqa: E402

ACTORS = ["Russia", "Ukraine", "the Kremlin", "Washington", "NATO", "China", "Taiwan", "Beijing", "Israel",
          "Iran", "India", "Pakistan", "North Korea", "South Korea", "the EU", "Britain", "Poland", "Turkey"]
EVENTS = [
    "{a} masses troops near {b} border",
    "{a} warns of severe sanctions if {b} invades",
    "{a} shells positions in eastern {b}",
    "{a} and {b} hold talks in Geneva",
    "{a} expels {b} diplomats in tit-for-tat move",
    "{a} denies plans to attack {b}",
    "{a} puts nuclear forces on high alert amid {b} tensions",
    "{a} agrees ceasefire with {b}",
    "{a} imposes new sanctions on {b} banks",
    "{a} says troops returning to bases after drills near {b}",
    "{a} condemns {b} missile test",
    "{a} hackers launch cyberattack on {b} ministries",
    "{a} may be preparing offensive against {b}, officials say",
    "{a} rules out sending combat troops to {b}",
]
SUMMARIES = [
    "Officials said the move was a response to what they called provocations, and analysts warned the "
    "situation could escalate further in the coming days.",
    "The announcement came after a phone call between the two leaders, according to a statement released "
    "on Tuesday evening.",
    "Satellite images showed new deployments of armour and artillery, while diplomats met in Brussels to "
    "discuss a joint response.",
    "The ministry did not comment on the reports, which could not be independently verified.",
    "Markets fell sharply on the news, with oil prices rising above $90 a barrel for the first time since 2014.",
]
NEUTRAL_TITLES = [
    "Local team wins championship after dramatic final", "Central bank holds interest rates steady",
    "New smartphone goes on sale next week", "Heatwave expected to continue through the weekend",
    "Film festival announces this year's lineup", "Tech giant reports record quarterly profit",
    "City council approves budget for new library", "Scientists discover new species of frog",
    "Airline adds routes to southern Europe", "Museum reopens after two-year renovation",
]
NEUTRAL_SUMMARIES = [
    "The decision was welcomed by residents, who had campaigned for years, the mayor said on Monday.",
    "Analysts expect demand to remain strong through the holiday season despite higher prices.",
    "Organisers said tickets sold out within hours, and more dates may be added later in the year.",
    "The researchers published their findings in the journal Nature on Wednesday.",
]


def synthesise(n: int, seed: int = 7) -> list[tuple[str, str]]:
    rnd = random.Random(seed)
    out = []
    for _ in range(n):
        if rnd.random() < 0.5:
            a, b = rnd.sample(ACTORS, 2)
            title = rnd.choice(EVENTS).format(a=a, b=b)
            title = title[0].upper() + title[1:]
            out.append((title, rnd.choice(SUMMARIES)))
        else:
            out.append((rnd.choice(NEUTRAL_TITLES), rnd.choice(NEUTRAL_SUMMARIES)))
    return out


def read_headlines(path: Path, n: int) -> list[tuple[str, str]]:
    with path.open(encoding="utf-8", newline="") as f:
        titles = [r["title"] for r in csv.DictReader(f) if r.get("title")]
    if not titles:
        raise SystemExit(f"no titles in {path}")
    return [(titles[i % len(titles)], "") for i in range(n)]


def re_baseline_regexes() -> list[re.Pattern[str]]:
    """One regex per category from the same taxonomy patterns (gaps as up to N words)."""
    lex = load_lexicon()
    gap = r"(?:\W+\w+){0,%d}\W+" % lex.max_gap_words
    out = []
    for cat in lex.categories.values():
        alts = []
        for src in cat.patterns:
            parts = []
            for lits in pattern_parts(src):
                parts.append("(?:" + "|".join(
                    re.escape(lit[:-1]) + r"\w*" if lit.endswith("*") else re.escape(lit) for lit in lits) + ")")
            alts.append(gap.join(parts))
        out.append(re.compile(r"\b(?:" + "|".join(alts) + r")\b", re.IGNORECASE))
    return out


def bench(texts: list[tuple[str, str]], min_s: float = 0.0) -> dict[str, float]:
    score_article("warm", "up")
    joined = [article_text(t, s) for t, s in texts]
    rounds = 0
    t0 = time.process_time()
    while True:
        for t, s in texts:
            score_article(t, s)
        rounds += 1
        if time.process_time() - t0 >= min_s:
            break
    ours_s = time.process_time() - t0
    regexes = re_baseline_regexes()
    sample = joined[: max(1, len(joined) // 10)]  # the re loop is slow; time a tenth
    t0 = time.process_time()
    for text in sample:
        for rx in regexes:
            rx.search(text)
    re_s = time.process_time() - t0
    return {
        "texts": len(texts),
        "avg_chars": sum(map(len, joined)) / len(joined),
        "ours_articles_per_s": rounds * len(texts) / ours_s,
        "re_articles_per_s": len(sample) / re_s,
        "re_regexes": len(regexes),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=20000, help="number of articles (default 20000)")
    ap.add_argument("--headlines", type=Path, help="CSV with a title column to use instead of synthetic texts")
    ap.add_argument("--min-seconds", type=float, default=1.0, help="repeat the scorer for at least this long")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    if args.n < 1:
        ap.error("--n must be at least 1")
    if args.headlines is not None and not args.headlines.is_file():
        print(f"score.py: error: no such file: {args.headlines}", file=sys.stderr)
        return 2
    texts = read_headlines(args.headlines, args.n) if args.headlines else synthesise(args.n)
    r = bench(texts, args.min_seconds)
    if args.json:
        print(json.dumps(r))
        return 0
    src = f"titles from {args.headlines}" if args.headlines else "synthetic title+summary texts"
    print(f"{r['texts']} {src}, avg {r['avg_chars']:.0f} chars, one core")
    print(f"escalation-watch score_article (automaton, modality, actors, evidence): "
          f"{r['ours_articles_per_s']:,.0f} articles/s")
    print(f"plain re loop ({r['re_regexes']} category regexes, match only):            "
          f"{r['re_articles_per_s']:,.0f} articles/s")
    print(f"ratio: {r['ours_articles_per_s'] / r['re_articles_per_s']:.0f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
