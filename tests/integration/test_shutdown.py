"""Clean shutdown of `escalation-watch dashboard` and `run` (issue 13).

Each command is started for real, as a process manager starts it (its own
session, so a signal reaches the command's process only, as `kill PID` and
`docker stop` send it). Once the dashboard answers, the test sends one signal
to the command's process and checks that the command and every process it
started are gone and the port is free. "parent death" is SIGKILL: the command
cannot clean up, so its Streamlit server must notice on its own.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

pytestmark = [pytest.mark.xdist_group("shutdown"), pytest.mark.timeout(120)]

SIGNALS = {
    "SIGTERM": signal.SIGTERM,
    "SIGINT": signal.SIGINT,
    "SIGHUP": signal.SIGHUP,
    "parent death": signal.SIGKILL,
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def descendants(pid: int) -> set[int]:
    """Every live process below ``pid`` (from /proc: children of each task, recursively)."""
    found: set[int] = set()
    todo = [pid]
    while todo:
        p = todo.pop()
        try:
            tasks = os.listdir(f"/proc/{p}/task")
        except OSError:
            continue
        for t in tasks:
            try:
                kids = Path(f"/proc/{p}/task/{t}/children").read_text().split()
            except OSError:
                continue
            for k in map(int, kids):
                if k not in found:
                    found.add(k)
                    todo.append(k)
    return found


def alive(pid: int) -> bool:
    """Running (a zombie waiting for init to reap it holds nothing: not alive)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def port_free(port: int) -> bool:
    """A new server can listen on ``port`` (SO_REUSEADDR, as servers bind: the
    health checks' closed connections may sit in TIME_WAIT, a listener may not)."""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
            s.listen()
        except OSError:
            return False
    return True


def wait_healthy(proc: subprocess.Popen, port: int, log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"exited early:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2) as r:
                if r.read().strip() == b"ok":
                    return
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"dashboard did not start:\n{log.read_text()}")


@pytest.mark.parametrize("name", list(SIGNALS))
@pytest.mark.parametrize("command", ["dashboard", "run"])
def test_signal_ends_every_process_and_frees_the_port(tmp_path, command, name):
    cfg = tmp_path / "feeds.yaml"
    cfg.write_text("feeds: []\n")
    port = free_port()
    log = tmp_path / "out.log"
    args = [sys.executable, "-m", "pipeline", command, "--config", str(cfg),
            "--db", f"sqlite:///{tmp_path}/ew.db", "--port", str(port)]  # fmt: skip
    proc = subprocess.Popen(args, stdout=log.open("w"), stderr=subprocess.STDOUT, start_new_session=True)
    started: set[int] = set()
    try:
        wait_healthy(proc, port, log)
        started = descendants(proc.pid)
        assert started, "the command started no Streamlit server?"
        os.kill(proc.pid, SIGNALS[name])
        proc.wait(timeout=30)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and (any(alive(p) for p in started) or not port_free(port)):
            time.sleep(0.1)
        left = sorted(p for p in started if alive(p))
        assert not left, f"{command}: processes left after {name}: {left}\n{log.read_text()}"
        assert port_free(port), f"{command}: port {port} still taken after {name}"
    finally:
        for p in [proc.pid, *started]:
            try:
                os.kill(p, signal.SIGKILL)
            except OSError:
                pass
        proc.wait()


# The parent-death path without prctl (other systems): only the getppid watchdog.
_CHILD = """
import sys, time
sys.platform = "darwin"  # no PR_SET_PDEATHSIG: the watchdog alone
from pipeline.ui import serve
serve.die_with_parent(int(sys.argv[1]))
print("ready", flush=True)
time.sleep(60)
"""
_PARENT = """
import subprocess, sys, os, time
child = subprocess.Popen([sys.executable, "-c", sys.argv[1], str(os.getpid())], stdout=subprocess.PIPE, text=True)
assert child.stdout.readline().strip() == "ready"
print(child.pid, flush=True)
time.sleep(60)
"""


def test_without_prctl_the_watchdog_ends_the_server_when_its_parent_dies():
    parent = subprocess.Popen([sys.executable, "-c", _PARENT, _CHILD], stdout=subprocess.PIPE, text=True,
                              start_new_session=True)  # fmt: skip
    try:
        child = int(parent.stdout.readline())
        assert alive(child)
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and alive(child):
            time.sleep(0.1)
        assert not alive(child), "the watchdog did not stop the orphaned child"
    finally:
        try:
            os.killpg(parent.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
