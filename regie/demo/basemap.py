"""A schematic background for the demo village's map: a commune outline, a river, the main roads, the hamlets.

Drawn, not surveyed: the demo's homes are generated around the territory's centre, so the background is too.
It follows the real layout of Prats-de-Mollo-la-Preste only loosely (the Tech flows west to east through the
village, the D115 follows it down the valley, La Preste lies up the valley to the west) and says so in its
``source``, which the map shows. A real territory uploads its own GeoJSON (docs/map.md).
"""

from __future__ import annotations

import json
import math

import numpy as np

from regie.model.basemap import BaseMap, parse

SOURCE = "Schematic background drawn by the regie demo (not surveyed geography)"


def demo_base(latitude: float, longitude: float, seed: int = 42) -> BaseMap:
    """The demo territory's background around (``latitude``, ``longitude``)."""
    rng = np.random.default_rng(seed)
    kx = 1.0 / math.cos(math.radians(latitude))  # degrees of longitude per degree of latitude at this latitude

    def at(dy_km: float, dx_km: float) -> list[float]:
        return [round(longitude + dx_km / 111.0 * kx, 6), round(latitude + dy_km / 111.0, 6)]

    # The outline: a closed, irregular ring about 6 km around the village, wider to the west (the upper valley).
    ring = []
    for k in range(48):
        a = 2 * math.pi * k / 48
        r = 6.0 + 1.2 * math.sin(3 * a + 0.7) + 0.6 * rng.normal() * 0.5 + (2.5 if math.cos(a) < -0.3 else 0.0)
        ring.append(at(r * math.sin(a), r * math.cos(a) - (1.5 if math.cos(a) < 0 else 0.0)))
    ring.append(ring[0])

    def meander(x0: float, x1: float, y: float, wobble: float, n: int = 40) -> list[list[float]]:
        xs = np.linspace(x0, x1, n)
        ys = y + wobble * np.sin(xs / 1.7) + np.cumsum(rng.normal(0, wobble / 8, n))
        return [at(float(b), float(a)) for a, b in zip(xs, ys, strict=True)]

    river = meander(-9.0, 6.5, -0.15, 0.35)
    road = meander(-8.0, 6.5, 0.12, 0.25)
    col = [at(0.1, 0.0), at(2.0, 0.6), at(4.0, 0.2), at(6.5, 1.0)]  # the road up to the pass, to the north
    features = [
        _feature("Polygon", [ring], "outline", "Commune (schematic outline)"),
        _feature("LineString", river, "water", "Le Tech"),
        _feature("LineString", road, "road", "D115"),
        _feature("LineString", col, "road", "Route du col"),
        _feature("Point", at(0.0, 0.0), "place", "Prats-de-Mollo"),
        _feature("Point", at(-0.3, -7.5), "place", "La Preste"),
    ]
    return parse(json.dumps({"type": "FeatureCollection", "features": features}), SOURCE)


def _feature(kind: str, coordinates: list, layer: str, name: str) -> dict:
    return {"type": "Feature", "geometry": {"type": kind, "coordinates": coordinates},
            "properties": {"layer": layer, "name": name}}  # fmt: skip

