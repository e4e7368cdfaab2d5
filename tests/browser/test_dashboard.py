"""The full dashboard in Chromium, on data from a real poll of a local feed server.

One dashboard process serves every test of this module (starting Streamlit is
the slow part); each test opens its own page. Screenshots of every page are
saved as artifacts (tmp dir, and $ESCALATION_WATCH_ARTIFACTS when set).
"""

from __future__ import annotations

import io
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest

from tests.browser.conftest import save_screenshot, start_dashboard, stop_dashboard
from tests.feedgen import make_atom, make_rss
from tests.feedserver import FeedServer

pytestmark = [pytest.mark.browser, pytest.mark.timeout(180), pytest.mark.xdist_group("browser")]

HOSTILE = (
    b'<?xml version="1.0"?><rss version="2.0"><channel><title>Hostile</title>'
    b"<item><title>&lt;script&gt;window.__pwned=1&lt;/script&gt; Russia threatens Ukraine [click](javascript:window.__pwned=2)</title>"
    b"<link>javascript:window.__pwned=3</link><guid>h1</guid>"
    b"<pubDate>%s</pubDate><description>&lt;img src=x onerror=window.__pwned=4&gt;</description></item>"
    b"</channel></rss>"
)
FEEDS_YAML = """\
# Escalation Watch test feeds
feeds:
  # wires
  - name: Alpha
    url: {a}
  - name: Beta   # atom
    url: {b}
  - name: Hostile
    url: {h}
"""
WAIT_MS = 30_000


def poll(cfg: Path, db_url: str) -> None:
    # a separate process: Playwright's sync API owns this thread's event loop
    r = subprocess.run(
        [sys.executable, "-m", "pipeline", "poll", "--once", "--config", str(cfg), "--db", db_url],
        capture_output=True, text=True, timeout=90,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("dashboard")
    now = datetime.now(UTC).replace(microsecond=0)
    with FeedServer() as srv:
        a = srv.route("/a.xml", make_rss("alpha", 40, base_time=now, interval_s=1800))
        b = srv.route("/b.xml", make_atom("beta", 30, base_time=now, interval_s=2400))
        stamp = now.strftime("%a, %d %b %Y %H:%M:%S GMT").encode()
        h = srv.route("/h.xml", HOSTILE % stamp)
        srv.route("/new.xml", make_rss("newfeed", 5, base_time=now))
        cfg = tmp / "feeds.yaml"
        cfg.write_text(FEEDS_YAML.format(a=a, b=b, h=h))
        db_url = f"sqlite:///{tmp}/ew.db"
        poll(cfg, db_url)
        d = start_dashboard(db_url, tmp, cfg)
        try:
            yield dict(url=d.url, cfg=cfg, db_url=db_url, srv=srv, tmp=tmp)
        finally:
            stop_dashboard(d)


def open_page(page, url: str) -> None:
    page.goto(url)
    page.locator("[data-testid='stApp'][data-test-script-state='notRunning']").wait_for(timeout=WAIT_MS)


def full_screenshot(page, tmp: Path, name: str) -> Path:
    """Streamlit scrolls inside its main block: grow the viewport to the content first."""
    h = page.evaluate("() => document.querySelector('[data-testid=\"stMain\"]').scrollHeight")
    page.set_viewport_size({"width": 1400, "height": max(1000, min(int(h), 5000))})
    out = save_screenshot(page, tmp, name)
    page.set_viewport_size({"width": 1400, "height": 1000})
    return out


def test_overview_chart_and_drill_down(site, page):
    from playwright.sync_api import expect

    open_page(page, site["url"] + "/?period=7d")
    chart = page.locator(".st-key-trend_chart .js-plotly-plot, [class*='st-key-trend_chart'] .js-plotly-plot").first
    if chart.count() == 0:
        chart = page.locator(".js-plotly-plot").first
    expect(chart).to_be_visible(timeout=WAIT_MS)
    expect(page.locator(".st-key-kpis")).to_be_visible()
    points = chart.locator(".scatterlayer .trace .points path.point")
    expect(points.first).to_be_attached(timeout=WAIT_MS)
    full_screenshot(page, site["tmp"], "overview")
    # the highest point of the drawn theatres: a bucket with escalation, so with stories to list
    # (a day at index 0 has none: its drill-down says so)
    trace, point = page.evaluate(
        """() => { const gd = document.querySelector('.st-key-trend_chart .js-plotly-plot');
                   let best = [0, 0, -1];
                   gd.calcdata.forEach((cd, i) => {
                     const t = cd[0].trace;
                     if (t.type !== 'scatter' || t.xaxis !== 'x' || (t.name || '').startsWith('Alert')) return;
                     cd.forEach((pt, j) => { if (pt.y > best[2]) best = [i, j, pt.y]; });
                   });
                   return best.slice(0, 2); }"""
    )
    chart.locator(".scatterlayer .trace").nth(trace).locator("path.point").nth(point).click(force=True)
    drill = page.locator(".st-key-drill_down")
    expect(drill).to_be_visible(timeout=WAIT_MS)
    expect(drill.locator("h4 a").first).to_be_visible(timeout=WAIT_MS)  # the bucket's top articles, linked
    assert "drill=" in page.url  # the drill-down is part of the shareable link
    full_screenshot(page, site["tmp"], "overview-drill-down")


def test_articles_page_and_hostile_title(site, page):
    from playwright.sync_api import expect

    open_page(page, site["url"] + "/articles?period=all&source=Hostile")
    lst = page.locator(".st-key-article_list")
    expect(lst).to_be_visible(timeout=WAIT_MS)
    # parse drops the <script> element; what is left of the markup shows as literal text
    expect(lst.get_by_text("[click](javascript:window.__pwned=2)", exact=False).first).to_be_visible()
    assert page.evaluate("window.__pwned === undefined")
    assert page.locator("a[href^='javascript:'], a[href^='data:']").count() == 0
    assert page.locator("script:has-text('__pwned')").count() == 0
    full_screenshot(page, site["tmp"], "articles-hostile")
    open_page(page, site["url"] + "/articles?period=all")
    expect(page.locator(".st-key-article_list").get_by_text("weight", exact=False).first).to_be_visible(timeout=WAIT_MS)
    full_screenshot(page, site["tmp"], "articles")


def test_download_honours_filters(site, page):
    from playwright.sync_api import expect

    open_page(page, site["url"] + "/downloads?period=all&source=Beta")
    box = page.locator(".st-key-download_articles")
    expect(box.get_by_text("30 rows")).to_be_visible(timeout=WAIT_MS)
    full_screenshot(page, site["tmp"], "downloads")
    with page.expect_download(timeout=WAIT_MS) as info:
        box.get_by_role("button", name="CSV").click()
    df = pd.read_csv(io.BytesIO(Path(info.value.path()).read_bytes()))
    assert len(df) == 30 and set(df["source"]) == {"Beta"}
    with page.expect_download(timeout=WAIT_MS) as info:
        box.get_by_role("button", name="Parquet").click()
    df = pd.read_parquet(info.value.path())
    assert len(df) == 30 and set(df["source"]) == {"Beta"}


def test_add_feed_on_sources_then_poll_fetches_it(site, page):
    from playwright.sync_api import expect

    cfg: Path = site["cfg"]
    open_page(page, site["url"] + "/sources")
    expect(page.locator(".st-key-feed_health")).to_be_visible(timeout=WAIT_MS)
    full_screenshot(page, site["tmp"], "sources")
    form = page.locator("[data-testid='stForm']").first
    new_url = site["srv"].url("/new.xml")
    form.get_by_label("Name").fill("Newcomer")
    form.get_by_label("URL").fill(new_url)
    form.get_by_role("button", name="Test now").click()
    expect(page.locator(".st-key-test_result").get_by_text("5 items found")).to_be_visible(timeout=WAIT_MS)
    assert site["srv"].count("/new.xml") == 1
    form.get_by_label("Name").fill("Newcomer")
    form.get_by_label("URL").fill(new_url)
    form.get_by_role("button", name="Add feed").click()
    expect(page.get_by_text("Added “Newcomer”", exact=False)).to_be_visible(timeout=WAIT_MS)
    text = cfg.read_text()
    assert "# Escalation Watch test feeds" in text and "# wires" in text and "# atom" in text
    assert "name: Newcomer" in text and new_url in text
    poll(cfg, site["db_url"])
    assert site["srv"].count("/new.xml") == 2  # the poller fetched the new feed
    open_page(page, site["url"] + "/sources")
    feeds = page.locator(".st-key-feed_health [data-testid='stMetricValue']").first
    expect(feeds).to_have_text("4", timeout=WAIT_MS)
