"""The dashboard's Streamlit server as a child process of ``dashboard`` and ``run``.

Owns: starting the server in its own session, the stop signals (SIGTERM, SIGINT,
SIGHUP stop the command the way Ctrl-C does) and stopping the server in order,
also when the command fails. Must not touch: the server's command line and
environment (pipeline.cli builds them), the poller.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading

#: the signals that stop `dashboard` and `run` (SIGHUP: the terminal closed, or a
#: process manager's stop); each ends the Streamlit server too
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)


class _Stop(BaseException):
    """Raised in the main thread by a stop signal (a BaseException, like KeyboardInterrupt,
    so no ``except Exception`` swallows it)."""


def _raise_stop(signum: int, _frame) -> None:
    raise _Stop(signum)


def _on_stop_signals() -> None:
    """SIGTERM and SIGHUP stop the command the way Ctrl-C does (their default ends
    Python at once, with no ``finally``: the Streamlit server was left orphaned)."""
    for sig in STOP_SIGNALS:
        if sig != signal.SIGINT:  # KeyboardInterrupt already
            signal.signal(sig, _raise_stop)


def _start_server(cmd: list[str], env: dict[str, str]) -> subprocess.Popen:
    """Start the Streamlit server in its own session (a terminal's Ctrl-C reaches this
    process only, which stops the server in order) and tell it our pid: it stops
    itself if we die without stopping it (SIGKILL, a crash; pipeline.ui.serve)."""
    from .ui.serve import ENV_PARENT_PID

    env = {**env, ENV_PARENT_PID: str(os.getpid())}
    # from the main thread: Linux's parent-death signal follows the thread that forks
    assert threading.current_thread() is threading.main_thread()
    return subprocess.Popen(cmd, env=env, start_new_session=True)



def _stop_child(proc: subprocess.Popen) -> None:
    # a second stop signal while waiting here must not cut the wait short
    previous = {sig: signal.signal(sig, signal.SIG_IGN) for sig in STOP_SIGNALS} if _in_main() else {}
    try:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)



def _in_main() -> bool:
    return threading.current_thread() is threading.main_thread()
