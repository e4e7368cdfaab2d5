"""Smoke tests: the poll benchmark runs end to end on tiny input (synthetic, and the real corpus of
../shared/data/realfeeds when present) and checks its own counts."""

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
