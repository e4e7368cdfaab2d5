"""Poll a local feed server into a real SQLite file through the real CLI and poller."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pipeline.cli import main
from datetime import timedelta

from tests.feedgen import DEFAULT_BASE_TIME, make_atom, make_rss

pytestmark = pytest.mark.timeout(120)

LM = "Fri, 03 Dec 2021 10:00:00 GMT"


def write_config(path: Path, feeds: list[tuple[str, str]], settings: str = "") -> Path:
    lines = ["# test feeds", "feeds:"]
    for name, url in feeds:
        lines += [f"  - name: {name}", f"    url: {url}"]
    if settings:
        lines += ["settings:", settings]
    path.write_text("\n".join(lines) + "\n")
    return path


def db_rows(db: Path, sql: str):
    con = sqlite3.connect(db)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


@pytest.fixture
def setup(tmp_path, feed_server):
    srv = feed_server
    urls = [
        srv.route("/a.xml", make_rss("a", 20), etag='"a1"'),
        srv.route("/b.xml", make_atom("b", 15), last_modified=LM),
        srv.route("/c.xml", make_rss("c", 10), etag='"c1"', gzip=True),
    ]
    cfg = write_config(tmp_path / "feeds.yaml", [(f"Feed {i}", u) for i, u in enumerate(urls)])
    db = tmp_path / "ew.db"
    return srv, cfg, db


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pipeline", *args], capture_output=True, text=True, timeout=90
    )


def test_poll_once_stores_every_item_once_then_makes_conditional_requests(setup):
    srv, cfg, db = setup
    r = run_cli("poll", "--once", "--config", str(cfg), "--db", f"sqlite:///{db}")
    assert r.returncode == 0, r.stderr
    assert "45 new articles" in r.stdout
    assert db_rows(db, "SELECT count(*), count(DISTINCT guid) FROM articles") == [(45, 45)]

    r = run_cli("poll", "--once", "--config", str(cfg), "--db", f"sqlite:///{db}")
    assert r.returncode == 0, r.stderr
    assert "0 new articles" in r.stdout and "3 not modified" in r.stdout
    assert db_rows(db, "SELECT count(*) FROM articles") == [(45,)]
    assert srv.last_headers("/a.xml")["if-none-match"] == '"a1"'
    assert srv.last_headers("/b.xml")["if-modified-since"] == LM
    assert srv.last_headers("/c.xml")["if-none-match"] == '"c1"'
    outcomes = db_rows(db, "SELECT outcome, count(*) FROM fetch_log GROUP BY outcome ORDER BY outcome")
    assert outcomes == [("not_modified", 3), ("ok", 3)]


def test_new_items_are_added_without_duplicates(setup):
    srv, cfg, db = setup
    assert main(["poll", "--once", "--config", str(cfg), "--db", f"sqlite:///{db}"]) == 0
    # the feed grows: 5 newer items on top of the same 20 (and a new ETag)
    newer = make_rss("a", 25, base_time=DEFAULT_BASE_TIME + timedelta(hours=5), seed=0)
    srv.route("/a.xml", newer, etag='"a2"')
    assert main(["poll", "--once", "--config", str(cfg), "--db", f"sqlite:///{db}"]) == 0
    assert db_rows(db, "SELECT count(*), count(DISTINCT guid) FROM articles") == [(50, 50)]


FEEDS = Path(__file__).resolve().parents[1] / "data" / "feeds"


def _poll_twice_and_check(tmp_path, srv, body: bytes, stories: int, repeats: int) -> None:
    """Poll a feed whose items share one link twice (no validators: both polls parse it)
    through the real CLI; every story is stored once and the health says why."""
    from pipeline.parse import SHARED_LINK_WARNING

    url = srv.route("/scraped.xml", body)  # no ETag or Last-Modified: the second poll parses again
    cfg = write_config(tmp_path / "feeds.yaml", [("Scraped", url)])
    db = tmp_path / "ew.db"
    for new in (stories, 0):
        r = run_cli("poll", "--once", "--config", str(cfg), "--db", f"sqlite:///{db}")
        assert r.returncode == 0, r.stderr
        assert f"{new} new articles" in r.stdout, r.stdout
        assert db_rows(db, "SELECT count(*), count(DISTINCT guid) FROM articles") == [(stories, stories)]
    assert srv.count("/scraped.xml") == 2
    assert db_rows(db, "SELECT items_seen, items_new, items_duplicate, items_refused FROM fetch_log ORDER BY id") == [
        (stories, stories, repeats, 0),
        (stories, 0, repeats, 0),
    ]
    (notes,) = db_rows(db, "SELECT parse_notes FROM feeds")[0]
    assert notes.startswith(SHARED_LINK_WARNING)
    r = run_cli("health", "--db", f"sqlite:///{db}")
    assert r.returncode == 0, r.stderr
    assert SHARED_LINK_WARNING in r.stdout and f"{stories} items" in r.stdout


def test_items_sharing_one_link_are_each_stored_once_across_polls(tmp_path, feed_server):
    # 7 items on the outlet's home page, one a repeat: 6 stories
    _poll_twice_and_check(tmp_path, feed_server, (FEEDS / "shared_link.xml").read_bytes(), stories=6, repeats=1)


@pytest.mark.shared
def test_the_real_scraped_feed_keeps_all_24_stories(tmp_path, feed_server, realfeeds):
    # issue 12: 24 items, no guid, every link the outlet's home page; 1 of them was stored
    _poll_twice_and_check(tmp_path, feed_server, (realfeeds / "meduza_2.xml").read_bytes(), stories=24, repeats=0)


def test_failures_are_per_feed_and_recorded(tmp_path, feed_server):
    srv = feed_server
    good = srv.route("/good.xml", make_rss("good", 5))
    urls = {
        "good": good,
        "html": srv.route("/page.html", b"<!DOCTYPE html><html><body><h1>Hello</h1></body></html>",
                          content_type="text/html"),
        "http429": srv.route("/busy.xml", b"slow down", status=429, headers={"Retry-After": "3600"}),
        "http410": srv.route("/gone.xml", b"gone", status=410),
        "http500": srv.route("/err.xml", b"oops", status=500),
        "slow": srv.route("/slow.xml", make_rss("slow", 3), delay_s=10),
        "huge": srv.route("/huge.xml", b"<rss>" + b" " * (3 * 1024 * 1024) + b"</rss>"),
        "redirect": srv.route("/moved.xml", b"", status=301, headers={"Location": "/good2.xml"}),
    }
    srv.route("/good2.xml", make_rss("good2", 4))
    cfg = write_config(
        tmp_path / "feeds.yaml",
        list(urls.items()),
        settings="  timeout_s: 2\n  max_bytes: 1048576",
    )
    db = tmp_path / "ew.db"
    t0 = time.monotonic()
    r = run_cli("poll", "--once", "--config", str(cfg), "--db", f"sqlite:///{db}")
    elapsed = time.monotonic() - t0
    assert r.returncode == 0, r.stderr
    assert elapsed < 30  # the slow feed is cut at its 2 s deadline, not waited for
    assert "9 new articles" in r.stdout  # 5 good + 4 via the redirect

    state = {
        name: row
        for name, *row in db_rows(
            db, "SELECT name, status, last_error, error_streak, disabled_reason, retry_after_until FROM feeds"
        )
    }
    assert state["good"][0] == "ok" and state["redirect"][0] == "ok"
    assert state["html"][0] == "error" and "HTML" in state["html"][1]
    assert state["http429"][0] == "error" and state["http429"][4] is not None
    assert state["http410"][0] == "gone" and "410" in state["http410"][3]
    assert state["http500"][0] == "error" and "500" in state["http500"][1]
    assert state["slow"][0] == "error"
    assert state["huge"][0] == "error"
    assert all(row[2] == 1 for name, row in state.items() if row[0] in ("error", "gone"))

    # second run: Retry-After and 410 are respected even by --once
    before = {p: srv.count(p) for p in ("/busy.xml", "/gone.xml", "/err.xml")}
    r = run_cli("poll", "--once", "--config", str(cfg), "--db", f"sqlite:///{db}")
    assert r.returncode == 0, r.stderr
    assert "1 skipped" in r.stdout
    assert srv.count("/busy.xml") == before["/busy.xml"]
    assert srv.count("/gone.xml") == before["/gone.xml"]
    assert srv.count("/err.xml") == before["/err.xml"] + 1
    assert db_rows(db, "SELECT error_streak FROM feeds WHERE name = 'http500'") == [(2,)]


def test_bad_config_exits_2_and_is_not_rewritten(tmp_path):
    cfg = tmp_path / "feeds.yaml"
    text = "feeds:\n  - name: A\n    url: ftp://example.org/rss\n    intervl: 300\n"
    cfg.write_text(text)
    r = run_cli("poll", "--once", "--config", str(cfg), "--db", f"sqlite:///{tmp_path}/x.db")
    assert r.returncode == 2
    assert "feeds.yaml:3" in r.stderr and "feeds.yaml:4" in r.stderr
    assert "Traceback" not in r.stderr
    assert cfg.read_text() == text
    assert not (tmp_path / "x.db").exists()


def test_poller_runs_forever_picks_up_config_edits_and_stops_on_sigterm(tmp_path, feed_server):
    srv = feed_server
    a = srv.route("/a.xml", make_rss("a", 5), etag='"a"')
    b = srv.route("/b.xml", make_rss("b", 7), etag='"b"')
    cfg = write_config(tmp_path / "feeds.yaml", [("A", a)])
    db = tmp_path / "ew.db"
    proc = subprocess.Popen(
        [sys.executable, "-m", "pipeline", "poll", "--config", str(cfg), "--db", f"sqlite:///{db}"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        _wait_for(lambda: db.exists() and _count(db) == 5)
        write_config(cfg, [("A", a), ("B", b)])
        _wait_for(lambda: _count(db) == 12)
        assert srv.count("/b.xml") == 1
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "poller stopped" in err


def _count(db: Path) -> int:
    try:
        return db_rows(db, "SELECT count(*) FROM articles")[0][0]
    except sqlite3.Error:
        return -1


def _wait_for(cond, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(0.1)
    raise AssertionError("condition not met in time")


@pytest.mark.xdist_group("heavy")
def test_big_cycle_uses_the_parse_pool_through_python_m(tmp_path, feed_server):
    """>= PARSE_POOL_MIN_FEEDS feeds through the real CLI: parse+score run in a process pool,
    and every article arrives stored and scored."""
    from pipeline.poller import PARSE_POOL_MIN_FEEDS

    n = PARSE_POOL_MIN_FEEDS + 5
    urls = [feed_server.route(f"/p{i}.xml", make_rss(f"p{i}", 2)) for i in range(n)]
    cfg = write_config(tmp_path / "feeds.yaml", [(f"P{i}", u) for i, u in enumerate(urls)])
    db = tmp_path / "ew.db"
    env = {**os.environ, "ESCALATION_WATCH_PARSE_PROCESSES": "2"}
    r = subprocess.run(
        [sys.executable, "-m", "pipeline", "poll", "--once", "--config", str(cfg), "--db", f"sqlite:///{db}"],
        capture_output=True, text=True, timeout=120, env=env,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert f"polled {n} feeds" in r.stdout and f"{2 * n} new articles" in r.stdout
    assert "internal error" not in r.stderr and "pool unavailable" not in r.stderr
    assert db_rows(db, "SELECT count(*), count(score) FROM articles") == [(2 * n, 2 * n)]


def test_polls_without_articles_are_group_committed(tmp_path, feed_server):
    """304s and errors that finish while the writer is busy go in one transaction (as many
    as hold fetch slots: a feed keeps its slot until its write commits), and every one of
    them is written before the cycle returns."""
    import threading

    from pipeline._aio import run_sync
    from pipeline.poller import Poller, poll_once
    from pipeline.store import Store
    from pipeline.types import FeedsConfig, FeedSpec, Settings

    n = 40
    urls = [feed_server.route(f"/g{i}.xml", make_rss(f"g{i}", 2), etag=f'"g{i}"') for i in range(n)]
    urls.append(feed_server.route("/broken.xml", status=500))
    config = FeedsConfig(tuple(FeedSpec(name=f"g{i}", url=u) for i, u in enumerate(urls)), Settings(concurrency=8))
    with Store.open(f"sqlite:///{tmp_path}/g.db") as store:
        poll_once(store, config)  # cold: the feeds' validators are stored
        calls: list[int] = []
        real = store.record_health

        def counting(writes):
            calls.append(len(writes))
            return real(writes)

        store.record_health = counting
        poller = Poller(store, config)
        gate = threading.Event()
        poller._writer.submit(gate.wait, 30)  # the writer is busy (a big feed's write, say)
        try:
            done = threading.Thread(target=lambda: run_sync(lambda: poller.poll(store.feed_states())))
            done.start()
            deadline = time.monotonic() + 20
            while len(poller._queued) < 8 and time.monotonic() < deadline:
                time.sleep(0.01)
            time.sleep(0.2)
            assert len(poller._queued) == 8  # every slot fetched, none written yet
            gate.set()
            done.join(20)
        finally:
            poller.close()
        assert calls[0] == 8 and sum(calls) == n + 1
        assert feed_server.count("/g0.xml") == 2
        states = {s.url: s for s in store.feed_states()}
        assert all(states[u].error_streak == 0 and states[u].last_success_at is not None for u in urls[:-1])
        assert states[urls[-1]].error_streak == 2 and states[urls[-1]].last_error == "HTTP 500 Internal Server Error"
        assert sum(len(store.fetch_log(u)) for u in urls) == 2 * (n + 1)
