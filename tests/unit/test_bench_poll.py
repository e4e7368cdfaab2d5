"""Smoke tests: the poll benchmark runs end to end on tiny input (synthetic, dense crisis text, and
the real corpus of ../shared/data/realfeeds when present) and checks its own counts."""

import random
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.timeout(120)
def test_poll_benchmark_runs_on_tiny_input():
    r = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks/poll.py"), "--feeds", "6", "--items", "4"],
        capture_output=True, text=True, timeout=110,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    cold = next(line for line in lines if line.startswith("cold")).split()
    warm = next(line for line in lines if line.startswith("warm")).split()
    assert cold[1:5] == ["6", "24", "0", "0"]
    assert warm[1:5] == ["6", "0", "6", "0"]


def _figure(pattern: str, out: str) -> tuple[float, ...]:
    m = re.search(pattern, out)
    assert m, f"{pattern!r} not in:\n{out}"
    return tuple(float(g.replace(",", "")) for g in m.groups())


@pytest.mark.timeout(120)
def test_poll_benchmark_runs_on_the_dense_corpus():
    r = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks/poll.py"), "--feeds", "6", "--items", "4", "--corpus", "dense"],
        capture_output=True, text=True, timeout=110,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    out = r.stdout
    cold = next(line for line in out.splitlines() if line.startswith("cold")).split()
    assert cold[1:5] == ["6", "24", "0", "0"]
    per_article, db, wal, closed = _figure(
        r"bytes/article on disk after the cold cycle: (\d+) \(db ([\d,]+) \+ WAL ([\d,]+) bytes, 24 articles\); "
        r"(\d+) once closed", out)  # fmt: skip
    assert per_article == pytest.approx((db + wal) / 24, abs=1) and closed > 0
    # crisis-dense text through the real poller: ~20 signals stored for each article
    (signals,) = _figure(r"signals stored per article: ([\d.]+)", out)
    assert signals >= 10
    busy, secs, share, cpu = _figure(
        r"writer busy in the cold cycle: ([\d.]+) s of ([\d.]+) s \((\d+) %\), on a core ([\d.]+) s", out)  # fmt: skip
    assert 0 < busy <= secs and 0 < share <= 100 and 0 < cpu <= busy + 0.01


def test_dense_articles_carry_about_twenty_signals_and_are_all_different_stories():
    from benchmarks.corpus import dense_texts
    from pipeline import trend
    from pipeline.parse import MAX_SUMMARY_CHARS, plain_text
    from pipeline.score import score_article

    rng = random.Random("f0:0")  # as tests.feedgen seeds feed f0
    articles = [dense_texts(rng, 1600) for _ in range(100)]
    sizes = [len(html) for _, html in articles]
    assert 1400 <= sum(sizes) / len(sizes) <= 1800 and all(html.startswith("<p>") for _, html in articles)
    texts = [(title, plain_text(html, MAX_SUMMARY_CHARS)) for title, html in articles]
    counts = [len(score_article(t, s).signals) for t, s in texts]
    assert min(counts) >= 10 and 15 <= sum(counts) / len(counts) <= 30
    # varied text, not a repeated paragraph: no two articles would fold into one story
    hashes = [trend.simhash(trend.story_text(t, s)) for t, s in texts]
    closest = min(trend.hamming(a, b) for i, a in enumerate(hashes) for b in hashes[:i])
    assert closest > trend.STORY_MAX_DISTANCE


def test_a_real_feed_replica_has_fresh_identities_and_the_same_text():
    from datetime import UTC, datetime

    from benchmarks.realfeeds import replica
    from pipeline.parse import parse_feed

    body = (ROOT / "tests/data/feeds/shared_link.xml").read_bytes()
    now = datetime(2024, 6, 1, tzinfo=UTC)
    original, copy = (parse_feed(b, feed_url="https://f.example/x", now=now) for b in (body, replica(body, 7)))
    assert [a.title for a in copy.articles] == [a.title for a in original.articles]
    assert {a.url for a in copy.articles} == {"https://r7.vestnik.example/"}
    assert not {a.guid for a in copy.articles} & {a.guid for a in original.articles}
    assert copy.warnings == original.warnings  # still the outlet's home page


@pytest.mark.shared
@pytest.mark.timeout(120)
def test_poll_benchmark_runs_on_the_real_corpus(realfeeds):
    r = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks/poll.py"), "--feeds", "6", "--corpus", "real",
         "--realfeeds", str(realfeeds)],
        capture_output=True, text=True, timeout=110,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr  # it checks that every article the files parse to was stored
    assert "real corpus: " in r.stderr and "served as 6 feeds" in r.stderr
    lines = r.stdout.splitlines()
    cold = next(line for line in lines if line.startswith("cold")).split()
    warm = next(line for line in lines if line.startswith("warm")).split()
    assert cold[1] == "6" and int(cold[2]) > 6 and cold[3:5] == ["0", "0"]
    assert warm[1:5] == ["6", "0", "6", "0"]
