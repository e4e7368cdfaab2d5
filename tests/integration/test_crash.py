"""Crash safety and concurrency of the store under the real poller.

* SIGKILL at random points of `poll --once` over a large local feed set, 50
  times (half at a random time, half right after a random number of feeds'
  updates have committed, so mid-write kills are certain): the database stays intact, no committed article is lost or doubled,
  every update is all-or-nothing, and the next poll completes the set.
* The dashboard's read-only Store API, hammered while `poll --once` writes:
  no "database is locked", never a partial feed.
* A full disk (RLIMIT_FSIZE) and a read-only database (the poller run as an
  unprivileged user): one clear line, exit 1, no traceback, no loop.
"""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.hostile import run_cli_measured, write_feeds_yaml

pytestmark = [pytest.mark.xdist_group("heavy")]

ROOT = Path(__file__).resolve().parents[2]


def window_rss(feed_id: str, start: int, n: int) -> bytes:
    """Items start..start+n-1 of an endless feed, newest first (a sliding window)."""
    items = []
    for j in range(start + n - 1, start - 1, -1):
        items.append(
            f"<item><title>{feed_id} item {j}: troops massed near the border as talks stall</title>"
            f"<link>https://crash.example/{feed_id}/{j}</link><guid>urn:crash:{feed_id}:{j}</guid>"
            f"<pubDate>Sat, 01 Jun 2024 {j // 60 % 24:02d}:{j % 60:02d}:00 GMT</pubDate>"
            "<description>The ministry said forces were placed on alert while diplomats sought to "
            "reduce tensions and the security council scheduled an emergency session.</description></item>"
        )
    return (
        f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>{feed_id}</title>'
        + "".join(items)
        + "</channel></rss>"
    ).encode()


def connect(db: Path) -> sqlite3.Connection:
    con = sqlite3.connect(db, timeout=30)
    con.row_factory = sqlite3.Row
    return con


# --- SIGKILL at random points --------------------------------------------------------

# A pre-imported "zygote": forking it skips the ~1 s of imports per poll, so 50
# kills fit in the time budget. Each child runs the real CLI entry point.
ZYGOTE = r"""
import json, os, sys
import pipeline.cli, pipeline.poller, pipeline.store, pipeline.parse, pipeline.fetch, pipeline.score
import feedparser, httpx, sqlalchemy, alembic.command, alembic.script, alembic.migration
pipeline.score.score_article("warm-up", "troops massed near the border")  # loads the taxonomy once
for line in sys.stdin:
    args = json.loads(line)
    pid = os.fork()
    if pid == 0:
        log = os.open(args.pop(0), os.O_WRONLY | os.O_CREAT | os.O_APPEND)
        os.dup2(log, 1)
        os.dup2(log, 2)
        try:
            code = pipeline.cli.main(args)
        except BaseException:
            code = 99
        sys.stdout.flush(); sys.stderr.flush()
        os._exit(code)
    print(pid, flush=True)
    _, status = os.waitpid(pid, 0)
    print(status, flush=True)
"""


def check_invariants(db: Path, n_feeds: int, committed: set[tuple[int, str]]) -> tuple[set[tuple[int, str]], int]:
    """Assert the store is intact and consistent; return its articles and the number of fetch_log rows."""
    con = connect(db)
    try:
        assert con.execute("PRAGMA integrity_check").fetchall()[0][0] == "ok"
        assert con.execute("PRAGMA foreign_key_check").fetchall() == []
        tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if "articles" not in tables:  # killed before the first migration committed
            assert not committed
            return set(), 0
        stored = {(r[0], r[1]) for r in con.execute("SELECT feed_id, guid FROM articles")}
        assert con.execute("SELECT count(*) FROM articles").fetchone()[0] == len(stored), "duplicate article"
        lost = committed - stored
        assert not lost, f"{len(lost)} committed articles lost, e.g. {sorted(lost)[:3]}"
        # every article belongs to a committed update of its feed (same transaction,
        # so its first_seen_at is that update's finished_at) ...
        orphans = con.execute(
            "SELECT count(*) FROM articles a WHERE NOT EXISTS (SELECT 1 FROM fetch_log l "
            "WHERE l.feed_id = a.feed_id AND l.outcome = 'ok' AND l.finished_at = a.first_seen_at)"
        ).fetchone()[0]
        assert orphans == 0, f"{orphans} articles without a committed update"
        # ... and every committed update has all the articles it counted (all-or-nothing)
        partial = con.execute(
            "SELECT l.id, l.items_new, (SELECT count(*) FROM articles a WHERE a.feed_id = l.feed_id "
            "AND a.first_seen_at = l.finished_at) AS n FROM fetch_log l WHERE l.outcome = 'ok' AND n != l.items_new"
        ).fetchall()
        assert partial == [], [tuple(r) for r in partial]
        # the feed counters were written in the same transaction as the articles
        drift = con.execute(
            "SELECT f.id, f.items_total, (SELECT count(*) FROM articles a WHERE a.feed_id = f.id) AS n "
            "FROM feeds f WHERE f.items_total != n"
        ).fetchall()
        assert drift == [], [tuple(r) for r in drift]
        orphan_signals = con.execute(
            "SELECT count(*) FROM signals s WHERE NOT EXISTS (SELECT 1 FROM articles a WHERE a.id = s.article_id)"
        ).fetchone()[0]
        assert orphan_signals == 0
        n_logs = con.execute("SELECT count(*) FROM fetch_log").fetchone()[0]
        return stored, n_logs
    finally:
        con.close()


def wait_for_logs(db: Path, target: int, deadline: float) -> None:
    """Return once the store holds `target` fetch_log rows (WAL: reading never blocks the writer)."""
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
    try:
        while time.monotonic() < deadline:
            if con.execute("SELECT count(*) FROM fetch_log").fetchone()[0] >= target:
                return
            time.sleep(0.001)
    finally:
        con.close()
    raise AssertionError(f"the poll never committed {target} updates")


@pytest.mark.timeout(300)
def test_sigkill_at_random_points_loses_nothing_and_next_poll_completes(tmp_path, feed_server):
    n_feeds, n_items, step, kills = 30, 20, 3, 50
    rng = random.Random(int(os.environ.get("EW_CRASH_SEED", "20240601")))
    urls = {f"f{k}": feed_server.route(f"/f{k}.xml", window_rss(f"f{k}", 0, n_items)) for k in range(n_feeds)}
    cfg = write_feeds_yaml(tmp_path / "feeds.yaml", urls, {"timeout_s": 10})
    db = tmp_path / "crash.db"
    log = tmp_path / "polls.log"
    args = [str(log), "poll", "--once", "--config", str(cfg), "--db", f"sqlite:///{db}"]
    zygote = subprocess.Popen(
        [sys.executable, "-c", ZYGOTE], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT
    )

    def start_poll() -> int:
        zygote.stdin.write(json.dumps(args) + "\n")
        zygote.stdin.flush()
        return int(zygote.stdout.readline())

    def finish_poll() -> int:
        return int(zygote.stdout.readline())

    started = time.monotonic()
    try:
        # a complete poll creates the database; a second one tells how long a poll takes here
        for _ in range(2):
            t0 = time.monotonic()
            start_poll()
            assert os.waitstatus_to_exitcode(finish_poll()) == 0, log.read_text()[-2000:]
            full_s = time.monotonic() - t0
        committed, n_logs = check_invariants(db, n_feeds, set())
        assert len(committed) == n_feeds * n_items

        window = 0
        mid_poll = 0
        for i in range(kills):
            window += step  # the feeds move on, whether or not the last poll saw them
            for k in range(n_feeds):
                feed_server.route(f"/f{k}.xml", window_rss(f"f{k}", window, n_items))
            pid = start_poll()
            if i % 2:
                # anywhere in the poll: start-up, fetching, writing, shutting down
                time.sleep(rng.uniform(0, full_s))
            else:
                # while it writes: after the k-th feed's update has committed, so some feeds are
                # written and the rest are not (a kill timed by the clock alone lands mid-write
                # only by chance on a loaded machine)
                wait_for_logs(db, n_logs + rng.randint(1, n_feeds // 2), deadline=time.monotonic() + 30)
                time.sleep(rng.uniform(0, 0.005))
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:  # pragma: no cover - the zygote reaps, so the pid stays ours until then
                pass
            finish_poll()
            before = n_logs
            committed, n_logs = check_invariants(db, n_feeds, committed)
            if 0 < n_logs - before < n_feeds:
                mid_poll += 1
        # the kills landed mid-poll (some feeds written, some not), not only before or after
        assert mid_poll >= kills // 4, f"only {mid_poll} of {kills} kills landed mid-poll"

        start_poll()
        assert os.waitstatus_to_exitcode(finish_poll()) == 0, log.read_text()[-2000:]
        committed, _ = check_invariants(db, n_feeds, committed)
        want = {f"urn:crash:f{k}:{j}" for k in range(n_feeds) for j in range(window, window + n_items)}
        assert want <= {guid for _, guid in committed}, "the next poll did not complete the set"
    finally:
        zygote.stdin.close()
        zygote.wait(timeout=30)
    print(f"\n{kills} kills ({mid_poll} mid-poll) in {time.monotonic() - started:.1f} s; full poll {full_s:.2f} s")
    assert "Traceback" not in log.read_text()


# --- readers while the poller writes ----------------------------------------------------


@pytest.mark.timeout(90)
def test_dashboard_reads_never_see_locks_or_partial_feeds_while_poll_writes(tmp_path, feed_server):
    from pipeline.store import Store

    n_feeds, n_items = 30, 40
    urls = {f"f{k}": feed_server.route(f"/f{k}.xml", window_rss(f"f{k}", 0, n_items)) for k in range(n_feeds)}
    cfg = write_feeds_yaml(tmp_path / "feeds.yaml", urls)
    db_url = f"sqlite:///{tmp_path}/live.db"
    Store.open(db_url).close()  # schema in place before the first read, as `make run` does

    stop = threading.Event()
    errors: list[BaseException] = []
    seen_sizes: set[int] = set()
    reads = [0]

    def reader() -> None:
        store = Store.open(db_url, readonly=True)
        try:
            while not stop.is_set():
                store.article_count()
                store.latest_articles(50)
                health = store.feed_health()
                store.fetch_log(limit=20)
                for h in health:
                    n = len(store.articles_for_feed(h["url"]))
                    seen_sizes.add(n)
                    if n not in (0, n_items):
                        raise AssertionError(f"partial feed: {h['url']} has {n} of {n_items} articles")
                reads[0] += 1
        except BaseException as e:  # reported in the test thread
            errors.append(e)
        finally:
            store.close()

    threads = [threading.Thread(target=reader, daemon=True) for _ in range(2)]
    for t in threads:
        t.start()
    try:
        run = subprocess.run(
            [sys.executable, "-m", "pipeline", "poll", "--once", "--config", str(cfg), "--db", db_url],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
    finally:
        stop.set()
        for t in threads:
            t.join(30)
    assert run.returncode == 0, run.stderr
    assert errors == [], repr(errors[0])
    assert f"{n_feeds * n_items} new articles" in run.stdout
    # the readers really overlapped the writes: they saw feeds both empty and complete
    assert reads[0] >= 5 and seen_sizes == {0, n_items}, (reads[0], seen_sizes)


# --- full disk, read-only database ----------------------------------------------------


def _fill_feeds(feed_server, n_feeds=10, n_items=50) -> dict[str, str]:
    return {f"f{k}": feed_server.route(f"/f{k}.xml", window_rss(f"f{k}", 0, n_items)) for k in range(n_feeds)}


def _assert_one_clear_line(run, *needles: str) -> None:
    assert not run.killed_at_timeout, "the poller did not stop"
    assert run.returncode == 1, (run.returncode, run.stderr[-2000:])
    assert "Traceback" not in run.stderr
    errors = [line for line in run.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, run.stderr[-2000:]
    assert any(n in errors[0] for n in needles), errors[0]


@pytest.mark.timeout(60)
@pytest.mark.parametrize("once", [True, False], ids=["poll-once", "poll-forever"])
def test_full_disk_is_one_clear_error_and_exit_1(tmp_path, feed_server, once):
    from pipeline.store import Store

    cfg = write_feeds_yaml(tmp_path / "feeds.yaml", _fill_feeds(feed_server))
    db = tmp_path / "full.db"
    Store.open(f"sqlite:///{db}").close()
    limit = db.stat().st_size + 64 * 1024  # room for the feed rows, not for 500 articles

    def full_disk() -> None:
        # RLIMIT_FSIZE: writing past the limit fails with EFBIG, as ENOSPC would
        # (Python ignores SIGXFSZ, so the write fails instead of killing the process)
        import resource

        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    args = ["poll", "--config", str(cfg), "--db", f"sqlite:///{db}"] + (["--once"] if once else [])
    run = run_cli_measured(args, timeout_s=30, preexec_fn=full_disk)
    _assert_one_clear_line(run, "database or disk is full", "disk I/O error")
    assert "cannot store update" in run.stderr or "cannot update feeds" in run.stderr
    assert run.wall_s < 20
    # what was committed before the disk filled is intact
    con = connect(db)
    try:
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finally:
        con.close()


def _without_root_file_override() -> None:
    """preexec_fn: drop CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH and CAP_FOWNER from
    the bounding set, so the (root) poller obeys file modes like any user would.
    Tests run as root and a read-only mount or an immutable file is not
    available in a container; this is the honest way to a read-only file."""
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    pr_capbset_drop = 24
    for cap in (1, 2, 3):  # CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER
        if libc.prctl(pr_capbset_drop, cap, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")


@pytest.mark.timeout(60)
@pytest.mark.parametrize("what", ["file", "file-and-directory"])
def test_read_only_database_is_one_clear_error_and_exit_1(tmp_path, feed_server, what):
    from pipeline.store import Store

    base = tmp_path / "ro"
    base.mkdir()
    cfg = write_feeds_yaml(tmp_path / "feeds.yaml", _fill_feeds(feed_server, 3, 5))
    db = base / "ro.db"
    Store.open(f"sqlite:///{db}").close()
    before = db.read_bytes()
    db.chmod(0o444)
    if what == "file-and-directory":
        base.chmod(0o555)
    try:
        run = run_cli_measured(
            ["poll", "--once", "--config", str(cfg), "--db", f"sqlite:///{db}"],
            timeout_s=30, preexec_fn=_without_root_file_override,
        )  # fmt: skip
    finally:
        base.chmod(0o755)
        db.chmod(0o644)
    print(run.stderr[-500:])
    _assert_one_clear_line(run, "readonly database", "read-only", "unable to open database file")
    assert db.read_bytes() == before
