"""The HTML brief in Debian chromium, offline: it renders whole (a section and a trend chart
per theatre) and asks for nothing over the network; a screenshot is kept for a look."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from pipeline import brief
from pipeline.store import Store
from tests.storedata import NOW, build_store
from tests.unit.test_brief import ITEMS

from .conftest import save_screenshot

pytestmark = [pytest.mark.browser, pytest.mark.timeout(120), pytest.mark.xdist_group("browser")]


def test_html_brief_renders_offline(browser, tmp_path):
    db = f"sqlite:///{tmp_path}/b.db"
    build_store(db, ITEMS)
    with Store.open(db) as s:
        b = brief.build(s, now=NOW)
    out = tmp_path / "brief.html"
    out.write_text(brief.to_html(b), encoding="utf-8")
    ctx = browser.new_context(offline=True, viewport={"width": 820, "height": 1000})
    page = ctx.new_page()
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto(out.as_uri())
    section = page.get_by_test_id("theatre-RUS-UKR")
    expect(section).to_contain_text("Russian forces shell Ukrainian positions near Kharkiv overnight")
    expect(section).to_contain_text("3 outlets: Gazette, Herald, Wire")
    expect(section.locator("svg")).to_be_visible()
    assert section.locator("svg").bounding_box()["width"] >= 250
    expect(page.locator("section svg")).to_have_count(len(b.theatres))
    expect(page.get_by_test_id("warning").first).to_contain_text("thin data")
    expect(page.get_by_test_id("data")).to_contain_text("6 articles from 3 sources")
    save_screenshot(page, tmp_path, "brief")
    ctx.close()
    assert requests == [out.as_uri()]  # no fonts, scripts, styles or images fetched
