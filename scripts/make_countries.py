"""Write pipeline/data/countries.geojson, the map's boundaries, from Natural Earth.

Source: Natural Earth 1:110m Admin 0 - Countries (public domain, naturalearthdata.com),
as GeoJSON in github.com/martynafford/natural-earth-geojson,
``110m/cultural/ne_110m_admin_0_countries.json``. The dashboard draws the map offline, so
the boundaries ship with the package; this keeps them small: each feature's id is its ISO
3166-1 alpha-3 code (Natural Earth's ISO_A3, or ADM0_A3 where ISO_A3 is -99: France,
Norway; Kosovo as XKX, the gazetteer's code), its one property the name, its coordinates rounded to 0.1 degree (the
1:110m lines are coarser than that) with repeated points dropped.

    python scripts/make_countries.py ne_110m_admin_0_countries.json
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "pipeline" / "data" / "countries.geojson"
DECIMALS = 1
#: Natural Earth codes the gazetteer (pipeline/data/gazetteer.yaml) spells otherwise
ALIASES = {"KOS": "XKX"}


def ring(points: list[list[float]]) -> list[list[float]]:
    out: list[list[float]] = []
    for x, y, *_ in points:
        p = [round(x, DECIMALS), round(y, DECIMALS)]
        if not out or out[-1] != p:
            out.append(p)
    if out[0] != out[-1]:
        out.append(out[0])
    return out


def geometry(g: dict) -> dict | None:
    if g["type"] == "Polygon":
        polys = [g["coordinates"]]
    elif g["type"] == "MultiPolygon":
        polys = g["coordinates"]
    else:
        return None
    kept = []
    for poly in polys:
        rings = [ring(r) for r in poly]
        rings = [r for r in rings if len(r) >= 4]  # a ring needs three corners and its close
        if rings:
            kept.append(rings)
    if not kept:
        return None
    return {"type": "Polygon", "coordinates": kept[0]} if len(kept) == 1 else {"type": "MultiPolygon", "coordinates": kept}


def main(src: str) -> None:
    data = json.loads(Path(src).read_text(encoding="utf-8"))
    features = []
    for f in data["features"]:
        p = f["properties"]
        code = p["ISO_A3"] if p["ISO_A3"] not in ("-99", None) else p["ADM0_A3"]
        code = ALIASES.get(code, code)
        g = geometry(f["geometry"])
        if g is None:
            continue
        features.append({"type": "Feature", "id": code, "properties": {"name": p["NAME"]}, "geometry": g})
    features.sort(key=lambda f: f["id"])
    OUT.write_text(json.dumps({"type": "FeatureCollection", "features": features}, separators=(",", ":")) + "\n")
    print(f"{len(features)} countries -> {OUT} ({OUT.stat().st_size:,} bytes)")


if __name__ == "__main__":
    main(sys.argv[1])
