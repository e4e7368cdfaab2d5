"""Store behaviour on both backends: a real SQLite file and a fresh PostgreSQL database
(the ``db_url`` fixture of tests/conftest.py). SQLite-only checks (WAL, FTS5 tables,
file paths) say so in their names."""

import re
import sqlite3
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from pipeline import schema
from pipeline.errors import StoreError
from pipeline.store import Store, resolve_db_url
from pipeline.types import Article, FeedSpec, FeedUpdate

NOW = datetime(2021, 12, 3, 12, 0, tzinfo=timezone.utc)


def art(i, feed="http://a/rss", canonical=None):
    return Article(
        feed_url=feed,
        guid=f"g{i}",
        url=f"http://a/{i}",
        canonical_url=canonical if canonical is not None else f"http://a/{i}",
        title=f"title {i}",
        summary="summary",
        published_at=NOW - timedelta(hours=i),
        published_estimated=False,
        language="en",
        author=None,
        content_hash=f"h{i}",
    )


@pytest.fixture
def store(db_url):
    s = Store.open(db_url)
    s.sync_feeds([FeedSpec("A", "http://a/rss"), FeedSpec("B", "http://b/rss")], NOW)
    yield s
    s.close()


def ok_update(articles, feed="http://a/rss", **kw):
    return FeedUpdate(feed, NOW, NOW, "ok", status=200, articles=tuple(articles), **kw)


def test_open_migrates(db_url):
    with Store.open(db_url) as s:
        assert s.schema_version() is not None
        assert s.backend == ("postgresql" if db_url.startswith("postgresql") else "sqlite")


def test_sqlite_open_creates_directory_in_wal_mode(tmp_path):
    db_url = f"sqlite:///{tmp_path}/sub/dir/test.db"
    with Store.open(db_url) as s:
        assert s.schema_version() is not None
    assert (tmp_path / "sub/dir/test.db").exists()
    # WAL mode so the dashboard can read while the poller writes
    con = sqlite3.connect(tmp_path / "sub/dir/test.db")
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_sqlite_wal_is_cut_back_after_checkpoints(tmp_path):
    """A big cycle's WAL does not stay on disk at its peak size (journal_size_limit):
    without the limit this WAL stays at ~12 MB."""
    from pipeline.store.engine import SQLITE_WAL_LIMIT_BYTES

    path = tmp_path / "wal.db"
    with Store.open(f"sqlite:///{path}") as s:
        with s.engine.begin() as conn:
            conn.exec_driver_sql("CREATE TABLE filler (x BLOB)")
        with s.engine.begin() as conn:  # one big transaction: ~12 MB of WAL frames
            for _ in range(6):
                conn.exec_driver_sql("INSERT INTO filler SELECT randomblob(2000000)")
        # SQLite checkpoints on its own after a commit that leaves > 1,000 pages in the WAL;
        # the writes after a complete checkpoint restart the WAL and truncate it
        for _ in range(3):
            with s.engine.begin() as conn:
                conn.exec_driver_sql("INSERT INTO filler VALUES (x'00')")
        with s.engine.connect() as conn:
            assert conn.exec_driver_sql("SELECT sum(length(x)) FROM filler").scalar() > 12_000_000
        after = (tmp_path / "wal.db-wal").stat().st_size
    assert after <= SQLITE_WAL_LIMIT_BYTES


def test_migrated_schema_matches_schema_module(store):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    def not_fts(name, type_, _parent_names):
        # migration 0003's full-text index is not part of schema.py: on SQLite an FTS5
        # virtual table and its shadow tables (SQLAlchemy cannot describe virtual
        # tables), on PostgreSQL a GIN index on an expression
        if type_ == "table" and re.fullmatch(r"articles_fts(_data|_idx|_docsize|_config|_content)?", name):
            return False
        return not (type_ == "index" and name == "ix_articles_fts")

    with store.engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"include_name": not_fts})
        diff = compare_metadata(ctx, schema.metadata)
    assert diff == []


def test_reopen_is_idempotent(db_url):
    Store.open(db_url).close()
    with Store.open(db_url) as s:
        assert s.article_count() == 0


def test_refuses_database_newer_than_code(db_url):
    Store.open(db_url).close()
    eng = sa.create_engine(db_url)
    with eng.begin() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = '9999'"))
    eng.dispose()
    with pytest.raises(StoreError, match=r"schema version 9999, newer than this code"):
        Store.open(db_url)
    with pytest.raises(StoreError, match=r"9999"):
        Store.open(db_url, readonly=True)


def test_readonly_refuses_writes(store, db_url):
    ro = Store.open(db_url, readonly=True)
    with pytest.raises(StoreError, match="read-only"):
        ro.sync_feeds([], NOW)
    # not even by going around the store's verbs (mode=ro / default_transaction_read_only)
    with pytest.raises(sa.exc.DBAPIError):
        with ro.engine.begin() as conn:
            conn.execute(schema.feeds.delete())
    ro.close()
    assert len(store.feed_states()) == 2


def test_readonly_refuses_a_database_without_schema(db_url, tmp_path):
    if db_url.startswith("sqlite"):
        with pytest.raises(StoreError, match="does not exist yet"):
            Store.open(db_url, readonly=True)
    else:
        with pytest.raises(StoreError, match="has no schema yet"):
            Store.open(db_url, readonly=True)
    with pytest.raises(StoreError, match="does not exist yet"):
        Store.open(f"sqlite:///{tmp_path}/nope.db", readonly=True)


def test_record_update_inserts_once(store):
    assert store.record_update(ok_update([art(1), art(2)]), next_due_at=NOW, status="ok") == 2
    assert store.record_update(ok_update([art(1), art(2), art(3)]), next_due_at=NOW, status="ok") == 1
    assert store.article_count() == 3
    st = store.feed_state("http://a/rss")
    assert st.items_total == 3 and st.status == "ok" and st.error_streak == 0


def test_same_canonical_url_from_two_feeds_is_stored_once(store):
    store.record_update(ok_update([art(1)]), next_due_at=NOW, status="ok")
    other = art(1, feed="http://b/rss")
    new = store.record_update(ok_update([other], feed="http://b/rss"), next_due_at=NOW, status="ok")
    assert new == 0
    assert store.article_count() == 1


def test_articles_without_canonical_url_are_kept(store):
    a1 = art(1, canonical="")
    a1 = type(a1)(**{**{f: getattr(a1, f) for f in a1.__slots__}, "canonical_url": None})
    a2 = type(a1)(**{**{f: getattr(a1, f) for f in a1.__slots__}, "guid": "other"})
    assert store.record_update(ok_update([a1, a2]), next_due_at=NOW, status="ok") == 2


def test_error_update_keeps_validators_and_counts_streak(store):
    store.record_update(ok_update([art(1)], etag='"v1"', last_modified="Fri, 03 Dec 2021 10:00:00 GMT"),
                        next_due_at=NOW, status="ok")
    err = FeedUpdate("http://a/rss", NOW, NOW, "error", status=500, error="HTTP 500")
    store.record_update(err, next_due_at=NOW + timedelta(minutes=2), status="error")
    store.record_update(err, next_due_at=NOW + timedelta(minutes=4), status="error")
    st = store.feed_state("http://a/rss")
    assert st.etag == '"v1"' and st.last_modified.startswith("Fri")
    assert st.error_streak == 2 and st.last_error == "HTTP 500" and st.status == "error"
    assert st.last_success_at == NOW
    log = store.fetch_log("http://a/rss")
    assert [r["outcome"] for r in log] == ["error", "error", "ok"]


def test_retry_after_is_recorded(store):
    up = FeedUpdate("http://a/rss", NOW, NOW, "error", status=429, error="HTTP 429", retry_after_s=120)
    store.record_update(up, next_due_at=NOW + timedelta(seconds=120), status="error")
    assert store.feed_state("http://a/rss").retry_after_until == NOW + timedelta(seconds=120)


def test_not_modified_writes_only_health(store):
    store.record_update(ok_update([art(1)], etag='"v1"'), next_due_at=NOW, status="ok")
    up = FeedUpdate("http://a/rss", NOW, NOW + timedelta(seconds=1), "not_modified", status=304)
    store.record_update(up, next_due_at=NOW + timedelta(minutes=15), status="ok")
    st = store.feed_state("http://a/rss")
    assert st.etag == '"v1"' and st.items_total == 1
    assert store.article_count() == 1


def _feed_rows(store):
    """Each feed's row and fetch log, without what differs by feed (id, url, name)."""
    f, log = schema.feeds, schema.fetch_log
    skip = {"id", "url", "name"}
    with store.engine.connect() as conn:
        feeds = {r.url: {k: v for k, v in r._mapping.items() if k not in skip} for r in conn.execute(sa.select(f))}
        logs = {
            url: [tuple(v for k, v in r._mapping.items() if k not in ("id", "feed_id")) for r in conn.execute(
                sa.select(log).join(f, f.c.id == log.c.feed_id).where(f.c.url == url).order_by(log.c.id))]
            for url in feeds
        }  # fmt: skip
    return feeds, logs


def test_record_health_writes_what_record_update_writes(store):
    """The batched health path (a warm cycle's 304s and errors) against the one-update path,
    step by step on two feeds, leases included."""
    from pipeline.store import UpdateWrite

    for url in ("http://a/rss", "http://b/rss"):
        store.record_update(ok_update([art(1, feed=url, canonical=url + "/1")], feed=url, etag='"v1"'), next_due_at=NOW, status="ok")
    t = NOW
    steps = [
        (dict(outcome="not_modified", status=304), "ok", None, None),
        (dict(outcome="error", status=500, error="HTTP 500"), "error", None, None),
        (dict(outcome="error", status=429, error="HTTP 429, retry after 120 s", retry_after_s=120), "error", None, None),
        (dict(outcome="error", status=503, error="HTTP 503"), "error", None, "w1"),
        (dict(outcome="not_modified", status=304), "ok", None, "w1"),
        (dict(outcome="gone", status=410, error="HTTP 410 Gone: the feed was removed"), "gone", "410 Gone", None),
    ]
    for i, (fields, status, reason, owner) in enumerate(steps):
        t += timedelta(minutes=5)
        if owner is not None:
            # w1's lease expired and w2 holds the feeds now: w1 must not free them
            store.claim_due_feeds("w1", t - timedelta(minutes=3), 60, 5)
            store.claim_due_feeds("w2", t, 60, 5)
        due = t + timedelta(minutes=15 + i)
        a = FeedUpdate("http://a/rss", t - timedelta(seconds=1), t, **fields)
        b = FeedUpdate("http://b/rss", t - timedelta(seconds=1), t, **fields)
        store.record_update(a, next_due_at=due, status=status, disabled_reason=reason, lease_owner=owner)
        store.record_health([UpdateWrite(b, due, status, reason, lease_owner=owner)])
        feeds, logs = _feed_rows(store)
        assert feeds["http://a/rss"] == feeds["http://b/rss"], fields
        assert logs["http://a/rss"] == logs["http://b/rss"], fields
    feeds, _ = _feed_rows(store)
    assert feeds["http://b/rss"]["error_streak"] == 1 and feeds["http://b/rss"]["status"] == "gone"
    assert feeds["http://b/rss"]["lease_owner"] in (None, "w2")


def test_record_health_is_all_or_nothing_and_refuses_articles(store):
    from pipeline.store import UpdateWrite

    good = UpdateWrite(FeedUpdate("http://a/rss", NOW, NOW, "not_modified", status=304), NOW, "ok")
    unknown = UpdateWrite(FeedUpdate("http://nowhere/rss", NOW, NOW, "not_modified", status=304), NOW, "ok")
    with pytest.raises(StoreError, match="unknown feed"):
        store.record_health([good, unknown])
    assert store.fetch_log("http://a/rss") == []
    with pytest.raises(ValueError, match="record_update"):
        store.record_health([UpdateWrite(ok_update([art(1)]), NOW, "ok")])


def test_failed_transaction_leaves_nothing(store, monkeypatch):
    """A failure after the articles were inserted rolls the whole feed update back."""
    original = schema.fetch_log.insert

    def boom():
        raise sa.exc.OperationalError("INSERT", {}, sqlite3.OperationalError("disk I/O error"))

    monkeypatch.setattr(schema.fetch_log, "insert", boom)
    with pytest.raises(StoreError, match="disk I/O error"):
        store.record_update(ok_update([art(1), art(2)]), next_due_at=NOW, status="ok")
    monkeypatch.setattr(schema.fetch_log, "insert", original)
    assert store.article_count() == 0
    assert store.feed_state("http://a/rss").items_total == 0


def test_sync_feeds_marks_removed_and_updates(store):
    store.sync_feeds([FeedSpec("A renamed", "http://a/rss", interval_s=600)], NOW)
    states = {s.url: s for s in store.feed_states()}
    assert states["http://a/rss"].name == "A renamed" and states["http://a/rss"].interval_s == 600
    assert states["http://b/rss"].in_config is False
    assert [h["url"] for h in store.feed_health()] == ["http://a/rss"]


def test_reenabling_a_gone_feed_retries_it(store):
    up = FeedUpdate("http://a/rss", NOW, NOW, "gone", status=410, error="HTTP 410")
    store.record_update(up, next_due_at=NOW + timedelta(days=7), status="gone", disabled_reason="gone")
    store.sync_feeds([FeedSpec("A", "http://a/rss", enabled=False)], NOW)
    store.sync_feeds([FeedSpec("A", "http://a/rss", enabled=True)], NOW)
    st = store.feed_state("http://a/rss")
    assert st.status == "new" and st.disabled_reason is None and st.next_due_at == NOW


def test_resolve_db_url(monkeypatch):
    monkeypatch.delenv("ESCALATION_WATCH_DB", raising=False)
    assert resolve_db_url(None) == "sqlite:///data/escalation-watch.db"
    monkeypatch.setenv("ESCALATION_WATCH_DB", "sqlite:///env.db")
    assert resolve_db_url(None) == "sqlite:///env.db"
    assert resolve_db_url("sqlite:///cli.db") == "sqlite:///cli.db"


def test_bad_urls_are_clear(tmp_path):
    with pytest.raises(StoreError, match="unsupported database"):
        Store.open("mysql://x/y")
    with pytest.raises(StoreError, match="in-memory"):
        Store.open("sqlite://")


def test_unwritable_location_is_a_store_error(tmp_path):
    ro_dir = tmp_path / "ro"
    ro_dir.mkdir()
    (ro_dir / "x.db").write_bytes(b"this is not a database at all" * 100)
    with pytest.raises(StoreError):
        Store.open(f"sqlite:///{ro_dir}/x.db")


@pytest.mark.postgresql
def test_plain_postgresql_url_uses_psycopg_3(pg_url):
    plain = pg_url.replace("postgresql+psycopg://", "postgresql://")
    with Store.open(plain) as s:
        assert s.engine.dialect.driver == "psycopg" and s.backend == "postgresql"
        assert s.article_count() == 0


# -- several poller workers: claims and leases ----------------------------------


def test_claims_never_hand_one_feed_to_two_workers(store):
    a = store.claim_due_feeds("w1", NOW, 60, 1)
    b = store.claim_due_feeds("w2", NOW, 60, 5)
    assert [s.url for s in a] == ["http://a/rss"] and [s.url for s in b] == ["http://b/rss"]
    assert store.claim_due_feeds("w3", NOW + timedelta(seconds=59), 60, 5) == []
    st = store.feed_state("http://a/rss")
    assert st.url == "http://a/rss" and store.next_claim_at() == NOW + timedelta(seconds=60)


def test_lease_is_released_by_its_owner_and_taken_over_after_expiry(store):
    store.claim_due_feeds("w1", NOW, 60, 5)
    # w1 crashed: its feeds come back once the lease runs out, not before
    assert store.claim_due_feeds("w2", NOW + timedelta(seconds=30), 60, 5) == []
    later = NOW + timedelta(seconds=61)
    assert len(store.claim_due_feeds("w2", later, 60, 5)) == 2
    # w1 wakes up and writes late: it stores its poll but cannot free w2's lease
    store.record_update(ok_update([art(1)]), next_due_at=NOW + timedelta(minutes=15), status="ok", lease_owner="w1")
    assert store.article_count() == 1
    with store.engine.connect() as conn:
        owners = dict(conn.execute(sa.select(schema.feeds.c.url, schema.feeds.c.lease_owner)).all())
    assert owners == {"http://a/rss": "w2", "http://b/rss": "w2"}
    store.record_update(ok_update([art(1)]), next_due_at=NOW + timedelta(minutes=15), status="ok", lease_owner="w2")
    assert store.feed_state("http://a/rss").items_total == 1  # stored once
    assert store.release_leases("w2") == 1  # b: claimed, never polled (a graceful stop)
    # a is not due again before its next_due_at; b is due (and free) at once
    assert [s.url for s in store.claim_due_feeds("w3", later, 60, 5)] == ["http://b/rss"]


def test_claims_skip_disabled_gone_and_retry_after(store):
    store.sync_feeds([FeedSpec("A", "http://a/rss"), FeedSpec("B", "http://b/rss", enabled=False),
                      FeedSpec("C", "http://c/rss"), FeedSpec("D", "http://d/rss")], NOW)  # fmt: skip
    store.record_update(FeedUpdate("http://c/rss", NOW, NOW, "gone", status=410), next_due_at=NOW, status="gone")
    store.record_update(FeedUpdate("http://d/rss", NOW, NOW, "error", status=429, retry_after_s=600),
                        next_due_at=NOW + timedelta(minutes=10), status="error")  # fmt: skip
    assert [s.url for s in store.claim_due_feeds("w", NOW, 60, 10)] == ["http://a/rss"]


def test_poll_once_claims_what_was_not_fetched_since_it_started(store):
    started = NOW + timedelta(minutes=1)
    store.record_update(ok_update([art(1)]), next_due_at=NOW + timedelta(hours=1), status="ok")
    # a was fetched before this run (not due, still taken: --once); b never
    assert len(store.claim_due_feeds("w", started, 60, 10, fetched_before=started)) == 2
    up = FeedUpdate("http://a/rss", started, started + timedelta(seconds=1), "ok", status=200)
    store.record_update(up, next_due_at=started + timedelta(hours=1), status="ok", lease_owner="w")
    store.release_leases("w")
    # in the same run a is done; b (released, not fetched) is still to do
    assert [s.url for s in store.claim_due_feeds("w", started, 60, 10, fetched_before=started)] == ["http://b/rss"]


@pytest.mark.postgresql
def test_concurrent_claims_and_first_open_on_postgresql(pg_url):
    """Workers starting together on a new database: one migrates, the others wait; then
    claims made at the same moment split the feeds without overlap."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(4) as pool:
        stores = list(pool.map(lambda _: Store.open(pg_url), range(4)))
    try:
        stores[0].sync_feeds([FeedSpec(f"F{i}", f"http://f/{i}") for i in range(40)], NOW)
        with ThreadPoolExecutor(4) as pool:
            claims = list(pool.map(lambda i: stores[i].claim_due_feeds(f"w{i}", NOW, 60, 15), range(4)))
        urls = [s.url for c in claims for s in c]
        assert len(urls) == 40 == len(set(urls))
        with stores[0].exclusive("alerts") as first, stores[1].exclusive("alerts") as second:
            assert first and not second
        with stores[1].exclusive("alerts") as again:
            assert again
    finally:
        for s in stores:
            s.close()


def test_record_updates_commits_together_and_isolates_a_failing_feed(store, db_url):
    """A group commit of several feeds' updates: the same rows as one by one; a write the
    store refuses costs only that write, the others are stored."""
    from pipeline.store import UpdateWrite

    a = ok_update([art(1), art(2)], etag='"a"')
    b = ok_update([art(3, feed="http://b/rss")], feed="http://b/rss")
    bad = ok_update([art(4, feed="http://nowhere/rss")], feed="http://nowhere/rss")
    due = NOW + timedelta(minutes=15)
    assert store.record_updates([UpdateWrite(a, due, "ok"), UpdateWrite(b, due, "ok")]) == [2, 1]
    assert store.article_count() == 3
    assert store.feed_state("http://a/rss").items_total == 2 and store.feed_state("http://a/rss").etag == '"a"'
    # one bad write: the shared transaction fails, each is retried alone
    c = ok_update([art(5)], feed="http://a/rss")
    out = store.record_updates([UpdateWrite(c, due, "ok"), UpdateWrite(bad, due, "ok")])
    assert out[0] == 1 and isinstance(out[1], StoreError) and "unknown feed" in str(out[1])
    assert store.article_count() == 4
    assert [r["items_new"] for r in store.fetch_log("http://a/rss")] == [1, 2]
    # the new-article count reaches the reschedule callback inside the transaction
    seen = []

    def reschedule(new):
        seen.append(new)
        return NOW + timedelta(hours=new), 0.5

    d = ok_update([art(6), art(7), art(1)], feed="http://a/rss")
    assert store.record_updates([UpdateWrite(d, due, "ok", reschedule=reschedule)]) == [2]
    st = store.feed_state("http://a/rss")
    assert seen == [2] and st.next_due_at == NOW + timedelta(hours=2) and st.new_items_ewma == 0.5


def test_sync_feeds_writes_only_what_changed(store):
    statements = []

    def spy(conn, cursor, statement, *args):
        if statement.lstrip().upper().startswith("UPDATE FEEDS"):
            statements.append(statement)

    specs = [FeedSpec("A", "http://a/rss"), FeedSpec("B", "http://b/rss")]
    sa.event.listen(store.engine, "before_cursor_execute", spy)
    try:
        store.sync_feeds(specs, NOW)  # as the fixture did: nothing to write
        assert statements == []
        store.sync_feeds([FeedSpec("A renamed", "http://a/rss"), specs[1]], NOW)
        assert len(statements) == 1
    finally:
        sa.event.remove(store.engine, "before_cursor_execute", spy)
    assert {s.url: s.name for s in store.feed_states()}["http://a/rss"] == "A renamed"


def test_parse_accounting_is_stored_with_the_feed_and_its_fetch(store):
    # issue 12: what the parser did not turn into articles shows with the feed's health
    derived = Article(**{**{f: getattr(art(1), f) for f in Article.__slots__}, "title_derived": True})
    store.record_update(
        ok_update([derived, art(2)], items_duplicate=3, items_refused=1, parse_notes="3 repeated items folded"),
        next_due_at=NOW, status="ok",
    )  # fmt: skip
    health = {h["url"]: h for h in store.feed_health()}
    assert health["http://a/rss"]["parse_notes"] == "3 repeated items folded"
    assert health["http://b/rss"]["parse_notes"] is None
    with store.engine.connect() as conn:
        log = conn.execute(sa.select(schema.fetch_log.c.items_seen, schema.fetch_log.c.items_duplicate,
                                     schema.fetch_log.c.items_refused)).all()  # fmt: skip
        titles = dict(conn.execute(sa.select(schema.articles.c.guid, schema.articles.c.title_derived)).all())
    assert log == [(2, 3, 1)]
    assert titles == {"g1": True, "g2": False}
    # a clean parse clears the note
    store.record_update(ok_update([art(3)]), next_due_at=NOW, status="ok")
    assert {h["url"]: h for h in store.feed_health()}["http://a/rss"]["parse_notes"] is None


def test_migration_0007_keeps_existing_rows(db_url):
    from alembic import command

    from pipeline.store import _alembic_config

    eng = sa.create_engine(db_url)
    with eng.connect() as conn:
        command.upgrade(_alembic_config(conn), "0006")
        conn.execute(sa.text("INSERT INTO feeds (id, url, name, enabled, interval_s, tags, in_config, status, "
                             "error_streak, ill_formed, items_total) VALUES (1, 'u', 'n', true, 60, '[]', true, 'ok', "
                             "0, false, 1)"))  # fmt: skip
        conn.execute(sa.text("INSERT INTO articles (feed_id, guid, title, summary, published_at, published_estimated, "
                             "first_seen_at, content_hash) VALUES (1, 'g', 't', 's', :t, false, :t, 'h')"),
                     {"t": NOW})  # fmt: skip
        conn.execute(sa.text("INSERT INTO fetch_log (feed_id, started_at, finished_at, outcome, body_bytes, "
                             "items_seen, items_new) VALUES (1, :t, :t, 'ok', 1, 1, 1)"), {"t": NOW})  # fmt: skip
        conn.commit()
    eng.dispose()
    with Store.open(db_url) as s, s.engine.connect() as conn:
        assert s.schema_version() == "0011"
        assert conn.execute(sa.text("SELECT title_derived FROM articles")).scalar() in (False, 0)
        assert conn.execute(sa.text("SELECT items_duplicate, items_refused FROM fetch_log")).one() == (0, 0)
        assert conn.execute(sa.text("SELECT parse_notes FROM feeds")).scalar() is None


def test_audit_log_appends_and_reads_newest_first(store):
    from pipeline.types import AuditEntry

    t0 = datetime(2024, 6, 1, 12, tzinfo=timezone.utc)
    store.record_audit(AuditEntry(t0, "local", "add", None, "A", {"url": [None, "http://a/rss"]}))
    store.record_audit(AuditEntry(t0 + timedelta(minutes=1), "token: Ann", "update", "http://a/rss", "A",
                                  {"name": ["A", "Ä"]}))  # fmt: skip
    log = store.audit_log()
    assert [(e.who, e.action, e.changes) for e in log] == [
        ("token: Ann", "update", {"name": ["A", "Ä"]}),
        ("local", "add", {"url": [None, "http://a/rss"]}),
    ]
    assert log[0].at == t0 + timedelta(minutes=1)
    assert [e.action for e in store.audit_log(since=t0 + timedelta(seconds=30))] == ["update"]


def test_the_head_revision_read_from_the_files_is_alembic_s():
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from pipeline.store import _MIGRATIONS, _head_revision

    cfg = Config()
    cfg.set_main_option("script_location", _MIGRATIONS)
    assert _head_revision() == ScriptDirectory.from_config(cfg).get_current_head()


def test_opening_a_store_at_head_does_not_import_alembic(tmp_path):
    """Every command opens the store; at head it costs one SELECT, not alembic's ~0.4 s import."""
    import subprocess
    import sys

    db = f"sqlite:///{tmp_path}/h.db"
    Store.open(db).close()
    code = ("import sys; from pipeline.store import Store; "
            f"s = Store.open({db!r}); s.close(); s = Store.open({db!r}, readonly=True); s.close(); "
            "print('alembic' in sys.modules)")  # fmt: skip
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False", out.stderr


# -- evidence as offsets into the article's text (migration 0010, issue 17) --------------------

#: several sentences and signals, Cyrillic, a title alone; white space that article_text strips
LEAN = [
    ("  Russia masses troops near Kharkiv  ", "Russian forces fired missiles at Odesa overnight. The Kremlin warned "
     "NATO it would retaliate if long-range weapons were used; Kyiv imposed new sanctions on Russian banks.  "),
    ("Россия пригрозила ударом по Киеву", "Российские войска обстреляли Харьков ракетами. Кремль пригрозил ответным "
     "ударом, если НАТО поставит ракеты."),
    ("China launches live-fire drills around Taiwan and warns the US", ""),
]  # fmt: skip


def lean_art(i, title, summary):
    return Article(feed_url="http://a/rss", guid=f"lean{i}", url=f"http://a/lean{i}", canonical_url=None, title=title,
                   summary=summary, published_at=NOW - timedelta(hours=i), published_estimated=False,
                   language="ru" if i == 1 else "en", author=None, content_hash=f"lean{i}")  # fmt: skip


def evidence_by_title(store):
    from pipeline.store import reads

    return {r["title"]: sorted((s["signal"], s["span_start"], s["evidence"], s["sentence"]) for s in r["signals"])
            for r in reads.search_articles(store, limit=None)}  # fmt: skip


def scorer_evidence(items):
    from pipeline.score import score_article

    return {t: sorted((g.signal, g.evidence.start, g.evidence.text, g.evidence.sentence) for g in sc.signals)
            for t, sc in ((t, score_article(t, s, hint=h)) for t, s, h in items)}  # fmt: skip


def test_signals_keep_offsets_not_copies_of_their_evidence(store):
    from pipeline.score import score_article

    arts = [lean_art(i, t, s) for i, (t, s) in enumerate(LEAN)]
    store.record_update(ok_update(arts, scores=tuple(score_article(a.title, a.summary, hint=a.language) for a in arts)),
                        next_due_at=NOW, status="ok")  # fmt: skip
    with store.engine.connect() as conn:
        rows = conn.execute(sa.select(schema.signals)).all()
    assert len(rows) >= 6
    # no row copies the words or the sentence: both come from the article's text
    assert all(r.evidence is None and r.sentence is None for r in rows)
    assert evidence_by_title(store) == scorer_evidence((a.title, a.summary, a.language) for a in arts)
    # direction, kind and modality are stored as small integers (migration 0011), read as words
    with store.engine.connect() as conn:
        raw = conn.execute(sa.text("SELECT direction, kind, modality FROM signals")).all()
    assert raw and all(isinstance(v, int) for r in raw for v in r)
    from pipeline.store import reads

    assert {s["modality"] for r in reads.search_articles(store, limit=None) for s in r["signals"]} <= set(
        schema.Modality.WORDS)
    assert reads.search_articles(store, modality="threat") and reads.search_articles(store, modality="bogus") == []


def test_signal_word_codes_cover_the_taxonomys_sets():
    from pipeline import signals

    # a word the scorer can emit but the store cannot code would fail every insert of it
    assert schema.Direction.WORDS == signals.DIRECTIONS
    assert schema.Kind.WORDS == signals.KINDS
    assert schema.Modality.WORDS == signals.MODALITIES


def test_signals_scored_from_another_text_keep_their_words(store):
    from pipeline.score import score_article

    a = lean_art(0, "Markets calm", "Nothing happened.")
    other = score_article("Russia fires missiles at Kyiv", "", hint="en")  # not this article's text
    store.record_update(ok_update([a], scores=(other,)), next_due_at=NOW, status="ok")
    assert evidence_by_title(store)["Markets calm"] == scorer_evidence([("Russia fires missiles at Kyiv", "", "en")])[
        "Russia fires missiles at Kyiv"]  # fmt: skip


def test_rescore_keeps_evidence_right(store):
    from pipeline.score import score_article

    arts = [lean_art(i, t, s) for i, (t, s) in enumerate(LEAN)]
    store.record_update(ok_update(arts), next_due_at=NOW, status="ok")  # stored unscored, as a new language
    todo = store.articles_to_score("x")
    assert len(todo) == 3
    store.save_scores([(r["id"], score_article(r["title"], r["summary"], hint=r["language"])) for r in todo], NOW,
                      newly_scored=True)  # fmt: skip
    assert evidence_by_title(store) == scorer_evidence((a.title, a.summary, a.language) for a in arts)
    store.rebuild_aggregates()
    with store.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).where(schema.signals.c.sentence.is_not(None))).scalar() == 0


def test_migrations_0010_0011_keep_the_evidence_of_stored_signals_and_go_back(db_url):
    from alembic import command

    from pipeline.score import score_article
    from pipeline.store import _alembic_config

    eng = sa.create_engine(db_url)
    with eng.connect() as conn:
        command.upgrade(_alembic_config(conn), "0009")
        conn.execute(sa.text("INSERT INTO feeds (id, url, name, enabled, interval_s, tags, in_config, status, "
                             "error_streak, ill_formed, items_total) VALUES (1, 'u', 'n', true, 60, '[]', true, 'ok', "
                             "0, false, 3)"))  # fmt: skip
        legacy = ("Old wording of a strike", "An old sentence no longer in the text.")
        for i, (title, summary) in enumerate(LEAN):
            scored = score_article(title, summary, hint="ru" if i == 1 else "en")
            aid = conn.execute(
                sa.text("INSERT INTO articles (feed_id, guid, title, summary, published_at, published_estimated, "
                        "first_seen_at, content_hash, score, theatre, taxonomy_version, scored_at, language) VALUES "
                        "(1, :g, :title, :summary, :t, false, :t, 'h', :score, :theatre, :v, :t, 'en') RETURNING id"),
                dict(g=f"g{i}", title=title, summary=summary, t=NOW, score=scored.score, theatre=scored.theatre,
                     v=scored.taxonomy_version),
            ).scalar()  # fmt: skip
            rows = [(g.signal, g.evidence.start, g.evidence.end, g.evidence.text, g.evidence.sentence)
                    for g in scored.signals]  # fmt: skip
            if i == 0:  # a row written from another text than the article's: its words must stay
                rows.append(("strike_attack", 4, 11, legacy[0], legacy[1]))
            for sig, start, end, ev, sentence in rows:
                conn.execute(
                    sa.text("INSERT INTO signals (article_id, signal, direction, kind, modality, source, target, "
                            "theatre, span_start, span_end, evidence, sentence, weight, taxonomy_version) VALUES "
                            "(:a, :s, 'escalation', 'act', 'action', NULL, NULL, 'RUS-UKR', :lo, :hi, :ev, :se, 1.0, "
                            "'v')"),
                    dict(a=aid, s=sig, lo=start, hi=end, ev=ev, se=sentence),
                )  # fmt: skip
        conn.commit()
    eng.dispose()
    expected = scorer_evidence((t, s, "ru" if i == 1 else "en") for i, (t, s) in enumerate(LEAN))
    expected[LEAN[0][0]] = sorted(expected[LEAN[0][0]] + [("strike_attack", 4, *legacy)])
    with Store.open(db_url) as s:
        assert s.schema_version() == "0011"
        assert evidence_by_title(s) == expected
        with s.engine.connect() as conn:
            kept = conn.execute(sa.select(schema.signals.c.evidence, schema.signals.c.sentence).where(
                schema.signals.c.evidence.is_not(None) | schema.signals.c.sentence.is_not(None))).all()  # fmt: skip
            # the legacy row alone keeps its words; the others were moved to offsets
            assert [tuple(r) for r in kept] == [legacy]
    # and back: 0009's columns hold the words and sentences again, the article's taxonomy version
    eng = sa.create_engine(db_url)
    with eng.connect() as conn:
        command.downgrade(_alembic_config(conn), "0009")
        conn.commit()
        got = {}
        for r in conn.execute(sa.text("SELECT a.title, s.signal, s.span_start, s.evidence, s.sentence, s.direction, "
                                      "s.taxonomy_version, a.taxonomy_version AS v FROM signals s "
                                      "JOIN articles a ON a.id = s.article_id")):  # fmt: skip
            got.setdefault(r.title, []).append((r.signal, r.span_start, r.evidence, r.sentence))
            assert r.direction == "escalation" and r.taxonomy_version == r.v
    eng.dispose()
    assert {t: sorted(v) for t, v in got.items()} == expected


def _written_tables(db_url, updates):
    with Store.open(db_url) as s:
        s.sync_feeds([FeedSpec("A", "http://a/rss")], NOW)
        for up in updates:
            s.record_update(up, next_due_at=NOW + timedelta(minutes=15), status="ok")
        with s.engine.connect() as conn:
            return {
                t: conn.execute(sa.select(schema.metadata.tables[t]).order_by(*schema.metadata.tables[t].primary_key))
                .all()
                for t in ("articles", "signals", "stories", "story_keys", "trend_buckets", "category_buckets",
                          "feed_buckets")
            }  # fmt: skip


def test_packed_scores_are_stored_exactly_as_the_scored_articles(db_url, tmp_path):
    """The parse pool sends PackedScores (plain tuples across the process boundary): every
    table comes out as when the store is given the ScoredArticles themselves, including a
    score of another text than the stored one (its evidence and sentence kept as text)."""
    from pipeline.parse import parse_feed
    from pipeline.score import score_article
    from pipeline.types import PackedScore, article_text
    from tests.feedgen import make_rss

    parsed = parse_feed(make_rss("a", 20), feed_url="http://a/rss", now=NOW)
    scores = [score_article(a.title, a.summary, hint=a.language) for a in parsed.articles]
    # the last article scored from another text: the spans do not give its words back
    scores[-1] = score_article("Russia threatens to strike Ukraine", "Troops massed at the border, officials said.")
    assert sum(len(s.signals) for s in scores) > 20 and scores[-1].signals
    packed = [PackedScore.of(s, article_text(a.title, a.summary)) for a, s in zip(parsed.articles, scores)]
    assert any(r[11] is not None for r in packed[-1].signal_rows)  # evidence kept as text

    def update(sc):
        return [ok_update(parsed.articles, scores=tuple(sc))]

    if db_url.startswith("sqlite"):
        urls = (f"sqlite:///{tmp_path}/scored.db", f"sqlite:///{tmp_path}/packed.db")
        scored_tables = _written_tables(urls[0], update(scores))
        packed_tables = _written_tables(urls[1], update(packed))
    else:  # one fresh PostgreSQL database: the same store, emptied between the two
        scored_tables = _written_tables(db_url, update(scores))
        with Store.open(db_url) as s, s.engine.begin() as conn:
            for t in reversed(schema.metadata.sorted_tables):
                conn.execute(t.delete())
            for seq in ("feeds", "fetch_log", "articles", "signals", "stories", "story_keys"):
                conn.exec_driver_sql(f"ALTER SEQUENCE {seq}_id_seq RESTART WITH 1")
        packed_tables = _written_tables(db_url, update(packed))
    assert scored_tables["signals"] and scored_tables["stories"]
    assert packed_tables == scored_tables
