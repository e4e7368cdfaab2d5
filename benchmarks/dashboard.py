"""Dashboard at scale: time to a visible risk-trend chart in Chromium, and the dashboard's peak RSS.

    .venv/bin/python benchmarks/dashboard.py                      # 1M articles (first run builds the store)
    .venv/bin/python benchmarks/dashboard.py --articles 20000 --runs 1

Builds a scored store with benchmarks/corpus.py (N articles over 2 years, 5
theatres, through the real ingest path) and keeps it under ``.bench/`` keyed by
its parameters and the corpus code, so reruns start at once. Each run starts
``escalation-watch dashboard`` on a free port (a cold process: empty
``st.cache_data``), opens ``/?period=all`` in Debian's chromium through
Playwright (``executable_path``, no browser download) and times from navigation
to the Overview's risk-trend Plotly chart being visible; then reloads the page
once (warm caches). The dashboard's memory is the peak resident set (VmHWM in
/proc) of the streamlit process, read after the loads. Prints medians over the
runs. Targets: chart visible <= 3 s, RSS <= 500 MB at 1M articles.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import os
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CHART = ".st-key-trend_chart .js-plotly-plot"
# as tests/browser/conftest.py: Debian chromium in a container
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
]  # fmt: skip


def store_path(cache_dir: Path, articles: int, days: int, seed: int) -> Path:
    """The cached store for these parameters; the key includes the corpus and schema code,
    so a change to either builds a fresh store rather than measuring a stale one."""
    h = hashlib.sha256()
    for p in [ROOT / "benchmarks" / "corpus.py", ROOT / "pipeline" / "schema.py",
              *sorted((ROOT / "pipeline" / "migrations").rglob("*.py"))]:  # fmt: skip
        h.update(p.read_bytes())
    return cache_dir / f"dashboard-{articles}-{days}d-s{seed}-{h.hexdigest()[:10]}.db"


def build_store(path: Path, articles: int, days: int, seed: int) -> float:
    """Build the store at ``path`` (via a temporary name, so an interrupted build is never reused)."""
    from benchmarks.corpus import build
    from pipeline.store import Store

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".building")
    for suffix in ("", "-wal", "-shm"):
        Path(f"{tmp}{suffix}").unlink(missing_ok=True)
    t0 = time.perf_counter()
    last = [t0]

    def progress(done: int, _spent: float) -> None:
        if time.perf_counter() - last[0] >= 10 or done == articles:
            last[0] = time.perf_counter()
            print(f"  built {done:,}/{articles:,} articles ({time.perf_counter() - t0:.0f} s)",
                  file=sys.stderr, flush=True)  # fmt: skip

    with Store.open(f"sqlite:///{tmp}") as store:
        build(store, articles, days=days, seed=seed, batch=20000, on_progress=progress)
    with contextlib.closing(sqlite3.connect(tmp)) as conn:  # fold any WAL in: the file stands alone
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    os.replace(tmp, path)
    for suffix in ("-wal", "-shm"):
        Path(f"{tmp}{suffix}").unlink(missing_ok=True)
    return time.perf_counter() - t0


def ensure_store(cache_dir: Path, articles: int, days: int, seed: int) -> Path:
    path = store_path(cache_dir, articles, days, seed)
    if not path.exists():
        print(f"building {path} ({articles:,} articles, once) ...", file=sys.stderr, flush=True)
        secs = build_store(path, articles, days, seed)
        print(f"built in {secs:.0f} s", file=sys.stderr, flush=True)
    return path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _cli() -> list[str]:
    exe = Path(sys.executable).parent / "escalation-watch"
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "pipeline"]


def _descendants(pid: int) -> list[int]:
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        for task in Path(f"/proc/{p}/task").glob("*/children"):
            try:
                todo.extend(int(c) for c in task.read_text().split())
            except OSError:
                pass
    return out


def _status_kb(pid: int, field: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def streamlit_hwm_mb(root_pid: int) -> float:
    """Peak RSS (VmHWM) of the streamlit process under ``escalation-watch dashboard``."""
    pids = _descendants(root_pid)
    st = [p for p in pids if "streamlit" in _cmdline(p)] or pids
    return max(_status_kb(p, "VmHWM") for p in st) / 1024


def start_dashboard(db: Path, log: Path) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    proc = subprocess.Popen(
        [*_cli(), "dashboard", "--db", f"sqlite:///{db}", "--port", str(port)],
        stdout=log.open("w"), stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"dashboard exited early:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(url + "/_stcore/health", timeout=2) as r:
                if r.read().strip() == b"ok":
                    return proc, url
        except OSError:
            time.sleep(0.2)
    stop_dashboard(proc)
    raise SystemExit(f"dashboard did not start:\n{log.read_text()}")


def stop_dashboard(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def measure(db: Path, runs: int, timeout_s: float, period_query: str, log_dir: Path) -> dict[str, float]:
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        raise SystemExit("Debian chromium is not installed (apt-get install chromium, or `make chromium`)")
    cold, warm, rss = [], [], []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            for i in range(runs):
                proc, url = start_dashboard(db, log_dir / f"dashboard-bench-{i}.log")
                try:
                    page = browser.new_page(viewport={"width": 1400, "height": 1000})
                    for times in (cold, warm):
                        t0 = time.perf_counter()
                        page.goto(f"{url}/?{period_query}", wait_until="commit")
                        page.locator(CHART).first.wait_for(state="visible", timeout=timeout_s * 1000)
                        times.append(time.perf_counter() - t0)
                    page.close()
                    rss.append(streamlit_hwm_mb(proc.pid))
                finally:
                    stop_dashboard(proc)
        finally:
            browser.close()
    return {
        "chart_cold_s": statistics.median(cold),
        "chart_warm_s": statistics.median(warm),
        "rss_hwm_mb": statistics.median(rss),
        "runs": runs,
    }


def run(articles: int, *, days: int = 730, seed: int = 1, runs: int = 3, cache_dir: Path = ROOT / ".bench",
        timeout_s: float = 120.0) -> dict[str, float]:  # fmt: skip
    db = ensure_store(cache_dir, articles, days, seed)
    r = measure(db, runs, timeout_s, "period=all", cache_dir)
    return {"articles": articles, "db_mb": db.stat().st_size / 2**20, **r}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--articles", type=int, default=1_000_000)
    ap.add_argument("--days", type=int, default=730)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--runs", type=int, default=3, help="dashboard starts (median reported)")
    ap.add_argument("--cache-dir", type=Path, default=ROOT / ".bench")
    ap.add_argument("--build-only", action="store_true", help="build (or find) the cached store and exit")
    args = ap.parse_args(argv)
    if args.build_only:
        print(ensure_store(args.cache_dir, args.articles, args.days, args.seed))
        return 0
    r = run(args.articles, days=args.days, seed=args.seed, runs=args.runs, cache_dir=args.cache_dir)
    print(f"{'articles':>10} {'db MB':>7} {'chart cold s':>13} {'chart warm s':>13} {'RSS peak MB':>12}")
    print(f"{r['articles']:>10,} {r['db_mb']:>7.0f} {r['chart_cold_s']:>13.2f} {r['chart_warm_s']:>13.2f} "
          f"{r['rss_hwm_mb']:>12.0f}")  # fmt: skip
    print(f"(median of {r['runs']} dashboard starts; cold = fresh process, warm = reload; ?period=all; "
          "targets: chart <= 3 s, RSS <= 500 MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
