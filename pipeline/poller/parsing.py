"""The CPU work of a poll, off the event loop: parse, score, hash; the thread or pool it runs in.

Owns :func:`parse_and_score` (a function of bytes, picklable for a process
pool) and :class:`ParseWorkers`, which picks where it runs: one thread, or for a
cycle of at least PARSE_POOL_MIN_FEEDS feeds a process pool started by that
cycle's first body. It must not fetch or write: it gets bytes and returns
records.
"""

from __future__ import annotations

import asyncio
import logging
import os
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from datetime import datetime
from multiprocessing import get_context

from .. import trend
from ..parse import parse_feed
from ..types import PackedScore, ParsedFeed, article_text

log = logging.getLogger("escalation_watch.poller")

#: a cycle of at least this many feeds parses and scores in a process pool (one process per
#: core, at most PARSE_PROCESSES_MAX): parse+score is ~80 % of a cold poll's CPU and holds
#: the GIL; a pool costs ~1-2 s to start (each process loads the lexicon), so small cycles
#: and one-core machines keep the parse thread. $ESCALATION_WATCH_PARSE_PROCESSES=0 turns it off
PARSE_POOL_MIN_FEEDS = 100
PARSE_PROCESSES_MAX = 4
ENV_PARSE_PROCESSES = "ESCALATION_WATCH_PARSE_PROCESSES"
#: how much lower the parse processes' CPU priority is than the poller's (``os.nice``; the
#: writer thread paces a cold cycle); $ESCALATION_WATCH_PARSE_NICE overrides it, 0 turns it off
PARSE_NICE = 10
ENV_PARSE_NICE = "ESCALATION_WATCH_PARSE_NICE"


def parse_and_score(
    body: bytes, feed_url: str, headers: dict[str, str], now: datetime, language: str | None
) -> tuple[ParsedFeed, tuple[PackedScore, ...], tuple[int | None, ...]]:
    """CPU work of one feed update, off the event loop: parse, score every entry, and take
    the story SimHash of every entry with a signal.

    Scoring re-seen entries costs little (tens of microseconds each) next to
    parsing them, and keeps the write transaction free of CPU work (the SimHash was
    ~15 % of the single writer's time in a cold cycle). The scores come packed
    (:class:`~pipeline.types.PackedScore`, what the store writes of them): from a
    process pool they cross as tuples, and the single writer gets its signal rows made.
    """
    # imported here: the scorer loads its lexicon on import (~90 ms), which a cycle with
    # nothing to parse (dead feeds, 304s) never needs
    from ..score import score_article

    parsed = parse_feed(body, feed_url=feed_url, headers=headers, now=now, language=language)
    # the language is read from the text; the one the entry or feed declares is the hint
    scores = tuple(score_article(a.title, a.summary, hint=a.language) for a in parsed.articles)
    hashes = tuple(
        trend.simhash(trend.story_text(a.title, a.summary)) if s.theatre is not None and s.signals else None
        for a, s in zip(parsed.articles, scores, strict=True)
    )
    packed = tuple(
        PackedScore.of(s, article_text(a.title, a.summary)) for a, s in zip(parsed.articles, scores, strict=True)
    )
    return parsed, packed, hashes


class ParseWorkers:
    """Where the poller's bodies are parsed: the parse thread, or a process pool for big cycles."""

    def __init__(self, *, pool: bool):
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ew-parse")
        self._pool: ProcessPoolExecutor | None = None
        #: a process pool for big cycles only when asked for (the CLI does): the pool imports
        #: the caller's main module in each worker, which a script without a __main__ guard
        #: cannot survive; library callers keep the parse thread unless they opt in
        self._pool_failed = not pool
        #: the size of the cycle under way (a pool is worth starting for big ones) and the lock
        #: that lets only its first parse start the pool
        self._cycle_feeds = 0
        self._pool_lock: asyncio.Lock | None = None

    def start_cycle(self, n_feeds: int) -> None:
        """A cycle of ``n_feeds`` begins (in the event loop that will parse them)."""
        self._cycle_feeds = n_feeds
        self._pool_lock = asyncio.Lock()

    def _executor(self, n_feeds: int) -> Executor:
        """The process pool for a big cycle (started once, kept for the next), else the parse thread."""
        if self._pool is None and n_feeds >= PARSE_POOL_MIN_FEEDS and not self._pool_failed:
            n = parse_processes()
            if n > 1:
                # forkserver: never fork this process, whose threads may hold locks
                pool = ProcessPoolExecutor(max_workers=n, mp_context=get_context("forkserver"),
                                           initializer=_lower_priority)
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
                    self._pool = pool
        return self._pool or self._thread

    async def target(self) -> Executor:
        """Where this body is parsed: the pool (started by the first parse of a big cycle,
        off the event loop, once) or the parse thread."""
        if self._pool is None and not self._pool_failed and self._cycle_feeds >= PARSE_POOL_MIN_FEEDS:
            async with self._pool_lock:
                if self._pool is None and not self._pool_failed:
                    loop = asyncio.get_running_loop()
                    await loop.run_in_executor(None, self._executor, self._cycle_feeds)
        return self._pool or self._thread

    def close(self) -> None:
        self._thread.shutdown(wait=True)
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)


def _lower_priority() -> None:
    """In each parse process: a lower CPU priority than the poller's (issue 17).

    The single writer thread sets the pace of a cold cycle; with the parse processes
    at the same priority it spent most of its busy time runnable but off a core
    (benchmarks/writer_wait.py). Niced, they take what the writer leaves.
    """
    value = os.environ.get(ENV_PARSE_NICE, "")
    nice = int(value) if value.strip().isdigit() else PARSE_NICE
    if nice:
        try:
            os.nice(nice)
        except OSError:  # pragma: no cover - a sandbox that refuses it costs speed only
            pass


def parse_processes() -> int:
    """Processes of the parse pool: $ESCALATION_WATCH_PARSE_PROCESSES, else one per core (capped)."""
    value = os.environ.get(ENV_PARSE_PROCESSES)
    if value is not None and value.strip().isdigit():
        return int(value)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return min(cores, PARSE_PROCESSES_MAX)
