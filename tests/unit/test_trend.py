"""The risk index: article intensity, story clustering, the index arithmetic, and the
incremental aggregates against a full rebuild, on a real store (SQLite and PostgreSQL)."""

from __future__ import annotations

import csv
import random
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from pipeline import trend
from pipeline.history import import_csv
from pipeline.score import score_article
from pipeline.store import Store
from pipeline.trend import compute_series, contribution

DAY0 = datetime(2022, 1, 1, tzinfo=timezone.utc)
NOW = datetime(2026, 1, 1, tzinfo=timezone.utc)

ESCALATION = [
    "Russia masses troops near Ukraine border as tensions mount",
    "Russian forces shell Ukrainian positions in Donbas overnight",
    "Moscow threatens military response if NATO expands to Ukraine",
    "Russian tanks move toward Ukraine's northern border",
    "Kremlin warns Kyiv of consequences after drone strike",
]
CALM = [
    "Local council approves new cycling lanes",
    "Stock markets close higher on tech earnings",
    "Film festival opens with record attendance",
    "New species of frog discovered in rainforest",
    "Football club signs young striker",
]


def write_csv(path: Path, rows: list[dict]) -> Path:
    with path.open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=["published_utc", "source", "title", "url", "summary"])
        w.writeheader()
        w.writerows(rows)
    return path


def row(day: int, source: str, title: str, i: int, hour: int = 12) -> dict:
    when = DAY0 + timedelta(days=day, hours=hour, minutes=i % 60)
    return dict(published_utc=when.isoformat().replace("+00:00", "Z"), source=source, title=title,
                url=f"https://{source}.example/{day}/{i}", summary="")  # fmt: skip


@pytest.fixture
def store(db_url):
    s = Store.open(db_url)
    yield s
    s.close()


# -- pure parts ------------------------------------------------------------------


def test_contribution_splits_threats_and_acts_and_ignores_negated():
    c = contribution([("troop_buildup", "escalation", "act", 5.0), ("sanctions_threat", "escalation", "threat", 1.75),
                      ("invasion_offensive", "escalation", "act", 0.0)], score_scale=10.0)  # fmt: skip
    assert c.intensity == pytest.approx(1 - 2.718281828 ** (-0.675), rel=1e-6)
    assert c.threats + c.acts == pytest.approx(c.intensity)
    assert c.threats == pytest.approx(c.intensity * 1.75 / 6.75)
    assert "invasion_offensive" not in c.categories
    d = contribution([("talks", "de-escalation", "act", -2.0)], score_scale=10.0)
    assert d.intensity == 0 and d.deescalation > 0 and d.carries_signal


def test_intensity_saturates():
    many = contribution([("strike", "escalation", "act", 5.0)] * 20, score_scale=10.0)
    assert many.intensity < 1.0


def test_simhash_near_duplicates_share_a_band():
    a = trend.simhash("Russia masses troops near Ukraine border as tensions mount, officials say")
    b = trend.simhash("Russia masses troops near Ukraine border as tensions mount, officials said")
    c = trend.simhash("Film festival opens with record attendance in Venice this weekend")
    assert trend.hamming(a, b) < trend.hamming(a, c)
    for h1 in range(0, 2**64, 2**60):
        for flips in ([0], [1, 17], [3, 20, 40]):
            h2 = h1
            for bit in flips:
                h2 ^= 1 << bit
            assert set(trend.band_keys(h1)) & set(trend.band_keys(h2))
    assert trend.to_unsigned64(trend.to_signed64(2**64 - 1)) == 2**64 - 1


def _rows(days: list[tuple[float, float, int]]):
    """(escalation sum, threats sum, volume) per day -> rows + volume dict."""
    rows, volume = [], {}
    for i, (esc, thr, vol) in enumerate(days):
        b = DAY0 + timedelta(days=i)
        volume[b] = vol
        rows.append(dict(bucket_start=b, articles=0, stories=1, escalation=esc, threats=thr, acts=esc - thr,
                         deescalation=0.0))  # fmt: skip
    return rows, volume


def test_index_is_a_share_so_more_feeds_add_no_risk():
    base, vol = _rows([(1.0, 0.5, 100)] * 10)
    doubled, vol2 = _rows([(2.0, 1.0, 200)] * 10)
    a = compute_series("T", "day", base, vol)
    b = compute_series("T", "day", doubled, vol2)
    assert [p.index for p in a] == [p.index for p in b] == [100.0] * 10
    assert all(p.threats == 50.0 and p.acts == 50.0 for p in a)


def test_index_rises_with_the_share_and_z_score_flags_it():
    rows, vol = _rows([(1.0 + 0.05 * (i % 3), 0.5, 100) for i in range(20)] + [(4.0, 3.0, 100)])
    pts = compute_series("T", "day", rows, vol)
    assert pts[-1].index > 300
    assert pts[-1].zscore > 3
    assert pts[-1].threats == pytest.approx(pts[-1].index * 0.75, abs=0.02)
    assert pts[-1].index_ewma < pts[-1].index  # smoothing lags the jump


def test_data_gap_is_none_not_calm():
    rows, vol = _rows([(1.0, 0.5, 100), (1.0, 0.5, 100), (0.0, 0.0, 2), (1.0, 0.5, 100)])
    pts = compute_series("T", "day", rows, vol)
    assert pts[2].index is None and pts[2].articles == 2
    assert pts[3].index == 100.0


def test_calm_day_with_volume_is_zero():
    rows, vol = _rows([(1.0, 0.5, 100), (1.0, 0.5, 100)])
    vol[DAY0 + timedelta(days=2)] = 100  # news, but nothing for this theatre
    pts = compute_series("T", "day", rows, vol)
    assert pts[2].index == 0.0 and pts[2].stories == 0


# -- the store's incremental aggregates ----------------------------------------------


def _build_history(tmp_path: Path, n_days: int = 20, seed: int = 1) -> Path:
    rng = random.Random(seed)
    rows = []
    i = 0
    for day in range(n_days):
        for src in ("wire", "paper", "tv"):
            for _ in range(rng.randint(3, 6)):
                rows.append(row(day, src, rng.choice(CALM) + f" ({day}-{i})", i))
                i += 1
            if day >= n_days - 3 or rng.random() < 0.3:
                rows.append(row(day, src, rng.choice(ESCALATION) + f" day {day} {src}", i))
                i += 1
    return write_csv(tmp_path / "history.csv", rows)


def _aggregates(store: Store):
    import sqlalchemy as sa

    with store.engine.connect() as con:
        return {
            t: sorted(tuple(r) for r in con.execute(sa.text(f"SELECT * FROM {t}")))
            for t in ("trend_buckets", "category_buckets", "feed_buckets")
        }, tuple(con.execute(sa.text("SELECT count(*), sum(size) FROM stories")).one())


def test_incremental_aggregates_equal_a_full_rebuild(tmp_path, db_url):
    with Store.open(db_url) as store:
        report = import_csv(store, _build_history(tmp_path), now=NOW, batch=37)  # many small transactions
        assert report.imported > 200
        incremental = _aggregates(store)
        assert store.rebuild_aggregates() == report.imported
        rebuilt = _aggregates(store)
    assert incremental[1] == rebuilt[1]
    for table in incremental[0]:
        a, b = incremental[0][table], rebuilt[0][table]
        assert len(a) == len(b), table
        for ra, rb in zip(a, b):
            assert all(x == pytest.approx(y) if isinstance(x, float) else x == y for x, y in zip(ra, rb)), table


def test_syndicated_story_counts_once(tmp_path, store):
    title = "Russian forces shell Ukrainian positions in Donbas overnight, officials say"
    rows = [row(0, f"outlet{i}", title, i) for i in range(40)]
    rows += [row(0, "calm", CALM[i % 5] + f" {i}", 100 + i) for i in range(60)]
    import_csv(store, write_csv(tmp_path / "s.csv", rows), now=NOW)
    trows = store.trend_rows("day", ["RUS-UKR", trend.ALL])
    assert trows[trend.ALL][0]["articles"] == 100
    assert trows["RUS-UKR"][0]["articles"] == 40
    assert trows["RUS-UKR"][0]["stories"] == 1
    scored = score_article(title, "")
    one = contribution([(s.signal, s.direction, s.kind, s.weight) for s in scored.signals])
    assert one.intensity > 0
    # forty copies add exactly what one copy adds
    assert trows["RUS-UKR"][0]["escalation"] == pytest.approx(one.intensity)
    expl = trend.explain_point(store, theatre="RUS-UKR", bucket_start=DAY0)
    assert len(expl) == 1 and expl[0]["cluster_size"] == 40
    assert expl[0]["signals"] and all(s["evidence"] for s in expl[0]["signals"])


def test_index_series_and_explain_through_the_store(tmp_path, store):
    import_csv(store, _build_history(tmp_path), now=NOW)
    pts = trend.index_series(store, theatre="RUS-UKR")
    assert len(pts) == 20 and all(p.articles > 0 for p in pts)
    # the last three days carry escalation from every outlet: above the baseline
    assert all(p.index > 100 for p in pts[-3:])
    hourly = trend.index_series(store, theatre="RUS-UKR", granularity="hour", since=DAY0 + timedelta(days=18))
    assert hourly and all(p.granularity == "hour" for p in hourly)
    top = trend.explain_point(store, theatre="RUS-UKR", bucket_start=pts[-1].bucket_start)
    assert top and top == sorted(top, key=lambda r: -r["score"])
    assert all(r["published_at"].date() == pts[-1].bucket_start.date() for r in top)
    # at the end of the last day, the trailing 24 hours are exactly that day
    end = pts[-1].bucket_start + timedelta(hours=23)
    k = {r["theatre"]: r for r in trend.kpis(store, now=end)}
    assert k["RUS-UKR"]["index"] == pytest.approx(pts[-1].index, abs=0.02)
    assert k["RUS-UKR"]["change_24h"] == pytest.approx(pts[-1].index - pts[-2].index, abs=0.05)
    assert k["RUS-UKR"]["articles_24h"] == pts[-1].articles
    # half-way through a day the window spans two calendar days
    mid = {r["theatre"]: r for r in trend.kpis(store, now=pts[-1].bucket_start + timedelta(hours=11))}
    assert mid["RUS-UKR"]["articles_24h"] != pts[-1].articles
    cats = trend.category_series(store, theatre="RUS-UKR")
    assert {c["signal"] for c in cats}
    vol = trend.source_volume(store)
    assert {v["source"] for v in vol} == {"wire", "paper", "tv"}


def test_watched_theatres_include_required_dyads():
    ids = [t["id"] for t in trend.watched_theatres()]
    for required in ("RUS-UKR", "RUS-NATO", "CHN-TWN", "ISR-IRN", "IND-PAK", "KOR-PRK", "other"):
        assert required in ids


def _simhash_reference(text: str) -> int:
    """The textbook definition, bit by bit: the vectorised simhash must equal it."""
    import hashlib

    words = trend._WORD.findall(text.lower())
    shingles = [" ".join(words[i : i + 2]) for i in range(max(len(words) - 1, 1))] if words else [""]
    counts = [0] * 64
    for sh in shingles:
        h = int.from_bytes(hashlib.blake2b(sh.encode(), digest_size=8).digest(), "big")
        for bit in range(64):
            counts[bit] += 1 if (h >> bit) & 1 else -1
    return sum(1 << b for b in range(64) if counts[b] > 0)


@pytest.mark.parametrize("text", ["", "a", "Russia masses troops near Ukraine", ESCALATION[1] + " " + CALM[2] * 5,
                                  "Кремль угрожает Киеву 🚀 ثم"])  # fmt: skip
def test_simhash_equals_reference(text):
    assert trend.simhash(text) == _simhash_reference(text)


def test_thin_bucket_relative_to_recent_volume_has_no_index():
    """The day that has just begun (12 articles where 100 is normal) is neither calm nor a spike."""
    rows, vol = _rows([(1.0, 0.5, 100)] * 10 + [(1.0, 0.5, 12)])
    pts = compute_series("T", "day", rows, vol)
    assert pts[-1].index is None and pts[-1].articles == 12
    assert pts[-2].index == 100.0


def test_source_volume_top_folds_the_rest(tmp_path, store):
    rows = [row(d, f"src{i:02d}", CALM[i % 5] + f" {d}-{i}-{k}", d * 1000 + i * 10 + k)
            for d in range(3) for i in range(12) for k in range(12 - i)]  # fmt: skip
    import_csv(store, write_csv(tmp_path / "v.csv", rows), now=NOW)
    full = trend.source_volume(store)
    folded = trend.source_volume(store, top=3)
    assert {r["source"] for r in folded} == {"src00", "src01", "src02", "Other sources"}
    per_day = lambda rs: {d: sum(r["articles"] for r in rs if r["bucket_start"] == d) for d in {r["bucket_start"] for r in rs}}  # noqa: E731
    assert per_day(folded) == per_day(full)
    assert len(folded) == 3 * 4


def test_fast_category_labels_match_the_validated_lexicon():
    from pipeline.signals import category_labels, load_lexicon

    assert category_labels() == {cid: c.label for cid, c in load_lexicon().categories.items()}


def test_story_hashes_from_the_parse_pool_cluster_exactly_as_the_store_would(tmp_path):
    """parse_and_score computes each signalled article's SimHash off the writer; stories and
    index aggregates come out the same as when the store computes them itself."""
    from datetime import timedelta as td

    from pipeline.poller import parse_and_score
    from pipeline.types import FeedSpec, FeedUpdate
    from tests.feedgen import make_rss

    now = datetime(2021, 12, 3, tzinfo=timezone.utc)
    urls = [f"http://f{i}.example/rss" for i in range(3)]
    # three outlets carrying largely the same wire copy: near-duplicates to cluster
    wire = make_rss("wire", 30)
    bodies = [wire.replace(b"news.example/wire/", f"news.example/outlet{i}/".encode()) for i in range(len(urls))]
    outs = [parse_and_score(b, u, {}, now, None) for b, u in zip(bodies, urls, strict=True)]
    for parsed, scores, hashes in outs:
        assert len(hashes) == len(parsed.articles)
        for a, s, h in zip(parsed.articles, scores, hashes, strict=True):
            want = trend.simhash(trend.story_text(a.title, a.summary)) if s.theatre and s.signal_rows else None
            assert h == want
    assert any(h is not None for _, _, hashes in outs for h in hashes)

    def tables(with_hashes: bool, name: str):
        with Store.open(f"sqlite:///{tmp_path}/{name}.db") as st:
            st.sync_feeds([FeedSpec(u, u) for u in urls], now)
            for u, (parsed, scores, hashes) in zip(urls, outs, strict=True):
                up = FeedUpdate(u, now, now, "ok", status=200, articles=parsed.articles, scores=scores,
                                simhashes=hashes if with_hashes else ())  # fmt: skip
                st.record_update(up, next_due_at=now + td(minutes=15), status="ok")
            with st.engine.connect() as conn:
                stories = conn.exec_driver_sql(
                    "SELECT theatre, size, simhash, intensity FROM stories ORDER BY id").fetchall()
                buckets = conn.exec_driver_sql("SELECT * FROM trend_buckets ORDER BY 1, 2, 3").fetchall()
            return stories, buckets

    given, computed = tables(True, "given"), tables(False, "computed")
    assert given == computed
    assert max(size for _, size, _, _ in given[0]) > 1  # the copies did cluster


def _series(days: list[tuple[int, float]]) -> tuple[list[dict], dict]:
    rows, volume = [], {}
    for d, esc in days:
        b = DAY0 + timedelta(days=d)
        volume[b] = 100
        rows.append(dict(bucket_start=b, articles=100, stories=int(esc), escalation=esc, threats=0.0, acts=esc,
                         deescalation=0.0))
    return rows, volume


def test_a_long_crisis_stays_high_against_a_fixed_base_but_fades_against_the_trailing_one():
    # 30 calm days, then 60 days of a crisis at five times the calm share
    rows, volume = _series([(d, 2.0) for d in range(30)] + [(d, 10.0) for d in range(30, 90)])
    trailing = compute_series("RUS-UKR", "day", rows, volume)
    fixed = compute_series("RUS-UKR", "day", rows, volume, base_period=(DAY0, DAY0 + timedelta(days=29)))
    assert fixed[-1].index == pytest.approx(500.0)  # the crisis against the calm base
    assert fixed[10].index == pytest.approx(100.0)
    assert trailing[-1].index < 200  # the crisis has become its own baseline
    # a base period with no data gives no index, never a made-up scale
    none = compute_series("RUS-UKR", "day", rows, volume,
                          base_period=(DAY0 + timedelta(days=400), DAY0 + timedelta(days=430)))
    assert all(p.index is None for p in none)


def test_per_source_index_is_not_moved_by_the_mix_of_sources(tmp_path, store):
    from pipeline.backtest import per_source_series

    # a general source stops on day 10 and a theatre-only source starts; neither changes its own share
    rows = []
    for day in range(20):
        if day < 10:
            rows += [row(day, "general", ESCALATION[i % 5] if i < 2 else CALM[i % 5] + f" {day}-{i}", i)
                     for i in range(10)]
        else:
            rows += [row(day, "ukraine-only", ESCALATION[i % 5] + f" {day}-{i}" if i < 8 else CALM[i % 5] + f" {day}-{i}", i)
                     for i in range(10)]
    import_csv(store, write_csv(tmp_path / "mix.csv", rows), now=NOW)
    s = per_source_series(store, "RUS-UKR").dropna()
    pooled = [p.index for p in trend.index_series(store, theatre="RUS-UKR",
                                                  base_period=(DAY0, DAY0 + timedelta(days=19))) if p.index]
    assert max(pooled) > 2 * min(pooled)  # the pooled share jumps with the mix
    assert s.max() < 1.5 * s.min()  # each source against its own level does not


def test_driving_now_counts_a_syndicated_story_once(tmp_path, store):
    """Forty outlets carrying one story are one row with 40 outlets, not forty rows."""
    title = "Russian forces shell Ukrainian positions in Donbas overnight, officials say"
    rows = [row(0, f"outlet{i}", title, i) for i in range(40)]
    rows.append(row(0, "wire", "Moscow threatens military response if NATO expands to Ukraine", 90))
    rows += [row(0, "calm", CALM[i % 5] + f" {i}", 100 + i) for i in range(60)]
    rows.append(row(-3, "wire", "Russian tanks move toward Ukraine's northern border", 99))  # days before: not now
    import_csv(store, write_csv(tmp_path / "s.csv", rows), now=NOW)
    now = DAY0 + timedelta(hours=20)
    top = trend.driving_now(store, now=now, theatre="RUS-UKR")
    assert len(top) == 2
    shelling = [r for r in top if r["title"] == title]
    assert len(shelling) == 1 and shelling[0]["outlets"] == 40 and shelling[0]["cluster_size"] == 40
    assert top == sorted(top, key=lambda r: -r["intensity"])
    strongest = shelling[0]["strongest"]
    assert strongest["weight"] > 0 and strongest["evidence"] in title
    assert all(r["published_at"] >= now - timedelta(hours=24) for r in top)
    # all watched theatres, and a window without stories
    assert {r["story_id"] for r in trend.driving_now(store, now=now)} >= {r["story_id"] for r in top}
    assert trend.driving_now(store, now=now + timedelta(days=3), theatre="RUS-UKR") == []


def test_strongest_signal_skips_weight_zero():
    sigs = [
        dict(signal="military_strike", direction="escalation", weight=0.0, span_start=0),  # negated
        dict(signal="threat_of_force", direction="escalation", weight=0.4, span_start=5),
        dict(signal="ceasefire", direction="de-escalation", weight=0.9, span_start=9),
    ]
    assert trend.strongest_signal(sigs)["signal"] == "threat_of_force"
    assert trend.strongest_signal(sigs[:1]) is None
    assert trend.strongest_signal([sigs[2]])["signal"] == "ceasefire"


def test_signal_changes_since_yesterday(tmp_path, store):
    rows = [row(0, "wire", "Russian forces shell Ukrainian positions in Donbas overnight", 1, hour=2)]
    rows.append(row(1, "wire", "Moscow threatens military response if NATO expands to Ukraine", 2, hour=2))
    rows += [row(d, "calm", CALM[i % 5] + f" {d} {i}", 10 + i + 100 * d) for d in (0, 1) for i in range(20)]
    import_csv(store, write_csv(tmp_path / "c.csv", rows), now=NOW)
    cats = {r["signal"] for r in trend.category_series(store, theatre="RUS-UKR", granularity="hour")}
    new, stopped = trend.signal_changes(store, now=DAY0 + timedelta(days=1, hours=12), theatre="RUS-UKR")
    assert new and stopped and set(new) | set(stopped) <= cats
    assert not set(new) & set(stopped)
    # two days on, what was seen yesterday has stopped and nothing is new
    new2, stopped2 = trend.signal_changes(store, now=DAY0 + timedelta(days=2, hours=12), theatre="RUS-UKR")
    assert new2 == [] and set(new) <= set(stopped2)
