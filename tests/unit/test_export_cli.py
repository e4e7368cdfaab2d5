"""`escalation-watch export` end to end: every table and format reads back with pandas."""

from __future__ import annotations

import pandas as pd
import pytest

from pipeline.cli import main

CSV = """published_utc,source,title,url
2022-02-20T10:00:00Z,Wire,Russia masses troops on Ukraine border,https://w.example/1
2022-02-21T10:00:00Z,Wire,=HYPERLINK("http://evil")  Kremlin threatens Kyiv with strikes,https://w.example/2
2022-02-21T11:00:00Z,Paper,Beijing warns Taiwan over drills near the strait,https://p.example/3
2022-02-22T11:00:00Z,Paper,Cat show opens,https://p.example/4
"""


@pytest.fixture
def db(tmp_path, db_url):
    p = tmp_path / "h.csv"
    p.write_text(CSV)
    url = db_url
    assert main(["import", str(p), "--db", url]) == 0
    return url


@pytest.mark.parametrize("fmt", ["csv", "parquet", "xlsx"])
def test_every_table_and_format(tmp_path, db, fmt):
    read = {"csv": pd.read_csv, "parquet": pd.read_parquet, "xlsx": pd.read_excel}[fmt]
    for table in ("articles", "signals", "index"):
        out = tmp_path / f"{table}.{fmt}"
        assert main(["export", "--table", table, "--out", str(out), "--db", db]) == 0
        df = read(out)
        assert len(df) > 0, table
    arts = read(tmp_path / f"articles.{fmt}")
    assert len(arts) == 4
    title = next(t for t in arts["title"] if "HYPERLINK" in t)
    # spreadsheets must not run it; parquet keeps the exact text
    assert title.startswith("'=") if fmt in ("csv", "xlsx") else title.startswith("=HYPERLINK")


def test_filters(tmp_path, db):
    out = tmp_path / "a.csv"
    assert main(["export", "--table", "articles", "--out", str(out), "--db", db, "--since", "2022-02-21"]) == 0
    assert len(pd.read_csv(out)) == 3
    assert main(["export", "--table", "index", "--out", str(out), "--db", db, "--theatre", "RUS-UKR"]) == 0
    idx = pd.read_csv(out)
    assert set(idx["theatre"]) == {"RUS-UKR"} and len(idx) == 3


def test_bad_arguments_exit_2(tmp_path, db, capsys):
    assert main(["export", "--table", "index", "--out", str(tmp_path / "x.txt"), "--db", db]) == 2
    assert "give --format" in capsys.readouterr().err
    assert main(["export", "--table", "index", "--out", str(tmp_path / "x.csv"), "--db", db, "--theatre", "X"]) == 2
    assert main(["export", "--table", "index", "--out", str(tmp_path / "x.csv"), "--db", db, "--since", "soon"]) == 2


def test_export_audit_table(tmp_path, db):
    from datetime import datetime, timezone

    from pipeline.store import Store
    from pipeline.types import AuditEntry

    with Store.open(db) as s:
        s.record_audit(AuditEntry(datetime(2024, 6, 1, tzinfo=timezone.utc), "token: Ann", "remove",
                                  "http://a/rss", "=cmd()", {"name": ["=cmd()", None]}))  # fmt: skip
    out = tmp_path / "audit.csv"
    assert main(["export", "--table", "audit", "--out", str(out), "--db", db]) == 0
    df = pd.read_csv(out)
    assert list(df.columns) == ["at", "who", "action", "feed_name", "feed_url", "changes"]
    assert (df.loc[0, "who"], df.loc[0, "feed_name"]) == ("token: Ann", "'=cmd()")  # a formula, made inert
    assert (df.loc[0, "action"], df.loc[0, "feed_url"]) == ("remove", "http://a/rss")
    assert df.loc[0, "changes"] == '{"name": ["=cmd()", null]}'
