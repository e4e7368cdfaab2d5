"""Scheduling, back-off and bounded concurrency around fetch -> parse -> store.

One asyncio loop fetches up to ``settings.concurrency`` feeds at once; parsing
runs off the loop (so a slow parse never stalls other fetches' deadlines);
every write goes through one writer thread, so this process is the single
writer of the store. Writes are group-committed: while the writer is busy they
queue up, and its next turn writes all of them, the polls without articles
(304s, errors) in one transaction and the feed updates with articles in another,
each update still all-or-nothing (a warm cycle is a thousand 304s, a cold one a
thousand updates; one commit each made the writer the bottleneck). A feed's task
returns only once its write has committed. A stop request lets in-flight writes
finish.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import secrets
import signal
import socket
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from multiprocessing import get_context
from dataclasses import dataclass, field
from typing import Any
from datetime import datetime, timedelta, timezone
from pathlib import Path

from . import config as config_mod
from . import trend
from .alerts import AlertConfig, check_and_notify
from .brief import run_scheduled
from .deployment import network_config
from ._aio import run_sync
from .errors import ConfigError, FetchError, ParseError
from .fetch import fetch_feed, make_client
from .parse import parse_feed, parse_notes
from .score import score_article
from .store import FeedState, Store, UpdateWrite
from .types import MAX_INTERVAL_S, MIN_INTERVAL_S, FeedsConfig, FeedUpdate, ParsedFeed, ScoredArticle, Settings

log = logging.getLogger("escalation_watch.poller")

#: smoothing of the new-items-per-poll average that drives adaptive intervals
EWMA_ALPHA = 0.3
#: how far the adaptive schedule may move a feed from its configured interval
ADAPT_MIN_FACTOR = 0.25
ADAPT_MAX_FACTOR = 4.0
#: first retry after an error; doubles per consecutive error up to settings.max_backoff_s
BACKOFF_BASE_S = 120
#: the forever-loop wakes at least this often to notice config edits and stop requests
TICK_S = 5.0
#: several workers (PostgreSQL): how long a claimed feed stays with its worker. A crashed
#: worker's feeds are taken over once it runs out, so it must exceed one feed's whole poll
#: (settings.timeout_s + parse + write); $ESCALATION_WATCH_LEASE_S overrides it
LEASE_S = 300.0
ENV_LEASE_S = "ESCALATION_WATCH_LEASE_S"
#: a worker's name on the feeds it holds (default host:pid:random); shows in feeds.lease_owner
ENV_WORKER_ID = "ESCALATION_WATCH_WORKER_ID"
#: a cycle of at least this many feeds parses and scores in a process pool (one process per
#: core, at most PARSE_PROCESSES_MAX): parse+score is ~80 % of a cold poll's CPU and holds
#: the GIL; a pool costs ~1-2 s to start (each process loads the lexicon), so small cycles
#: and one-core machines keep the parse thread. $ESCALATION_WATCH_PARSE_PROCESSES=0 turns it off
PARSE_POOL_MIN_FEEDS = 100
PARSE_PROCESSES_MAX = 4
ENV_PARSE_PROCESSES = "ESCALATION_WATCH_PARSE_PROCESSES"


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


@dataclass(frozen=True, slots=True)
class Schedule:
    next_due_at: datetime
    status: str
    disabled_reason: str | None
    new_items_ewma: float | None


def schedule(
    state: FeedState,
    update: FeedUpdate,
    new_count: int,
    now: datetime,
    settings: Settings,
    rng: random.Random,
) -> Schedule:
    """When to poll this feed next, and its health status, after ``update``.

    - success: the configured interval, shortened for feeds that post a lot and
      lengthened for quiet ones (within x0.25..x4 of the interval), never below
      the feed's own TTL or the global minimum;
    - error: exponential back-off with +-20 % jitter, capped; never earlier than
      a Retry-After the server gave;
    - 410 Gone: disabled with a reason the dashboard shows.
    """
    interval = state.interval_s
    if update.outcome == "gone":
        reason = (
            f"HTTP 410 Gone at {now:%Y-%m-%d %H:%M} UTC: the publisher removed this feed; "
            "fix its URL in feeds.yaml or disable and re-enable it to retry"
        )
        return Schedule(now + timedelta(seconds=MAX_INTERVAL_S), "gone", reason, state.new_items_ewma)
    if update.outcome in ("ok", "not_modified"):
        ewma = state.new_items_ewma
        if state.last_success_at is not None:
            # the first successful poll sees the whole backlog; it says nothing about the rate
            ewma = new_count if ewma is None else EWMA_ALPHA * new_count + (1 - EWMA_ALPHA) * ewma
        factor = 1.0
        if ewma is not None:
            if ewma >= 10:
                factor = 0.25
            elif ewma >= 3:
                factor = 0.5
            elif ewma < 0.05:
                factor = 4.0
            elif ewma < 0.3:
                factor = 2.0
        lo = max(MIN_INTERVAL_S, interval * ADAPT_MIN_FACTOR, update.ttl_s or state.ttl_s or 0)
        hi = max(lo, min(MAX_INTERVAL_S, interval * ADAPT_MAX_FACTOR))
        delay = min(max(interval * factor, lo), hi)
        return Schedule(now + timedelta(seconds=delay), "ok", None, ewma)
    streak = state.error_streak + 1
    delay = min(settings.max_backoff_s, min(interval, BACKOFF_BASE_S) * 2 ** (streak - 1))
    delay = min(settings.max_backoff_s, delay * rng.uniform(0.8, 1.2))
    if update.retry_after_s:
        delay = max(delay, update.retry_after_s)
    return Schedule(now + timedelta(seconds=delay), "error", None, state.new_items_ewma)


def parse_and_score(
    body: bytes, feed_url: str, headers: dict[str, str], now: datetime, language: str | None
) -> tuple[ParsedFeed, tuple[ScoredArticle, ...], tuple[int | None, ...]]:
    """CPU work of one feed update, off the event loop: parse, score every entry, and take
    the story SimHash of every entry with a signal.

    Scoring re-seen entries costs little (tens of microseconds each) next to
    parsing them, and keeps the write transaction free of CPU work (the SimHash was
    ~15 % of the single writer's time in a cold cycle).
    """
    parsed = parse_feed(body, feed_url=feed_url, headers=headers, now=now, language=language)
    # the language is read from the text; the one the entry or feed declares is the hint
    scores = tuple(score_article(a.title, a.summary, hint=a.language) for a in parsed.articles)
    hashes = tuple(
        trend.simhash(trend.story_text(a.title, a.summary)) if s.theatre is not None and s.signals else None
        for a, s in zip(parsed.articles, scores, strict=True)
    )
    return parsed, scores, hashes


@dataclass
class PollStats:
    feeds: int = 0
    ok: int = 0
    not_modified: int = 0
    errors: int = 0
    skipped: int = 0
    new_articles: int = 0
    #: entries of the parsed documents that are not articles: repeats folded, entries refused
    duplicates: int = 0
    refused: int = 0
    seconds: float = 0.0
    #: seconds the single writer thread spent in group commits during the cycle (issue 17: the
    #: writer set the pace of cold cycles; two clock reads per turn, so always measured)
    writer_busy_s: float = 0.0
    #: of which on a core (the thread's CPU time); the rest it waited for the GIL, a core or the disk
    writer_cpu_s: float = 0.0
    failures: list[tuple[str, str]] = field(default_factory=list)

    def summary(self) -> str:
        return (
            f"polled {self.feeds} feeds in {self.seconds:.1f} s: {self.ok} updated, "
            f"{self.not_modified} not modified, {self.errors} failed, {self.skipped} skipped "
            f"(Retry-After); {self.new_articles} new articles"
            + (self._not_stored() if self.duplicates or self.refused else "")
        )

    def _not_stored(self) -> str:
        # every entry read is an article, a repeat or a refusal (issue 12): say so when not all are articles
        return f" ({self.duplicates} repeated item{'s' if self.duplicates != 1 else ''} folded, {self.refused} refused)"


def select_feeds(store: Store, now: datetime, *, force: bool) -> tuple[list[FeedState], int]:
    """Feeds to poll now, and how many were skipped for a pending Retry-After."""
    chosen, skipped = [], 0
    for st in store.feed_states(only_configured=True):
        if not st.enabled or st.status == "gone":
            continue
        if st.retry_after_until is not None and st.retry_after_until > now:
            skipped += 1
            continue
        if force or st.next_due_at is None or st.next_due_at <= now:
            chosen.append(st)
    return chosen, skipped


class Poller:
    """Polls feeds of one config into one store."""

    def __init__(
        self,
        store: Store,
        config: FeedsConfig,
        *,
        clock: Callable[[], datetime] = utcnow,
        rng: random.Random | None = None,
        on_progress: Callable[[int, int], None] | None = None,
        parse_pool: bool = False,
    ):
        self.store = store
        self.config = config
        self.clock = clock
        self.rng = rng or random.Random()
        self.on_progress = on_progress
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ew-writer")
        #: writes waiting for the writer's next turn, each with its task's future and loop
        self._queued: list[tuple[UpdateWrite, asyncio.Future, asyncio.AbstractEventLoop]] = []
        self._queue_lock = threading.Lock()
        #: seconds spent in _flush_writes so far (wall, and the writer thread's CPU), added to by
        #: the writer thread only
        self._writer_busy_s = 0.0
        self._writer_cpu_s = 0.0
        self._parser = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ew-parse")
        self._parse_pool: ProcessPoolExecutor | None = None
        #: a process pool for big cycles only when asked for (the CLI does): the pool imports
        #: the caller's main module in each worker, which a script without a __main__ guard
        #: cannot survive; library callers keep the parse thread unless they opt in
        self._pool_failed = not parse_pool
        self._languages = {f.url: f.language for f in config.feeds}
        self._user_agents = {f.url: f.user_agent for f in config.feeds if f.user_agent}
        #: the size of the cycle under way (a pool is worth starting for big ones) and the lock
        #: that lets only its first parse start the pool
        self._cycle_feeds = 0
        self._pool_lock: asyncio.Lock | None = None
        #: None: this process is the only poller (SQLite); else it claims feeds under this name
        self.worker_id = worker_id() if store.supports_leases else None
        self.lease_s = lease_seconds()

    def set_config(self, config: FeedsConfig) -> None:
        self.config = config
        self._languages = {f.url: f.language for f in config.feeds}
        self._user_agents = {f.url: f.user_agent for f in config.feeds if f.user_agent}
        self.store.sync_feeds(config.feeds, self.clock())

    def close(self) -> None:
        # wait: an in-flight transaction is finished, never abandoned
        self._writer.shutdown(wait=True)
        self._parser.shutdown(wait=True)
        if self._parse_pool is not None:
            self._parse_pool.shutdown(wait=True, cancel_futures=True)

    def _parse_executor(self, n_feeds: int) -> Executor:
        """The process pool for a big cycle (started once, kept for the next), else the parse thread."""
        if self._parse_pool is None and n_feeds >= PARSE_POOL_MIN_FEEDS and not self._pool_failed:
            n = parse_processes()
            if n > 1:
                # forkserver: never fork this process, whose threads may hold locks
                pool = ProcessPoolExecutor(max_workers=n, mp_context=get_context("forkserver"))
                try:
                    # start the workers now; a caller's script without a __main__ guard, or a
                    # sandbox without multiprocessing, must cost speed, not every feed
                    pool.submit(int).result(timeout=120)
                except Exception as e:
                    pool.shutdown(wait=False, cancel_futures=True)
                    self._pool_failed = True
                    log.warning("parse process pool unavailable, parsing in a thread",
                                extra={"error": f"{type(e).__name__}: {str(e).strip().splitlines()[0]}"})  # fmt: skip
                else:
                    self._parse_pool = pool
        return self._parse_pool or self._parser

    async def _parse_target(self) -> Executor:
        """Where this body is parsed: the pool (started by the first parse of a big cycle,
        off the event loop, once) or the parse thread."""
        if self._parse_pool is None and not self._pool_failed and self._cycle_feeds >= PARSE_POOL_MIN_FEEDS:
            async with self._pool_lock:
                if self._parse_pool is None and not self._pool_failed:
                    loop = asyncio.get_running_loop()
                    await loop.run_in_executor(None, self._parse_executor, self._cycle_feeds)
        return self._parse_pool or self._parser

    async def poll(self, feeds: Sequence[FeedState], stop: asyncio.Event | None = None) -> PollStats:
        stats = PollStats(feeds=len(feeds))
        t0 = time.monotonic()
        busy0, cpu0 = self._writer_busy_s, self._writer_cpu_s
        settings = self.config.settings
        sem = asyncio.Semaphore(settings.concurrency)
        done = 0
        # the pool starts at the first body to parse, not here: a warm cycle (all 304s) never
        # waits the ~1 s a pool takes to start
        self._cycle_feeds = len(feeds)
        self._pool_lock = asyncio.Lock()
        async with make_client(settings) as client:

            async def one(st: FeedState) -> None:
                nonlocal done
                async with sem:
                    if stop is not None and stop.is_set():
                        return
                    await self._poll_one(client, st, stats)
                done += 1
                if self.on_progress:
                    self.on_progress(done, len(feeds))

            tasks = [asyncio.create_task(one(st)) for st in feeds]
            if stop is None:
                await asyncio.gather(*tasks)
            else:
                stopper = asyncio.create_task(stop.wait())
                pending = set(tasks)
                while pending:
                    finished, pending = await asyncio.wait(pending | {stopper}, return_when=asyncio.FIRST_COMPLETED)
                    pending.discard(stopper)
                    # a task only fails when the store does (a full disk, a read-only
                    # file): stop the cycle rather than fail every remaining feed too
                    failed = any(t is not stopper and not t.cancelled() and t.exception() for t in finished)
                    if stop.is_set() or failed:
                        for t in pending:
                            t.cancel()
                        await asyncio.gather(*pending, return_exceptions=True)
                        break
                stopper.cancel()
            # retrieve every task's exception (no "Task exception was never retrieved"
            # traceback per feed), raise the first
            errors = [t.exception() for t in tasks if t.done() and not t.cancelled() and t.exception()]
            if errors:
                raise errors[0]
        stats.seconds = time.monotonic() - t0
        # every task has awaited its commit, so the cycle's flushes are all counted
        stats.writer_busy_s = self._writer_busy_s - busy0
        stats.writer_cpu_s = self._writer_cpu_s - cpu0
        return stats

    async def poll_claimed(
        self,
        stop: asyncio.Event | None = None,
        *,
        fetched_before: datetime | None = None,
        total: int | None = None,
    ) -> PollStats:
        """Poll feeds claimed from the store (several workers share them) until none is left.

        The worker claims only as many feeds as it has free fetch slots, so feeds are
        spread over the workers as they go and a claimed feed starts at once (its
        lease need only cover one poll). ``fetched_before``: ``poll --once``, claim
        feeds not fetched since then, due or not. On a stop the claimed but unfinished
        feeds are released for the other workers.
        """
        assert self.worker_id is not None, "the store does not support leases"
        stats = PollStats()
        t0 = time.monotonic()
        busy0, cpu0 = self._writer_busy_s, self._writer_cpu_s
        settings = self.config.settings
        loop = asyncio.get_running_loop()
        # claim again once a quarter of the slots are free: fewer, larger claims
        refill = max(1, settings.concurrency // 4)
        done = 0

        def claim(n: int) -> list[FeedState]:
            return self.store.claim_due_feeds(
                self.worker_id, self.clock(), self.lease_s, n, fetched_before=fetched_before
            )

        async with make_client(settings) as client:
            running: set[asyncio.Task] = set()
            stopper = asyncio.create_task(stop.wait()) if stop is not None else None
            exhausted = False
            try:
                while True:
                    if stop is not None and stop.is_set():
                        break
                    free = settings.concurrency - len(running)
                    if not exhausted and (free >= refill or not running):
                        # in the writer thread: a DB round trip never stalls the fetches
                        batch = await loop.run_in_executor(self._writer, claim, free)
                        exhausted = len(batch) < free
                        stats.feeds += len(batch)
                        running.update(asyncio.create_task(self._poll_one(client, st, stats)) for st in batch)
                    if not running:
                        break
                    waiting = running | ({stopper} if stopper is not None else set())
                    finished, _ = await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
                    for t in finished - {stopper}:
                        running.discard(t)
                        if t.exception() is not None:
                            # the store failed (disk, connection): stop the cycle, don't fail every feed
                            raise t.exception()
                        done += 1
                        if self.on_progress:
                            self.on_progress(done, max(total or 0, stats.feeds))
            finally:
                for t in running:
                    t.cancel()
                await asyncio.gather(*running, return_exceptions=True)
                if stopper is not None:
                    stopper.cancel()
                if running or (stop is not None and stop.is_set()):
                    # after any write still in the writer thread: hand the rest to the others now
                    # (if this fails too, the leases simply expire)
                    try:
                        await asyncio.shield(
                            loop.run_in_executor(self._writer, self.store.release_leases, self.worker_id)
                        )
                    except Exception:
                        log.exception("could not release this worker's leases")
        stats.seconds = time.monotonic() - t0
        stats.writer_busy_s = self._writer_busy_s - busy0
        stats.writer_cpu_s = self._writer_cpu_s - cpu0
        return stats

    async def _poll_one(self, client, st: FeedState, stats: PollStats) -> None:
        loop = asyncio.get_running_loop()
        settings = self.config.settings
        started = self.clock()
        try:
            result = await fetch_feed(
                client, st.url, settings=settings, etag=st.etag, last_modified=st.last_modified,
                user_agent=self._user_agents.get(st.url),
            )
            if result.not_modified:
                update = FeedUpdate(
                    st.url, started, self.clock(), "not_modified", status=304,
                    etag=result.etag, last_modified=result.last_modified,
                )
            else:
                body = result.body or b""
                parsed, scores, hashes = await loop.run_in_executor(
                    await self._parse_target(),
                    parse_and_score,
                    body,
                    st.url,
                    result.headers,
                    started,
                    self._languages.get(st.url),
                )
                update = FeedUpdate(
                    st.url, started, self.clock(), "ok", status=result.status,
                    articles=parsed.articles, etag=result.etag, last_modified=result.last_modified,
                    ttl_s=parsed.ttl_s, ill_formed=parsed.ill_formed, body_bytes=len(body), scores=scores,
                    simhashes=hashes,
                    items_duplicate=parsed.duplicates, items_refused=len(parsed.refused),
                    parse_notes=parse_notes(parsed),
                    error=(f"ill-formed feed, entries kept: {parsed.ill_formed_reason}" if parsed.ill_formed else None),
                )
        except FetchError as e:
            update = FeedUpdate(
                st.url, started, self.clock(), "gone" if e.gone else "error", status=e.status,
                error=e.reason, retry_after_s=e.retry_after_s,
            )
        except ParseError as e:
            update = FeedUpdate(st.url, started, self.clock(), "error", status=200, error=e.reason)
        except asyncio.CancelledError:
            raise
        except Exception as e:  # one bad feed never stops the others
            log.exception("internal error polling %s", st.url)
            update = FeedUpdate(
                st.url, started, self.clock(), "error", error=f"internal error: {type(e).__name__}: {e}"
            )
        # the new-article count is only known after the write; schedule with the parse count first
        sched = schedule(st, update, 0, update.finished_at, settings, self.rng)
        if update.outcome != "ok":
            await self._write(UpdateWrite(update, sched.next_due_at, sched.status, sched.disabled_reason,
                                          lease_owner=self.worker_id))  # fmt: skip
            self._count(st, update, sched, 0, stats)
            return

        def reschedule(new: int) -> tuple[datetime, float | None]:
            # in the transaction, once the new-article count is known
            if new and st.last_success_at is not None:
                s2 = schedule(st, update, new, update.finished_at, settings, self.rng)
                return s2.next_due_at, s2.new_items_ewma
            return sched.next_due_at, sched.new_items_ewma

        new = await self._write(UpdateWrite(update, sched.next_due_at, sched.status, sched.disabled_reason,
                                            sched.new_items_ewma, self.worker_id, reschedule))  # fmt: skip
        self._count(st, update, sched, new, stats)

    async def _write(self, write: UpdateWrite) -> int:
        """Queue a write for the writer's next group commit; return (its new-article count)
        once it has committed, or raise what kept it out."""
        loop = asyncio.get_running_loop()
        done = loop.create_future()
        with self._queue_lock:
            self._queued.append((write, done, loop))
        loop.run_in_executor(self._writer, self._timed_flush)
        # shield: a stop request never abandons the write (the writer finishes it either way)
        return await asyncio.shield(done)

    def _timed_flush(self) -> None:
        """_flush_writes, its wall and CPU time added to the writer's (PollStats.writer_busy_s, writer_cpu_s)."""
        t0, c0 = time.perf_counter(), time.thread_time()
        try:
            self._flush_writes()
        finally:
            self._writer_busy_s += time.perf_counter() - t0
            self._writer_cpu_s += time.thread_time() - c0

    def _flush_writes(self) -> None:
        """In the writer thread: every queued write, health ones in one transaction and
        article ones in another (Store.record_health, Store.record_updates)."""
        with self._queue_lock:
            batch, self._queued = self._queued, []
        if not batch:
            return  # an earlier turn took them
        health = [(w, d, lp) for w, d, lp in batch if w.update.outcome != "ok"]
        updates = [(w, d, lp) for w, d, lp in batch if w.update.outcome == "ok"]
        if health:
            error: BaseException | None = None
            try:
                self.store.record_health([w for w, _, _ in health])
            except BaseException as e:  # noqa: BLE001 - handed to every waiting task
                error = e
            for _, done, lp in health:
                _settle_from_thread(lp, done, 0 if error is None else error)
        if updates:
            try:
                results: list[Any] = self.store.record_updates([w for w, _, _ in updates])
            except BaseException as e:  # noqa: BLE001 - handed to every waiting task
                results = [e] * len(updates)
            for (_, done, lp), result in zip(updates, results, strict=True):
                _settle_from_thread(lp, done, result)

    def _count(self, st: FeedState, update: FeedUpdate, sched, new: int, stats: PollStats) -> None:
        stats.new_articles += new
        stats.duplicates += update.items_duplicate
        stats.refused += update.items_refused
        if update.outcome == "ok":
            stats.ok += 1
        elif update.outcome == "not_modified":
            stats.not_modified += 1
        else:
            stats.errors += 1
            stats.failures.append((st.url, update.error or update.outcome))
        log.info(
            "feed polled",
            extra={
                "feed": st.url,
                "outcome": update.outcome,
                "status": update.status,
                "new": new,
                "duplicate": update.items_duplicate or None,
                "refused": update.items_refused or None,
                "notes": update.parse_notes,
                "error": update.error,
                "next_due": sched.next_due_at.isoformat(timespec="seconds"),
                "worker": self.worker_id,  # None (left out) for the single SQLite poller
            },
        )


def _settle(done: asyncio.Future, result: Any) -> None:
    if done.done():  # its task was cancelled and nobody waits
        return
    if isinstance(result, BaseException):
        done.set_exception(result)
    else:
        done.set_result(result)


def _settle_from_thread(loop: asyncio.AbstractEventLoop, done: asyncio.Future, result: Any) -> None:
    try:
        loop.call_soon_threadsafe(_settle, done, result)
    except RuntimeError:  # that loop has closed (its run was cancelled): nobody waits
        pass


def check_alerts(store: Store, alerts: AlertConfig | None, now: datetime, worker: str | None = None) -> None:
    """Evaluate alert rules after a cycle, and send the daily brief when it is due; a
    failure here never stops the poller."""
    if alerts is None:
        return
    if alerts.rules:
        try:
            # several workers: one of them checks (and fires each alert once), the others skip
            with store.exclusive("alerts") as mine:
                if mine:
                    check_and_notify(store, alerts, now=now)
        except Exception:
            log.exception("alert evaluation failed")
    if alerts.brief is not None:
        try:
            # once per day whoever gets here first: a row claimed in the store (pipeline.brief)
            run_scheduled(store, alerts, now=now, worker=worker or worker_id())
        except Exception:
            log.exception("daily brief failed")


def poll_once(
    store: Store,
    config: FeedsConfig,
    *,
    on_progress=None,
    alerts: AlertConfig | None = None,
    parse_pool: bool = False,
) -> PollStats:
    """Poll every enabled feed now, due or not (Retry-After still applies), then check alerts."""
    poller = Poller(store, config, on_progress=on_progress, parse_pool=parse_pool)
    try:
        started = poller.clock()
        store.sync_feeds(config.feeds, started)
        feeds, skipped = select_feeds(store, poller.clock(), force=True)

        async def main() -> PollStats:
            stop = asyncio.Event()
            _install_signal_handlers(stop)
            if poller.worker_id is not None:
                # other workers may be polling too: take a share, each feed once
                return await poller.poll_claimed(stop, fetched_before=started, total=len(feeds))
            return await poller.poll(feeds, stop)

        stats = run_sync(main)
        stats.skipped = skipped
        check_alerts(store, alerts, poller.clock(), poller.worker_id)
        return stats
    finally:
        poller.close()


def _install_signal_handlers(stop: asyncio.Event) -> None:
    if threading.current_thread() is not threading.main_thread():
        return
    loop = asyncio.get_running_loop()
    # SIGHUP too: a closed terminal or a process manager's stop ends the poll in order
    # (its default ends Python with no cleanup; `run` then left its dashboard behind)
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        try:
            loop.add_signal_handler(sig, stop.set)
        except (NotImplementedError, RuntimeError):  # pragma: no cover - non-POSIX
            pass


def poll_forever(
    store: Store,
    config_path: str | Path,
    *,
    stop_flag: threading.Event | None = None,
    alerts: AlertConfig | None = None,
    parse_pool: bool = False,
    exposed: bool = False,
) -> None:
    """Poll each feed on its own schedule until SIGINT/SIGTERM/SIGHUP (or ``stop_flag``).

    feeds.yaml is re-read when it changes on disk, so edits from the dashboard or
    a text editor take effect without a restart; an invalid edit is logged and
    the last good config stays in force. ``exposed``: this poller serves a
    dashboard others can reach (``run --host 0.0.0.0``), so an unset
    ``deny_private_networks`` denies private destinations (pipeline.deployment).
    """
    path = Path(config_path)

    def load() -> FeedsConfig:
        return network_config(config_mod.load(path), exposed=exposed)

    config = load()
    mtime = _mtime(path)
    poller = Poller(store, config, parse_pool=parse_pool)
    poller.set_config(config)

    async def main() -> None:
        nonlocal config, mtime
        stop = asyncio.Event()
        _install_signal_handlers(stop)
        while not stop.is_set():
            if stop_flag is not None and stop_flag.is_set():
                break
            m = _mtime(path)
            if m != mtime:
                mtime = m
                try:
                    config = load()
                    poller.set_config(config)
                    log.info("feeds.yaml reloaded", extra={"feeds": len(config.feeds)})
                except ConfigError as e:
                    log.error("feeds.yaml has errors; keeping the previous configuration:\n%s", e)
            now = poller.clock()
            if poller.worker_id is not None:
                # several workers (PostgreSQL): claim due feeds under a lease
                stats = await poller.poll_claimed(stop)
                if stats.feeds:
                    log.info(stats.summary())
                    await asyncio.get_running_loop().run_in_executor(
                        poller._writer, check_alerts, store, alerts, poller.clock(), poller.worker_id
                    )
                    continue
                await _sleep_until(stop, _seconds_to_next_claim(store, now))
                continue
            due, _ = select_feeds(store, now, force=False)
            if due:
                stats = await poller.poll(due, stop)
                log.info(stats.summary())
                # off the loop: webhook retries must not stall fetch deadlines
                await asyncio.get_running_loop().run_in_executor(
                    poller._writer, check_alerts, store, alerts, poller.clock(), poller.worker_id
                )
                continue
            await _sleep_until(stop, _seconds_to_next_due(store, now))
        log.info("poller stopped")

    try:
        asyncio.run(main())
    finally:
        poller.close()


def _seconds_to_next_due(store: Store, now: datetime) -> float:
    nexts = [
        s.next_due_at
        for s in store.feed_states(only_configured=True)
        if s.enabled and s.status != "gone" and s.next_due_at is not None
    ]
    if not nexts:
        return TICK_S
    return max(0.2, min(TICK_S, (min(nexts) - now).total_seconds()))


def _seconds_to_next_claim(store: Store, now: datetime) -> float:
    nxt = store.next_claim_at()
    if nxt is None:
        return TICK_S
    return max(0.2, min(TICK_S, (nxt - now).total_seconds()))


def worker_id() -> str:
    """$ESCALATION_WATCH_WORKER_ID, else host:pid:random (pids repeat across containers)."""
    return os.environ.get(ENV_WORKER_ID) or f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


def parse_processes() -> int:
    """Processes of the parse pool: $ESCALATION_WATCH_PARSE_PROCESSES, else one per core (capped)."""
    value = os.environ.get(ENV_PARSE_PROCESSES)
    if value is not None and value.strip().isdigit():
        return int(value)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return min(cores, PARSE_PROCESSES_MAX)


def lease_seconds() -> float:
    value = os.environ.get(ENV_LEASE_S)
    if not value:
        return LEASE_S
    try:
        lease = float(value)
    except ValueError:
        raise ConfigError(f"${ENV_LEASE_S}: not a number of seconds: {value!r}") from None
    if lease <= 0:
        raise ConfigError(f"${ENV_LEASE_S}: must be positive (got {value})")
    return lease


async def _sleep_until(stop: asyncio.Event, seconds: float) -> None:
    try:
        await asyncio.wait_for(stop.wait(), timeout=seconds)
    except asyncio.TimeoutError:
        pass


def _mtime(path: Path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size)


__all__ = ["Poller", "PollStats", "Schedule", "schedule", "select_feeds", "poll_once", "poll_forever"]
