"""Fill a store with a synthetic 90-day news stream that has a crisis in it (for demos and screenshots).

    .venv/bin/python scripts/demo_store.py --db sqlite:///data/demo.db
    .venv/bin/escalation-watch dashboard --db sqlite:///data/demo.db

Every article goes through the real scorer and the real ingest path. The
stream is made up: ~300 articles a day from 12 sources, mostly calm, with a
Russia–Ukraine buildup over the last five weeks (threats first, then acts),
a short China–Taiwan flare, and talks late in the window. No real headlines.
"""

from __future__ import annotations

import argparse
import math
import random
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.corpus import CALM  # noqa: E402
from pipeline.score import score_article  # noqa: E402
from pipeline.store import Store  # noqa: E402
from pipeline.types import Article  # noqa: E402

SOURCES = ["Wire One", "Global Desk", "Evening Post", "Baltic Courier", "Pacific Times", "Kyiv Daily",
           "Levant Review", "Capital Radio", "Defence Weekly", "Asia Monitor", "Morning Ledger", "World Service"]  # fmt: skip
THREATS = [
    "Russia masses troops near the border with Ukraine",
    "Kremlin warns Kyiv of a military response over NATO ties",
    "Washington threatens severe sanctions if Russia invades Ukraine",
    "Moscow demands guarantees that Ukraine never joins NATO",
    "Russian forces hold military exercises near Ukraine's border",
]
ACTS = [
    "Russian forces shell Ukrainian positions in the east",
    "Russia launches missile strikes on Ukrainian cities",
    "Russian tanks cross into Ukraine in a ground offensive",
    "Ukraine declares martial law as Russian troops advance",
]
TALKS = ["Russia and Ukraine agree to hold talks in Geneva", "Russia and Ukraine agree a temporary ceasefire"]
TAIWAN = ["China launches military drills near Taiwan", "Beijing warns Taipei over arms deliveries from Washington"]
OTHER = ["Israel warns Iran over its nuclear programme", "North Korea fires a ballistic missile into the sea",
         "India and Pakistan exchange fire across the line of control"]  # fmt: skip


def stream(days: int, end: datetime, rng: random.Random):
    for d in range(days):
        day = end - timedelta(days=days - d)
        late = max(0.0, (d - (days - 35)) / 35)  # 0 -> 1 over the last five weeks
        n = rng.randint(250, 330)
        for i in range(n):
            r = rng.random()
            if r < 0.02 + 0.10 * late:
                pool = THREATS if rng.random() > late * 0.7 else ACTS
            elif r < 0.03 + 0.10 * late and d > days - 8:
                pool = TALKS
            elif r < 0.12 and abs(d - (days - 50)) < 4:
                pool = TAIWAN
            elif r < 0.14:
                pool = OTHER
            else:
                pool = CALM
            when = day + timedelta(seconds=rng.randrange(86400))
            yield when, rng.choice(SOURCES), rng.choice(pool), i


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", required=True)
    ap.add_argument("--days", type=int, default=90)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args(argv)
    rng = random.Random(args.seed)
    now = datetime.now(timezone.utc).replace(minute=0, second=0, microsecond=0)
    cache: dict[str, object] = {}
    groups: dict[str, tuple[list, list]] = {}
    total = 0
    with Store.open(args.db) as store:
        for when, source, title, i in stream(args.days, now, rng):
            text = f"{title}, officials say" if math.floor(when.timestamp()) % 2 else title
            scored = cache.get(text) or cache.setdefault(text, score_article(text, ""))
            serial = f"{when:%Y%m%d%H%M%S}-{i}"
            url = f"https://{source.lower().replace(' ', '-')}.example/{serial}"
            art = Article(f"import:demo-{source}", serial, url, url, text, "", when, False, "en", None, serial)
            arts, scores = groups.setdefault(source, ([], []))
            arts.append(art)
            scores.append(scored)
            total += 1
            if total % 5000 == 0:
                store.add_articles([(f"import:demo-{s}", s, a, sc) for s, (a, sc) in groups.items()], now)
                groups.clear()
        store.add_articles([(f"import:demo-{s}", s, a, sc) for s, (a, sc) in groups.items()], now)
    print(f"{total} synthetic articles over {args.days} days in {args.db}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
