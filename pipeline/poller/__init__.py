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

One module per concern; every name is imported from here (``pipeline.poller``):

``scheduling``  pure decisions: next due time, back-off, which feeds are due, idle time
``parsing``     parse + score + SimHash of one body; the parse thread or process pool
``writer``      the single writer thread and its group commits
``loop``        :class:`Poller`, the async fetch loop (one cycle, or claimed feeds)
``lifecycle``   :func:`poll_once`, :func:`poll_forever`: signals, reloads, alerts

Must not touch: logic of its own: it only gathers the poller's names.
"""

from __future__ import annotations

# every name this module had before it became a package stays importable from here
# (callers, tests and benchmarks use several); __all__ is the API
from .lifecycle import check_alerts, poll_forever, poll_once, select_feeds  # noqa: F401
from .loop import ENV_LEASE_S, ENV_WORKER_ID, LEASE_S, Poller, PollStats, lease_seconds, utcnow, worker_id  # noqa: F401
from .parsing import (  # noqa: F401
    ENV_PARSE_PROCESSES,
    PARSE_POOL_MIN_FEEDS,
    PARSE_PROCESSES_MAX,
    ParseWorkers,
    parse_and_score,
    parse_processes,
)
from .scheduling import (  # noqa: F401
    ADAPT_MAX_FACTOR,
    ADAPT_MIN_FACTOR,
    BACKOFF_BASE_S,
    EWMA_ALPHA,
    TICK_S,
    Schedule,
    due_feeds,
    idle_seconds,
    next_due_at,
    schedule,
)

__all__ = ["Poller", "PollStats", "Schedule", "schedule", "select_feeds", "poll_once", "poll_forever"]
