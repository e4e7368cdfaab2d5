"""Several `escalation-watch poll` workers on one PostgreSQL database share 500 local feeds.

Real processes, a real feed server with per-request latency, a fresh database per
test. Checked: every item is stored exactly once, every feed is fetched once in
its interval, all workers take a share, one syndicated story counts once although
workers store its copies at the same time, and the feeds of a worker killed with
SIGKILL mid-cycle are finished by the others once its lease runs out.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from pipeline.store import Store
from pipeline.types import FeedSpec

# "heavy": never beside test_crash/test_hostile on the other xdist worker; four pollers
# at once would skew their timing-sensitive checks (and theirs ours)
pytestmark = [pytest.mark.postgresql, pytest.mark.timeout(180), pytest.mark.xdist_group("heavy")]

N_FEEDS = 500
#: the same wire story in every feed (own link and guid each): one story, not 500
WIRE_TITLE = "Russian forces shell Ukrainian positions in Donbas overnight, officials say"
CALM = ["Local council approves new cycling lanes", "Film festival opens with record attendance",
        "Football club signs young striker"]  # fmt: skip
ITEMS_PER_FEED = 1 + len(CALM)
BASE = datetime(2024, 6, 1, 12, 0, tzinfo=timezone.utc)


def feed_body(i: int) -> bytes:
    items = [(f"urn:f{i}:wire", f"https://news.example/f{i}/wire", WIRE_TITLE, "Shelling continued near the front.")]
    items += [(f"urn:f{i}:c{k}", f"https://news.example/f{i}/c{k}", f"{t} ({i})", "Nothing else.")
              for k, t in enumerate(CALM)]  # fmt: skip
    out = [f'<?xml version="1.0"?>\n<rss version="2.0"><channel><title>Feed {i}</title><link>https://news.example/</link>']
    for k, (guid, link, title, summary) in enumerate(items):
        when = format_datetime(BASE - timedelta(minutes=10 * k + i % 7), usegmt=True)
        out.append(f"<item><title>{title}</title><link>{link}</link><guid>{guid}</guid>"
                   f"<pubDate>{when}</pubDate><description>{summary}</description></item>")  # fmt: skip
    out.append("</channel></rss>")
    return "".join(out).encode()


def setup_feeds(srv, tmp_path: Path, db_url: str, *, delay_s: float, start_in_s: float) -> tuple[Path, list[str]]:
    """Serve N_FEEDS feeds, write feeds.yaml, and register them all due ``start_in_s``
    from now, so every worker is up before the first claim (a fair start)."""
    paths = [f"/f{i}.xml" for i in range(N_FEEDS)]
    lines = ["feeds:"]
    specs = []
    for i, p in enumerate(paths):
        url = srv.route(p, feed_body(i), etag=f'"f{i}"', delay_s=delay_s)
        lines += [f"  - name: feed {i}", f"    url: {url}", "    interval: 10m"]
        specs.append(FeedSpec(f"feed {i}", url, interval_s=600))
    lines += ["settings:", "  concurrency: 8"]
    cfg = tmp_path / "feeds.yaml"
    cfg.write_text("\n".join(lines) + "\n")
    with Store.open(db_url) as store:
        store.sync_feeds(specs, datetime.now(timezone.utc) + timedelta(seconds=start_in_s))
    return cfg, paths


def start_worker(name: str, cfg: Path, db_url: str, tmp_path: Path, lease_s: float) -> subprocess.Popen:
    env = dict(os.environ, ESCALATION_WATCH_WORKER_ID=name, ESCALATION_WATCH_LEASE_S=str(lease_s))
    log = (tmp_path / f"{name}.log").open("w")  # a file, not a pipe: 500 log lines would fill a pipe
    return subprocess.Popen(
        [sys.executable, "-m", "pipeline", "poll", "--config", str(cfg), "--db", db_url, "--log-format", "json"],
        stdout=log, stderr=log, env=env,
    )  # fmt: skip


def stop_workers(procs: dict[str, subprocess.Popen]) -> None:
    for p in procs.values():
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
    for p in procs.values():
        try:
            p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def polled_by(tmp_path: Path, name: str) -> list[str]:
    """Feed URLs the worker logged as polled (and stored)."""
    out = []
    for line in (tmp_path / f"{name}.log").read_text().splitlines():
        if line.startswith("{"):
            rec = json.loads(line)
            if rec.get("msg") == "feed polled":
                assert rec["worker"] == name
                out.append(rec["feed"])
    return out


def scalar(engine: sa.Engine, sql: str):
    with engine.connect() as conn:
        return conn.execute(sa.text(sql)).scalar()


def wait_for(cond, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def held_by(engine: sa.Engine, name: str) -> set[str]:
    with engine.connect() as conn:
        return set(conn.execute(sa.text("SELECT url FROM feeds WHERE lease_owner = :n"), {"n": name}).scalars())


def kill_while_holding(proc: subprocess.Popen, engine: sa.Engine, name: str, timeout: float) -> set[str]:
    """SIGKILL the worker at a moment it holds leases, and return the feeds it held.

    A worker between two claims (or one starved of CPU that has not claimed yet) holds
    nothing, and killing it then tests nothing. So freeze it (SIGSTOP: it can neither
    claim nor release), look at its leases, and kill it only if it holds some; else let
    it run a moment and look again. The held set is read again once it is dead: that
    is what the others must finish."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"{name} exited before it could be killed mid-cycle"
        proc.send_signal(signal.SIGSTOP)
        if held_by(engine, name):
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=10)
            held = held_by(engine, name)
            assert held, f"{name} held no feeds once dead"
            return held
        proc.send_signal(signal.SIGCONT)
        time.sleep(0.02)
    raise AssertionError(f"{name} never held a lease within {timeout:.0f} s: it took no share of the cycle")


def check_stored_once(engine: sa.Engine) -> None:
    total = N_FEEDS * ITEMS_PER_FEED
    assert scalar(engine, "SELECT count(*) FROM articles") == total
    assert scalar(engine, "SELECT count(DISTINCT (feed_id, guid)) FROM articles") == total
    assert scalar(engine, "SELECT count(DISTINCT canonical_url) FROM articles") == total
    # concurrent `x = x + excluded.x` upserts lost nothing
    assert scalar(engine, "SELECT sum(articles) FROM trend_buckets WHERE theatre = '*' AND granularity = 'day'") == total
    assert scalar(engine, "SELECT sum(articles) FROM feed_buckets") == total
    # 500 copies of one wire story, stored by four workers at once: one story, counted once
    with engine.connect() as conn:
        stories = conn.execute(sa.text("SELECT theatre, size FROM stories")).all()
        assert stories == [("RUS-UKR", N_FEEDS)]
        assert conn.execute(sa.text(
            "SELECT sum(stories) FROM trend_buckets WHERE theatre = 'RUS-UKR' AND granularity = 'day'"
        )).scalar() == 1  # fmt: skip
    assert scalar(engine, "SELECT count(*) FROM feeds WHERE lease_owner IS NOT NULL") == 0


def test_four_workers_share_the_feeds_and_store_everything_once(tmp_path, feed_server, pg_url):
    srv = feed_server
    cfg, paths = setup_feeds(srv, tmp_path, pg_url, delay_s=0.05, start_in_s=6)
    names = [f"w{i}" for i in range(4)]
    procs = {n: start_worker(n, cfg, pg_url, tmp_path, lease_s=60) for n in names}
    engine = sa.create_engine(pg_url, poolclass=sa.pool.NullPool)
    try:
        wait_for(lambda: scalar(engine, "SELECT count(*) FROM feeds WHERE last_success_at IS NOT NULL") == N_FEEDS,
                 60, "every feed polled")  # fmt: skip
        time.sleep(1.5)  # a worker fetching anything twice would do it now
    finally:
        stop_workers(procs)
        engine_done = engine
    for n, p in procs.items():
        assert p.returncode == 0, (tmp_path / f"{n}.log").read_text()[-3000:]
    assert [p for p in paths if srv.count(p) != 1] == []  # each feed fetched once
    shares = {n: polled_by(tmp_path, n) for n in names}
    assert sum(len(v) for v in shares.values()) == N_FEEDS
    assert all(len(v) > N_FEEDS / 20 for v in shares.values()), {n: len(v) for n, v in shares.items()}
    check_stored_once(engine_done)
    assert scalar(engine_done, "SELECT count(*) FROM fetch_log") == N_FEEDS
    engine_done.dispose()


def test_a_killed_workers_feeds_are_finished_by_the_others_after_its_lease(tmp_path, feed_server, pg_url):
    srv = feed_server
    # well under the default lease, and long enough that a live worker starved of CPU by a
    # parallel test (2 cores) still stores its polls before its lease runs out
    lease_s = 8.0
    # slow answers: the cycle lasts long enough to kill a worker in the middle of it
    cfg, paths = setup_feeds(srv, tmp_path, pg_url, delay_s=0.2, start_in_s=6)
    names = [f"w{i}" for i in range(4)]
    procs = {n: start_worker(n, cfg, pg_url, tmp_path, lease_s=lease_s) for n in names}
    engine = sa.create_engine(pg_url, poolclass=sa.pool.NullPool)
    try:
        wait_for(lambda: scalar(engine, "SELECT count(*) FROM fetch_log") >= N_FEEDS // 20, 60, "the cycle to start")
        held = kill_while_holding(procs["w0"], engine, "w0", timeout=30)
        killed_at = time.monotonic()
        wait_for(lambda: scalar(engine, "SELECT count(*) FROM feeds WHERE last_success_at IS NOT NULL") == N_FEEDS,
                 60, "every feed polled after the kill")  # fmt: skip
        taken_over_after_s = time.monotonic() - killed_at
    finally:
        stop_workers(procs)
    for n in names[1:]:
        assert procs[n].returncode == 0, (tmp_path / f"{n}.log").read_text()[-3000:]
    # w0's held feeds were finished by the others, and not before its lease ran out
    others = {u for n in names[1:] for u in polled_by(tmp_path, n)}
    assert held <= others
    assert taken_over_after_s >= lease_s - 1.5
    # only feeds w0 held can have been fetched twice (it fetched, died before storing)
    twice = {srv.url(p) for p in paths if srv.count(p) > 1}
    assert twice <= held
    assert all(srv.count(p) >= 1 for p in paths)
    check_stored_once(engine)
    engine.dispose()
