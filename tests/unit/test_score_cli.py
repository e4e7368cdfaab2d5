"""`score` and `rescore` through the CLI on a real store: resumable, index rebuilt."""

from __future__ import annotations

from datetime import datetime, timezone

import sqlalchemy as sa

from pipeline.cli import main
from pipeline.store import Store
from pipeline.types import Article

NOW = datetime(2022, 2, 1, tzinfo=timezone.utc)


def _article(i: int, title: str) -> Article:
    return Article("import:x", f"g{i}", None, None, title, "", NOW, False, None, None, f"h{i}")


def test_score_then_rescore(db_url):
    url = db_url
    titles = ["Russia masses troops on Ukraine border", "Kremlin threatens Kyiv with strikes", "Cat show opens"]
    with Store.open(url) as store:
        # stored without scores (as an older version would have)
        store.add_articles([("import:x", "X", [_article(i, t) for i, t in enumerate(titles)], [])], NOW)
        assert store.count_to_score("any", only_unscored=True) == 3
        rows = store.trend_rows("day", ["RUS-UKR", "*"])
        assert rows["*"][0]["articles"] == 3 and "RUS-UKR" not in rows
    assert main(["score", "--db", url]) == 0
    with Store.open(url) as store:
        assert store.count_to_score("any", only_unscored=True) == 0
        rows = store.trend_rows("day", ["RUS-UKR", "*"])
        assert rows["*"][0]["articles"] == 3  # volume counted once, not again
        esc = rows["RUS-UKR"][0]["escalation"]
        assert esc > 0
    # a taxonomy change: mark everything as scored by an old version
    with Store.open(url) as store, store.engine.begin() as conn:
        conn.execute(sa.text("UPDATE articles SET taxonomy_version = 'old'"))
    assert main(["rescore", "--db", url]) == 0
    with Store.open(url) as store:
        rows = store.trend_rows("day", ["RUS-UKR", "*"])
        assert rows["RUS-UKR"][0]["escalation"] == esc
        assert rows["*"][0]["articles"] == 3
        from pipeline.score import TAXONOMY_VERSION

        assert store.count_to_score(TAXONOMY_VERSION) == 0
