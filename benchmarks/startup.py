"""Whole-process start-up: `escalation-watch poll --once` on a feeds file of one dead feed.

    .venv/bin/python benchmarks/startup.py [--runs 5]

What a cron job or a warm poll pays before polling anything: imports, opening
the store, compiling (or loading) the taxonomy. Three cases side by side, each
the median of ``--runs`` fresh processes:

* ``warm cache``: the compiled lexicon is in the cache directory (every run
  after the first on a machine);
* ``cold cache``: an empty cache directory (the first run: compiles and writes);
* ``no cache``: ``ESCALATION_WATCH_CACHE_DIR=off`` (compiles every time, as
  before the cache).

The dead feed is a closed port on 127.0.0.1: the fetch fails at once, so the
figure is start-up and shut-down, not network. Issue 17's target: <= 0.5 s.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET_S = 0.5


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed once the with block ends: connections are refused


def _run_once(cmd: list[str], env: dict[str, str]) -> float:
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    took = time.perf_counter() - t0
    if "polled 1 feeds" not in proc.stdout:
        raise RuntimeError(f"poll --once did not run: {proc.stdout[-300:]} {proc.stderr[-300:]}")
    return took


def bench(runs: int = 5) -> dict[str, float]:
    """Median seconds per case (see the module docstring)."""
    work = Path(tempfile.mkdtemp(prefix="ew-startup-"))
    try:
        feeds = work / "feeds.yaml"
        feeds.write_text(f"feeds:\n  - name: dead\n    url: http://127.0.0.1:{_closed_port()}/feed.xml\n")
        db = f"sqlite:///{work / 'ew.db'}"
        cmd = [sys.executable, "-m", "pipeline", "poll", "--once", "--config", str(feeds), "--db", db]
        # as a user's machine runs it: byte code written once and reused
        base = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"} | {"PYTHONPATH": str(ROOT)}
        _run_once(cmd, {**base, "ESCALATION_WATCH_CACHE_DIR": "off"})  # creates the store: not timed
        cache = work / "cache"
        out: dict[str, list[float]] = {"warm cache": [], "cold cache": [], "no cache": []}
        for _ in range(runs):
            shutil.rmtree(cache, ignore_errors=True)
            out["cold cache"].append(_run_once(cmd, {**base, "ESCALATION_WATCH_CACHE_DIR": str(cache)}))
            out["warm cache"].append(_run_once(cmd, {**base, "ESCALATION_WATCH_CACHE_DIR": str(cache)}))
            out["no cache"].append(_run_once(cmd, {**base, "ESCALATION_WATCH_CACHE_DIR": "off"}))
        return {k: statistics.median(v) for k, v in out.items()}
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=5, help="fresh processes per case (median)")
    args = ap.parse_args(argv)
    r = bench(args.runs)
    print(f"poll --once, one dead feed, whole process, median of {args.runs} (target <= {TARGET_S} s)")
    for name in ("warm cache", "cold cache", "no cache"):
        print(f"  {name:<11} {r[name]:6.2f} s")
    print(f"  the cache saves {r['no cache'] - r['warm cache']:.2f} s per start")
    return 0


if __name__ == "__main__":
    sys.exit(main())
