"""The single writer: one thread that makes every store write of a poll, group-committed.

Owns the writer thread, the queue of writes waiting for its next turn, and the
turn itself: the polls without articles (304s, errors) in one transaction
(``Store.record_health``) and the feed updates with articles in another
(``Store.record_updates``), each update still all-or-nothing. A feed's task
awaits its own write's outcome. It must not decide what to write (the fetch loop
builds each ``UpdateWrite``) nor hold SQL: it calls store verbs.
"""

from __future__ import annotations

import asyncio
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from ..store import Store, UpdateWrite


class SingleWriter:
    """Mixed into :class:`~pipeline.poller.Poller`: its writer thread (``_writer``, which
    also runs the poller's other store calls), queue (``_queued``) and group commit."""

    store: Store

    def _start_writer(self) -> None:
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ew-writer")
        #: writes waiting for the writer's next turn, each with its task's future and loop
        self._queued: list[tuple[UpdateWrite, asyncio.Future, asyncio.AbstractEventLoop]] = []
        self._queue_lock = threading.Lock()
        #: seconds spent in _flush_writes so far (wall, and the writer thread's CPU), added to by
        #: the writer thread only (PollStats.writer_busy_s, writer_cpu_s)
        self._writer_busy_s = 0.0
        self._writer_cpu_s = 0.0

    def _stop_writer(self) -> None:
        # wait: an in-flight transaction is finished, never abandoned
        self._writer.shutdown(wait=True)

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
        """_flush_writes, its wall and CPU time added to the writer's."""
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
