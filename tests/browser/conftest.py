"""Browser tests: the real dashboard (streamlit run) in Debian's chromium via Playwright.

No browser is downloaded: Playwright drives /usr/bin/chromium through
``executable_path``. Screenshots go to the test's tmp dir (and to
$ESCALATION_WATCH_ARTIFACTS when set).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


def chromium_path() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        pytest.fail("Debian chromium is not installed: `make test` installs it (apt-get install chromium)")
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Dashboard:
    def __init__(self, proc: subprocess.Popen, url: str, log: Path):
        self.proc = proc
        self.url = url
        self.log = log


def start_dashboard(
    db_url: str,
    tmp_path: Path,
    config: Path | None = None,
    *,
    host: str | None = None,
    env: dict[str, str] | None = None,
    extra_args: tuple[str, ...] = (),
) -> Dashboard:
    """``escalation-watch dashboard`` on a free port; ``host`` for --host (0.0.0.0: exposed,
    still reached on 127.0.0.1), ``env`` added to the environment."""
    port = free_port()
    log = tmp_path / "dashboard.log"
    args = [sys.executable, "-m", "pipeline", "dashboard", "--db", db_url, "--port", str(port), *extra_args]
    if config is not None:
        args += ["--config", str(config)]
    if host is not None:
        args += ["--host", host]
    proc = subprocess.Popen(args, stdout=log.open("w"), stderr=subprocess.STDOUT, start_new_session=True,
                            env={**os.environ, **(env or {})})  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"dashboard exited early:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(url + "/_stcore/health", timeout=2) as r:
                if r.read().strip() == b"ok":
                    return Dashboard(proc, url, log)
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise AssertionError(f"dashboard did not start:\n{log.read_text()}")


def stop_dashboard(d: Dashboard) -> None:
    if d.proc.poll() is None:
        os.killpg(d.proc.pid, 15)
        try:
            d.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(d.proc.pid, 9)
            d.proc.wait()


# module scope, not session: while Playwright's sync API is active it owns the
# thread's event loop, and other tests in the same xdist worker call asyncio.run
@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
    pg = ctx.new_page()
    yield pg
    ctx.close()


def save_screenshot(page, tmp_path: Path, name: str) -> Path:
    out = tmp_path / f"{name}.png"
    page.screenshot(path=str(out), full_page=True)
    artifacts = os.environ.get("ESCALATION_WATCH_ARTIFACTS")
    if artifacts:
        Path(artifacts).mkdir(parents=True, exist_ok=True)
        shutil.copy(out, Path(artifacts) / out.name)
    return out


@pytest.fixture
def dashboard_factory(tmp_path) -> Iterator:
    started: list[Dashboard] = []

    def make(db_url: str, config: Path | None = None, **kw) -> Dashboard:
        d = start_dashboard(db_url, tmp_path, config, **kw)
        started.append(d)
        return d

    yield make
    for d in started:
        stop_dashboard(d)
