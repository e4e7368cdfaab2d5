"""A shared deployment in Chromium (issue 13): the dashboard bound beyond loopback.

`--host 0.0.0.0` makes it exposed (pipeline.deployment) while the browser still
reaches it on 127.0.0.1. One dashboard has no sign-in configured (read-only),
one has a shared editor token; a third, on loopback, is reached directly and as
through a reverse proxy (a forwarding header).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.browser.conftest import save_screenshot, start_dashboard, stop_dashboard
from tests.browser.test_dashboard import WAIT_MS, open_page, poll
from tests.feedgen import make_rss
from tests.feedserver import FeedServer

pytestmark = [pytest.mark.browser, pytest.mark.timeout(180), pytest.mark.xdist_group("browser")]

TOKEN = "browser-test-editor-token-42"
FEEDS_YAML = "# shared\nfeeds:\n  - name: Alpha\n    url: {a}\n"
EDIT_BUTTONS = ("Add feed", "Test now", "Save changes", "Disable")


@pytest.fixture(scope="module")
def shared(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("shared")
    with FeedServer() as srv:
        a = srv.route("/a.xml", make_rss("alpha", 10))
        srv.route("/local.xml", make_rss("local", 3))
        cfg = tmp / "feeds.yaml"
        cfg.write_text(FEEDS_YAML.format(a=a))
        db_url = f"sqlite:///{tmp}/ew.db"
        poll(cfg, db_url)  # on loopback, from this machine: allowed
        (tmp / "open").mkdir()
        (tmp / "token").mkdir()
        (tmp / "local").mkdir()
        local = start_dashboard(db_url, tmp / "local", cfg, host="127.0.0.1")
        open_ = start_dashboard(db_url, tmp / "open", cfg, host="0.0.0.0")
        try:
            token = start_dashboard(db_url, tmp / "token", cfg, host="0.0.0.0",
                                    env={"ESCALATION_WATCH_EDITOR_TOKEN": TOKEN})  # fmt: skip
            try:
                yield dict(open=open_.url, token=token.url, local=local.url, cfg=cfg, db_url=db_url, srv=srv, tmp=tmp)
            finally:
                stop_dashboard(token)
        finally:
            stop_dashboard(open_)
            stop_dashboard(local)


def sources(page, url: str) -> None:
    from playwright.sync_api import expect

    open_page(page, url + "/sources")
    expect(page.locator(".st-key-feed_health")).to_be_visible(timeout=WAIT_MS)


def assert_no_edit_controls(page) -> None:
    from playwright.sync_api import expect

    for name in EDIT_BUTTONS:
        expect(page.get_by_role("button", name=name)).to_have_count(0)
    expect(page.get_by_label("URL", exact=True)).to_have_count(0)
    expect(page.locator("[data-testid='stFileUploader']")).to_have_count(0)


def sign_in(page, token: str) -> None:
    form = page.locator(".st-key-read_only_notice ~ div [data-testid='stForm'], [data-testid='stForm']").first
    form.get_by_label("Your name (for the audit log)").fill("Alice")
    form.get_by_label("Editor token").fill(token)
    form.get_by_role("button", name="Sign in").click()


def test_viewer_of_an_exposed_dashboard_without_sign_in_gets_no_editor(shared, page):
    from playwright.sync_api import expect

    sources(page, shared["open"])
    notice = page.locator(".st-key-read_only_notice")
    expect(notice).to_contain_text("reachable from other machines", timeout=WAIT_MS)
    expect(notice).to_contain_text("ESCALATION_WATCH_EDITOR_TOKEN")
    expect(page.locator(".st-key-role")).to_contain_text("Viewer (read-only)")
    assert_no_edit_controls(page)
    expect(page.get_by_role("button", name="Sign in")).to_have_count(0)  # nothing to sign in to
    save_screenshot(page, shared["tmp"], "sources-viewer")


def test_a_wrong_token_does_not_enable_editing_and_the_right_one_does(shared, page):
    from playwright.sync_api import expect

    sources(page, shared["token"])
    assert_no_edit_controls(page)
    sign_in(page, TOKEN[:-1] + "x")
    expect(page.locator(".st-key-sign_in_error")).to_contain_text("Wrong token.", timeout=WAIT_MS)
    assert_no_edit_controls(page)
    sign_in(page, TOKEN)
    expect(page.get_by_role("button", name="Add feed")).to_be_visible(timeout=WAIT_MS)
    expect(page.locator(".st-key-role")).to_contain_text("Editor: token: Alice")
    save_screenshot(page, shared["tmp"], "sources-editor")


def test_test_now_of_a_loopback_url_is_refused_when_exposed(shared, page):
    from playwright.sync_api import expect

    sources(page, shared["token"])
    sign_in(page, TOKEN)
    form = page.locator(".st-key-feed_editor [data-testid='stForm']").first
    expect(form).to_be_visible(timeout=WAIT_MS)
    form.get_by_label("URL").fill(shared["srv"].url("/local.xml"))
    form.get_by_role("button", name="Test now").click()
    expect(page.get_by_text("destination denied", exact=False).first).to_be_visible(timeout=WAIT_MS)
    expect(page.get_by_text("private network address", exact=False).first).to_be_visible()
    assert shared["srv"].count("/local.xml") == 0


def test_the_audit_log_records_an_edit(shared, page):
    from playwright.sync_api import expect

    from pipeline.store import Store

    sources(page, shared["token"])
    expect(page.locator(".st-key-audit_log")).to_be_visible(timeout=WAIT_MS)
    sign_in(page, TOKEN)
    form = page.locator(".st-key-feed_editor [data-testid='stForm']").nth(1)  # "Edit a feed"
    expect(form).to_be_visible(timeout=WAIT_MS)
    form.get_by_label("Name").fill("Alpha Wire")
    form.get_by_role("button", name="Save changes").click()
    expect(page.get_by_text("Saved “Alpha Wire”", exact=False)).to_be_visible(timeout=WAIT_MS)
    assert "name: Alpha Wire" in shared["cfg"].read_text()
    with Store.open(shared["db_url"], readonly=True) as s:
        entry = s.audit_log()[0]
    assert (entry.who, entry.action, entry.changes) == ("token: Alice", "update", {"name": ["Alpha", "Alpha Wire"]})
    # listed on the page, for viewers too (the open dashboard reads the same store)
    sources(page, shared["open"])
    log = page.locator(".st-key-audit_log")
    expect(log.get_by_role("button", name="Export audit log (CSV)")).to_be_visible(timeout=WAIT_MS)
    with page.expect_download() as info:
        log.get_by_role("button", name="Export audit log (CSV)").click()
    text = Path(info.value.path()).read_text()
    assert "token: Alice,update,Alpha," in text and "Alpha Wire" in text
    save_screenshot(page, shared["tmp"], "sources-audit")


def test_on_loopback_a_request_through_a_reverse_proxy_counts_as_exposed(shared, browser):
    """nginx or Caddy on the same machine reach a loopback bind: their forwarding
    header makes the session a viewer when no sign-in is configured."""
    from playwright.sync_api import expect

    direct = browser.new_context()
    proxied = browser.new_context(extra_http_headers={"X-Forwarded-For": "203.0.113.7"})
    try:
        page = direct.new_page()
        sources(page, shared["local"])
        expect(page.get_by_role("button", name="Add feed")).to_be_visible(timeout=WAIT_MS)
        page = proxied.new_page()
        sources(page, shared["local"])
        expect(page.locator(".st-key-read_only_notice")).to_contain_text("reachable from other machines")
        assert_no_edit_controls(page)
    finally:
        direct.close()
        proxied.close()
