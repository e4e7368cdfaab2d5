"""A synthetic scored-article store for benchmarks: N articles over D days and 5+ theatres.

Articles go through the real ingest path (``Store.add_articles``: articles,
signals, stories and index aggregates in one transaction per batch). Scoring
runs on a few hundred templates once; each article reuses the score of its
template (the text differs by a serial number, so stories stay distinct unless
a template is repeated within the story window on purpose, as syndication).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone

from pipeline.score import score_article
from pipeline.store import Store
from pipeline.types import Article

START = datetime(2024, 1, 1, tzinfo=timezone.utc)

ACTORS = {
    "RUS-UKR": [("Russia", "Ukraine"), ("Moscow", "Kyiv"), ("Russian forces", "Ukrainian")],
    "CHN-TWN": [("China", "Taiwan"), ("Beijing", "Taipei")],
    "ISR-IRN": [("Israel", "Iran"), ("Iran", "Israel")],
    "KOR-PRK": [("North Korea", "South Korea"), ("Pyongyang", "Seoul")],
    "IND-PAK": [("India", "Pakistan"), ("Pakistan", "India")],
}
VERBS = [
    "{a} masses troops near the border with {b}",
    "{a} shells positions in {b} overnight",
    "{a} warns {b} of a military response",
    "{a} threatens sanctions against {b} if the attack goes ahead",
    "{a} and {b} agree to hold talks next week",
    "{a} expels diplomats from {b}",
    "{a} launches drone strikes on {b}",
    "{a} denies plans to invade {b}",
    "{a} holds military exercises near {b}",
    "{a} and {b} agree a ceasefire",
]
CALM = [
    "Markets close higher as tech stocks rally",
    "City council approves new cycling lanes",
    "Film festival opens with record attendance",
    "Scientists discover a new species of frog",
    "Football club signs a young striker",
    "Central bank holds interest rates steady",
]


def templates(seed: int = 0) -> list[tuple[str, object]]:
    """(title, ScoredArticle) pairs: geopolitical and calm, scored once."""
    out = []
    for pairs in ACTORS.values():
        for a, b in pairs:
            for v in VERBS:
                t = v.format(a=a, b=b)
                out.append((t, score_article(t, "")))
    for c in CALM:
        out.append((c, score_article(c, "")))
    return out


def build(
    store: Store,
    n_articles: int,
    *,
    days: int = 730,
    sources: int = 50,
    batch: int = 5000,
    seed: int = 1,
    geo_share: float = 0.3,
    on_progress: Callable[[int, float], None] | None = None,
) -> float:
    """Add ``n_articles`` articles; return the seconds spent in the store."""
    rng = random.Random(seed)
    tpl = templates()
    geo = [t for t in tpl if t[1].signals]
    calm = [t for t in tpl if not t[1].signals]
    span = days * 86400
    now = START + timedelta(days=days + 1)
    spent = 0.0
    done = 0
    serial = 0
    while done < n_articles:
        k = min(batch, n_articles - done)
        by_src: dict[int, tuple[list[Article], list]] = {}
        for _ in range(k):
            serial += 1
            title, scored = rng.choice(geo) if rng.random() < geo_share else rng.choice(calm)
            when = START + timedelta(seconds=rng.randrange(span))
            src = rng.randrange(sources)
            text = f"{title} ({serial})"
            art = Article(
                feed_url=f"import:bench-{src}", guid=f"b{serial}", url=f"https://bench{src}.example/{serial}",
                canonical_url=f"https://bench{src}.example/{serial}", title=text, summary="",
                published_at=when, published_estimated=False, language="en", author=None, content_hash=str(serial),
            )  # fmt: skip
            arts, scores = by_src.setdefault(src, ([], []))
            arts.append(art)
            scores.append(scored)
        groups = [(f"import:bench-{s}", f"Bench source {s}", a, sc) for s, (a, sc) in by_src.items()]
        t0 = time.perf_counter()
        store.add_articles(groups, now)
        spent += time.perf_counter() - t0
        done += k
        if on_progress:
            on_progress(done, spent)
    return spent


# --- dense crisis text for poll benchmarks (issue 17) ------------------------------
#
# Long wire stories during a crisis: ~1.6 KB of <p> paragraphs, ~20 signals per article
# (what issue 17 measured on a real crisis day). Every sentence is drawn from templates with
# actors, places, days and numbers from the feed's seeded RNG, so no two articles share a
# title and opening (the story SimHash reads the title and the summary's first 300 chars)
# and the feeds stay the same bytes from run to run.

#: theatre -> (escalating side, other side, places): one theatre per story, as in a wire story
DENSE_THEATRES = {
    "RUS-UKR": (["Russia", "Moscow", "Russian forces", "the Kremlin"], ["Ukraine", "Kyiv", "Ukrainian forces"],
                ["Kharkiv", "Zaporizhzhia", "Kherson", "Donetsk", "Sumy", "Odesa", "Dnipro", "Pokrovsk"]),
    "CHN-TWN": (["China", "Beijing", "the People's Liberation Army"], ["Taiwan", "Taipei"],
                ["the Taiwan Strait", "Kinmen", "Matsu", "Penghu", "Kaohsiung", "Hualien"]),
    "ISR-IRN": (["Israel", "the Israeli military"], ["Iran", "Tehran", "the Revolutionary Guards"],
                ["Isfahan", "Natanz", "the Golan Heights", "Haifa", "Bandar Abbas", "the Strait of Hormuz"]),
    "KOR-PRK": (["North Korea", "Pyongyang"], ["South Korea", "Seoul"],
                ["the demilitarised zone", "Yeonpyeong island", "the Yellow Sea", "Paju", "Kaesong"]),
    "IND-PAK": (["India", "New Delhi", "the Indian army"], ["Pakistan", "Islamabad", "the Pakistani army"],
                ["Kashmir", "the Line of Control", "Poonch", "Sialkot", "Muzaffarabad"]),
}  # fmt: skip
#: one sentence each, ~1 signal each when scored ({A}/{a}: one side, {B}/{b}: the other)
DENSE_SENTENCES = [
    "{A} shelled positions near {p} overnight, the {who} said.",
    "{A} launched drone strikes on {p} on {d}.",
    "{B} accused {a} of firing missiles at civilian areas of {p}.",
    "{A} threatened a military response if {b} did not pull back from {p}.",
    "{A} massed troops near the border with {b}, satellite images showed.",
    "{A} announced a partial mobilisation of {n},000 reservists.",
    "{B} declared martial law in {p}.",
    "{A} expelled {n} diplomats from the embassy of {b}.",
    "{B} recalled its ambassador from {a}.",
    "{A} imposed new sanctions on {b}.",
    "{A} held live-fire military exercises near {p}.",
    "{A} fired a ballistic missile toward {p}.",
    "{A} put its nuclear forces on high alert.",
    "Talks between {a} and {b} collapsed on {d}.",
    "{B} warned {a} of severe consequences.",
    "Heavy artillery fire was reported near {p} on {d} morning.",
    "{A} carried out airstrikes on {p}, killing {n} people.",
    "{A} seized a cargo ship near {p}.",
    "{A} cut off gas supplies to {b}.",
    "{B} vowed to retaliate against {a}.",
    "{A} deployed additional warships to {p}.",
    "{A} closed its airspace over {p}.",
    "{B} ordered the evacuation of civilians from {p}.",
]
#: sentences with no signal, as wire copy has (attribution, colour)
DENSE_FILLER = [
    "The {who} gave no further details.",
    "Residents of {p} queued for fuel and water on {d}.",
    "Reuters could not independently verify the reports from {p}.",
    "Markets in the region fell sharply on {d}.",
    "Officials in {p} said power and mobile networks were down across much of the city.",
    "Diplomats at the United Nations met behind closed doors late on {d}, according to people familiar with the talks.",
    "Aid agencies said they were preparing for thousands of people to leave {p} in the coming days.",
    "The {who} said it would give a fuller account of events on {d}.",
]
DENSE_HEADLINES = [
    "{A} shells {p} as {B} warns of a wider war",
    "{A} launches strikes on {p}; {B} vows to retaliate",
    "{B} declares martial law in {p} after {a} attack",
    "{A} masses troops near {p} as talks with {b} collapse",
    "{A} fires missiles at {p}, {n} killed",
]
_WHO = ["regional governor", "defence ministry", "military spokesman", "foreign ministry", "general staff"]
_DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


def _cap(s: str) -> str:
    return s[0].upper() + s[1:]


def dense_texts(rng: random.Random, item_bytes: int = 1600) -> tuple[str, str]:
    """(title, HTML summary) of one crisis-dense wire story: ``<p>`` paragraphs of 3-5
    sentences, about ``item_bytes`` of HTML, ~1 signal per sentence (tests.feedgen.ItemTexts)."""
    from xml.sax.saxutils import escape

    side_a, side_b, places = DENSE_THEATRES[rng.choice(list(DENSE_THEATRES))]
    if rng.random() < 0.3:  # the other side escalates in this story
        side_a, side_b = side_b, side_a

    def fill(template: str) -> str:
        a, b = rng.choice(side_a), rng.choice(side_b)
        return _cap(template.format(A=_cap(a), a=a, B=_cap(b), b=b, p=rng.choice(places), who=rng.choice(_WHO),
                                    d=rng.choice(_DAYS), n=rng.randint(2, 40)))  # fmt: skip

    title = fill(rng.choice(DENSE_HEADLINES))
    paragraphs: list[str] = []
    size = 0
    # stop a paragraph short of item_bytes: the sizes then average about item_bytes
    while size < item_bytes - 150:
        sentences = [fill(rng.choice(DENSE_FILLER if rng.random() < 0.3 else DENSE_SENTENCES))
                     for _ in range(rng.randint(3, 5))]  # fmt: skip
        p = f"<p>{escape(' '.join(sentences))}</p>"
        paragraphs.append(p)
        size += len(p)
    return title, "".join(paragraphs)
