"""What the poller's single writer waits for in a cold cycle: a core, or the GIL and the disk (Linux).

    .venv/bin/python benchmarks/writer_wait.py --feeds 200 --items 50 --corpus dense
    ESCALATION_WATCH_PARSE_PROCESSES=1 .venv/bin/python benchmarks/writer_wait.py --corpus dense   # no pool

One cold ``poll_once`` of peers.py's farm (the feed server in its own process) into a fresh
SQLite store, while a sampler thread reads ``/proc/self/task/<tid>/schedstat`` of this
process's threads every 50 ms: time on a core, and time runnable but waiting in the
kernel's run queue for one. For the writer, ``PollStats.writer_busy_s`` (wall time in its
group commits) splits into its CPU (``writer_cpu_s``), its run-queue wait (the machine's
cores were all taken: parse processes, the feed server, other work) and the rest (waiting
for the GIL held by another thread of this process, or for the disk). Issue 17.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.peers import ServerProcess  # noqa: E402
from benchmarks.poll import GENERATED  # noqa: E402
from pipeline.poller import poll_once  # noqa: E402
from pipeline.store import Store  # noqa: E402
from pipeline.types import FeedsConfig, FeedSpec, Settings  # noqa: E402

SAMPLE_S = 0.05


def _schedstat(native_id: int) -> tuple[int, int] | None:
    """(ns on a core, ns waiting in the run queue) of one thread of this process."""
    try:
        with open(f"/proc/self/task/{native_id}/schedstat") as f:
            run_ns, wait_ns, _ = map(int, f.read().split())
    except (OSError, ValueError):
        return None  # gone, or a kernel without schedstats
    return run_ns, wait_ns


def run(n_feeds: int, n_items: int, corpus: str, concurrency: int = 16) -> dict:
    server = ServerProcess(n_feeds, n_items, corpus)
    #: thread name -> its last (run_ns, wait_ns): the writer exits with the poller, so keep the last look
    last: dict[str, tuple[int, int]] = {}
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            for t in threading.enumerate():
                if t is not threading.current_thread() and t.native_id is not None:
                    s = _schedstat(t.native_id)
                    if s is not None:
                        last[t.name] = s
            stop.wait(SAMPLE_S)

    # ... and every thread's own last look as it ends: a short-lived writer (a tiny input on a
    # loaded machine) can live and die between two samples
    thread_run = threading.Thread.run

    def run_and_record(self: threading.Thread) -> None:
        try:
            thread_run(self)
        finally:
            s = _schedstat(threading.get_native_id())
            if s is not None:
                last[self.name] = s

    threading.Thread.run = run_and_record  # type: ignore[method-assign]
    sampler = threading.Thread(target=sample, name="schedstat-sampler", daemon=True)
    sampler.start()
    try:
        specs = tuple(FeedSpec(name=f"feed {i}", url=u) for i, u in enumerate(server.urls))
        config = FeedsConfig(specs, Settings(concurrency=concurrency))
        with tempfile.TemporaryDirectory() as tmp, Store.open(f"sqlite:///{tmp}/wait.db") as store:
            r0 = resource.getrusage(resource.RUSAGE_SELF)
            t0 = time.perf_counter()
            stats = poll_once(store, config, parse_pool=True)
            wall = time.perf_counter() - t0
            r1 = resource.getrusage(resource.RUSAGE_SELF)
    finally:
        stop.set()
        sampler.join()
        threading.Thread.run = thread_run  # type: ignore[method-assign]
        server.close()
    if stats.new_articles != server.expected["articles"] or stats.errors:
        raise SystemExit(f"{stats.errors} errors, {stats.new_articles} articles stored")
    writer = next((v for k, v in last.items() if k.startswith("ew-writer")), None)
    return dict(
        cold_s=wall,
        articles=stats.new_articles,
        process_cpu_s=(r1.ru_utime + r1.ru_stime) - (r0.ru_utime + r0.ru_stime),
        writer_busy_s=stats.writer_busy_s,
        writer_cpu_s=stats.writer_cpu_s,
        # the writer thread's whole life is the cycle, so its totals are the cycle's
        writer_runqueue_s=writer[1] / 1e9 if writer else float("nan"),
        threads={k: (r / 1e9, w / 1e9) for k, (r, w) in last.items()},
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--feeds", type=int, default=200)
    ap.add_argument("--items", type=int, default=50)
    ap.add_argument("--corpus", choices=GENERATED, default="dense")
    args = ap.parse_args(argv)
    r = run(args.feeds, args.items, args.corpus)
    busy, cpu, queued = r["writer_busy_s"], r["writer_cpu_s"], r["writer_runqueue_s"]
    print(f"{args.corpus} {args.feeds}x{args.items}: cold cycle {r['cold_s']:.2f} s, {r['articles']} articles; "
          f"this process's CPU {r['process_cpu_s']:.2f} s")  # fmt: skip
    print(f"writer busy {busy:.2f} s: on a core {cpu:.2f} s, waiting for a core {queued:.2f} s, "
          f"the rest (GIL, disk) {max(busy - cpu - queued, 0):.2f} s")  # fmt: skip
    print("threads of this process over their whole life (imports and setup included):")
    for name, (on_cpu, waiting) in sorted(r["threads"].items(), key=lambda kv: -kv[1][0]):
        if on_cpu >= 0.1:
            print(f"  thread {name:<32} on a core {on_cpu:7.2f} s  waiting for a core {waiting:7.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
