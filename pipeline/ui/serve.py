"""Start Streamlit on ``dashboard.py`` with the dashboard's libraries already imported.

``escalation-watch dashboard`` runs ``python -m pipeline.ui.serve run dashboard.py ...``
instead of ``python -m streamlit run ...``. Streamlit runs the script only when
the first browser session connects, so the first visitor used to wait for pandas,
Plotly, SQLAlchemy, Alembic and our own modules to be imported (~1 s of a fresh
process's first page; benchmarks/dashboard.py measures it). Importing them here,
before the server starts, moves that cost to start-up. Nothing that defines a
Streamlit cache is imported here (those belong to the runtime, which does not exist yet).
"""

from __future__ import annotations

import importlib
import logging
import sys

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
    preload()
    from streamlit.web import cli

    sys.argv = ["streamlit", *(sys.argv[1:] if argv is None else argv)]
    return cli.main()


if __name__ == "__main__":
    sys.exit(main())
