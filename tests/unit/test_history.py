"""History import: every row checked first, bad rows reported by line and skipped, re-import adds nothing."""

from __future__ import annotations

import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest

from pipeline.history import ImportFileError, import_csv
from pipeline.store import Store

NOW = datetime(2026, 1, 1, tzinfo=timezone.utc)

GOOD_AND_BAD = """published_utc,source,title,url,summary
2021-12-03T10:00:00Z,Wire,Russia masses troops near Ukraine border,https://wire.example/1?utm_source=x,Tanks seen
2021-12-03T11:00:00Z,,No source here,https://wire.example/2,
not-a-date,Wire,Bad date,https://wire.example/3,
2021-12-03T12:00:00Z,Wire,,https://wire.example/4,
2021-12-03T13:00:00Z,Paper,Bad link,javascript:alert(1),
2021-12-03T14:00:00+01:00,Paper,Kremlin warns of response,https://paper.example/5,
2099-01-01T00:00:00Z,Paper,From the future,https://paper.example/6,
2021-12-03T15:00:00Z,Paper,"=HYPERLINK(""http://evil"")",,
"""


@pytest.fixture
def csv_file(tmp_path) -> Path:
    p = tmp_path / "h.csv"
    p.write_text(GOOD_AND_BAD)
    return p


def test_bad_rows_reported_by_line_and_skipped(db_url, csv_file):
    with Store.open(db_url) as store:
        rep = import_csv(store, csv_file, now=NOW)
        assert rep.rows == 8 and rep.imported == 3 and rep.duplicates == 0
        assert [line for line, _ in rep.bad] == [3, 4, 5, 6, 8]
        reasons = dict(rep.bad)
        assert "source is empty" in reasons[3]
        assert "ISO 8601" in reasons[4]
        assert "title is empty" in reasons[5]
        assert "http(s)" in reasons[6]
        assert "future" in reasons[8]
        arts = sorted(store.latest_articles(10), key=lambda a: a["published_at"])
        assert arts[0]["url"] == "https://wire.example/1?utm_source=x"
        # +01:00 converted to UTC
        assert arts[1]["published_at"] == datetime(2021, 12, 3, 13, 0, tzinfo=timezone.utc)
        assert store.count_to_score("any", only_unscored=True) == 0  # imported articles are scored
        again = import_csv(store, csv_file, now=NOW)
        assert again.imported == 0 and again.duplicates == 3
        assert store.article_count() == 3


def test_missing_columns_and_missing_file_are_clear(tmp_path, db_url):
    p = tmp_path / "x.csv"
    p.write_text("when,title\n2021-01-01,x\n")
    with Store.open(db_url) as store:
        with pytest.raises(ImportFileError, match=r"x.csv:1: missing column\(s\) published_utc, source"):
            import_csv(store, p, now=NOW)
        with pytest.raises(ImportFileError, match="cannot read"):
            import_csv(store, tmp_path / "nope.csv", now=NOW)
        assert store.article_count() == 0


def test_import_cli(tmp_path, csv_file, db_url):
    db = db_url
    r = subprocess.run([sys.executable, "-m", "pipeline", "import", str(csv_file), "--db", db],
                       capture_output=True, text=True, timeout=60)  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert "3 imported" in r.stdout and "5 bad rows skipped" in r.stdout
    assert f"{csv_file}:4: published_utc is not an ISO 8601 time" in r.stderr
    r = subprocess.run([sys.executable, "-m", "pipeline", "import", str(tmp_path / "missing.csv"), "--db", db],
                       capture_output=True, text=True, timeout=60)  # fmt: skip
    assert r.returncode == 1 and "cannot read" in r.stderr and "Traceback" not in r.stderr
