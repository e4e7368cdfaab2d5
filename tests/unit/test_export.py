"""pipeline.export: the same filtered rows in CSV, Parquet and Excel; formulas neutralised."""

from __future__ import annotations

import io
from datetime import timedelta

import pandas as pd
import pytest

from pipeline.export import export_table, neutralise, write_export
from pipeline.store import Store
from tests.storedata import NOW, build_store

HOSTILE = '=HYPERLINK("http://evil") Iran warns Israel of retaliation'


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    url = f"sqlite:///{tmp_path_factory.mktemp('export')}/ew.db"
    build_store(url, tags={"Gazette": ("state-media", "think-tank")})
    s = Store.open(url, readonly=True)
    yield s
    s.close()


def read(data: bytes, fmt: str) -> pd.DataFrame:
    if fmt == "csv":
        return pd.read_csv(io.BytesIO(data))
    if fmt == "parquet":
        return pd.read_parquet(io.BytesIO(data))
    return pd.read_excel(io.BytesIO(data))


@pytest.mark.parametrize("fmt", ["csv", "parquet", "xlsx"])
def test_articles_honour_filters(store, fmt):
    df = read(export_table(store, "articles", fmt, source="Gazette", min_score=1), fmt)
    assert len(df) == 2
    assert set(df["source"]) == {"Gazette"}
    assert list(df.columns[:8]) == ["id", "published_at", "source", "tags", "language", "theatre", "score", "signals"]
    assert "threat_of_force" in ";".join(df["signals"].fillna(""))
    # the feed's labels travel with each row, and filter like on the Articles page
    assert set(df["tags"]) == {"state-media;think-tank"}
    assert len(read(export_table(store, "articles", fmt, tag="think-tank"), fmt)) == 3
    assert read(export_table(store, "articles", fmt, tag="wire"), fmt).empty


MIXED = [
    ("Wire", 1, "Russia threatens to strike Ukraine with missiles", "Officials said troops were massing."),
    ("ТАСС", 2, "Кремль пригрозил Киеву ответными ударами", "Песков заявил о готовности к ответу."),
    ("ТАСС", 3, "«Спартак» обыграл «Зенит»", "Болельщики довольны."),
    ("Le Fil", 4, "La Russie menace l'Ukraine de frappes", "Le Kremlin a prévenu Kiev."),
]


@pytest.fixture(scope="module")
def mixed(tmp_path_factory):
    url = f"sqlite:///{tmp_path_factory.mktemp('export_lang')}/ew.db"
    build_store(url, items=MIXED, tags={"ТАСС": ("wire", "state-media")}, languages={"ТАСС": "ru", "Le Fil": "fr"})
    s = Store.open(url, readonly=True)
    yield s
    s.close()


@pytest.mark.parametrize("fmt", ["csv", "parquet", "xlsx"])
def test_articles_and_signals_carry_the_language_they_were_read_in(mixed, fmt):
    df = read(export_table(mixed, "articles", fmt), fmt)
    assert dict(zip(df["title"], df["language"], strict=True)) == {t: lang for (_, _, t, _), lang in zip(
        MIXED, ["en", "ru", "ru", "fr"], strict=True)}  # fmt: skip
    # the French story is kept, and not scored: the scorer does not read French
    french = df[df["language"] == "fr"].iloc[0]
    assert french["score"] == 0 and french["theatre"] == "none"
    russian = read(export_table(mixed, "articles", fmt, language="ru"), fmt)
    assert set(russian["source"]) == {"ТАСС"} and len(russian) == 2
    assert list(read(export_table(mixed, "articles", fmt, language="unscored"), fmt)["language"]) == ["fr"]
    no_state = read(export_table(mixed, "articles", fmt, exclude_tag="state-media"), fmt)
    assert set(no_state["source"]) == {"Wire", "Le Fil"}
    sigs = read(export_table(mixed, "signals", fmt, language="ru"), fmt)
    assert set(sigs["language"]) == {"ru"} and "threat_of_force" in set(sigs["signal"])


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_spreadsheet_formats_neutralise_formulas(store, fmt):
    df = read(export_table(store, "articles", fmt, source="Gazette"), fmt)
    assert "'" + HOSTILE in set(df["title"])
    assert not any(str(t).startswith("=") for t in df["title"])


def test_parquet_keeps_exact_text_and_utc_times(store):
    df = read(export_table(store, "articles", "parquet", source="Gazette"), "parquet")
    assert HOSTILE in set(df["title"])
    assert str(df["published_at"].dt.tz) == "UTC"


def test_signals_table_and_since(store):
    df = read(export_table(store, "signals", "csv", since=NOW - timedelta(hours=3)), "csv")
    assert len(df) >= 2
    assert {"evidence", "sentence", "modality", "feed"} <= set(df.columns)


def test_index_table_one_row_per_theatre_and_day(store):
    df = read(export_table(store, "index", "csv"), "csv")
    assert list(df.columns) == ["theatre", "day", "index", "threats", "acts", "deescalation", "zscore", "articles"]
    assert not df.duplicated(["theatre", "day"]).any()


def test_write_export_returns_rows(store, tmp_path):
    out = tmp_path / "a.xlsx"
    assert write_export(store, "articles", "xlsx", out, theatre="CHN-TWN") == 1
    assert len(pd.read_excel(out)) == 1


def test_neutralise_and_bad_arguments(store):
    assert [neutralise(v) for v in ["=1+1", "+1", "-x", "@a", "\tx", "\rx", "ok", -3]] == [
        "'=1+1", "'+1", "'-x", "'@a", "'\tx", "'\rx", "ok", -3,
    ]  # fmt: skip
    with pytest.raises(ValueError, match="unknown export table"):
        export_table(store, "feeds", "csv")
    with pytest.raises(ValueError, match="unknown export format"):
        export_table(store, "articles", "json")
