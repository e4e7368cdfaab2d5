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

INTERNAL_ERROR = "destination denied: intranet.corp resolves to 10.20.30.40, a private network address"


@pytest.fixture
def bound(monkeypatch):
    """Set Streamlit's server.address as `--host` does, for one test."""
    from streamlit import config as st_config

    before = st_config.get_option("server.address")

    def bind(host: str | None) -> None:
        st_config.set_option("server.address", host)

    yield bind
    st_config.set_option("server.address", before)


def _sources(monkeypatch, tmp_path, feeds: str):
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
    cfg.write_text(feeds)
    monkeypatch.setenv("ESCALATION_WATCH_DB", db)
    monkeypatch.setenv("ESCALATION_WATCH_CONFIG", str(cfg))

    def app() -> None:
        from pipeline.ui import sources

        sources.page()

    at = AppTest.from_function(app, default_timeout=30)
    at.run()
    assert not at.exception, at.exception
    return at


FEEDS = "feeds:\n  - name: Intranet\n    url: http://intranet.corp/rss\n"


def _errors_shown(at) -> list[str]:
    return [str(v) for df in at.dataframe for v in df.value["last_error"].tolist()]


def test_exposed_the_health_table_shows_no_internal_detail(monkeypatch, tmp_path, bound):
    bound("0.0.0.0")
    shown = _errors_shown(_sources(monkeypatch, tmp_path, FEEDS))
    assert shown == ["refused by the network policy"]


def test_on_loopback_the_health_table_shows_the_whole_error(monkeypatch, tmp_path, bound):
    bound("127.0.0.1")
    assert _errors_shown(_sources(monkeypatch, tmp_path, FEEDS)) == [INTERNAL_ERROR]
