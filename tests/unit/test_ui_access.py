"""pipeline.ui.access: what a viewer sees of a fetch error."""

from __future__ import annotations

import pytest

from pipeline.ui.access import public_error

# stored errors as the poller writes them (FetchError/ParseError reasons), with the detail
# a viewer must not see
CASES = [
    ("destination denied: intranet.corp resolves to 10.20.30.40, a private network address "
     "(private destinations are denied)", "refused by the network policy", "10.20.30.40"),
    ("redirect to http://10.1.2.3/admin denied: destination denied: 10.1.2.3 is a private network address",
     "refused by the network policy", "10.1.2.3"),
    ("not XML (starts with b'<root>secret-token=abc123')", "not a feed", "secret-token"),
    ("connection failed: Cannot connect to host 192.168.1.9:8080 ssl:default", "connection failed", "192.168.1.9"),
    ("HTTP 500 Internal error at db-7.internal:5432", "HTTP 500", "db-7.internal"),
    ("DNS lookup failed: [Errno -2] Name or service not known: wiki.corp", "DNS lookup failed", "wiki.corp"),
    ("read timed out after 20 s", "timed out", None),
    ("internal error: KeyError: 'x' at /srv/app/secret.py", "failed (an editor sees the detail)", "/srv/app"),
]  # fmt: skip


@pytest.mark.parametrize(("stored", "shown", "secret"), CASES)
def test_a_viewer_sees_the_kind_of_error_not_its_detail(stored, shown, secret):
    assert public_error(stored) == shown
    if secret:
        assert secret not in public_error(stored)


@pytest.mark.parametrize("empty", [None, "", float("nan")])
def test_no_error_is_no_error(empty):
    assert public_error(empty) is None


# -- the Sources page, bound to a loopback or an exposed address (AppTest, no browser) --

FEEDS = "feeds:\n  - name: Intranet\n    url: http://intranet.corp/rss\n"
INTERNAL_ERROR = "destination denied: intranet.corp resolves to 10.20.30.40, a private network address"


def _sources(monkeypatch, tmp_path, feeds: str = "", *, env: dict[str, str] | None = None,
             secrets: dict | None = None, user: dict | None = None):
    """The Sources page in AppTest, on a store holding one feed that failed with INTERNAL_ERROR."""
    from datetime import datetime, timedelta, timezone

    from streamlit.testing.v1 import AppTest

    from pipeline.store import Store
    from pipeline.types import FeedSpec, FeedUpdate

    now = datetime.now(timezone.utc)
    db = f"sqlite:///{tmp_path}/ew.db"
    with Store.open(db) as s:
        s.sync_feeds([FeedSpec("Intranet", "http://intranet.corp/rss")], now)
        up = FeedUpdate("http://intranet.corp/rss", now, now, "error", error=INTERNAL_ERROR)
        s.record_update(up, next_due_at=now + timedelta(minutes=5), status="error")
    cfg = tmp_path / "feeds.yaml"
    cfg.write_text(feeds or FEEDS)
    monkeypatch.setenv("ESCALATION_WATCH_DB", db)
    monkeypatch.setenv("ESCALATION_WATCH_CONFIG", str(cfg))
    for k in ("ESCALATION_WATCH_EDITOR_TOKEN", "ESCALATION_WATCH_EDITORS", "ESCALATION_WATCH_READ_ONLY"):
        monkeypatch.delenv(k, raising=False)
    for k, v in (env or {}).items():
        monkeypatch.setenv(k, v)

    def app() -> None:
        from pipeline.ui import sources

        sources.page()

    at = AppTest.from_function(app, default_timeout=30)
    if secrets:
        at.secrets = secrets
    if user is not None:
        at.user = user
    at.run()
    assert not at.exception, at.exception
    return at




def _errors_shown(at) -> list[str]:
    return [str(v) for df in at.dataframe for v in df.value["last_error"].tolist()]


def test_exposed_the_health_table_shows_no_internal_detail(monkeypatch, tmp_path, bound):
    bound("0.0.0.0")
    shown = _errors_shown(_sources(monkeypatch, tmp_path, FEEDS))
    assert shown == ["refused by the network policy"]


def test_on_loopback_the_health_table_shows_the_whole_error(monkeypatch, tmp_path, bound):
    bound("127.0.0.1")
    assert _errors_shown(_sources(monkeypatch, tmp_path, FEEDS)) == [INTERNAL_ERROR]


# -- roles ---------------------------------------------------------------------------

TOKEN = "s3cret-editor-token-0123"
EDIT_CONTROLS = {"Test now", "Add feed", "Save changes", "Disable", "Remove for good"}


@pytest.fixture(autouse=True)
def fresh_lockout():
    """The lock-out counts per server process (st.cache_resource): one per test here."""
    from pipeline.ui import access

    access.lockout.clear()
    yield
    access.lockout.clear()


def _buttons(at) -> set[str]:
    return {b.label for b in at.button}


def _info(at) -> str:
    return " ".join(i.value for i in at.info)


def _sign_in(at, token: str, name: str = "Alice"):
    at.text_input(key="sign_in_name").input(name)
    at.text_input(key="sign_in_token").input(token)
    next(b for b in at.button if b.label == "Sign in").click()
    at.run()
    assert not at.exception, at.exception
    return at


def test_exposed_with_no_sign_in_configured_is_read_only_and_says_how_to_edit(monkeypatch, tmp_path, bound):
    bound("0.0.0.0")
    at = _sources(monkeypatch, tmp_path)
    assert not _buttons(at) & EDIT_CONTROLS
    assert not [t for t in at.text_input if t.label == "URL"]
    assert "ESCALATION_WATCH_EDITOR_TOKEN" in _info(at) and "reachable from other machines" in _info(at)


def test_read_only_flag_wins_on_loopback(monkeypatch, tmp_path, bound):
    bound("127.0.0.1")
    at = _sources(monkeypatch, tmp_path, env={"ESCALATION_WATCH_READ_ONLY": "1"})
    assert not _buttons(at) & EDIT_CONTROLS
    assert "--read-only" in _info(at)


def test_the_editor_token_enables_editing_and_a_wrong_one_does_not(monkeypatch, tmp_path, bound):
    bound("0.0.0.0")
    at = _sources(monkeypatch, tmp_path, env={"ESCALATION_WATCH_EDITOR_TOKEN": TOKEN})
    assert not _buttons(at) & EDIT_CONTROLS
    _sign_in(at, TOKEN + "x")
    assert not _buttons(at) & EDIT_CONTROLS
    assert "Wrong token." in [e.value for e in at.error]
    _sign_in(at, TOKEN)
    assert EDIT_CONTROLS <= _buttons(at)
    assert any("Editing as **token\\: Alice**" in c.value for c in at.caption)
    # viewers and editors alike: the error detail only for the editor
    assert _errors_shown(at) == [INTERNAL_ERROR]


def test_a_configured_token_is_required_on_loopback_too(monkeypatch, tmp_path, bound):
    bound("127.0.0.1")
    at = _sources(monkeypatch, tmp_path, env={"ESCALATION_WATCH_EDITOR_TOKEN": TOKEN})
    assert not _buttons(at) & EDIT_CONTROLS


def test_repeated_wrong_tokens_lock_the_sign_in_out(monkeypatch, tmp_path, bound):
    from pipeline.ui.access import MAX_FAILURES

    bound("0.0.0.0")
    at = _sources(monkeypatch, tmp_path, env={"ESCALATION_WATCH_EDITOR_TOKEN": TOKEN})
    for i in range(MAX_FAILURES):
        _sign_in(at, f"guess-{i}")
    _sign_in(at, TOKEN)  # the right token, but too late
    assert not _buttons(at) & EDIT_CONTROLS
    assert any("locked" in e.value for e in at.error)


def test_the_lockout_lifts_once_the_failures_are_old():
    from pipeline.ui.access import Lockout

    now = [1000.0]
    guard = Lockout(max_failures=3, window_s=60, clock=lambda: now[0])
    for _ in range(3):
        assert guard.locked_for_s() == 0
        guard.failed()
    assert guard.locked_for_s() == 60
    now[0] += 59
    assert guard.locked_for_s() == pytest.approx(1)
    now[0] += 1
    assert guard.locked_for_s() == 0


def test_a_short_token_is_refused(monkeypatch, tmp_path, bound):
    bound("0.0.0.0")
    at = _sources(monkeypatch, tmp_path, env={"ESCALATION_WATCH_EDITOR_TOKEN": "short"})
    assert not _buttons(at) & EDIT_CONTROLS
    assert "shorter than 16 characters" in _info(at)


OIDC = {"auth": {"redirect_uri": "https://ew.example/oauth2callback", "cookie_secret": "x" * 32,
                 "client_id": "ew", "client_secret": "s", "server_metadata_url": "https://idp.example/.well-known"}}  # fmt: skip


@pytest.mark.parametrize(
    ("user", "editor"),
    [
        ({"is_logged_in": True, "email": "alice@example.org"}, True),
        ({"is_logged_in": True, "email": "mallory@example.org"}, False),
        ({"is_logged_in": False}, False),
    ],
)
def test_st_login_editors_are_the_listed_accounts(monkeypatch, tmp_path, bound, user, editor):
    bound("0.0.0.0")
    at = _sources(monkeypatch, tmp_path, env={"ESCALATION_WATCH_EDITORS": "Alice@example.org, bob@example.org"},
                  secrets=OIDC, user=user)  # fmt: skip
    assert (EDIT_CONTROLS <= _buttons(at)) is editor
    if not editor:
        assert not _buttons(at) & EDIT_CONTROLS
        assert ("Sign in" in _buttons(at)) is (not user["is_logged_in"])


def test_test_now_of_a_loopback_url_is_refused_when_exposed(monkeypatch, tmp_path, bound):
    from tests.feedgen import make_rss
    from tests.feedserver import FeedServer

    bound("0.0.0.0")
    with FeedServer() as srv:
        url = srv.route("/local.xml", make_rss("local", 3))
        at = _sources(monkeypatch, tmp_path, env={"ESCALATION_WATCH_EDITOR_TOKEN": TOKEN})
        _sign_in(at, TOKEN)
        at.text_input(key="add_url").input(url)
        next(b for b in at.button if b.label == "Test now").click()
        at.run()
        assert not at.exception, at.exception
        assert any("destination denied" in e.value for e in at.error)
        assert srv.count("/local.xml") == 0


# -- audit log -------------------------------------------------------------------------


def test_an_edit_is_recorded_with_who_made_it(monkeypatch, tmp_path, bound):
    from pipeline.store import Store

    bound("0.0.0.0")
    at = _sources(monkeypatch, tmp_path, env={"ESCALATION_WATCH_EDITOR_TOKEN": TOKEN})
    _sign_in(at, TOKEN, name="Alice")
    at.button(key="disable_feed").click()
    at.run()
    assert not at.exception, at.exception
    with Store.open(f"sqlite:///{tmp_path}/ew.db", readonly=True) as s:
        (entry,) = s.audit_log()
    assert (entry.who, entry.action, entry.feed_url, entry.changes) == (
        "token: Alice", "disable", "http://intranet.corp/rss", {"enabled": [True, False]})  # fmt: skip
    shown = at.dataframe[-1].value
    assert shown[["who", "action", "feed"]].values.tolist() == [["token: Alice", "disable", "Intranet"]]


def test_no_edit_without_an_audit_log(monkeypatch, tmp_path, bound):
    """A store the dashboard cannot write (an old schema here) turns editing off."""
    import sqlite3

    bound("127.0.0.1")
    at = _sources(monkeypatch, tmp_path)
    assert EDIT_CONTROLS <= _buttons(at)
    con = sqlite3.connect(tmp_path / "ew.db")
    con.execute("UPDATE alembic_version SET version_num = '0006'")
    con.commit()
    con.close()
    from pipeline.ui import audit

    audit._writer.clear()
    at.run()
    assert not _buttons(at) & EDIT_CONTROLS
    assert any("audit log cannot be written" in e.value for e in at.error)



@pytest.mark.parametrize(("host", "shown"), [("0.0.0.0", "refused by the network policy"), ("127.0.0.1", INTERNAL_ERROR)])
def test_the_overview_empty_state_shows_a_viewer_no_error_detail(monkeypatch, tmp_path, bound, host, shown):
    """With nothing stored the Overview lists the feeds' errors: their kind only, for a viewer."""
    from streamlit.testing.v1 import AppTest

    bound(host)
    _sources(monkeypatch, tmp_path)  # the store: one feed, failed with INTERNAL_ERROR, no article

    def app() -> None:
        from pipeline.ui import overview

        overview.page()

    at = AppTest.from_function(app, default_timeout=30)
    at.run()
    assert not at.exception, at.exception
    assert [str(v) for df in at.dataframe for v in df.value["last_error"].tolist()] == [shown]
