"""Scheduling decisions: when a feed is due, when to poll it next, how long to idle.

Pure functions of a feed's stored state, the poll's outcome and the clock the
caller passes in (as lemon24/reader's ``Decider``): adaptive intervals, back-off
with jitter, Retry-After, 410 Gone. The tests call them with made-up states. It
must not touch the store, the network or the clock: the poller reads the states
and writes what these return.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from ..store import FeedState
from ..types import MAX_INTERVAL_S, MIN_INTERVAL_S, FeedUpdate, Settings


@dataclass(frozen=True, slots=True)
class Schedule:
    """What :func:`schedule` decides for a feed after one poll: the feed's next due
    time, its health status (and why it is disabled) and its new-items average."""

    next_due_at: datetime
    status: str
    disabled_reason: str | None
    new_items_ewma: float | None


#: smoothing of the new-items-per-poll average that drives adaptive intervals
EWMA_ALPHA = 0.3
#: how far the adaptive schedule may move a feed from its configured interval
ADAPT_MIN_FACTOR = 0.25
ADAPT_MAX_FACTOR = 4.0
#: first retry after an error; doubles per consecutive error up to settings.max_backoff_s
BACKOFF_BASE_S = 120


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


def due_feeds(states: Iterable[FeedState], now: datetime, *, force: bool) -> tuple[list[FeedState], int]:
    """Of these feeds, the ones to poll now (``force``: every one polled at all), and how
    many were skipped for a pending Retry-After."""
    chosen, skipped = [], 0
    for st in states:
        if not st.enabled or st.status == "gone":
            continue
        if st.retry_after_until is not None and st.retry_after_until > now:
            skipped += 1
            continue
        if force or st.next_due_at is None or st.next_due_at <= now:
            chosen.append(st)
    return chosen, skipped


#: the forever-loop wakes at least this often to notice config edits and stop requests
TICK_S = 5.0


def next_due_at(states: Iterable[FeedState]) -> datetime | None:
    """When the first of these feeds that is polled at all falls due (None: none will)."""
    nexts = [s.next_due_at for s in states if s.enabled and s.status != "gone" and s.next_due_at is not None]
    return min(nexts) if nexts else None


def idle_seconds(next_at: datetime | None, now: datetime) -> float:
    """How long the forever loop sleeps when nothing is due: until ``next_at``, but at
    least 0.2 s and at most TICK_S (it must notice config edits and stop requests)."""
    if next_at is None:
        return TICK_S
    return max(0.2, min(TICK_S, (next_at - now).total_seconds()))
