"""The first dashboard: after a real poll of a local feed server, the latest titles show in Chromium."""

from __future__ import annotations

import pytest

import subprocess
import sys

from tests.browser.conftest import save_screenshot
from tests.feedgen import make_atom, make_rss

pytestmark = [pytest.mark.browser, pytest.mark.timeout(180), pytest.mark.xdist_group("browser")]

HOSTILE = (
    b'<?xml version="1.0"?><rss version="2.0"><channel><title>Hostile</title>'
    b"<item><title>&lt;script&gt;window.__pwned=1&lt;/script&gt; [click](javascript:window.__pwned=2) **bold**</title>"
    b"<link>javascript:window.__pwned=3</link><guid>h1</guid>"
    b"<pubDate>Fri, 03 Dec 2021 12:00:00 GMT</pubDate><description>x</description></item>"
    b"</channel></rss>"
)


def test_latest_titles_visible_after_real_poll(tmp_path, feed_server, dashboard_factory, page):
    srv = feed_server
    a = srv.route("/a.xml", make_rss("alpha", 8))
    b = srv.route("/b.xml", make_atom("beta", 6))
    h = srv.route("/h.xml", HOSTILE)
    cfg = tmp_path / "feeds.yaml"
    cfg.write_text(f"feeds:\n  - name: Alpha\n    url: {a}\n  - name: Beta\n    url: {b}\n  - name: Hostile\n    url: {h}\n")
    db_url = f"sqlite:///{tmp_path}/ew.db"
    # a separate process: Playwright's sync API owns this thread's event loop
    r = subprocess.run(
        [sys.executable, "-m", "pipeline", "poll", "--once", "--config", str(cfg), "--db", db_url],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr

    from pipeline.store import Store

    with Store.open(db_url, readonly=True) as store:
        latest = store.latest_articles(40)
    titles = [r["title"] for r in latest if r["source"] != "Hostile"][:3]
    assert len(titles) == 3

    d = dashboard_factory(db_url, cfg)
    page.goto(d.url)
    from playwright.sync_api import expect

    listing = page.locator(".st-key-latest_list")
    for t in titles:
        expect(listing.get_by_text(t, exact=False)).to_be_visible(timeout=30_000)
    expect(page.get_by_text("Articles stored")).to_be_visible()
    # the hostile title shows as literal text (parse drops the <script> element) and runs nothing
    expect(listing.get_by_text("[click](javascript:window.__pwned=2) **bold**", exact=False)).to_be_visible()
    assert page.evaluate("window.__pwned === undefined")
    assert listing.locator("a[href^='javascript:']").count() == 0
    shot = save_screenshot(page, tmp_path, "overview")
    assert shot.stat().st_size > 10_000
