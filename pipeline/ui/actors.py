"""Map and who threatens whom: escalation weight per country and per actor pair in the period.

Both read :func:`pipeline.store.reads.actor_pairs`: the counted escalation signals
(weight > 0: a negated, denied or not-geopolitical signal never counts) of the
period's articles, a story carried by many outlets counted once. A country's weight
is that of the signals naming it, as source or as target. The map draws offline from
the Natural Earth boundaries shipped in ``pipeline/data/countries.geojson``
(``scripts/make_countries.py``): no CDN topojson, no tiles. A click on a country or a
cell opens the Articles page filtered to it.

Must not touch: SQL and scoring (pages read through pipeline.ui.data).
"""

from __future__ import annotations

import functools
import json
from importlib import resources
from typing import Any

import pandas as pd
import plotly.graph_objects as go
import streamlit as st
from plotly.subplots import make_subplots

from . import data, palette, period, state
from .data import md_escape

_CONFIG = {"displaylogo": False, "modeBarButtonsToRemove": ["lasso2d", "select2d"]}
#: the matrix shows the heaviest actors on each axis; more rows are unreadable at screen size
MATRIX_ACTORS = 12
#: actors listed beside the map (alliances and groups have no shape on it)
TOP_ACTORS = 10
#: the matrix's label for a signal whose source or target the scorer could not name
UNKNOWN = "?"
#: a grey world under the colour: countries without weight are still drawn
NO_WEIGHT = "#E5E7EB"


@functools.cache
def countries() -> dict[str, Any]:
    """The shipped boundaries: a GeoJSON FeatureCollection, ids ISO 3166-1 alpha-3."""
    return json.loads(resources.files("pipeline").joinpath("data/countries.geojson").read_text(encoding="utf-8"))


@functools.cache
def country_names() -> dict[str, str]:
    return {f["id"]: f["properties"]["name"] for f in countries()["features"]}


def open_articles(**changes: Any) -> None:
    """Filter the Articles page (actor, pair, kind) and go there."""
    f = state.update(**{"actor": None, "pair": None, "kind": None, "drill": None, **changes})
    from . import articles

    page = st.Page(articles.page, title="Articles", url_path="articles")  # the router's page, by its url_path
    try:
        st.switch_page(page, query_params=f.to_query())
    except st.errors.StreamlitAPIException:  # a one-page app (tests): the filters are set, stay here
        st.info("Filter set: open **Articles** to read them.")


def page() -> None:
    st.title("Map")
    st.caption(
        "Where and between whom the escalation of the period is: the counted signals of its articles "
        "(negated, denied or not geopolitical ones never count), each story once however many outlets carried it."
    )
    s = data.store()
    if s is None:
        return
    url = data.db_url()
    ver = data.version(url)
    if data.article_count(url, ver) == 0:
        st.info("Nothing stored yet: the poller has not stored any article. See **Sources** for feed health.")
        return
    f = state.filters()
    since, until = f.window(data.utcnow())
    labels = data.theatre_labels()
    st.caption(md_escape(" · ".join(f.describe(labels))))
    if period.notice(url, ver, since, until, key="map_history"):
        return
    pairs = data.actor_pairs(url, ver, f.theatre, since, until)
    if pairs.empty:
        st.info("No counted escalation signal in this period. Widen the period or pick another theatre.")
        return
    world_map(pairs)
    st.subheader("Who threatens whom")
    matrix(pairs)


# -- the map ---------------------------------------------------------------------------


def weights(pairs: pd.DataFrame) -> dict[str, float]:
    from pipeline.store import reads

    # a missing actor is NaN in the frame; actor_weights skips None
    return reads.actor_weights(pairs.astype(object).where(pairs.notna(), None).to_dict("records"))


def map_figure(per_actor: dict[str, float]) -> go.Figure:
    """A choropleth of the shipped boundaries coloured by weight, drawn offline.

    ``go.Choroplethmap`` (MapLibre) on the ``white-bg`` style: no tile source and no
    topojson to fetch. (``go.Choropleth`` on a geo subplot fetches
    cdn.plot.ly/un/world_110m.json even with ``geojson=`` and ``geo.visible=False``, and
    draws nothing without it.)"""
    names = country_names()
    ids = list(names)
    z = [per_actor.get(c, 0.0) for c in ids]
    fig = go.Figure(
        go.Choroplethmap(
            geojson=countries(), featureidkey="id", locations=ids, z=z,
            colorscale=[[0.0, NO_WEIGHT], [1e-6, palette.HEATMAP_SCALE[0][1]], *palette.HEATMAP_SCALE[1:]],
            zmin=0, zmax=max(z) or 1, marker_line_color="white", marker_line_width=0.5,
            customdata=[[c] for c in ids], text=[names[c] for c in ids],
            colorbar=dict(title="weight", thickness=12),
            hovertemplate="<b>%{text}</b><br>escalation weight %{z:.1f}<extra></extra>",
        )
    )  # fmt: skip
    fig.update_layout(
        map=dict(style="white-bg", center=dict(lat=20, lon=10), zoom=0.45),
        height=480, margin=dict(l=0, r=0, t=0, b=0), clickmode="event+select",
    )  # fmt: skip
    return fig


def world_map(pairs: pd.DataFrame) -> None:
    per_actor = weights(pairs)
    names = country_names()
    left, right = st.columns([4, 1])
    with left, st.container(key="world_map"):
        event = st.plotly_chart(
            map_figure(per_actor), key="map_chart", on_select="rerun", selection_mode=("points",),
            config=_CONFIG, width="stretch",
        )  # fmt: skip
        st.caption("Click a country to list its articles.")
    code = _picked_code(event)
    if code is None:  # no selection (a fresh visit): the next click on any country counts
        st.session_state.pop("_last_map_pick", None)
    elif st.session_state.get("_last_map_pick") != code:
        st.session_state["_last_map_pick"] = code
        open_articles(actor=code)
    with right, st.container(key="top_actors"):
        st.markdown("**Heaviest actors**")
        for i, (code, w) in enumerate(list(per_actor.items())[:TOP_ACTORS]):
            label = f"{names.get(code, code)} · {w:.1f}"
            if st.button(label, key=f"actor_{code}", width="stretch", help=f"Articles naming {code}"):
                open_articles(actor=code)
        off_map = [c for c in per_actor if c not in names]
        if off_map:
            st.caption("Not on the map (alliances, groups): " + ", ".join(md_escape(c) for c in off_map[:8]))


def _picked_code(event: Any) -> str | None:
    for p in state.clicked_points(event):
        cd = p.get("customdata")
        if isinstance(cd, list | tuple) and cd:
            return str(cd[0])
        if p.get("location"):
            return str(p["location"])
    return None


# -- who threatens whom -------------------------------------------------------------------


def matrix_frames(pairs: pd.DataFrame, n: int = MATRIX_ACTORS) -> tuple[list[str], list[str], dict[str, pd.DataFrame]]:
    """(sources, targets, {kind: source x target weight}) for the heaviest ``n`` actors on each axis."""
    df = pairs.assign(source=pairs["source"].fillna(UNKNOWN), target=pairs["target"].fillna(UNKNOWN))
    sources = list(df.groupby("source")["weight"].sum().sort_values(ascending=False).index[:n])
    targets = list(df.groupby("target")["weight"].sum().sort_values(ascending=False).index[:n])
    out = {}
    for kind in ("threat", "act"):
        k = df[df["kind"] == kind]
        grid = k.pivot_table(index="source", columns="target", values="weight", aggfunc="sum")
        out[kind] = grid.reindex(index=sources, columns=targets)
    return sources, targets, out


def matrix_figure(pairs: pd.DataFrame) -> go.Figure:
    sources, targets, grids = matrix_frames(pairs)
    fig = make_subplots(rows=1, cols=2, shared_yaxes=True, horizontal_spacing=0.04,
                        subplot_titles=("Threats", "Acts"))  # fmt: skip
    zmax = max(float(g.max().max()) if g.notna().any().any() else 0.0 for g in grids.values()) or 1.0
    for col, kind in enumerate(("threat", "act"), start=1):
        g = grids[kind]
        fig.add_trace(
            go.Heatmap(
                z=g.values, x=targets, y=sources, zmin=0, zmax=zmax, hoverinfo="skip",
                colorscale=palette.HEATMAP_SCALE, hoverongaps=False, xgap=2, ygap=2, showscale=col == 2,
                colorbar=dict(title="weight", thickness=12),
            ),
            row=1, col=col,
        )  # fmt: skip
        # a heatmap cell cannot be selected (plotly has no point selection on heatmaps, so
        # Streamlit gets no event): a near-invisible square marker on every filled cell can
        cells = [(s, t, float(g.at[s, t])) for s in sources for t in targets if pd.notna(g.at[s, t])]
        fig.add_trace(
            go.Scatter(
                x=[c[1] for c in cells], y=[c[0] for c in cells], mode="markers", showlegend=False,
                marker=dict(symbol="square", size=26, color="rgba(0,0,0,0.01)"),
                customdata=[[c[0], c[1], kind, c[2]] for c in cells],
                hovertemplate=f"%{{y}} → %{{x}}<br>{kind}s: weight %{{customdata[3]:.1f}}<br>click: its articles<extra></extra>",
            ),
            row=1, col=col,
        )  # fmt: skip
    fig.update_yaxes(autorange="reversed", title_text="from", row=1, col=1)
    fig.update_xaxes(title_text="against", side="bottom")
    fig.update_layout(height=120 + 30 * len(sources), margin=dict(l=10, r=10, t=30, b=10),
                      clickmode="event+select", dragmode=False)  # fmt: skip
    return fig


def matrix(pairs: pd.DataFrame) -> None:
    with st.container(key="actor_matrix"):
        event = st.plotly_chart(
            matrix_figure(pairs), key="matrix_chart", on_select="rerun", selection_mode=("points",),
            config=_CONFIG, width="stretch",
        )  # fmt: skip
        st.caption(
            f"Escalation weight from each actor (rows) against each (columns), the {MATRIX_ACTORS} heaviest on each "
            f"axis; {UNKNOWN}: the scorer found no actor. Click a cell, or pick a pair below, to list its articles."
        )
    cell = _picked_cell(event)
    if cell is None:
        st.session_state.pop("_last_cell_pick", None)
    elif st.session_state.get("_last_cell_pick") != cell:
        st.session_state["_last_cell_pick"] = cell
        open_articles(pair=f"{cell[0]}>{cell[1]}", kind=cell[2])
    top = pairs.head(TOP_ACTORS).assign(source=lambda d: d["source"].fillna(UNKNOWN),
                                         target=lambda d: d["target"].fillna(UNKNOWN))  # fmt: skip
    options = [f"{r.source}>{r.target}>{r.kind}" for r in top.itertuples()]
    weights_by = {o: r.weight for o, r in zip(options, top.itertuples(), strict=True)}
    c1, c2 = st.columns([4, 1], vertical_alignment="bottom")
    choice = c1.selectbox(
        "Pair", options, key="w_pair_pick",
        format_func=lambda o: f"{o.split('>')[0]} → {o.split('>')[1]} · {o.split('>')[2]}s · weight {weights_by[o]:.1f}",
    )  # fmt: skip
    if c2.button("Open articles", key="pair_open", width="stretch") and choice:
        src, tgt, kind = choice.split(">")
        open_articles(pair=f"{src}>{tgt}", kind=kind)


def _picked_cell(event: Any) -> tuple[str, str, str] | None:
    for p in state.clicked_points(event):
        cd = p.get("customdata")
        if isinstance(cd, list | tuple) and len(cd) >= 3:
            return str(cd[0]), str(cd[1]), str(cd[2])
    return None
