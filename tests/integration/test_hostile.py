"""Hostile feeds end to end: one `poll --once` of every case of tests/hostile.py,
through the real CLI into a real SQLite file, bounded in time and memory; and the
destination policy through the CLI.

The per-stage details (exact messages, parse fixtures) are in tests/unit/test_fetch.py
and test_parse.py; this file proves the poller survives them all at once, each
feed with its own clear error or a safe parse, the good feeds unaffected.
"""

from __future__ import annotations

import os
import re
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.hostile import CASES, GOOD_FEEDS, fixture_expectation, run_cli_measured, write_feeds_yaml

pytestmark = [pytest.mark.timeout(120), pytest.mark.xdist_group("heavy")]

TIMEOUT_S = 3
#: the issue's bound for one cycle: about twice the configured timeout
#: (+1 s for scoring and writing ~60 articles and the event-loop start)
CYCLE_LIMIT_S = 2 * TIMEOUT_S + 1
MAX_RSS_BYTES = 300 * 1024 * 1024
MAX_BYTES = 10 * 1024 * 1024
#: hostile bodies are cut at MAX_BYTES; three held at once (streamed, inflated, parsed) is the most
MAX_EXTRA_RSS_BYTES = 5 * MAX_BYTES
DOCS = Path(__file__).resolve().parents[2] / "docs" / "hostile-input.md"


def rows(db: Path, sql: str, *params) -> list[sqlite3.Row]:
    con = sqlite3.connect(db)
    con.row_factory = sqlite3.Row
    try:
        return con.execute(sql, params).fetchall()
    finally:
        con.close()


@pytest.fixture
def polled(tmp_path, hostile_server):
    """One measured `poll --once` of every hostile case and the good feeds."""
    cfg = write_feeds_yaml(
        tmp_path / "feeds.yaml",
        hostile_server.urls,
        {"timeout_s": TIMEOUT_S, "connect_timeout_s": 2, "max_bytes": MAX_BYTES},
    )
    db = tmp_path / "ew.db"
    env = {k: v for k, v in os.environ.items() if k != "ESCALATION_WATCH_DENY_PRIVATE"}
    run = run_cli_measured(
        ["poll", "--once", "--config", str(cfg), "--db", f"sqlite:///{db}"], timeout_s=60, env=env
    )
    # the same poll of the good feeds alone: the process's memory without hostile input
    good = write_feeds_yaml(tmp_path / "good.yaml", {n: hostile_server.urls[n] for n in GOOD_FEEDS})
    baseline = run_cli_measured(
        ["poll", "--once", "--config", str(good), "--db", f"sqlite:///{tmp_path}/good.db"], timeout_s=60, env=env
    )
    assert baseline.returncode == 0, baseline.stderr
    assert not run.killed_at_timeout, "poll --once never finished"
    assert run.returncode == 0, run.stderr
    assert "Traceback" not in run.stderr
    feeds = {r["name"]: r for r in rows(db, "SELECT * FROM feeds")}
    articles: dict[str, list[sqlite3.Row]] = {name: [] for name in feeds}
    for r in rows(db, "SELECT f.name AS feed, a.* FROM articles a JOIN feeds f ON f.id = a.feed_id ORDER BY a.id"):
        articles[r["feed"]].append(r)
    return run, feeds, articles, hostile_server, db, baseline.max_rss_bytes


def test_one_cycle_of_every_hostile_feed_is_bounded_and_each_fails_alone(polled):
    run, feeds, articles, hostile, db, baseline_rss = polled
    # bounded: the cycle itself, and the whole process (imports, migration) around it
    cycle_s = float(re.search(r"polled \d+ feeds in ([\d.]+) s", run.stdout).group(1))
    print(f"\ncycle {cycle_s:.1f} s (timeout_s {TIMEOUT_S}), process {run.wall_s:.1f} s, "
          f"peak RSS {run.max_rss_bytes / 2**20:.0f} MiB (good feeds alone {baseline_rss / 2**20:.0f} MiB)")  # fmt: skip
    assert cycle_s <= CYCLE_LIMIT_S, run.stdout
    assert run.wall_s <= CYCLE_LIMIT_S + 10
    assert run.max_rss_bytes < MAX_RSS_BYTES, f"peak RSS {run.max_rss_bytes / 2**20:.0f} MiB"
    # and bounded by the cap, not by what the server sends: a few capped bodies at
    # once over the baseline (an uncapped inflate of the gzip bomb adds ~100 MiB)
    extra = run.max_rss_bytes - baseline_rss
    assert extra < MAX_EXTRA_RSS_BYTES, f"{extra / 2**20:.0f} MiB over the good-feeds-only poll"

    problems = []
    for name, n in GOOD_FEEDS.items():
        f = feeds[name]
        if f["status"] != "ok" or f["last_error"] is not None or len(articles[name]) != n:
            problems.append(f"{name}: {f['status']} {f['last_error']!r}, {len(articles[name])} articles (want {n})")
    for case in CASES:
        f = feeds[case.name]
        got = f"{case.name}: status {f['status']!r}, error {f['last_error']!r}, {len(articles[case.name])} articles"
        if f["status"] != case.status:
            problems.append(got + f" — want status {case.status!r}")
            continue
        if case.status in ("error", "gone"):
            if f["last_error"] is None or not re.search(case.error, f["last_error"]):
                problems.append(got + f" — want an error matching {case.error!r}")
            if articles[case.name]:
                problems.append(got + " — a failed feed stored articles")
            if f["error_streak"] != 1:
                problems.append(got + f" — error_streak {f['error_streak']}")
        else:
            if case.articles is not None and len(articles[case.name]) != case.articles:
                problems.append(got + f" — want {case.articles} articles")
            if bool(f["ill_formed"]) != case.ill_formed:
                problems.append(got + f" — ill_formed {f['ill_formed']}")
        # every failure is also in the CLI's per-feed list and the fetch log
        log = rows(db, "SELECT outcome, error FROM fetch_log WHERE feed_id = ?", f["id"])
        want = {"error": "error", "gone": "gone", "ok": "ok"}[case.status]
        if [r["outcome"] for r in log] != [want]:
            problems.append(got + f" — fetch_log {[tuple(r) for r in log]}")
        if case.status != "ok" and f"failed: {hostile.urls[case.name]}: " not in run.stderr:
            problems.append(got + " — not reported on stderr")
    assert problems == [], "\n".join(problems)
    n_failed = sum(c.status != "ok" for c in CASES)
    assert f"{n_failed} failed" in run.stdout, run.stdout


def test_stored_text_of_hostile_feeds_is_safe_and_exact(polled):
    run, feeds, articles, hostile, db, baseline_rss = polled
    everything = " ".join(f"{a['title']} {a['summary']} {a['url']}" for arts in articles.values() for a in arts)
    # XXE: no local file, no request for the external DTD or parameter entity
    assert "root:" not in everything and "/bin/" not in everything and "LEAKED" not in everything
    assert hostile.srv.count("/evil.dtd") == 0
    assert articles["xxe"][0]["title"] == "Leak: &xxe;"
    # entity bomb: references stay literal, nothing expanded
    bomb = articles["entity_bomb"][0]
    assert bomb["title"] == "Laughs &lol9;" and "lollol" not in everything and "BBBBBBBBBB" not in everything
    assert len(bomb["summary"]) <= 20_000
    # redirects that were denied were never followed
    assert hostile.srv.count("/hop8.xml") == 0
    # long titles are capped, whole
    assert 900 < len(articles["long_title"][0]["title"]) <= 1_000
    # right-to-left, emoji and combining characters are stored exactly as parse returns them
    for name in ("unicode", "duplicate_guids", "ill_formed", "wrong_encoding"):
        want = [a["title"] for a in fixture_expectation(name)["articles"]]
        assert [a["title"] for a in articles[name]] == want, name
    # duplicate GUIDs: the first version wins, once
    dupes = articles["duplicate_guids"]
    assert sorted(a["guid"] for a in dupes) == ["other-guid", "same-guid"]
    # neither GUID nor link: a content hash identifies the item
    assert all(a["guid"].startswith("sha256:") and a["url"] is None for a in articles["no_guid_no_link"])
    # no dates / far-future dates: first-seen time, flagged as estimated, never in the future
    now = datetime.now(UTC)
    for name in ("no_dates", "far_future_date"):
        for a in articles[name]:
            published = datetime.fromisoformat(a["published_at"]).replace(tzinfo=UTC)
            assert published <= now + timedelta(days=1), (name, a["title"], published)
    assert all(a["published_estimated"] for a in articles["no_dates"])
    assert {a["title"]: bool(a["published_estimated"]) for a in articles["far_future_date"]}["Year 2099"] is True
    # 429: Retry-After is kept, so the next `poll --once` does not ask again
    retry = datetime.fromisoformat(feeds["http_429"]["retry_after_until"]).replace(tzinfo=UTC)
    assert timedelta(minutes=55) < retry - now < timedelta(minutes=65)
    # 410: disabled with a reason the dashboard shows
    assert "410" in feeds["http_410"]["disabled_reason"]


def test_docs_table_lists_every_case():
    text = DOCS.read_text(encoding="utf-8")
    listed = set(re.findall(r"^\|\s*`?([a-z0-9_]+)`?\s*\|", text, re.M))
    assert {c.name for c in CASES} <= listed, sorted({c.name for c in CASES} - listed)


# --- destination policy through the CLI ---------------------------------------------


def _poll(tmp_path: Path, feeds: dict[str, str], settings=None, env_extra=None):
    cfg = write_feeds_yaml(tmp_path / "feeds.yaml", feeds, {"timeout_s": 3, "connect_timeout_s": 2, **(settings or {})})
    db = tmp_path / "policy.db"
    env = {k: v for k, v in os.environ.items() if k != "ESCALATION_WATCH_DENY_PRIVATE"}
    env.update(env_extra or {})
    run = run_cli_measured(["poll", "--once", "--config", str(cfg), "--db", f"sqlite:///{db}"], timeout_s=60, env=env)
    assert run.returncode == 0, run.stderr
    return {r["name"]: r for r in rows(db, "SELECT name, status, last_error, items_total FROM feeds")}


def _policy_feeds(srv) -> dict[str, str]:
    return {
        "loopback": srv.url("/good.xml"),
        # a host name: the check applies to the address it resolves to. Its own items (the Atom
        # feed): two feeds of the same items race for them, and the one written second stores none
        "localhost_name": srv.url("/good.atom").replace("127.0.0.1", "localhost"),
        "metadata_literal": "http://169.254.169.254/latest/meta-data/",
        "metadata_mapped_v6": "http://[::ffff:169.254.169.254]/latest/meta-data/",
        "metadata_host": "http://metadata.google.internal/computeMetadata/v1/",
        "link_local": "http://169.254.10.10/rss",
        "redirect_metadata": srv.url("/to-metadata.xml"),
        "redirect_link_local": srv.url("/to-link-local.xml"),
    }


ALWAYS_DENIED = {
    "metadata_literal": "169.254.169.254 is a cloud metadata address",
    "metadata_mapped_v6": "cloud metadata address",
    "metadata_host": "metadata.google.internal is a cloud metadata host",
    "link_local": "169.254.10.10 is a link-local address",
    "redirect_metadata": "169.254.169.254 is a cloud metadata address",
    "redirect_link_local": "169.254.1.1 is a link-local address",
}


def test_policy_by_default_allows_loopback_and_always_denies_link_local_and_metadata(tmp_path, hostile_server):
    feeds = _poll(tmp_path, _policy_feeds(hostile_server.srv))
    assert feeds["loopback"]["status"] == "ok" and feeds["loopback"]["items_total"] == GOOD_FEEDS["good_rss"]
    assert feeds["localhost_name"]["status"] == "ok", feeds["localhost_name"]["last_error"]
    assert feeds["localhost_name"]["items_total"] == GOOD_FEEDS["good_atom"]
    for name, reason in ALWAYS_DENIED.items():
        assert feeds[name]["status"] == "error", name
        assert reason in feeds[name]["last_error"], (name, feeds[name]["last_error"])


@pytest.mark.parametrize(
    "settings, env",
    [({"deny_private_networks": True}, {}), ({}, {"ESCALATION_WATCH_DENY_PRIVATE": "1"})],
    ids=["feeds.yaml", "environment"],
)
def test_deny_private_networks_refuses_loopback_before_connecting(tmp_path, hostile_server, settings, env):
    srv = hostile_server.srv
    before = len(srv.requests)
    feeds = _poll(tmp_path, _policy_feeds(srv), settings, env)
    assert feeds["loopback"]["status"] == "error"
    assert "127.0.0.1 is a private network address" in feeds["loopback"]["last_error"]
    # checked on the resolved address, not the spelling of the host
    assert re.search(r"localhost resolves to (127\.0\.0\.1|::1), a private network", feeds["localhost_name"]["last_error"])
    for name, reason in ALWAYS_DENIED.items():
        if not name.startswith("redirect"):
            assert reason in feeds[name]["last_error"], name
    # no request reached the server: the redirecting feeds are on loopback too, so refused at hop 0
    assert len(srv.requests) == before
    assert all(f["items_total"] == 0 for f in feeds.values())
