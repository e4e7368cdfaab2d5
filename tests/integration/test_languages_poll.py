"""Russian and Ukrainian feeds through the real poller: language read per article,
Cyrillic feeds in their legacy encodings, and an index that a feed in another
language cannot dilute.

Every feed is served over real HTTP on 127.0.0.1 and polled by the real CLI into
a real SQLite file; the index is read back through pipeline.trend as the
dashboard reads it.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from pathlib import Path
from xml.sax.saxutils import escape

import pytest

from pipeline import trend
from pipeline.cli import main
from pipeline.store import Store

pytestmark = pytest.mark.timeout(180)

DAY0 = datetime(2024, 3, 1, 9, 0, tzinfo=timezone.utc)
DAYS = 12
CITIES = ["Haifa", "Eilat", "Tel Aviv", "Ashdod", "Netanya", "Tiberias"]
RU_CITIES = ["Харьков", "Сумы", "Херсон", "Одессу", "Николаев", "Запорожье"]


def rss(items: list[tuple[str, str, datetime]], *, language: str | None, encoding: str = "utf-8") -> bytes:
    """An RSS 2.0 document of (title, description, published) items in ``encoding``."""
    lang = f"<language>{language}</language>" if language else ""
    body = "".join(
        f"<item><title>{escape(t)}</title><description>{escape(d)}</description>"
        f"<guid>{abs(hash((t, d, p)))}</guid><pubDate>{format_datetime(p)}</pubDate></item>"
        for t, d, p in items
    )
    xml = (f'<?xml version="1.0" encoding="{encoding}"?><rss version="2.0"><channel><title>t</title>'
           f"<link>http://example.org/</link><description>d</description>{lang}{body}</channel></rss>")  # fmt: skip
    return xml.encode(encoding)


def english_items() -> list[tuple[str, str, datetime]]:
    """Twelve days of English news: ISR-IRN and RUS-UKR stories in varying numbers, and
    news that is no one's risk."""
    out = []
    for day in range(DAYS):
        at = DAY0 + timedelta(days=day)
        for k in range(day % 3 + 1):
            city = CITIES[(day + k) % len(CITIES)]
            out.append((f"Iran fires ballistic missiles at {city} on day {day} wave {k}",
                        f"Sirens sounded across {city}; the army counted {day * 7 + k} launches.",
                        at + timedelta(hours=k)))  # fmt: skip
        out.append((f"Russian troops shell Kharkiv suburbs, report {day}",
                    f"Regional officials said {day + 3} homes were damaged.", at + timedelta(hours=5)))  # fmt: skip
        for k in range(6):
            out.append((f"Bakery number {day}-{k} wins a prize for its sourdough",
                        f"Judges tasted {k + 10} loaves in round {day}.", at + timedelta(hours=6 + k)))  # fmt: skip
    return out


def russian_items() -> list[tuple[str, str, datetime]]:
    """Twelve days of Russian news on RUS-UKR only, with sport beside it, in varying numbers."""
    out = []
    for day in range(DAYS):
        at = DAY0 + timedelta(days=day)
        for k in range((day * 5) % 4 + 1):
            city = RU_CITIES[(day + k) % len(RU_CITIES)]
            out.append((f"Российские войска обстреляли {city}, сообщили власти (сводка {day}-{k})",
                        f"Повреждены {day + k + 2} домов, сообщает областная администрация.",
                        at + timedelta(hours=2 + k)))  # fmt: skip
        for k in range(day % 5 + 4):
            out.append((f"«Спартак» обыграл «Зенит» в матче тура номер {day}-{k}",
                        f"Болельщики видели {k + 1} голов в ворота соперника.", at + timedelta(hours=8 + k)))  # fmt: skip
    return out


def french_items() -> list[tuple[str, str, datetime]]:
    out = []
    for day in range(DAYS):
        at = DAY0 + timedelta(days=day)
        for k in range(day % 4 + 3):
            out.append((f"La boulangerie numéro {day}-{k} gagne un prix", f"Le jury a goûté {k} pains.",
                        at + timedelta(hours=3 + k)))  # fmt: skip
    return out


def poll(tmp_path: Path, name: str, feeds: list[tuple[str, str, str | None]]) -> str:
    """``poll --once`` of (name, url, language) feeds into a fresh SQLite file; its URL."""
    lines = ["feeds:"]
    for feed, url, language in feeds:
        lines += [f"  - name: {feed}", f"    url: {url}"] + ([f"    language: {language}"] if language else [])
    cfg = tmp_path / f"{name}.yaml"
    cfg.write_text("\n".join(lines) + "\n", encoding="utf-8")
    db = f"sqlite:///{tmp_path / name}.db"
    assert main(["poll", "--once", "--config", str(cfg), "--db", db]) == 0
    return db


def series(db: str) -> dict[str, list[tuple[datetime, float | None]]]:
    with Store.open(db) as store:
        points = trend.index_series(store, granularity="day")
    out: dict[str, list[tuple[datetime, float | None]]] = {}
    for p in points:
        out.setdefault(p.theatre, []).append((p.bucket_start, p.index))
    return out


@pytest.fixture
def served(feed_server):
    return {
        "en": feed_server.route("/en.xml", rss(english_items(), language="en")),
        # the legacy encodings Russian sites still declare
        "ru": feed_server.route("/ru.xml", rss(russian_items(), language="ru", encoding="windows-1251"),
                                content_type="application/rss+xml; charset=windows-1251"),  # fmt: skip
        "fr": feed_server.route("/fr.xml", rss(french_items(), language="fr")),
    }


def test_a_russian_feed_moves_no_theatre_only_english_news_covers(tmp_path, served):
    english = poll(tmp_path, "en", [("Wire", served["en"], "en")])
    both = poll(tmp_path, "both", [("Wire", served["en"], "en"), ("ТАСС", served["ru"], "ru")])
    alone, mixed = series(english), series(both)
    iran = [i for _, i in alone["ISR-IRN"]]
    assert sum(1 for i in iran if i is not None) >= DAYS - 1, "the English feed alone gives ISR-IRN an index"
    assert len(set(iran)) > 3, "the index varies from day to day: the comparison below can fail"
    assert mixed["ISR-IRN"] == alone["ISR-IRN"]
    # the Russian feed is read: its stories move the theatre it reports on
    assert mixed["RUS-UKR"] != alone["RUS-UKR"]
    con = sqlite3.connect(tmp_path / "both.db")
    try:
        langs = dict(con.execute(
            "SELECT f.name, group_concat(DISTINCT a.language) FROM articles a JOIN feeds f ON f.id = a.feed_id "
            "GROUP BY f.name"
        ).fetchall())  # fmt: skip
        shelled = con.execute(
            "SELECT count(*) FROM articles a JOIN feeds f ON f.id = a.feed_id "
            "WHERE f.name = 'ТАСС' AND a.theatre = 'RUS-UKR' AND a.title LIKE 'Российские войска обстреляли%'"
        ).fetchone()[0]
    finally:
        con.close()
    assert langs == {"Wire": "en", "ТАСС": "ru"}
    assert shelled == sum(1 for t, _, _ in russian_items() if t.startswith("Российские войска обстреляли"))


def test_an_unscored_language_lowers_no_one_and_is_kept(tmp_path, served):
    english = poll(tmp_path, "en", [("Wire", served["en"], "en")])
    with_french = poll(tmp_path, "fr", [("Wire", served["en"], "en"), ("Le Fil", served["fr"], "fr")])
    assert series(with_french) == series(english)
    con = sqlite3.connect(tmp_path / "fr.db")
    try:
        rows = con.execute(
            "SELECT a.language, a.score, a.theatre, count(*) FROM articles a JOIN feeds f ON f.id = a.feed_id "
            "WHERE f.name = 'Le Fil' GROUP BY 1, 2, 3"
        ).fetchall()  # fmt: skip
    finally:
        con.close()
    # every French story stored, read as French, scored 0 with no theatre
    assert rows == [("fr", 0.0, "none", len(french_items()))]


def test_the_index_of_one_language_is_its_own_coverage(tmp_path, served):
    both = poll(tmp_path, "both", [("Wire", served["en"], "en"), ("ТАСС", served["ru"], "ru")])
    english = poll(tmp_path, "en", [("Wire", served["en"], "en")])
    with Store.open(both) as store:
        ru = trend.index_series(store, theatre="RUS-UKR", granularity="day", language="ru")
        en = trend.index_series(store, theatre="RUS-UKR", granularity="day", language="en")
        ru_iran = trend.index_series(store, theatre="ISR-IRN", granularity="day", language="ru")
    with Store.open(english) as store:
        en_alone = trend.index_series(store, theatre="RUS-UKR", granularity="day")
    # English coverage of RUS-UKR in the mixed store is exactly the English-only store's index
    assert [(p.bucket_start, p.index) for p in en] == [(p.bucket_start, p.index) for p in en_alone]
    assert {p.theatre for p in ru} == {"RUS-UKR"}
    assert sum(1 for p in ru if p.index is not None) >= DAYS - 1
    assert [p.articles for p in ru] != [p.articles for p in en]
    # Russian coverage never reports on ISR-IRN: its Russian index is flat 0
    assert {p.index for p in ru_iran if p.index is not None} == {0.0}


BROWSER_UA = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"


def test_a_feed_that_refuses_the_default_client_is_polled_with_its_own_user_agent(tmp_path, feed_server):
    """Some Russian and Ukrainian sites answer 403 to anything but a browser: the feed's
    ``user_agent`` is sent to it, and only to it."""
    body = rss(russian_items()[:5], language="ru")

    def picky(handler) -> None:
        ok = handler.headers.get("User-Agent", "").startswith("Mozilla/")
        payload = body if ok else b"<h1>403 Forbidden</h1>"
        handler.send_response(200 if ok else 403)
        handler.send_header("Content-Type", "application/rss+xml" if ok else "text/html")
        handler.send_header("Content-Length", str(len(payload)))
        handler.end_headers()
        handler.wfile.write(payload)

    picky_url = feed_server.route("/picky.xml", handler=picky)
    without_url = feed_server.route("/picky-too.xml", handler=picky)
    plain_url = feed_server.route("/plain.xml", rss(english_items()[:5], language="en"))
    cfg = tmp_path / "feeds.yaml"
    cfg.write_text(
        "feeds:\n"
        f"  - name: Picky\n    url: {picky_url}\n    language: ru\n    user_agent: \"{BROWSER_UA}\"\n"
        f"  - name: Picky without\n    url: {without_url}\n    language: ru\n"
        f"  - name: Plain\n    url: {plain_url}\n",
        encoding="utf-8",
    )
    db = tmp_path / "ua.db"
    assert main(["poll", "--once", "--config", str(cfg), "--db", f"sqlite:///{db}"]) == 0
    assert feed_server.last_headers("/picky.xml")["user-agent"] == BROWSER_UA
    assert not feed_server.last_headers("/picky-too.xml")["user-agent"].startswith("Mozilla/")
    assert feed_server.last_headers("/plain.xml")["user-agent"] == feed_server.last_headers("/picky-too.xml")["user-agent"]
    con = sqlite3.connect(db)
    try:
        by_feed = dict(con.execute(
            "SELECT f.name, count(a.id) FROM feeds f LEFT JOIN articles a ON a.feed_id = f.id GROUP BY f.name"
        ).fetchall())  # fmt: skip
        error = dict(con.execute("SELECT name, last_error FROM feeds").fetchall())
    finally:
        con.close()
    assert by_feed == {"Picky": 5, "Picky without": 0, "Plain": 5}
    assert "403" in error["Picky without"] and error["Picky"] is None
