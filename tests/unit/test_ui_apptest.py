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
    # both the add and the edit form take a feed's own User-Agent
    assert [t.label for t in at.text_input].count("User-Agent (optional)") == 2


def test_downloads_page_offers_each_table(monkeypatch, env):
    at = run_page(monkeypatch, env, "downloads", period="all")
    assert at.title[0].value == "Downloads"
    text = _all_text(at)
    for table in ("articles", "signals", "index"):
        assert table in text.lower()


# -- analyst views (issue 16) ---------------------------------------------------------

#: one story carried by two outlets (same words, two links), one by one
FRESH = [
    ("Wire", 1, "Russia threatens to strike Ukraine with missiles", "Officials said troops were massing at the border."),
    ("Gazette", 1.5, "Russia threatens to strike Ukraine with missiles", "Officials said troops were massing at the border."),
    ("Wire", 5, "China launches drills near Taiwan", "The exercises began at dawn, the ministry said."),
    ("Gazette", 30, "India imposes sanctions on Pakistan", "New sanctions target banks."),
    ("Wire", 3, "Weather report for the weekend", "Sunny with light winds."),
]


@pytest.fixture(scope="module")
def fresh_env(tmp_path_factory):
    """A store whose articles are hours old by the wall clock: the dashboard's "now" is real."""
    from datetime import datetime, timezone

    tmp = tmp_path_factory.mktemp("fresh")
    url = f"sqlite:///{tmp}/ew.db"
    build_store(url, FRESH, now=datetime.now(timezone.utc))
    cfg = tmp / "feeds.yaml"
    cfg.write_text("feeds:\n  - name: Wire\n    url: http://feeds.example/wire.xml\n")
    return {"ESCALATION_WATCH_DB": url, "ESCALATION_WATCH_CONFIG": str(cfg)}


def _driving_text(at) -> str:
    texts = [m.value for m in at.markdown] + [c.value for c in at.caption] + [i.value for i in at.info]
    return " ".join(texts)


def test_driving_now_lists_a_syndicated_story_once_with_its_evidence(monkeypatch, fresh_env):
    at = run_page(monkeypatch, fresh_env, "overview")
    assert "Driving now" in [h.value for h in at.subheader]
    cards = [m.value for m in at.markdown if "outlet" in m.value]
    missiles = [c for c in cards if "Russia threatens to strike Ukraine" in c]
    assert len(missiles) == 1, cards  # two copies, one story
    assert "2 outlets" in missiles[0]
    taiwan = [c for c in cards if "China launches drills" in c]
    assert taiwan and "1 outlet" in taiwan[0]
    # the strongest signal, its modality badge and the highlighted span
    evidence = [m.value for m in at.markdown if ":orange-background[" in m.value]
    assert len(evidence) == 2, evidence
    assert any(":red-badge[reported action]" in e and "Officials said :orange-background[troops" in e for e in evidence)
    assert any("China launches :orange-background[drills near Taiwan]" in e for e in evidence)
    assert "Since yesterday" in _driving_text(at)


def test_driving_now_on_a_stale_store_says_how_old_it_is(monkeypatch, env):
    at = run_page(monkeypatch, env, "overview", period="all")
    text = _driving_text(at)
    assert "No story in the last 24 hours: the newest stored article is from 10 Jun 2024" in text


def test_driving_now_without_a_story_today_says_so(monkeypatch, tmp_path):
    from datetime import datetime, timezone

    url = f"sqlite:///{tmp_path}/calm.db"
    build_store(url, [("Wire", 2, "Weather report for the weekend", "Sunny with light winds.")], now=datetime.now(timezone.utc))
    at = run_page(monkeypatch, {"ESCALATION_WATCH_DB": url, "ESCALATION_WATCH_CONFIG": str(tmp_path / "f.yaml")}, "overview")
    assert "No story with an escalation signal in the last 24 hours in all theatres" in _driving_text(at)


def test_history_outside_the_period_is_one_click_away(monkeypatch, env):
    """The fixture store ends on 10 Jun 2024; the default period (last 30 days) misses it."""
    import datetime as dt

    at = run_page(monkeypatch, env, "overview")
    warn = " ".join(w.value for w in at.warning)
    assert "Stored articles run from 2 Jun 2024 to 10 Jun 2024" in warn
    jump = [b for b in at.button if b.label.startswith("Show 2 Jun 2024")]
    assert len(jump) == 1
    jump[0].click().run()
    assert not at.exception
    f = at.session_state["filters"]
    assert (f.period, f.start, f.end) == ("custom", dt.date(2024, 6, 2), dt.date(2024, 6, 10))
    assert not any("Stored articles run from" in w.value for w in at.warning)
    assert any("articles stored" in c.value for c in at.caption)


def test_history_notice_on_articles_too(monkeypatch, env):
    at = run_page(monkeypatch, env, "articles")
    assert "Stored articles run from 2 Jun 2024 to 10 Jun 2024" in " ".join(w.value for w in at.warning)
    at = run_page(monkeypatch, env, "articles", period="all")
    assert not any("Stored articles run from" in w.value for w in at.warning)


def test_period_outside_the_span():
    from datetime import datetime, timezone

    from pipeline.ui.period import outside

    d = lambda *a: datetime(*a, tzinfo=timezone.utc)  # noqa: E731
    first, last = d(2021, 11, 16), d(2022, 3, 13)
    assert outside(d(2026, 1, 1), None, first, last)
    assert outside(None, d(2021, 1, 1), first, last)
    assert not outside(d(2022, 1, 1), None, first, last)
    assert not outside(None, None, first, last)
    assert not outside(d(2026, 1, 1), None, None, None)  # an empty store keeps its own guidance


def test_map_page_with_data_shows_map_matrix_and_heaviest_actors(monkeypatch, fresh_env):
    at = run_page(monkeypatch, fresh_env, "actors")
    assert at.title[0].value == "Map"
    charts = [c for c in at.get("plotly_chart")]
    assert len(charts) == 2  # the map and the matrix
    labels = [b.label for b in at.button]
    # the missile threat, carried by two outlets, weighs once on Russia and on Ukraine
    assert {"Russia · 4.0", "Ukraine · 4.0", "India · 4.0", "Taiwan · 3.0"} <= set(labels)
    assert "Who threatens whom" in [h.value for h in at.subheader]
    assert {"RUS → UKR · threats · weight 4.0", "CHN → TWN · acts · weight 3.0"} <= set(at.selectbox(key="w_pair_pick").options)
    # a heaviest-actor button sets the Articles filter (in a one-page app it cannot switch pages)
    next(b for b in at.button if b.label.startswith("Taiwan")).click().run()
    assert at.session_state["filters"].actor == "TWN"


def test_map_page_empty_and_stale(monkeypatch, env, tmp_path):
    at = run_page(monkeypatch, env, "actors")  # the fixture store is from 2024: the last 30 days are empty
    assert "Stored articles run from 2 Jun 2024 to 10 Jun 2024" in " ".join(w.value for w in at.warning)
    assert not at.get("plotly_chart")
    from datetime import datetime, timezone

    url = f"sqlite:///{tmp_path}/calm.db"
    build_store(url, [("Wire", 2, "Weather report for the weekend", "Sunny with light winds.")], now=datetime.now(timezone.utc))
    at = run_page(monkeypatch, {"ESCALATION_WATCH_DB": url, "ESCALATION_WATCH_CONFIG": str(tmp_path / "f.yaml")}, "actors")
    assert "No counted escalation signal in this period" in " ".join(i.value for i in at.info)


def test_articles_from_the_map_show_the_filter_badges_and_labels(monkeypatch, tmp_path):
    from datetime import datetime, timezone

    url = f"sqlite:///{tmp_path}/tags.db"
    build_store(url, FRESH, now=datetime.now(timezone.utc), tags={"Gazette": ("state-media",), "Wire": ("wire",)})
    env = {"ESCALATION_WATCH_DB": url, "ESCALATION_WATCH_CONFIG": str(tmp_path / "f.yaml")}
    at = run_page(monkeypatch, env, "articles", actor="TWN")
    text = _all_text(at)
    assert "**1** matching article " in text and "China launches drills near Taiwan" in text
    assert "naming **TWN**" in text and ":blue-badge[wire]" in text
    at.button(key="actor_clear").click().run()
    assert at.session_state["filters"].actor is None and "**5** matching articles" in _all_text(at)
    at = run_page(monkeypatch, env, "articles", tag="state-media")
    assert at.selectbox(key="w_tag").value == "state-media"
    assert "**2** matching articles" in _all_text(at) and ":blue-badge[wire]" not in _all_text(at)


# -- languages (issue 14) ---------------------------------------------------------------

#: days of Russian and English coverage of RUS-UKR, a French story the scorer cannot read
LANGUAGE_ITEMS = [
    ("ТАСС", 2 + 24 * d, f"Российские войска обстреляли Харьков, сводка {d}", f"Повреждены {d + 2} домов.")
    for d in range(10)
] + [
    ("Wire", 3 + 24 * d, f"Russian troops shell Kharkiv, report {d}", f"{d + 3} homes were damaged.") for d in range(10)
] + [
    (feed, 5 + 24 * d + k, f"{feed} culture note {d}-{k}: a bakery wins a prize", "Judges tasted the bread.")
    for d in range(10) for k in range(4) for feed in ("Wire",)
] + [
    ("ТАСС", 6 + 24 * d + k, f"«Спартак» обыграл «Зенит» в туре {d}-{k}", "Болельщики довольны.")
    for d in range(10) for k in range(4)
] + [("Le Fil", 4, "La Russie menace l'Ukraine de frappes", "Le Kremlin a prévenu Kiev.")]


@pytest.fixture(scope="module")
def lang_env(tmp_path_factory):
    from datetime import datetime, timezone

    tmp = tmp_path_factory.mktemp("langs")
    url = f"sqlite:///{tmp}/ew.db"
    build_store(url, LANGUAGE_ITEMS, now=datetime.now(timezone.utc), tags={"ТАСС": ("wire", "state-media")},
                languages={"ТАСС": "ru", "Le Fil": "fr"})  # fmt: skip
    return {"ESCALATION_WATCH_DB": url, "ESCALATION_WATCH_CONFIG": str(tmp / "f.yaml")}


def test_articles_show_language_and_state_media_labels_and_filter_by_them(monkeypatch, lang_env):
    at = run_page(monkeypatch, lang_env, "articles", period="all", lang="ru")
    text = _all_text(at)
    assert at.selectbox(key="w_language").value == "ru"
    assert "**50** matching articles" in text
    assert ":red-badge[:material/campaign: state media]" in text and ":violet-badge[:material/translate: Russian]" in text
    # the evidence in the original, the span highlighted, the category in English
    assert ":orange-background[обстреляли]" in text and "**Strike, shelling, attack**" in text
    at = run_page(monkeypatch, lang_env, "articles", period="all", lang="unscored")
    text = _all_text(at)
    assert "**1** matching article " in text and "French, not scored" in text
    assert "Not scored: the scorer does not read French" in text
    at = run_page(monkeypatch, lang_env, "articles", period="all", state="hide")
    text = _all_text(at)
    assert at.selectbox(key="w_state_media").value == "hide"
    assert "**51** matching articles" in text and "state media]" not in text and "Спартак" not in text


def test_the_trend_splits_by_language(monkeypatch, lang_env):
    at = run_page(monkeypatch, lang_env, "overview", period="30d", theatre="RUS-UKR")
    assert not at.exception, at.exception
    at.toggle(key="w_trend_languages").set_value(True).run()
    assert not at.exception, at.exception
    assert any("each line is that coverage's share" in c.value for c in at.caption)
    at = run_page(monkeypatch, lang_env, "overview", period="30d")
    at.toggle(key="w_trend_languages").set_value(True).run()
    assert "Pick a theatre above" in " ".join(i.value for i in at.info)


def test_language_figure_draws_one_line_per_language():
    import pandas as pd

    from pipeline.ui.overview import language_figure

    df = pd.DataFrame({"bucket_start": pd.to_datetime(["2024-06-01", "2024-06-02"] * 2, utc=True),
                       "language": ["ru", "ru", "uk", "uk"], "index": [120.0, 80.0, 95.0, 110.0],
                       "articles": [10, 12, 7, 9]})  # fmt: skip
    fig = language_figure(df, "RUS-UKR", {"RUS-UKR": "Russia–Ukraine"}, "day")
    assert [t.name for t in fig.data] == ["Russian-language coverage", "Ukrainian-language coverage"]
    assert list(fig.data[1].y) == [95.0, 110.0]


# -- the index base (issue 11: a fixed base keeps a long crisis visible) -----------------

#: ten calm days (one strike story in five), then ten days of crisis (four in five), RUS-UKR
CRISIS_ITEMS = [
    ("Wire", 2 + 24 * d + k,
     f"Russian troops shell Kharkiv, report {d}-{k}" if k < (1 if d >= 10 else 4) else f"Bakery wins a prize {d}-{k}",
     "Ukrainian officials said homes were damaged." if k < (1 if d >= 10 else 4) else "Judges tasted the bread.")
    for d in range(20) for k in range(5)
]


@pytest.fixture(scope="module")
def crisis_env(tmp_path_factory):
    from datetime import datetime, timezone

    tmp = tmp_path_factory.mktemp("crisis")
    url = f"sqlite:///{tmp}/ew.db"
    build_store(url, CRISIS_ITEMS, now=datetime.now(timezone.utc))
    return {"ESCALATION_WATCH_DB": url, "ESCALATION_WATCH_CONFIG": str(tmp / "f.yaml")}


def _trend_index(at) -> list[float]:
    """The smoothed index line of the one-theatre trend chart (plotly ships arrays as
    base64 typed buffers)."""
    import base64
    import json

    import numpy as np

    spec = next(c for c in at.get("plotly_chart") if c.proto.id.endswith("trend_chart")).proto.spec
    (y,) = [tr["y"] for tr in json.loads(spec)["data"] if tr.get("name") == "Index (smoothed)"]
    if isinstance(y, dict):
        y = np.frombuffer(base64.b64decode(y["bdata"]), dtype=y["dtype"]).tolist()
    ys = [v for v in y if v is not None and v == v]
    assert ys, "no index in the trend chart"
    return ys


def test_a_fixed_base_period_comes_from_the_url_and_keeps_a_long_crisis_high(monkeypatch, crisis_env):
    from datetime import date, datetime, timedelta, timezone

    today = datetime.now(timezone.utc).date()
    calm = (today - timedelta(days=19), today - timedelta(days=11))
    trailing = run(monkeypatch, crisis_env, "overview", period="30d", theatre="RUS-UKR")
    assert not trailing.exception, trailing.exception
    assert trailing.session_state["filters"].base_period() is None
    assert trailing.session_state["w_baseline"] == "trailing"
    fixed = run(monkeypatch, crisis_env, "overview", period="30d", theatre="RUS-UKR",
                base_from=calm[0].isoformat(), base_to=calm[1].isoformat())  # fmt: skip
    assert not fixed.exception, fixed.exception
    f = fixed.session_state["filters"]
    assert (f.base_start, f.base_end) == calm
    assert fixed.session_state["w_baseline"] == "fixed"
    assert fixed.date_input(key="w_base_dates").value == calm
    assert f"Index base: {calm[0]} to {calm[1]}" in " ".join(c.value for c in fixed.caption).replace("\\", "")
    # against the calm base the crisis days stay about four times the calm share; the
    # trailing base lets the crisis become its own baseline, so its last day is lower
    t, x = _trend_index(trailing), _trend_index(fixed)
    assert x[-1] > 300 and x[-1] > 1.5 * t[-1], (t, x)
    # back to the trailing base: the URL forgets the period
    fixed.segmented_control(key="w_baseline").set_value("trailing").run()
    assert not fixed.exception, fixed.exception
    assert fixed.session_state["filters"].base_period() is None
    assert "base_from" not in fixed.query_params


def test_a_base_period_with_no_data_says_so_and_a_bad_link_falls_back(monkeypatch, crisis_env):
    at = run(monkeypatch, crisis_env, "overview", period="30d", base_from="2020-01-01", base_to="2020-02-01")
    assert not at.exception, at.exception
    assert "No risk index against this base period" in " ".join(i.value for i in at.info)
    at = run(monkeypatch, crisis_env, "overview", period="30d", base_from="2024-06-09", base_to="2024-06-01")
    assert not at.exception and at.session_state["filters"].base_period() is None
