"""The public map's data as a GeoJSON FeatureCollection (RFC 7946): what a map page (``/carte``) draws.

Public data only (:mod:`regie.semantic.public`): public plants by source with their peak power, transformers
with their rating and their peak loading over the last 30 days when they feed at least 10 delivery points,
public buildings (sites of public bodies), and each ACC operation's perimeter circle. Each feature carries the
URI of its resource page.
A transformer without a public site is placed at the centroid of the sites it feeds when it feeds at least 10
(rounded to 0.001°, about 100 m: it locates no one), else it has no geometry.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from regie.analytics import grid
from regie.governance import gate, territories
from regie.model import Inventory, SeriesKind, Transformer
from regie.semantic.public import PUBLIC_KINDS, PublicView, public_view
from regie.semantic.uris import Uris
from regie.store import Store
from regie.store import operations as stored_operations

MIN_POINTS = 10
#: The window the map's transformer loading is the peak of [s].
LOADING_WINDOW_S = 30 * 86_400


def _point(lon: float, lat: float) -> dict[str, Any]:
    return {"type": "Point", "coordinates": [round(lon, 6), round(lat, 6)]}


def _circle(lat: float, lon: float, radius_m: float, n: int = 48) -> dict[str, Any]:
    """A polygon approximating a circle on the sphere (enough for a 1–10 km perimeter)."""
    dlat = radius_m / 111_320.0
    dlon = dlat / max(math.cos(math.radians(lat)), 1e-6)
    ring = [[round(lon + dlon * math.cos(2 * math.pi * k / n), 6), round(lat + dlat * math.sin(2 * math.pi * k / n), 6)]
            for k in range(n)]  # fmt: skip
    return {"type": "Polygon", "coordinates": [[*ring, ring[0]]]}


def _transformer_place(inv: Inventory, view: PublicView, t: Transformer) -> tuple[float, float] | None:
    site = view.site(t.site_id)
    if site is not None and site.latitude is not None and site.longitude is not None:
        return site.latitude, site.longitude
    sites = {s.id: s for s in inv.sites}
    dps = {d.prm: d for d in inv.delivery_points}
    located = [sites[dps[p].site_id] for p in t.prms if p in dps and dps[p].site_id in sites]
    located = [s for s in located if s.latitude is not None and s.longitude is not None]
    if len(located) < MIN_POINTS:
        return None
    return (round(sum(s.latitude for s in located) / len(located), 3),
            round(sum(s.longitude for s in located) / len(located), 3))  # fmt: skip


def _peak_loading(store: Store, inv: Inventory, t: Transformer) -> float | None:
    """The transformer's highest loading over the last 30 days of its own load series, or None.

    Read with :func:`regie.governance.gate.read_open`, as the supervision pages read it (grid equipment, no one's
    data), and shown only when the transformer feeds at least :data:`MIN_POINTS` delivery points, the count
    threshold of statistical secrecy (décret n° 2020-196): a substation feeding three homes would show their
    load. Loading = |P| / (S_r × cos φ) (IEC 60076-1 rating, :func:`regie.analytics.grid.loading`).
    """
    if len(t.prms) < MIN_POINTS:
        return None
    load = [s for s in inv.series
            if s.kind is SeriesKind.TRANSFORMER_LOAD and s.transformer_id == t.id and s.unit == "W"]  # fmt: skip
    period = store.data_period()
    if not load or period is None:
        return None
    last = int(period[1].timestamp())
    _, v = gate.read_open(store, load[0].id, last - LOADING_WINDOW_S, last + 1)
    if len(v) == 0:
        return None
    peak = np.nanmax(grid.loading(np.asarray(v, dtype=float), t.rated_kva, t.power_factor))
    return round(float(peak), 3) if np.isfinite(peak) else None


def map_features(store: Store, base: str, territory_id: str | None = None) -> dict[str, Any]:
    """The FeatureCollection of one territory (default: every territory of the store)."""
    u = Uris(base.rstrip("/"))
    ops = [stored_operations.load_operation(store, oid) for oid in stored_operations.operation_ids(store)]
    features: list[dict[str, Any]] = []
    for terr in territories.list_territories(store):
        if territory_id is not None and terr.id != territory_id:
            continue
        inv = store.load_inventory(terr.id)
        view = public_view(inv, [o.operation for o in ops if o.territory_id == terr.id])
        public_orgs = {o.id for o in view.organisations if o.kind in PUBLIC_KINDS}
        holder = {m.prm: m.holder_id for m in inv.memberships if m.until is None}
        public_building_sites = {d.site_id for d in inv.delivery_points
                                 if holder.get(d.prm) in public_orgs and d.usage != "production"}  # fmt: skip
        for p in view.producers:
            site = view.site(p.site_id)
            geometry = _point(site.longitude, site.latitude) if site and site.latitude is not None else None
            features.append({"type": "Feature", "id": f"producer/{p.id}", "geometry": geometry, "properties": {
                "kind": "producer", "territory": terr.id, "name": p.name, "source": p.source.value,
                "peak_power_w": p.peak_power_w, "uri": str(u.of("producer", p.id))}})  # fmt: skip
        for t in view.transformers:
            place = _transformer_place(inv, view, t)
            features.append({"type": "Feature", "id": f"transformer/{t.id}",
                             "geometry": _point(place[1], place[0]) if place else None, "properties": {
                "kind": "transformer", "territory": terr.id, "name": t.name, "rated_kva": t.rated_kva,
                "peak_loading": _peak_loading(store, inv, t), "uri": str(u.of("transformer", t.id))}})  # fmt: skip
        for s in view.sites:
            if s.id not in public_building_sites or s.latitude is None or s.longitude is None:
                continue
            features.append({"type": "Feature", "id": f"site/{s.id}", "geometry": _point(s.longitude, s.latitude),
                             "properties": {"kind": "public_building", "territory": terr.id, "name": s.name,
                                            "uri": str(u.of("site", s.id))}})  # fmt: skip
        for op in view.operations:
            features.append({"type": "Feature", "id": f"operation/{op.id}",
                             "geometry": _circle(*op.centre, op.radius_m) if op.centre else None, "properties": {
                "kind": "acc_perimeter", "territory": terr.id, "name": op.name, "radius_m": op.radius_m,
                "consumers": op.consumers, "producers": op.producers, "peak_power_w": op.peak_power_w,
                "uri": str(u.of("operation", op.id))}})  # fmt: skip
    return {"type": "FeatureCollection", "features": features}
