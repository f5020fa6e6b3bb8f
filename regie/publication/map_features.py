"""What the public map draws (``/api/map.geojson``): the territory's public resources as GeoJSON features.

Only what describes no person is placed on the map:

- **plants** of the régie, the commune, companies and cooperatives, by source and peak power; a plant whose
  delivery point a person holds (a private roof) is never placed — its position is a home's — and is only
  counted, per source, in the collection's ``unplaced`` summary;
- **transformers** (grid equipment) with their highest loading over the last 30 days of their own metering
  (:func:`regie.governance.gate.read_open`, as the supervision pages read it), shown only when the
  transformer feeds at least ``min_points`` (10) delivery points, the threshold of the statistical-secrecy
  rule (:class:`regie.governance.secrecy.SecrecyRule`, décret n° 2020-196): a substation feeding three
  homes would show their load;
- **public buildings**: sites whose delivery points the commune or a public body holds;
- **ACC perimeters**: a circle of the operation's distance limit as a diameter (arrêté du 21 novembre 2019,
  art. 1: the two farthest participants at most 2 km apart; 10 or 20 km with the derogation), centred on its
  producers, which are plants (an operation whose producers are all a person's is not drawn).

Each feature carries the stable URI of its resource page (``/id/<kind>/<id>``, :mod:`regie.semantic`).
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np

from regie.analytics import grid
from regie.governance import gate, secrecy
from regie.model import Inventory, SeriesKind
from regie.model.operation import Role, distance_limit_m
from regie.model.parties import OrganisationKind
from regie.store import Store
from regie.store import operations as stored_operations

LOADING_WINDOW_S = 30 * 86_400
PUBLIC_HOLDERS = (OrganisationKind.COMMUNE, OrganisationKind.PUBLIC_BODY)


def uri(kind: str, ident: str) -> str:
    """The stable path of a public resource's page (content-negotiated HTML, JSON-LD, Turtle)."""
    return f"/id/{kind}/{ident}"


def _point(lat: float, lon: float, props: dict[str, Any]) -> dict[str, Any]:
    return {"type": "Feature", "geometry": {"type": "Point", "coordinates": [round(lon, 6), round(lat, 6)]},
            "properties": props}  # fmt: skip


def map_features(store: Store, territory_id: str) -> dict[str, Any]:
    """The territory's public resources as a GeoJSON FeatureCollection (RFC 7946), with what was left out."""
    inv = store.load_inventory(territory_id)
    sites = {s.id: s for s in inv.sites if s.latitude is not None and s.longitude is not None}
    features: list[dict[str, Any]] = []
    unplaced: Counter[str] = Counter()
    unplaced_w: Counter[str] = Counter()
    private = _private_producers(store, inv)
    for p in inv.producers:
        if p.until is not None:
            continue
        site = sites.get(p.site_id or "")
        if p.id in private or site is None:
            unplaced[p.source.value] += 1
            unplaced_w[p.source.value] += p.peak_power_w
            continue
        features.append(_point(site.latitude, site.longitude, {
            "kind": "producer", "id": p.id, "name": p.name, "source": p.source.value,
            "peak_power_w": p.peak_power_w, "uri": uri("producer", p.id)}))  # fmt: skip
    features += _transformers(store, inv, sites)
    features += _buildings(inv, sites)
    features += _perimeters(store, inv, private)
    return {
        "type": "FeatureCollection",
        "features": features,
        "unplaced": [{"source": k, "plants": unplaced[k], "peak_power_w": unplaced_w[k]} for k in sorted(unplaced)],
    }


def _private_producers(store: Store, inv: Inventory) -> set[str]:
    """Plants that describe a person (their production series does): never placed on the map."""
    series = [s for s in inv.series if s.producer_id is not None]
    persons = gate.persons_described(store, series)
    private = {s.producer_id for s in series if s.id in persons}
    holders = {m.prm: m.holder_id for m in inv.memberships}
    persons_ids = {p.id for p in inv.persons}
    private |= {p.id for p in inv.producers if p.prm is not None and holders.get(p.prm) in persons_ids}
    return private  # type: ignore[return-value]


def _transformers(store: Store, inv: Inventory, sites: dict) -> list[dict[str, Any]]:
    out = []
    for tr in inv.transformers:
        site = sites.get(tr.site_id or "")
        if tr.until is not None or site is None:
            continue
        props: dict[str, Any] = {"kind": "transformer", "id": tr.id, "name": tr.name, "rated_kva": tr.rated_kva,
                                 "loading": None, "uri": uri("transformer", tr.id)}  # fmt: skip
        if len(tr.prms) < secrecy.SecrecyRule().min_points:
            props["reason"] = "fewer than 10 delivery points"
        else:
            props["loading"], props["reason"] = _peak_loading(store, inv, tr)
        out.append(_point(site.latitude, site.longitude, props))
    return out


def _peak_loading(store: Store, inv: Inventory, tr) -> tuple[float | None, str | None]:
    """The transformer's highest loading over the last 30 days of its own load series, or why there is none."""
    load = [s for s in inv.series if s.kind is SeriesKind.TRANSFORMER_LOAD and s.transformer_id == tr.id
            and s.unit == "W"]  # fmt: skip
    period = store.data_period()
    if not load or period is None:
        return None, "no load metering"
    last = int(period[1].timestamp())
    _, v = gate.read_open(store, load[0].id, last - LOADING_WINDOW_S, last + 1)
    if len(v) == 0:
        return None, "no data"
    peak = np.nanmax(grid.loading(np.asarray(v, dtype=float), tr.rated_kva, tr.power_factor))
    return (round(float(peak), 3), None) if np.isfinite(peak) else (None, "no data")


def _buildings(inv: Inventory, sites: dict) -> list[dict[str, Any]]:
    public = {o.id for o in inv.organisations if o.kind in PUBLIC_HOLDERS}
    held = {m.prm for m in inv.memberships if m.holder_id in public and m.until is None}
    placed, out = set(), []
    producer_sites = {p.site_id for p in inv.producers}
    for d in inv.delivery_points:
        site = sites.get(d.site_id)
        if d.prm not in held or site is None or site.id in placed or site.id in producer_sites:
            continue
        placed.add(site.id)
        out.append(_point(site.latitude, site.longitude, {"kind": "building", "id": site.id, "name": site.name,
                                                          "uri": uri("site", site.id)}))  # fmt: skip
    return out


def _perimeters(store: Store, inv: Inventory, private: set[str]) -> list[dict[str, Any]]:
    out = []
    plants = {p.prm: p for p in inv.producers if p.prm is not None}
    for op_id in stored_operations.operation_ids(store):
        stored = stored_operations.load_operation(store, op_id)
        if stored.territory_id != inv.territory.id:
            continue
        op = stored.operation
        located = [p for p in op.participants if p.role is Role.PRODUCER and p.latitude is not None
                   and p.prm in plants and plants[p.prm].id not in private]  # fmt: skip
        if not located:
            continue
        lat = float(np.mean([p.latitude for p in located]))
        lon = float(np.mean([p.longitude for p in located]))
        props = {"kind": "operation", "id": op.id, "name": op.name, "radius_m": distance_limit_m(op) / 2,
                 "uri": uri("operation", op.id)}  # fmt: skip
        out.append(_point(lat, lon, props))
    return out
