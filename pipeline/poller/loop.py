"""The async fetch loop: fetch up to ``settings.concurrency`` feeds at once, one cycle at a time.

Owns :class:`Poller`: one asyncio cycle over given feeds (:meth:`Poller.poll`) or
over feeds claimed from the store by several workers (:meth:`Poller.poll_claimed`),
and one feed's poll (fetch, parse off the loop, schedule, queue the write). The
decisions are :mod:`.scheduling`, the CPU work :mod:`.parsing`, the writes
:mod:`.writer`. It must not run SQL nor install signal handlers (:mod:`.lifecycle`).
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import secrets
import socket
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone

from ..errors import ConfigError, FetchError, ParseError
from ..fetch import fetch_feed, make_client
from ..parse import parse_notes
from ..store import FeedState, Store, UpdateWrite
from ..types import FeedsConfig, FeedUpdate
from .parsing import ParseWorkers, parse_and_score
from .scheduling import schedule
from .writer import SingleWriter

log = logging.getLogger("escalation_watch.poller")

#: several workers (PostgreSQL): how long a claimed feed stays with its worker. A crashed
#: worker's feeds are taken over once it runs out, so it must exceed one feed's whole poll
#: (settings.timeout_s + parse + write); $ESCALATION_WATCH_LEASE_S overrides it
LEASE_S = 300.0
ENV_LEASE_S = "ESCALATION_WATCH_LEASE_S"
#: a worker's name on the feeds it holds (default host:pid:random); shows in feeds.lease_owner
ENV_WORKER_ID = "ESCALATION_WATCH_WORKER_ID"


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


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


class Poller(SingleWriter):
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
        self._start_writer()
        self._parse = ParseWorkers(pool=parse_pool)
        self._languages = {f.url: f.language for f in config.feeds}
        self._user_agents = {f.url: f.user_agent for f in config.feeds if f.user_agent}
        #: None: this process is the only poller (SQLite); else it claims feeds under this name
        self.worker_id = worker_id() if store.supports_leases else None
        self.lease_s = lease_seconds()

    def set_config(self, config: FeedsConfig) -> None:
        self.config = config
        self._languages = {f.url: f.language for f in config.feeds}
        self._user_agents = {f.url: f.user_agent for f in config.feeds if f.user_agent}
        self.store.sync_feeds(config.feeds, self.clock())

    def close(self) -> None:
        self._stop_writer()
        self._parse.close()

    async def poll(self, feeds: Sequence[FeedState], stop: asyncio.Event | None = None) -> PollStats:
        stats = PollStats(feeds=len(feeds))
        t0 = time.monotonic()
        busy0, cpu0 = self._writer_busy_s, self._writer_cpu_s
        settings = self.config.settings
        sem = asyncio.Semaphore(settings.concurrency)
        done = 0
        # the pool starts at the first body to parse, not here: a warm cycle (all 304s) never
        # waits the ~1 s a pool takes to start
        self._parse.start_cycle(len(feeds))
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
        # every task has awaited its commit, so the cycle's flushes are all counted
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
                    await self._parse.target(),
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


def worker_id() -> str:
    """$ESCALATION_WATCH_WORKER_ID, else host:pid:random (pids repeat across containers)."""
    return os.environ.get(ENV_WORKER_ID) or f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


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
