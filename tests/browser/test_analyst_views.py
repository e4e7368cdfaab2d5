"""Issue 16's analyst views in Chromium: the map renders with the outside network blocked,
a click on a country or on a cell of who threatens whom opens the Articles page filtered to
it, and a stale store's history is one click away. One dashboard serves the module; every request that is not to 127.0.0.1 is
aborted (and recorded), so a CDN topojson or a map tile would leave the map blank."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import urlparse

import pytest

from tests.browser.conftest import save_screenshot, start_dashboard, stop_dashboard
from tests.storedata import build_store

pytestmark = [pytest.mark.browser, pytest.mark.timeout(240), pytest.mark.xdist_group("browser")]

WAIT_MS = 30_000
#: hours before now; the missile story carried by two outlets
FRESH = [
    ("Wire", 1, "Russia threatens to strike Ukraine with missiles", "Officials said troops were massing at the border."),
    ("Gazette", 1.5, "Russia threatens to strike Ukraine with missiles", "Officials said troops were massing at the border."),
    ("Wire", 5, "China launches drills near Taiwan", "The exercises began at dawn, the ministry said."),
    ("Gazette", 30, "India imposes sanctions on Pakistan", "New sanctions target banks."),
]


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("analyst")
    fresh = f"sqlite:///{tmp}/fresh.db"
    build_store(fresh, FRESH, now=datetime.now(UTC), tags={"Wire": ("wire",), "Gazette": ("state-media",)})
    d = start_dashboard(fresh, tmp)
    yield d
    stop_dashboard(d)


def offline(page) -> list[str]:
    """Abort every request that leaves 127.0.0.1; return the list of what was blocked."""
    blocked: list[str] = []

    def handle(route):
        host = urlparse(route.request.url).hostname
        if host in ("127.0.0.1", "localhost"):
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort()

    page.route("**/*", handle)
    return blocked


def _pixels(png: bytes, rgb: tuple[int, int, int], tol: int = 12) -> int:
    """How many pixels of a screenshot are within ``tol`` of a colour."""
    import io

    from PIL import Image

    raw = Image.open(io.BytesIO(png)).convert("RGB").tobytes()
    r, g, b = rgb
    return sum(
        1 for i in range(0, len(raw), 3)
        if abs(raw[i] - r) <= tol and abs(raw[i + 1] - g) <= tol and abs(raw[i + 2] - b) <= tol
    )  # fmt: skip


def test_map_renders_offline_and_a_country_opens_its_articles(site, page, tmp_path):
    from playwright.sync_api import expect

    blocked = offline(page)
    page.goto(site.url + "/map")
    chart = page.locator(".st-key-world_map .js-plotly-plot")
    expect(chart).to_be_visible(timeout=WAIT_MS)
    expect(chart.locator("canvas").first).to_be_attached(timeout=WAIT_MS)
    expect(page.locator(".st-key-actor_matrix .js-plotly-plot")).to_be_visible(timeout=WAIT_MS)
    # MapLibre has drawn once it is idle; then the countries are on the canvas
    page.wait_for_function(
        """() => { const gd = document.querySelector('.st-key-world_map .js-plotly-plot');
                   const m = gd && gd._fullLayout && gd._fullLayout.map && gd._fullLayout.map._subplot.map;
                   return m && m.loaded() && !m.isMoving(); }""",
        timeout=WAIT_MS,
    )
    shot = chart.screenshot()
    # the grey of countries without weight and the dark red of the heaviest: both drawn,
    # from the shipped boundaries (a blocked topojson or tile would leave the canvas blank)
    assert _pixels(shot, (0xE5, 0xE7, 0xEB)) > 20_000
    assert _pixels(shot, (0x7F, 0x1D, 0x1D)) > 2_000
    save_screenshot(page, tmp_path, "map_offline")
    assert not [u for u in blocked if "plot.ly" in u or "topojson" in u or "tile" in u], blocked
    # a click on China (lon 104, lat 35 on the map's own projection) opens its articles
    at = page.evaluate(
        """() => { const gd = document.querySelector('.st-key-world_map .js-plotly-plot');
                   const m = gd._fullLayout.map._subplot.map, q = m.project([104, 35]);
                   const r = m.getContainer().getBoundingClientRect();
                   return {x: r.x + q.x, y: r.y + q.y}; }"""
    )
    page.mouse.click(at["x"], at["y"])
    page.wait_for_url("**/articles?*actor=CHN*", timeout=WAIT_MS)
    expect(page.locator(".st-key-actor_filter")).to_contain_text("naming CHN", timeout=WAIT_MS)
    # the article's linked title (its evidence sentence below it holds the same words)
    expect(page.get_by_role("link", name="China launches drills near Taiwan")).to_be_visible(timeout=WAIT_MS)
    expect(page.get_by_text("India imposes sanctions on Pakistan")).to_have_count(0)
    save_screenshot(page, tmp_path, "articles_from_map")


def test_a_matrix_cell_opens_its_articles(site, page, tmp_path):
    from playwright.sync_api import expect

    offline(page)
    page.goto(site.url + "/map")
    matrix = page.locator(".st-key-actor_matrix .js-plotly-plot")
    expect(matrix).to_be_visible(timeout=WAIT_MS)
    expect(matrix.locator(".scatterlayer path.point").first).to_be_attached(timeout=WAIT_MS)
    # the centre of the cell "RUS against UKR" of the threats panel, on the chart's own axes
    at = page.evaluate(
        """() => { const gd = document.querySelector('.st-key-actor_matrix .js-plotly-plot');
                   const xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis, r = gd.getBoundingClientRect();
                   return {x: r.x + xa._offset + xa.d2p(xa.d2c('UKR')), y: r.y + ya._offset + ya.d2p(ya.d2c('RUS'))}; }"""
    )
    page.mouse.click(at["x"], at["y"])
    page.wait_for_url("**/articles?*pair=RUS%3EUKR*", timeout=WAIT_MS)
    assert "kind=threat" in page.url
    expect(page.locator(".st-key-actor_filter")).to_contain_text("from RUS against UKR (threats)", timeout=WAIT_MS)
    titles = page.locator(".st-key-article_list h4")
    expect(titles).to_have_count(2, timeout=WAIT_MS)  # the two outlets' copies: both articles listed
    expect(titles.first).to_contain_text("Russia threatens to strike Ukraine with missiles")
    expect(page.get_by_text("China launches drills near Taiwan")).to_have_count(0)
    save_screenshot(page, tmp_path, "articles_from_matrix")


def test_overview_driving_now_in_the_browser(site, page, tmp_path):
    from playwright.sync_api import expect

    offline(page)
    page.goto(site.url)
    driving = page.locator(".st-key-driving_now")
    expect(driving).to_contain_text("Russia threatens to strike Ukraine with missiles", timeout=WAIT_MS)
    expect(driving).to_contain_text("2 outlets")
    expect(driving.get_by_text("Russia threatens to strike Ukraine with missiles")).to_have_count(1)
    save_screenshot(page, tmp_path, "driving_now")


def test_history_jump_on_a_stale_store(tmp_path, dashboard_factory, page):
    from playwright.sync_api import expect

    stale = f"sqlite:///{tmp_path}/stale.db"
    build_store(stale)  # tests.storedata: 2 Jun to 10 Jun 2024
    d = dashboard_factory(stale)
    offline(page)
    page.goto(d.url)
    notice = page.locator(".st-key-history_notice")
    expect(notice).to_contain_text("Stored articles run from 2 Jun 2024 to 10 Jun 2024", timeout=WAIT_MS)
    notice.get_by_role("button", name="Show 2 Jun 2024 – 10 Jun 2024").click()
    page.wait_for_url("**period=custom**", timeout=WAIT_MS)
    assert "from=2024-06-02" in page.url and "to=2024-06-10" in page.url
    expect(page.locator(".st-key-history_notice")).to_have_count(0, timeout=WAIT_MS)
    # the sidebar shows the range, the page the period
    sidebar = page.get_by_test_id("stSidebar")
    expect(sidebar).to_contain_text("From (UTC)", timeout=WAIT_MS)
    for label, day in (("From (UTC)", "2"), ("To (UTC, inclusive)", "10")):
        expect(sidebar.get_by_role("spinbutton", name=f"day, {label}")).to_have_attribute("aria-valuenow", day)
        expect(sidebar.get_by_role("spinbutton", name=f"month, {label}")).to_have_attribute("aria-valuenow", "6")
    expect(page.get_by_text("Dates: 2024-06-02 to 2024-06-10", exact=False)).to_be_visible(timeout=WAIT_MS)
    expect(page.locator(".st-key-latest_list")).to_contain_text("India imposes sanctions on Pakistan")
    save_screenshot(page, tmp_path, "history_jump")
