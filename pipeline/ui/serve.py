"""Start Streamlit on ``dashboard.py`` with the dashboard's libraries already imported.

``escalation-watch dashboard`` runs ``python -m pipeline.ui.serve run dashboard.py ...``
instead of ``python -m streamlit run ...``. Streamlit runs the script only when
the first browser session connects, so the first visitor used to wait for pandas,
Plotly, SQLAlchemy, Alembic and our own modules to be imported (~1 s of a fresh
process's first page; benchmarks/dashboard.py measures it). Importing them here,
before the server starts, moves that cost to start-up. Nothing that defines a
Streamlit cache is imported here (those belong to the runtime, which does not exist yet).

It also ends the server when the command that started it dies (issue 13): the
command forwards SIGTERM, SIGINT and SIGHUP, but a SIGKILL or a crash of the
command leaves nobody to forward anything, and the server used to stay up,
orphaned, holding the port. :func:`die_with_parent` covers that case.

Must not touch: SQL and scoring (pages read through pipeline.ui.data).
"""

from __future__ import annotations

import ctypes
import importlib
import logging
import os
import signal
import sys
import threading
import time

#: what the first run of dashboard.py imports and takes time to import
PRELOAD = (
    "pandas",
    "plotly.graph_objects",
    "plotly.subplots",
    "plotly.io",
    "sqlalchemy",
    "alembic.migration",
    "alembic.script",
    "pipeline.config",
    "pipeline.export",
    "pipeline.store",
    "pipeline.store.reads",
    "pipeline.trend",
    "pipeline.ui.palette",
)

log = logging.getLogger("escalation_watch.dashboard")

#: the pid of the command that started this server (set by pipeline.cli)
ENV_PARENT_PID = "ESCALATION_WATCH_PARENT_PID"
#: how often the watchdog checks that the parent still lives
WATCHDOG_S = 1.0
_PR_SET_PDEATHSIG = 1  # linux/prctl.h


def die_with_parent(parent_pid: int) -> None:
    """SIGTERM this process (Streamlit's graceful stop) when ``parent_pid`` dies.

    On Linux the kernel sends it (``PR_SET_PDEATHSIG``), at once. The kernel sends
    it when the parent's *thread* that started this process ends, so
    :mod:`pipeline.cli` starts the server from its main thread. A watchdog thread
    also checks ``getppid()`` every :data:`WATCHDOG_S`, for systems without prctl.
    A parent already gone before either was set up is caught by the first check.
    """
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            if libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0) != 0:
                log.warning("prctl(PR_SET_PDEATHSIG) failed: errno %d", ctypes.get_errno())
        except (OSError, AttributeError) as e:  # no libc symbol: the watchdog still works
            log.warning("prctl unavailable: %s", e)
    if os.getppid() != parent_pid:
        os.kill(os.getpid(), signal.SIGTERM)
        return

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(WATCHDOG_S)
        log.warning("the command that started the dashboard is gone; stopping")
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="ew-parent-watchdog", daemon=True).start()


def preload() -> None:
    try:
        for name in PRELOAD:
            importlib.import_module(name)
        _warm_plotly()
    except Exception as e:  # noqa: BLE001 - a failed preload only costs the first page its speed
        log.warning("dashboard preload failed: %s", e)


def _warm_plotly() -> None:
    """Plotly builds each trace type's validators on first use (~0.3 s for the Overview's):
    build one small figure of every kind the pages draw, and serialise it as they do."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    fig = make_subplots(rows=2, cols=1, shared_xaxes=True)
    fig.add_trace(go.Scatter(x=[1, 2], y=[1, 2], mode="lines+markers", customdata=[[1], [2]]), row=1, col=1)
    fig.add_trace(go.Scatter(x=[1, 2], y=[1, 2], stackgroup="s", fillcolor="#000000"), row=1, col=1)
    fig.add_trace(go.Bar(x=[1, 2], y=[1, 2], marker_color="#000000"), row=2, col=1)
    fig.add_trace(go.Heatmap(z=[[1, 2]], x=["a", "b"], y=["c"]))
    fig.update_layout(barmode="relative", legend=dict(x=1.01), hovermode="closest")
    fig.update_yaxes(rangemode="tozero", row=2, col=1)
    fig.to_json()


def main(argv: list[str] | None = None) -> int:
    parent = os.environ.get(ENV_PARENT_PID, "")
    if parent.isdigit():
        die_with_parent(int(parent))
    preload()
    from streamlit.web import cli

    sys.argv = ["streamlit", *(sys.argv[1:] if argv is None else argv)]
    return cli.main()


if __name__ == "__main__":
    sys.exit(main())
