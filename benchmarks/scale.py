"""One poll cycle of N local feeds by 1, 2 and 4 `escalation-watch poll` workers.

    .venv/bin/python benchmarks/scale.py --feeds 2000

Serves generated RSS from a local server on 127.0.0.1 with a per-request latency
(so fetching, not parsing, dominates, as with real publishers), registers every
feed due a few seconds ahead in a fresh store, starts the workers as real
processes, and times the cycle from the first fetch to the last write (from
fetch_log). SQLite has one writer, so it runs with one worker; PostgreSQL runs
with each worker count (a fresh ``ew_bench_<uuid>`` database each time, dropped
afterwards). Prints cycle time, feeds/s and items/s per backend and worker count,
and fails if an item was stored twice or a feed fetched twice.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import sqlalchemy as sa  # noqa: E402

from pipeline.store import Store  # noqa: E402
from pipeline.types import FeedSpec  # noqa: E402
from tests.feedgen import make_rss  # noqa: E402
from tests.feedserver import FeedServer  # noqa: E402

DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432"


def build(srv: FeedServer, n_feeds: int, n_items: int, latency_s: float, tmp: Path) -> tuple[Path, list[FeedSpec]]:
    lines, specs = ["feeds:"], []
    for i in range(n_feeds):
        url = srv.route(f"/f{i}.xml", make_rss(f"f{i}", n_items, item_bytes=600), etag=f'"f{i}"', delay_s=latency_s)
        lines += [f"  - name: feed {i}", f"    url: {url}", "    interval: 1h"]
        specs.append(FeedSpec(f"feed {i}", url, interval_s=3600))
    cfg = tmp / "feeds.yaml"
    cfg.write_text("\n".join(lines) + "\n")
    return cfg, specs


class PgDatabase:
    """A fresh database on the server, dropped on exit (connections and all)."""

    def __init__(self, server: str):
        self.server = sa.make_url(server).set(drivername="postgresql+psycopg")
        self.name = f"ew_bench_{uuid.uuid4().hex[:12]}"

    def _admin(self, sql: str) -> None:
        eng = sa.create_engine(self.server.set(database="postgres"), isolation_level="AUTOCOMMIT")
        try:
            with eng.connect() as conn:
                conn.exec_driver_sql(sql)
        finally:
            eng.dispose()

    def __enter__(self) -> str:
        self._admin(f'CREATE DATABASE "{self.name}"')
        return self.server.set(database=self.name).render_as_string(hide_password=False)

    def __exit__(self, *exc) -> None:
        self._admin(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


def run_cycle(
    srv: FeedServer, cfg: Path, specs: list[FeedSpec], db_url: str, workers: int, start_delay_s: float, tmp: Path
) -> dict:
    """Register the feeds due in ``start_delay_s``, start the workers, wait for the cycle; return its figures."""
    before = {s.url: srv.count(s.url.removeprefix(srv.base_url)) for s in specs}
    with Store.open(db_url) as store:
        store.sync_feeds(specs, datetime.now(timezone.utc) + timedelta(seconds=start_delay_s))
    procs = []
    for w in range(workers):
        env = dict(os.environ, ESCALATION_WATCH_WORKER_ID=f"bench-{w}")
        log = (tmp / f"worker-{w}.log").open("w")
        procs.append(subprocess.Popen(
            [sys.executable, "-m", "pipeline", "poll", "--config", str(cfg), "--db", db_url, "--log-level", "warning"],
            stdout=log, stderr=log, env=env,
        ))  # fmt: skip
    engine = sa.create_engine(db_url.replace("postgresql://", "postgresql+psycopg://"), poolclass=sa.pool.NullPool)
    q = sa.text("SELECT count(DISTINCT feed_id), count(*), min(started_at), max(finished_at), "
                "coalesce(sum(items_new), 0) FROM fetch_log")  # fmt: skip
    deadline = time.monotonic() + start_delay_s + 600
    try:
        while True:
            with engine.connect() as conn:
                done, polls, first, last, items = conn.execute(q).one()
            if done >= len(specs):
                break
            if time.monotonic() > deadline or any(p.poll() is not None for p in procs):
                tails = "".join(f"\n--- worker {w} (exit {p.poll()}):\n" + (tmp / f"worker-{w}.log").read_text()[-3000:]
                                for w, p in enumerate(procs))  # fmt: skip
                raise SystemExit(f"cycle did not finish: {done}/{len(specs)} feeds{tails}")
            time.sleep(0.1)
        with engine.connect() as conn:
            stored = conn.execute(sa.text(
                "SELECT (SELECT count(*) FROM articles), "
                "(SELECT count(*) FROM (SELECT DISTINCT feed_id, guid FROM articles) AS d)"
            )).one()  # fmt: skip
    finally:
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in procs:
            p.wait(timeout=60)
        engine.dispose()
    # SQLite hands back text, PostgreSQL aware datetimes
    first, last = (datetime.fromisoformat(str(t)) for t in (first, last))
    secs = (last - first).total_seconds()
    fetched_twice = sum(srv.count(u.removeprefix(srv.base_url)) - before[u] > 1 for u in before)
    if stored[0] != stored[1] or polls != len(specs) or fetched_twice:
        raise SystemExit(f"double work: {stored[0]} rows for {stored[1]} items, {polls} polls, "
                         f"{fetched_twice} feeds fetched twice")  # fmt: skip
    return dict(workers=workers, feeds=len(specs), items=int(items), seconds=secs,
                feeds_per_s=len(specs) / secs, items_per_s=items / secs)  # fmt: skip


def run(args: argparse.Namespace) -> list[dict]:
    rows = []
    with FeedServer() as srv, tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        cfg, specs = build(srv, args.feeds, args.items, args.latency_ms / 1000, tmp)
        for backend in args.backends.split(","):
            for workers in sorted({int(w) for w in args.workers.split(",")}):
                if backend == "sqlite":
                    if workers != 1:
                        continue  # one writer: SQLite's poller does not share feeds
                    db = tmp / f"bench-{uuid.uuid4().hex[:8]}.db"
                    row = run_cycle(srv, cfg, specs, f"sqlite:///{db}", workers, args.start_delay, tmp)
                elif backend == "postgresql":
                    with PgDatabase(args.pg) as url:
                        row = run_cycle(srv, cfg, specs, url, workers, args.start_delay, tmp)
                else:
                    raise SystemExit(f"unknown backend {backend!r}: sqlite or postgresql")
                rows.append(dict(backend=backend, **row))
                print_row(rows[-1], file=sys.stderr)
    return rows


HEADER = f"{'backend':<11} {'workers':>7} {'feeds':>6} {'items':>7} {'cycle s':>8} {'feeds/s':>8} {'items/s':>8}"


def print_row(r: dict, file=sys.stdout) -> None:
    print(
        f"{r['backend']:<11} {r['workers']:>7} {r['feeds']:>6} {r['items']:>7} {r['seconds']:>8.2f} "
        f"{r['feeds_per_s']:>8.0f} {r['items_per_s']:>8.0f}",
        file=file,
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--feeds", type=int, default=2000)
    ap.add_argument("--items", type=int, default=5, help="items per feed (default 5)")
    ap.add_argument("--latency-ms", type=float, default=500, help="per-request latency of the feed server (default 500)")
    ap.add_argument("--workers", default="1,2,4", help="worker counts (default 1,2,4)")
    ap.add_argument("--backends", default="sqlite,postgresql")
    ap.add_argument("--pg", default=os.environ.get("ESCALATION_WATCH_BENCH_PG", DEFAULT_PG),
                    help=f"PostgreSQL server, no database (default {DEFAULT_PG})")  # fmt: skip
    ap.add_argument("--start-delay", type=float, default=8.0,
                    help="seconds between registering the feeds and their due time (worker start-up)")  # fmt: skip
    args = ap.parse_args(argv)
    # SIGTERM unwinds like Ctrl-C: workers stopped, benchmark databases dropped
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    rows = run(args)
    print(f"{args.feeds} feeds x {args.items} items, {args.latency_ms:g} ms per request, 16 fetches per worker")
    print(HEADER)
    for r in rows:
        print_row(r)
    return 0


if __name__ == "__main__":
    sys.exit(main())
