"""pipeline.store.reads on both backends: filters, full-text search (FTS5 on SQLite, GIN
``to_tsvector`` on PostgreSQL), signals, versions."""

from __future__ import annotations

from datetime import timedelta

import pytest

from pipeline.store import Store
from pipeline.store import reads
from tests.storedata import NOW, build_store


@pytest.fixture(scope="module")
def store(module_db_url):
    url = module_db_url
    build_store(url)
    s = Store.open(url, readonly=True)
    yield s
    s.close()


def titles(rows):
    return [r["title"] for r in rows]


def test_newest_first_with_signals_attached(store):
    rows = reads.search_articles(store)
    assert len(rows) == 6
    assert [r["published_at"] for r in rows] == sorted((r["published_at"] for r in rows), reverse=True)
    first = rows[0]
    assert first["title"].startswith("Russia threatens") and first["source"] == "Wire"
    sigs = {s["signal"] for s in first["signals"]}
    assert "threat_of_force" in sigs
    s = next(s for s in first["signals"] if s["signal"] == "threat_of_force")
    from pipeline.score import article_text

    text = article_text(first["title"], first["summary"])
    assert text[s["span_start"] : s["span_end"]] == s["evidence"]


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        (dict(theatre="CHN-TWN"), ["China launches drills near Taiwan"]),
        (dict(source="Gazette", min_score=1), ["=HYPERLINK(\"http://evil\") Iran warns Israel of retaliation", "India imposes sanctions on Pakistan"]),
        (dict(signal="ceasefire_truce"), ["Russia and Ukraine agree ceasefire after talks"]),
        (dict(since=NOW - timedelta(hours=3)), ["Russia threatens to strike Ukraine with missiles", "=HYPERLINK(\"http://evil\") Iran warns Israel of retaliation"]),
        (dict(until=NOW - timedelta(hours=100)), ["Weather report for the weekend"]),
        # the drills near Taiwan score since taxonomy 2026.12.1 (the old rules missed "drills near Taiwan")
        (dict(max_score=0), ["Russia and Ukraine agree ceasefire after talks", "Weather report for the weekend"]),
        (dict(text="sanct"), ["India imposes sanctions on Pakistan"]),  # prefix on the last word
        (dict(text="exercises dawn"), ["China launches drills near Taiwan"]),  # summary words, all required
        (dict(text='"Geneva" OR: NEAR( *'), []),  # FTS syntax in user text is inert, not an error
        (dict(text="geneva"), ["Russia and Ukraine agree ceasefire after talks"]),
    ],
)
def test_filters(store, filters, expected):
    assert titles(reads.search_articles(store, **filters)) == expected
    assert reads.count_articles(store, **filters) == len(expected)


def test_modality_and_signal_match_the_same_signal(store):
    rows = reads.search_articles(store, signal="threat_of_force", modality="threat")
    assert "Russia threatens to strike Ukraine with missiles" in titles(rows)
    assert reads.search_articles(store, signal="ceasefire_truce", modality="threat") == []


def test_limit_offset(store):
    all_rows = titles(reads.search_articles(store, limit=None))
    assert titles(reads.search_articles(store, limit=2, offset=1)) == all_rows[1:3]


def test_signals_table_keeps_only_matching_signal_rows(store):
    rows = reads.signals_table(store, signal="threat_of_force")
    assert rows and {r["signal"] for r in rows} == {"threat_of_force"}
    assert {"feed", "evidence", "sentence", "span_start", "article_score"} <= set(rows[0])
    everything = reads.signals_table(store)
    assert len(everything) > len(rows)
    with pytest.raises(TypeError, match="unknown filter"):
        reads.signals_table(store, colour="red")


def test_sources_counts_and_version(store):
    assert reads.article_sources(store) == ["Gazette", "Wire"]
    counts = reads.feed_item_counts(store, since=NOW - timedelta(days=7))
    assert sum(counts.values()) == 6
    v = reads.data_version(store)
    assert v[0] >= 6 and v[1] >= 2


def test_fts_index_follows_updates_and_deletes(db_url):
    import sqlalchemy as sa

    url = db_url
    build_store(url)
    with Store.open(url) as s:
        with s.engine.begin() as conn:
            conn.execute(sa.text("UPDATE articles SET title = 'Zanzibar summit' WHERE title LIKE 'Weather%'"))
            conn.execute(sa.text("DELETE FROM articles WHERE title LIKE 'India%'"))
        assert titles(reads.search_articles(s, text="zanzibar")) == ["Zanzibar summit"]
        assert reads.search_articles(s, text="weather") == []
        assert reads.search_articles(s, text="sanctions") == []


def test_fts_query_quotes_every_word():
    assert reads.fts_query('a"b OR c*') == '"a" "b" "OR" "c"*'
    assert reads.fts_query("  ") is None


#: who threatens whom: a story carried twice, a denial (weight 0) and two acts
ACTORS = [
    ("Wire", 1, "Russia threatens to strike Ukraine with missiles", ""),
    ("Gazette", 1.5, "Russia threatens to strike Ukraine with missiles", ""),
    ("Wire", 3, "Russia denies plans to invade Ukraine", ""),
    ("Wire", 4, "Russian forces shell Ukrainian positions in Kharkiv", ""),
    ("Gazette", 5, "China launches drills near Taiwan", ""),
]


@pytest.fixture
def actor_store(db_url):
    build_store(db_url, ACTORS, tags={"Wire": ("wire",), "Gazette": ("state-media", "wire-ish")})
    s = Store.open(db_url, readonly=True)
    yield s
    s.close()


def test_actor_pairs_count_a_story_once_and_skip_weight_zero(actor_store):
    pairs = {(p["source"], p["target"], p["kind"]): p for p in reads.actor_pairs(actor_store)}
    assert set(pairs) == {("RUS", "UKR", "act"), ("RUS", "UKR", "threat"), ("CHN", "TWN", "act")}
    threat = pairs[("RUS", "UKR", "threat")]
    # two copies of one story: one story's weight, both articles listed; the denial adds nothing
    assert (threat["stories"], threat["articles"]) == (1, 2)
    assert threat["weight"] == pytest.approx(max(s["weight"] for r in reads.search_articles(actor_store, pair="RUS>UKR", kind="threat") for s in r["signals"]))
    w = reads.actor_weights(list(pairs.values()))
    assert w["RUS"] == w["UKR"] == pytest.approx(pairs[("RUS", "UKR", "act")]["weight"] + threat["weight"])
    assert w["CHN"] == w["TWN"] == pytest.approx(pairs[("CHN", "TWN", "act")]["weight"])
    assert reads.actor_pairs(actor_store, theatre="CHN-TWN")[0]["source"] == "CHN"


def test_actor_pair_kind_and_tag_filters(actor_store):
    by_actor = titles(reads.search_articles(actor_store, actor="UKR"))
    assert "Russia denies plans to invade Ukraine" not in by_actor  # weight 0 does not count
    assert len(by_actor) == 3 and reads.count_articles(actor_store, actor="UKR") == 3
    assert len(reads.search_articles(actor_store, pair="RUS>UKR", kind="threat")) == 2
    assert titles(reads.search_articles(actor_store, pair="RUS>UKR", kind="act")) == ["Russian forces shell Ukrainian positions in Kharkiv"]
    assert reads.search_articles(actor_store, pair="UKR>RUS") == []
    assert titles(reads.search_articles(actor_store, actor="TWN")) == ["China launches drills near Taiwan"]
    # tags: whole tags only ("wire" is not "wire-ish"), and on every row
    wire = reads.search_articles(actor_store, tag="wire")
    assert {r["source"] for r in wire} == {"Wire"} and all(r["tags"] == ["wire"] for r in wire)
    assert {r["source"] for r in reads.search_articles(actor_store, tag="state-media")} == {"Gazette"}
    assert reads.count_articles(actor_store, tag="think-tank") == 0
    assert {r["feed"] for r in reads.signals_table(actor_store, actor="RUS")} == {"Wire", "Gazette"}


# -- evidence sliced out of the article's text (issue 17) ------------------------------------

#: several signals each, Cyrillic, a title alone, a question title (" " joins it) and
#: white space around both (article_text strips it: offsets must follow)
LEAN_ITEMS = [
    ("Wire", 1, "Russia masses troops near Kharkiv and threatens a new offensive",
     "Russian forces fired missiles at Odesa overnight, killing 12 people. Ukraine's army said it shot down 30 "
     "drones. The Kremlin warned NATO it would retaliate if long-range weapons were used. Moscow deployed more "
     "tanks to Belgorod; Kyiv imposed new sanctions on Russian banks."),
    ("Lenta", 2, "Россия пригрозила ударом по Киеву",
     "Российские войска обстреляли Харьков ракетами. Кремль пригрозил ответным ударом, если НАТО поставит ракеты."),
    ("Wire", 3, "China launches live-fire drills around Taiwan and warns the US", ""),
    ("Wire", 4, "  Will Iran strike Israel?  ",
     "  Tehran threatened to retaliate after an air strike on its consulate; Israel mobilised reservists.  "),
]  # fmt: skip
LEAN_LANGUAGES = {"Lenta": "ru"}


def _expected_evidence() -> dict[str, list[tuple]]:
    """title -> (signal, span_start, span_end, evidence, sentence) per signal, straight from the scorer."""
    from pipeline.score import score_article

    out = {}
    for feed, _, title, summary in LEAN_ITEMS:
        scored = score_article(title, summary, hint=LEAN_LANGUAGES.get(feed, "en"))
        out[title] = sorted((g.signal, g.evidence.start, g.evidence.end, g.evidence.text, g.evidence.sentence)
                            for g in scored.signals)  # fmt: skip
    return out


def _got(signals) -> list[tuple]:
    return sorted((s["signal"], s["span_start"], s["span_end"], s["evidence"], s["sentence"]) for s in signals)


def test_dashboard_and_exports_read_the_scorers_evidence(db_url):
    """What every reader of signals gets (the Articles page, the signals table and its export,
    a point's and "driving now"'s stories, the brief; an alert's: test_alerts) is the
    scorer's own Evidence.text and .sentence, though the store keeps only offsets."""
    from pipeline import brief, export, trend

    expected = _expected_evidence()
    assert all(len(v) >= 1 for v in expected.values()) and sum(len(v) >= 3 for v in expected.values()) >= 2
    build_store(db_url, items=LEAN_ITEMS, languages=LEAN_LANGUAGES)
    with Store.open(db_url) as store:
        rows = reads.search_articles(store, limit=None)
        assert {r["title"]: _got(r["signals"]) for r in rows} == expected
        assert all(list(s) == list(reads._SIGNAL_COLUMNS) for r in rows for s in r["signals"])

        table = reads.signals_table(store)
        assert list(table[0]) == ["article_id", "published_at", "feed", "language", "title", "url", "article_score",
                                  "signal", "direction", "kind", "modality", "source", "target", "theatre", "weight",
                                  "evidence", "sentence", "span_start", "span_end"]  # fmt: skip
        by_title: dict[str, list] = {}
        for r in table:
            by_title.setdefault(r["title"], []).append(r)
        assert {t: _got(rs) for t, rs in by_title.items()} == expected

        df = export.export_frame(store, "signals")
        assert {t: _got(g.to_dict("records")) for t, g in df.groupby("title")} == expected

        theatres = sorted({r["theatre"] for r in rows})
        stories = [s for t in theatres for s in trend.explain_point(store, theatre=t, bucket_start=NOW - timedelta(hours=1))]
        stories += trend.driving_now(store, now=NOW, limit=50)
        assert {s["title"] for s in stories} == set(expected)
        for s in stories:
            assert _got(s["signals"]) == expected[s["title"]]

        b = brief.build(store, now=NOW)
        briefed = [s for t in b.theatres for s in t.stories]
        assert briefed and all(_got(s["signals"]) == expected[s["title"]] for s in briefed)
