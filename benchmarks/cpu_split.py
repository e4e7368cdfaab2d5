"""Where the CPU of one cold poll goes, per process and per thread (Linux): issue 17.

    .venv/bin/python benchmarks/cpu_split.py --feeds 200 --items 50 --corpus dense

One cold ``poll_once`` of peers.py's farm (the feed server in its own process) into a fresh
SQLite store, while a sampler thread reads ``/proc/<pid>/task/<tid>/stat`` of every process
of this run (the poller's threads, the forkserver and its parse processes, the feed server)
every 50 ms and keeps the last look at each: CPU seconds (user + system) per thread, summed
per process, and over the cycle's articles in µs. CPU time, not wall time: less noisy on a
shared machine, and it counts what the two cores had to do, whoever waited for whom.
"""

from __future__ import annotations

import argparse
import os
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
_CMDLINES: dict[int, str] = {}
TICK = os.sysconf("SC_CLK_TCK")


def _children() -> dict[int, list[int]]:
    kids: dict[int, list[int]] = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            kids.setdefault(ppid, []).append(int(d))
    return kids


def _tree(root: int) -> list[int]:
    kids, out, todo = _children(), [], [root]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(kids.get(p, ()))
    return out


def _threads(pid: int) -> dict[tuple[int, int], tuple[str, str, float]]:
    """(pid, tid) -> (process command line, thread name, CPU seconds); (pid, 0): the whole
    process, exited threads included (the feed server's threads live one connection each)."""
    out = {}
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            cmd = f.read().replace(b"\0", b" ").decode(errors="replace")
        tids = os.listdir(f"/proc/{pid}/task")
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        # an exiting process's command line reads empty: keep the one seen before
        cmd = _CMDLINES.setdefault(pid, cmd) if cmd else _CMDLINES.get(pid, cmd)
        out[(pid, 0)] = (cmd, "", (int(fields[11]) + int(fields[12])) / TICK)
    except (OSError, ValueError, IndexError):
        return out
    names = {t.native_id: t.name for t in threading.enumerate()} if pid == os.getpid() else {}
    for tid in tids:
        try:
            with open(f"/proc/{pid}/task/{tid}/stat") as f:
                head, rest = f.read().rsplit(")", 1)
            name = head.split("(", 1)[1]
            fields = rest.split()
            cpu = (int(fields[11]) + int(fields[12])) / TICK
        except (OSError, ValueError, IndexError):
            continue
        out[(pid, int(tid))] = (cmd, names.get(int(tid), name), cpu)
    return out


def _kind(cmd: str, pid: int, server_pid: int) -> str:
    if pid == os.getpid():
        return "poller process"
    if pid == server_pid:
        return "feed server"
    # the parse processes are forked by the forkserver and keep its command line
    if "forkserver" in cmd:
        return "parse processes (and their forkserver)"
    return f"other: {cmd[:60]}"


def run(n_feeds: int, n_items: int, corpus: str, concurrency: int = 16) -> dict:
    server = ServerProcess(n_feeds, n_items, corpus)
    server_pid = server._proc.pid
    base: dict[tuple[int, int], tuple[str, str, float]] = {}
    for p in _tree(os.getpid()):
        base.update(_threads(p))
    last: dict[tuple[int, int], tuple[str, str, float]] = {}
    stop = threading.Event()

    def sample() -> None:
        pids, k = [], 0
        while not stop.is_set():
            if k % 10 == 0:  # the process tree changes rarely: rescan it every 10th look
                pids = _tree(os.getpid())
            k += 1
            for p in pids:
                last.update(_threads(p))
            stop.wait(SAMPLE_S)

    try:
        specs = tuple(FeedSpec(name=f"feed {i}", url=u) for i, u in enumerate(server.urls))
        config = FeedsConfig(specs, Settings(concurrency=concurrency))
        with tempfile.TemporaryDirectory() as tmp, Store.open(f"sqlite:///{tmp}/ours.db") as store:
            sampler = threading.Thread(target=sample, name="cpu-sampler", daemon=True)
            sampler.start()
            load0 = os.getloadavg()[0]
            t0 = time.perf_counter()
            stats = poll_once(store, config, parse_pool=True)
            wall = time.perf_counter() - t0
            load1 = os.getloadavg()[0]
            stop.set()
            sampler.join()
            for p in _tree(os.getpid()):
                last.update(_threads(p))
            n = store.article_count()
            if stats.errors or n != server.expected["articles"]:
                raise SystemExit(f"{stats.errors} errors, {n} articles stored of {server.expected['articles']}")
    finally:
        stop.set()
        server.close()
    by_proc: dict[str, float] = {}
    by_thread: dict[str, float] = {}
    by_pid: dict[int, tuple[str, float]] = {}
    for key, (cmd, tname, cpu) in last.items():
        used = cpu - base.get(key, (cmd, tname, 0.0))[2]
        if used <= 0:
            continue
        kind = _kind(cmd, key[0], server_pid)
        if key[1] == 0:
            by_proc[kind] = by_proc.get(kind, 0.0) + used
            by_pid[key[0]] = (cmd, used)
        elif kind == "poller process":
            by_thread[tname] = by_thread.get(tname, 0.0) + used
    return dict(wall_s=wall, articles=n, load=(load0, load1), by_proc=by_proc, by_thread=by_thread, by_pid=by_pid,
                writer_busy_s=stats.writer_busy_s, writer_cpu_s=stats.writer_cpu_s)  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--feeds", type=int, default=200)
    ap.add_argument("--items", type=int, default=50)
    ap.add_argument("--corpus", choices=GENERATED, default="dense")
    args = ap.parse_args(argv)
    r = run(args.feeds, args.items, args.corpus)
    n = max(r["articles"], 1)
    total = sum(r["by_proc"].values())
    print(f"{args.corpus} {args.feeds} x {args.items}: cold {r['wall_s']:.2f} s, {r['articles']} articles, "
          f"load {r['load'][0]:.2f} -> {r['load'][1]:.2f}; writer busy {r['writer_busy_s']:.2f} s "
          f"(on a core {r['writer_cpu_s']:.2f} s)")  # fmt: skip
    print(f"{'where':<34} {'CPU s':>8} {'µs/article':>11}")
    for k, v in sorted(r["by_proc"].items(), key=lambda kv: -kv[1]):
        print(f"{k:<34} {v:>8.2f} {1e6 * v / n:>11.0f}")
    print(f"{'total':<34} {total:>8.2f} {1e6 * total / n:>11.0f}")
    print("processes:")
    for pid, (cmd, v) in sorted(r["by_pid"].items(), key=lambda kv: -kv[1][1]):
        print(f"  {pid:<8} {cmd[:70]:<70} {v:>8.2f}")
    print("poller process threads (the sampler's own CPU included in the process):")
    for k, v in sorted(r["by_thread"].items(), key=lambda kv: -kv[1]):
        print(f"  {k:<32} {v:>8.2f} {1e6 * v / n:>11.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
