"""Hostile text in the dashboard: <script>, onerror=, javascript: and data: URLs stay inert text.

Two routes into the store, both shown on one page:

* a real `poll --once` of a hostile feed (what parse lets through: markdown
  links, javascript:/data: text, entity-escaped markup);
* raw hostile records written through the Store API at the stage edge, as if
  parse had regressed: the dashboard must stay safe on its own.

Checks in Chromium: nothing ran (no dialog, no ``window.__pwned``, no request to
the "exfiltration" URL), no javascript:/data: link or injected element exists,
and the hostile titles read as literal text.
"""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest

from tests.browser.conftest import save_screenshot

pytestmark = [pytest.mark.browser, pytest.mark.timeout(180), pytest.mark.xdist_group("browser")]

FEED = (
    b'<?xml version="1.0"?><rss version="2.0"><channel><title>Hostile feed</title>'
    b"<item><title>Polled [click me](javascript:window.__pwned=11) and ![img](data:image/svg+xml,x)</title>"
    b"<link>javascript:window.__pwned=12</link><guid>p1</guid><pubDate>Fri, 03 Dec 2021 12:00:00 GMT</pubDate>"
    b"<description>&lt;img src=x onerror=&quot;window.__pwned=13&quot;&gt; text</description></item>"
    b"<item><title>Polled data link &lt;script&gt;window.__pwned=14&lt;/script&gt; tail</title>"
    b"<link>data:text/html;base64,PHNjcmlwdD53aW5kb3cuX19wd25lZD0xNTwvc2NyaXB0Pg==</link><guid>p2</guid>"
    b"<pubDate>Fri, 03 Dec 2021 11:00:00 GMT</pubDate><description>x</description></item>"
    b"</channel></rss>"
)

#: titles stored as they are (no parse): what the page must show, literally
RAW_TITLES = [
    "Raw script <script>window.__pwned=1</script> end",
    'Raw img <img src=x onerror="window.__pwned=2"> end',
    "Raw svg <svg onload=window.__pwned=3></svg> end",
    "Raw md [x](javascript:window.__pwned=4) end",
    "Raw autolink <javascript:window.__pwned=5> end",
]
RAW_URLS = [
    "javascript:window.__pwned=6",
    "data:text/html,<script>window.__pwned=7</script>",
    "JaVaScRiPt:window.__pwned=8",
    " javascript:window.__pwned=9",
    "vbscript:msgbox(1)",
]


def store_raw_hostile_articles(db_url: str, exfil_url: str) -> None:
    from pipeline.parse import canonicalize_url  # noqa: F401 - the Article shape parse produces
    from pipeline.store import Store
    from pipeline.types import Article, FeedSpec, FeedUpdate

    now = datetime.now(UTC)
    feed_url = "https://raw.example/rss"
    articles = tuple(
        Article(
            feed_url=feed_url,
            guid=f"raw-{i}",
            url=url,
            canonical_url=None,
            title=title,
            summary=f'<img src="{exfil_url}?{i}" onerror="window.__pwned=10"><script>window.__pwned=10</script>',
            published_at=now - timedelta(minutes=i),
            published_estimated=False,
            language="en",
            author='<b onmouseover="window.__pwned=16">x</b>',
            content_hash=f"{i:064d}",
        )
        for i, (title, url) in enumerate(zip(RAW_TITLES, RAW_URLS, strict=True))
    )
    with Store.open(db_url) as store:
        store.sync_feeds([FeedSpec(name='Raw <img src=x onerror="window.__pwned=17">', url=feed_url)], now)
        store.record_update(
            FeedUpdate(feed_url, now, now, "ok", status=200, articles=articles),
            next_due_at=now + timedelta(hours=1),
            status="ok",
        )


def test_hostile_titles_links_and_summaries_render_as_inert_text(tmp_path, feed_server, dashboard_factory, page):
    from playwright.sync_api import expect

    srv = feed_server
    feed = srv.route("/hostile.xml", FEED)
    exfil = srv.url("/exfil")
    cfg = tmp_path / "feeds.yaml"
    cfg.write_text(f"feeds:\n  - name: Hostile\n    url: {feed}\n")
    db_url = f"sqlite:///{tmp_path}/ew.db"
    r = subprocess.run(
        [sys.executable, "-m", "pipeline", "poll", "--once", "--config", str(cfg), "--db", db_url],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert r.returncode == 0 and "2 new articles" in r.stdout, r.stdout + r.stderr
    store_raw_hostile_articles(db_url, exfil)

    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    d = dashboard_factory(db_url, cfg)
    page.goto(d.url)
    listing = page.locator(".st-key-latest_list")
    for title in RAW_TITLES:
        expect(listing.get_by_text(title, exact=False)).to_be_visible(timeout=30_000)
    expect(listing.get_by_text("[click me](javascript:window.__pwned=11)", exact=False)).to_be_visible()
    # the hostile articles are listed without a link; only http(s) becomes an anchor
    hrefs = listing.locator("a").evaluate_all("els => els.map(e => e.getAttribute('href'))")
    assert all(h.startswith(("http://", "https://")) for h in hrefs), hrefs
    save_screenshot(page, tmp_path, "hostile-display")

    # every page of the dashboard (articles, sources with feed names and errors, ...)
    links = page.locator("[data-testid='stSidebarNavLink']")
    expect(links.first).to_be_visible()
    pages = links.evaluate_all("els => els.map(e => e.href)")
    assert pages, "no pages in the sidebar navigation"
    for url in pages:
        page.goto(url)
        expect(page.locator("[data-test-script-state='notRunning']")).to_be_attached(timeout=30_000)
        expect(page.locator("[data-testid='stException']")).to_have_count(0)
        assert_inert(page, srv, dialogs, url)


def assert_inert(page, srv, dialogs: list[str], where: str) -> None:
    assert page.evaluate("window.__pwned === undefined"), (where, page.evaluate("window.__pwned"))
    assert dialogs == [], where
    assert srv.count("/exfil") == 0, where
    for scheme in ("javascript:", "data:", "vbscript:", " javascript:"):
        assert page.locator(f"a[href^='{scheme}' i]").count() == 0, (where, scheme)
    # no element the feed text could have created
    assert page.locator("[onerror], [onload], [onmouseover]").count() == 0, where
    assert page.locator("script:text('__pwned')").count() == 0, where
    main = page.locator("[data-testid='stMain']")
    assert main.locator("img[src*='exfil'], svg[onload], iframe, object, embed").count() == 0, where
