"""The daily brief on a scored store with known stories: index and change per theatre, a
syndicated story counted once with its outlets, the data behind it (a gap reads as a gap),
self-contained HTML, the CLI; and the schedule: once per local day across restarts."""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta, timezone

import pytest

from pipeline import brief
from pipeline.alerts import AlertConfig, BriefSchedule
from pipeline.cli import main
from pipeline.store import Store
from pipeline.types import FeedUpdate
from tests.storedata import NOW, build_store

from tests.unit.test_alerts import Receiver, Smtp, free_port

SYNDICATED = "Russian forces shell Ukrainian positions near Kharkiv overnight"
ITEMS = [
    # one wire story run by three outlets: one story, not three
    ("Wire", 2, SYNDICATED, "Officials said the shelling continued until dawn."),
    ("Gazette", 3, SYNDICATED, "Officials said the shelling continued until dawn."),
    ("Herald", 4, SYNDICATED, "Officials said the shelling continued until dawn."),
    ("Wire", 5, "China launches drills near Taiwan", "The exercises began at dawn, the ministry said."),
    ("Gazette", 6, "Russia threatens to strike Ukraine with missiles", "Troops were massing at the border."),
    ("Herald", 30, "Russia and Ukraine agree ceasefire after talks", "Both sides signed in Geneva."),
    ("Herald", 7, "Weather report for the weekend", "Sunny with light winds."),
]


@pytest.fixture
def store(db_url):
    build_store(db_url, ITEMS)
    with Store.open(db_url) as s:
        yield s


def test_brief_counts_a_syndicated_story_once_with_its_outlets(store):
    b = brief.build(store, now=NOW)
    ukr = next(t for t in b.theatres if t.theatre == "RUS-UKR")
    titles = [s["title"] for s in ukr.stories]
    assert titles.count(SYNDICATED) == 1
    assert titles[0] in (SYNDICATED, "Russia threatens to strike Ukraine with missiles")
    story = next(s for s in ukr.stories if s["title"] == SYNDICATED)
    assert story["sources"] == ["Gazette", "Herald", "Wire"]
    # the ceasefire is 30 h old: outside the 24 h period
    assert "Russia and Ukraine agree ceasefire after talks" not in titles
    assert b.articles == 6 and b.sources == 3 and b.feeds_total == 3 and b.feeds_failing == ()
    md = brief.to_markdown(b)
    assert md.count(f"[{SYNDICATED}](") == 1 and "3 outlets: Gazette, Herald, Wire" in md
    assert "> Russian forces shell Ukrainian positions near Kharkiv overnight" in md  # its evidence sentence
    assert "## Russia - Ukraine (RUS-UKR)" in md and "## China - Taiwan" in md
    assert "6 articles from 3 sources in the period" in md
    # six articles is thin: the brief says so rather than reading as a quiet day
    assert "thin data" in md
    only = brief.build(store, now=NOW, theatres=("CHN-TWN",))
    assert [t.theatre for t in only.theatres] == ["CHN-TWN"]
    assert only.theatres[0].stories[0]["title"] == "China launches drills near Taiwan"


def test_a_gap_never_reads_as_calm(store):
    later = NOW + timedelta(days=3)
    store.record_update(
        FeedUpdate("http://feeds.example/wire.xml", later, later, "error", error="connect timed out after 10 s"),
        next_due_at=later,
        status="error",
    )
    b = brief.build(store, now=later)
    md = brief.to_markdown(b)
    assert b.articles == 0
    assert "No articles at all in the last 24 h" in md and "not calm" in md
    assert "The newest article is 74 h old." in md
    assert "Wire: connect timed out after 10 s" in md and "1 failing" in md
    assert "**Index: n/a**" in md and "**Index 0.0**" not in md


def test_brief_lists_the_periods_alerts(store):
    # stored as alerts.evaluate stores one (its firing is tested in test_alerts)
    store.save_alert({"rule": "ukraine up", "theatre": "RUS-UKR", "series": "index", "granularity": "hour",
                      "bucket_start": NOW - timedelta(hours=2), "value": 300.0, "zscore": 3.1, "articles": 40,
                      "fired_at": NOW, "message": "ukraine up: RUS-UKR index 300.0 >= 250", "evidence": []})  # fmt: skip
    md = brief.to_markdown(brief.build(store, now=NOW + timedelta(hours=1)))
    ukr = md[md.index("## Russia - Ukraine") : md.index("## Russia - NATO")]
    assert f"- Alert {NOW:%Y-%m-%d %H:%M} UTC: ukraine up: RUS-UKR index 300.0 >= 250" in ukr
    assert "- Alert" not in md[md.index("## Russia - NATO") :]
    # a day later the alert is outside the period
    assert "- Alert" not in brief.to_markdown(brief.build(store, now=NOW + timedelta(days=2)))


def test_html_is_self_contained(store):
    page = brief.to_html(brief.build(store, now=NOW))
    assert page.count("<svg") == len(brief.build(store, now=NOW).theatres)
    assert "<script" not in page and "<link" not in page and "@import" not in page and "url(" not in page
    # the only addresses are the stories' links
    refs = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert refs and all(r.startswith("https://news.example/") for r in refs)



def test_html_escapes_headlines():
    story = {"title": "<script>alert(1)</script> Russia shells Kharkiv", "url": "https://x.example/?a=1&b=\"2",
             "source": "<i>Wire</i>", "score": 50.0, "signals": [{"sentence": "<img src=x onerror=alert(1)>"}]}  # fmt: skip
    t = brief.TheatreBrief("RUS-UKR", "Russia - Ukraine", 120.0, 100.0, 90.0, 1.2, 80.0, 40.0, 3, (story,), (),
                           ((NOW, 100.0), (NOW + timedelta(days=1), 120.0)))  # fmt: skip
    page = brief.to_html(brief.Brief(NOW, NOW - timedelta(days=1), (t,), 100, 5, NOW, 5))
    assert "<script" not in page and "<img" not in page and "<i>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt; Russia shells Kharkiv" in page
    assert 'href="https://x.example/?a=1&amp;b=&quot;2"' in page


def test_brief_cli_prints_writes_and_sends(tmp_path, store, capsys):
    assert main(["brief", "--db", store.url]) == 0
    out = capsys.readouterr().out
    assert out.startswith("# Escalation Watch brief") and "## Data behind this brief" in out
    html_file = tmp_path / "brief.html"
    assert main(["brief", "--db", store.url, "--theatre", "RUS-UKR", "--out", str(html_file)]) == 0
    assert html_file.read_text().startswith("<!doctype html>") and "CHN-TWN" not in html_file.read_text()
    with Receiver([200]) as js, Smtp() as smtp:
        port = js.httpd.server_address[1]
        assert main(["brief", "--db", store.url, "--send", f"json://127.0.0.1:{port}/b", smtp.url()]) == 0
    assert js.bodies[0]["title"].startswith("Escalation Watch brief") and "Data behind this brief" in js.bodies[0]["message"]
    assert smtp.messages[0]["Subject"].startswith("Escalation Watch brief")
    assert main(["brief", "--db", store.url, "--theatre", "NARNIA"]) == 2
    assert main(["brief", "--db", store.url, "--send", "nosuch://x"]) == 2


def schedule(url: str, at: str = "07:30", tz: str = "Europe/Berlin") -> AlertConfig:
    return AlertConfig((), brief=BriefSchedule(time.fromisoformat(at), tz, (url,)))


def test_due_period_is_the_local_day():
    s = schedule("json://x").brief
    # 06:00 UTC is 07:00 in Berlin (winter): not yet; 06:30 UTC is 07:30: due
    assert brief.due_period(s, datetime(2024, 1, 10, 6, 0, tzinfo=timezone.utc)) is None
    assert brief.due_period(s, datetime(2024, 1, 10, 6, 30, tzinfo=timezone.utc)) == "2024-01-10"
    # 00:30 in Berlin on the 11th is before 07:30: the 11th's brief is not due yet
    assert brief.due_period(s, datetime(2024, 1, 10, 23, 30, tzinfo=timezone.utc)) is None
    # a brief at 00:15: 23:30 UTC on the 10th is already the 11th in Berlin
    early = schedule("json://x", at="00:15").brief
    assert brief.due_period(early, datetime(2024, 1, 10, 22, 0, tzinfo=timezone.utc)) == "2024-01-10"
    assert brief.due_period(early, datetime(2024, 1, 10, 23, 30, tzinfo=timezone.utc)) == "2024-01-11"


def test_scheduled_brief_is_sent_once_per_day_across_restarts(db_url, store):
    with Receiver([200]) as js:
        cfg = schedule(f"json://127.0.0.1:{js.httpd.server_address[1]}/brief", at="11:00", tz="UTC")
        assert brief.run_scheduled(store, cfg, now=NOW - timedelta(hours=2), worker="a") is None  # 10:00: not yet
        sent = brief.run_scheduled(store, cfg, now=NOW, worker="a")
        assert sent and sent[0].ok
        assert brief.run_scheduled(store, cfg, now=NOW + timedelta(minutes=5), worker="a") is None
        with Store.open(db_url) as restarted:  # a restart, or another worker: the claim is in the store
            assert brief.run_scheduled(restarted, cfg, now=NOW + timedelta(hours=3), worker="b") is None
        assert len(brief.run_scheduled(store, cfg, now=NOW + timedelta(days=1), worker="b")) == 1
    assert len(js.bodies) == 2
    runs = store.schedule_runs("brief")
    assert [(r["period"], r["claimed_by"], r["error"]) for r in runs] == [("2024-06-10", "a", None),
                                                                         ("2024-06-11", "b", None)]  # fmt: skip
    assert all(r["finished_at"] is not None for r in runs)


def test_a_failed_send_is_recorded_not_retried_that_day(store):
    cfg = schedule(f"json://127.0.0.1:{free_port()}/nobody", at="00:00", tz="UTC")
    out = brief.run_scheduled(store, cfg, now=NOW, worker="a")
    assert out and not out[0].ok
    assert brief.run_scheduled(store, cfg, now=NOW + timedelta(hours=1), worker="a") is None
    (run,) = store.schedule_runs("brief")
    assert "nobody" in run["error"]


def test_poller_sends_the_brief_after_a_cycle(db_url, tmp_path, feed_server):
    from pipeline.config import load
    from pipeline.poller import poll_once

    cfg_file = tmp_path / "feeds.yaml"
    url = feed_server.route("/rss.xml", (b'<?xml version="1.0"?><rss version="2.0"><channel><title>A</title>'
                                         b"<item><title>Calm day</title><guid>1</guid></item></channel></rss>"))
    cfg_file.write_text(f"feeds:\n  - name: A\n    url: {url}\n")
    with Receiver([200]) as js, Store.open(db_url) as s:
        alerts = schedule(f"json://127.0.0.1:{js.httpd.server_address[1]}/b", at="00:00", tz="UTC")
        poll_once(s, load(cfg_file), alerts=alerts)
        poll_once(s, load(cfg_file), alerts=alerts)
    assert len(js.bodies) == 1 and js.bodies[0]["title"].startswith("Escalation Watch brief")
