"""A regional hub's figures on its own pages: a section of the territory page and a layer of the map.

A régie is a hub when villages send it their public cells (:mod:`regie.federation.hub`). Its territory page then
shows each figure per village and in all (secrecy applied again at the regional level, the reason said where a
cell is hidden) and where each village's figures come from (which instance, when they arrived); its map draws
each village where it says it is, with its latest figures (``/api/map/regional.geojson``). All of it is public:
the villages sent only what they publish, and the hub adds nothing personal.

The figures have a page of their own too, ``/region`` (French and English), whatever territories the hub holds:
a hub with no territory of its own shows them on its home page as well, a hub with several territories need not
choose one to reach them.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from regie.federation import hub
from regie.store import Store
from regie.web import i18n
from regie.web.templating import render

router = APIRouter(tags=["federation"])

#: Why a regional (or village) cell is not shown, in words (hub.RegionalCell.reason and the villages' own).
REASONS: dict[str, str] = {
    "hidden_in_a_village": i18n.N_("hidden — hidden in a village, the total would reveal it"),
    "fewer_than_10": i18n.N_("hidden — fewer than 10 delivery points"),
    "incomplete": i18n.N_("incomplete — a village has not sent this instant"),
    "dominance": i18n.N_("hidden — dominated by one point"),
    "secondary": i18n.N_("hidden — would reveal a hidden figure"),
}
FIGURES: dict[str, str] = {"consumption": i18n.N_("Consumption"), "production": i18n.N_("Production")}


def _when(t: int) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%d %H:%M UTC")


def is_hub(store: Store) -> bool:
    """Whether villages sent this régie public figures (it then shows them)."""
    return bool(hub.datasets(store))


def page_context(request: Request, store: Store) -> list[dict[str, Any]]:
    """What the territory page's regional section shows: per figure, the villages, their provenance and the
    latest instants per village and in all. Empty when this régie is no hub."""
    gettext = i18n.translations(i18n.negotiate_locale(request)).gettext
    out = []
    for figure, step in hub.datasets(store):
        f = hub.figure(store, figure, step)
        out.append({
            "figure": figure,
            "label": gettext(FIGURES[figure]) if figure in FIGURES else figure,
            "step": step,
            "villages": [{"id": v.peer_id, "name": v.name, "url": v.url, "organisation": v.organisation,
                          "place": (v.place or {}).get("name"), "received": _when(v.received_at)}
                         for v in f.villages],
            "rows": [{"when": _when(r.t), "villages": [r.villages[v.peer_id] for v in f.villages],
                      "value": r.total.value, "points": r.total.points,
                      "reason": gettext(REASONS[r.total.reason]) if r.total.reason in REASONS else r.total.reason}
                     for r in f.rows],
        })  # fmt: skip
    return out


def reasons(request: Request) -> dict[str, str]:
    gettext = i18n.translations(i18n.negotiate_locale(request)).gettext
    return {k: gettext(v) for k, v in REASONS.items()}


@router.get("/region", name="region_page", response_class=HTMLResponse, include_in_schema=False)
def region_page(request: Request) -> Response:
    """The hub's regional figures on their own page (public); the empty page, 404, when this régie is no hub."""
    store = request.app.state.store
    if not is_hub(store):
        return render(request, "empty.html", {"active": "territory"}, status_code=404)
    return render(request, "regional.html", {"active": "territory", "regional": page_context(request, store)})


@router.get("/api/map/regional.geojson", name="map_regional_geojson")
def map_regional(request: Request) -> Response:
    """The villages of a hub as GeoJSON points (RFC 7946), each with its latest public figures and the regional
    ones; an empty collection when this régie is no hub. Public."""
    store = request.app.state.store
    features = []
    by_village: dict[str, dict[str, Any]] = {}
    region: dict[str, Any] = {}
    for figure, step in hub.datasets(store):
        f = hub.figure(store, figure, step, last=1)
        latest = f.rows[0] if f.rows else None
        if latest is not None:
            region[figure] = {"t": latest.t, "value": latest.total.value, "reason": latest.total.reason}
        for v in f.villages:
            entry = by_village.setdefault(v.peer_id, {"village": v, "figures": {}})
            own = latest.villages.get(v.peer_id) if latest else None
            entry["figures"][figure] = {"t": latest.t if latest else None, "step": step,
                                        "value": own["value"] if own else None,
                                        "reason": own["reason"] if own else "not_sent"}  # fmt: skip
    for pid, entry in sorted(by_village.items()):
        v = entry["village"]
        if not v.place or v.place.get("latitude") is None:
            continue  # a village that did not say where it is is listed on the page, not drawn
        features.append({"type": "Feature", "id": f"village/{pid}",
                         "geometry": {"type": "Point", "coordinates": [v.place["longitude"], v.place["latitude"]]},
                         "properties": {"kind": "village", "name": v.place.get("name") or v.name, "peer": pid,
                                        "instance": v.name, "url": v.url, "received_at": v.received_at,
                                        "figures": entry["figures"]}})  # fmt: skip
    body = {"type": "FeatureCollection", "features": features, "region": region}
    return Response(json.dumps(body, ensure_ascii=False), media_type="application/geo+json")
