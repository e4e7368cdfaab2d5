"""Process lifecycle: one cycle now, or polling forever; signals, config reloads, alerts.

Owns the two entry points the CLI calls, :func:`poll_once` and
:func:`poll_forever`: syncing feeds.yaml into the store, SIGINT/SIGTERM/SIGHUP
turning into a stop request the fetch loop honours, re-reading feeds.yaml when
it changes, idling until the next feed is due, and the alert and brief checks
after a cycle. It must not fetch, parse or write feeds itself (:mod:`.loop` does).
"""

from __future__ import annotations

import asyncio
import logging
import signal
import threading
from datetime import datetime
from pathlib import Path

from .. import config as config_mod
from .._aio import run_sync
from ..alerts import AlertConfig, check_and_notify
from ..brief import run_scheduled
from ..deployment import network_config
from ..errors import ConfigError
from ..store import FeedState, Store
from ..types import FeedsConfig
from .loop import Poller, PollStats, worker_id
from .scheduling import due_feeds, idle_seconds, next_due_at

log = logging.getLogger("escalation_watch.poller")


def select_feeds(store: Store, now: datetime, *, force: bool) -> tuple[list[FeedState], int]:
    """Feeds to poll now, and how many were skipped for a pending Retry-After."""
    return due_feeds(store.feed_states(only_configured=True), now, force=force)


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
                await _sleep_until(stop, idle_seconds(store.next_claim_at(), now))
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
            await _sleep_until(stop, idle_seconds(next_due_at(store.feed_states(only_configured=True)), now))
        log.info("poller stopped")

    try:
        asyncio.run(main())
    finally:
        poller.close()


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
