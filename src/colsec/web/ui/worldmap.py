"""The member-state map, drawn server-side as SVG paths from the vendored world-atlas TopoJSON.

Nothing is fetched at run time: the country borders come from
``static/vendor/world-atlas/countries-110m.json`` (Natural Earth via the
world-atlas npm package, ISC licence).  The demo alliance uses fictional states
with ISO 3166 user-assigned codes (XA..XG); each is drawn with the borders of a
real country so the map reads naturally.  The mapping below is the only place
this happens; a real deployment whose organisations carry real ISO alpha-2 codes
needs no entry here (``ISO_NUMERIC`` translates them).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache
from typing import Any

import orjson

from colsec.web.i18n import WEB_DIR

__all__ = ["FICTIONAL_SHAPES", "ISO_NUMERIC", "MapShape", "country_shapes", "shape_id_for"]

ATLAS = WEB_DIR / "static" / "vendor" / "world-atlas" / "countries-110m.json"

# Fictional demo state (user-assigned code) -> numeric ISO 3166 id of the shape that draws it.
FICTIONAL_SHAPES: dict[str, str] = {
    "XA": "056",  # Alliance Crisis Centre  -> drawn as Belgium
    "XB": "578",  # Northmark               -> Norway
    "XC": "616",  # Eastvale                -> Poland
    "XD": "348",  # Sundar                  -> Hungary
    "XE": "372",  # Westholm                -> Ireland
    "XF": "203",  # Kaldera                 -> Czechia
    "XG": "528",  # Riverland               -> Netherlands
}

# Real alpha-2 codes of the European region the map shows, for real deployments.
ISO_NUMERIC: dict[str, str] = {
    "AT": "040", "BE": "056", "BG": "100", "HR": "191", "CY": "196", "CZ": "203", "DK": "208", "EE": "233",
    "FI": "246", "FR": "250", "DE": "276", "GR": "300", "HU": "348", "IS": "352", "IE": "372", "IT": "380",
    "LV": "428", "LT": "440", "LU": "442", "NL": "528", "NO": "578", "PL": "616", "PT": "620", "RO": "642",
    "SK": "703", "SI": "705", "ES": "724", "SE": "752", "CH": "756", "GB": "826", "UA": "804", "MD": "498",
    "RS": "688", "ME": "499", "MK": "807", "AL": "008", "BA": "070", "TR": "792", "GE": "268",
}  # fmt: skip

# Europe, roughly: longitude/latitude window and the drawing size.
LON_MIN, LON_MAX, LAT_MIN, LAT_MAX = -12.0, 34.0, 35.0, 71.5
WIDTH = 560.0
_K = WIDTH / ((LON_MAX - LON_MIN) * math.cos(math.radians(53)))
HEIGHT = round((LAT_MAX - LAT_MIN) * _K, 1)


@dataclass(frozen=True, slots=True)
class MapShape:
    iso: str  # numeric ISO 3166 id from the atlas
    name: str  # English country name from the atlas (not shown for mapped fictional states)
    d: str  # SVG path data
    cx: float = 0.0  # centre of the largest part's bounding box (where a marker goes)
    cy: float = 0.0


def shape_id_for(country: str | None) -> str | None:
    if not country:
        return None
    code = country.upper()
    return FICTIONAL_SHAPES.get(code) or ISO_NUMERIC.get(code)


def _project(lon: float, lat: float) -> tuple[float, float]:
    x = (lon - LON_MIN) * math.cos(math.radians(53)) * _K
    y = (LAT_MAX - lat) * _K
    return x, y


def _decode_arcs(topo: dict[str, Any]) -> list[list[tuple[float, float]]]:
    sx, sy = topo["transform"]["scale"]
    tx, ty = topo["transform"]["translate"]
    arcs = []
    for arc in topo["arcs"]:
        x = y = 0
        pts = []
        for dx, dy in arc:
            x += dx
            y += dy
            pts.append((x * sx + tx, y * sy + ty))
        arcs.append(pts)
    return arcs


def _ring(arcs: list[list[tuple[float, float]]], indexes: list[int]) -> list[tuple[float, float]]:
    pts: list[tuple[float, float]] = []
    for i in indexes:
        arc = arcs[i] if i >= 0 else list(reversed(arcs[~i]))
        pts.extend(arc[1:] if pts else arc)
    return pts


@cache
def country_shapes() -> tuple[MapShape, ...]:
    """Every country that touches the map window, as SVG path data (computed once)."""
    topo = orjson.loads(ATLAS.read_bytes())
    arcs = _decode_arcs(topo)
    shapes = []
    for geom in topo["objects"]["countries"]["geometries"]:
        if geom.get("type") == "Polygon":
            polygons = [geom["arcs"]]
        elif geom.get("type") == "MultiPolygon":
            polygons = geom["arcs"]
        else:
            continue
        parts = []
        largest = (0.0, 0.0, 0.0)  # (area of bounding box, centre x, centre y)
        for polygon in polygons:
            for ring_idx in polygon:
                ring = _ring(arcs, ring_idx)
                lons = [lon for lon, _ in ring]
                if max(lons) - min(lons) > 180:  # wraps the antimeridian (far-east Russia): never in view
                    continue
                if not any(
                    LON_MIN - 5 <= lon <= LON_MAX + 5 and LAT_MIN - 5 <= lat <= LAT_MAX + 5
                    for lon, lat in ring
                ):
                    continue
                xy = [_project(lon, lat) for lon, lat in ring]
                xs, ys = [x for x, _ in xy], [y for _, y in xy]
                area = (max(xs) - min(xs)) * (max(ys) - min(ys))
                if area > largest[0]:
                    largest = (area, (max(xs) + min(xs)) / 2, (max(ys) + min(ys)) / 2)
                parts.append("M" + "L".join(f"{x:.1f},{y:.1f}" for x, y in xy) + "Z")
        if parts:
            shapes.append(
                MapShape(
                    iso=str(geom.get("id", "")),
                    name=geom["properties"].get("name", ""),
                    d="".join(parts),
                    cx=round(largest[1], 1),
                    cy=round(largest[2], 1),
                )
            )
    return tuple(shapes)
