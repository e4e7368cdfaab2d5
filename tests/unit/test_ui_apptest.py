"""Page logic through Streamlit's AppTest (no browser): every page renders, filters come from the URL."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.storedata import build_store

APP = str(Path(__file__).resolve().parents[2] / "dashboard.py")


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("ui")
    url = f"sqlite:///{tmp}/ew.db"
    build_store(url)
    cfg = tmp / "feeds.yaml"
    cfg.write_text("# test\nfeeds:\n  - name: Wire\n    url: http://feeds.example/wire.xml\n")
    return {"ESCALATION_WATCH_DB": url, "ESCALATION_WATCH_CONFIG": str(cfg)}


def run(monkeypatch, env, page: str, **params):
    from streamlit.testing.v1 import AppTest

    for k, v in env.items():
        monkeypatch.setenv(k, v)
    at = AppTest.from_file(APP, default_timeout=30)
    for k, v in params.items():
        at.query_params[k] = v
    at.run()
    return at


def test_overview_renders_without_exceptions(monkeypatch, env):
    at = run(monkeypatch, env, "overview", period="all")
    assert not at.exception, at.exception
    assert at.title[0].value == "Overview"
    assert any("articles stored" in c.value for c in at.caption)


def test_filters_come_from_query_params(monkeypatch, env):
    at = run(monkeypatch, env, "overview", period="all", theatre="RUS-UKR")
    assert not at.exception
    assert at.session_state["filters"].theatre == "RUS-UKR"
    assert at.sidebar.selectbox[0].value == "RUS-UKR"
    assert at.query_params["theatre"] == ["RUS-UKR"] or at.query_params["theatre"] == "RUS-UKR"


def test_empty_store_says_why(monkeypatch, tmp_path):
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("ESCALATION_WATCH_DB", f"sqlite:///{tmp_path}/none.db")
    monkeypatch.setenv("ESCALATION_WATCH_CONFIG", str(tmp_path / "feeds.yaml"))
    at = AppTest.from_file(APP, default_timeout=30).run()
    assert not at.exception
    text = " ".join(w.value for w in at.warning) + " ".join(i.value for i in at.info)
    assert "does not exist yet" in text and "No feeds file" in text


def _store_with_feeds(tmp_path, outcomes: dict[str, str]) -> str:
    from datetime import datetime, timedelta, timezone

    from pipeline.store import Store
    from pipeline.types import FeedSpec, FeedUpdate

    now = datetime(2024, 6, 10, tzinfo=timezone.utc)
    url = f"sqlite:///{tmp_path}/h.db"
    with Store.open(url) as s:
        specs = [FeedSpec(n, f"http://feeds.example/{n}.xml") for n in outcomes]
        specs.append(FeedSpec("off", "http://feeds.example/off.xml", enabled=False))
        s.sync_feeds(specs, now)
        for name, outcome in outcomes.items():
            if outcome == "waiting":
                continue
            up = FeedUpdate(f"http://feeds.example/{name}.xml", now, now, outcome,
                            error="DNS lookup failed for feeds.example" if outcome == "error" else None)  # fmt: skip
            s.record_update(up, next_due_at=now + timedelta(minutes=5), status="ok" if outcome != "error" else "error")
    return url


@pytest.mark.parametrize(
    ("outcomes", "expected"),
    [
        ({"a": "error", "b": "error"}, "No feed could be reached. 2 of 2 enabled feeds failed"),
        ({"a": "error", "b": "not_modified"}, "Nothing stored yet. 1 of 2 enabled feeds answered"),
        ({"a": "waiting", "b": "waiting"}, "2 enabled feeds are waiting for their first poll"),
    ],
)
def test_no_articles_says_which_feeds_failed(monkeypatch, tmp_path, outcomes, expected):
    """A disabled, never-polled feed must not turn "none reachable" into "feeds answered"."""
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("ESCALATION_WATCH_DB", _store_with_feeds(tmp_path, outcomes))
    cfg = tmp_path / "feeds.yaml"
    cfg.write_text("feeds:\n" + "".join(f"  - name: {n}\n    url: http://feeds.example/{n}.xml\n" for n in outcomes))
    monkeypatch.setenv("ESCALATION_WATCH_CONFIG", str(cfg))
    at = AppTest.from_file(APP, default_timeout=30).run()
    assert not at.exception, at.exception
    text = " ".join(w.value for w in at.warning) + " " + " ".join(i.value for i in at.info)
    assert expected in text.replace("**", "")


def _page_app(name: str) -> None:
    """A one-page app for AppTest: the shared sidebar, then the page function."""
    import importlib

    from pipeline.ui import sidebar

    sidebar.render()
    importlib.import_module(f"pipeline.ui.{name}").page()


def run_page(monkeypatch, env, name: str, **params):
    from streamlit.testing.v1 import AppTest

    for k, v in env.items():
        monkeypatch.setenv(k, v)
    at = AppTest.from_function(_page_app, args=(name,), default_timeout=30)
    for k, v in params.items():
        at.query_params[k] = v
    at.run()
    assert not at.exception, at.exception
    return at


def _all_text(at) -> str:
    return " ".join(m.value for m in at.markdown) + " " + " ".join(c.value for c in at.caption)


def test_articles_page_lists_and_filters(monkeypatch, env):
    at = run_page(monkeypatch, env, "articles", period="all")
    text = _all_text(at)
    assert "**6** matching articles" in text
    assert "China launches drills near Taiwan" in text
    at = run_page(monkeypatch, env, "articles", period="all", q="sanct")
    text = _all_text(at)
    assert "**1** matching article " in text and "India imposes sanctions on Pakistan" in text
    assert "China launches drills" not in text


def test_sources_page_shows_health_and_forms(monkeypatch, env, bound):
    bound("127.0.0.1")  # loopback, no sign-in configured: the editor is there
    at = run_page(monkeypatch, env, "sources")
    assert at.title[0].value == "Sources"
    assert len(at.dataframe) >= 1
    assert any("Wire" in str(df.value.to_dict()) for df in at.dataframe)
    buttons = {b.label for b in at.button}
    assert {"Test now", "Add feed", "Save changes", "Disable", "Remove for good"} <= buttons
    assert "URL" in {t.label for t in at.text_input}


def test_downloads_page_offers_each_table(monkeypatch, env):
    at = run_page(monkeypatch, env, "downloads", period="all")
    assert at.title[0].value == "Downloads"
    text = _all_text(at)
    for table in ("articles", "signals", "index"):
        assert table in text.lower()
