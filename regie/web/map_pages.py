"""The map (``/carte``, ``/map``): the territory's public resources drawn over a background it ships itself.

Works with the network cut: Leaflet is served by the app from ``node_modules`` (like ECharts), the background
is the territory's own GeoJSON (``/api/map/base.geojson``: uploaded by an administrator at ``/admin/map``, or
drawn by the demo), and tiles from a tile server are added only when the ``map_tile_url`` setting names one.
What is drawn on it comes from the public features (:mod:`regie.semantic.geo`), each linking to its resource
page.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import UploadFile

from regie.governance import territories
from regie.model.basemap import BaseMapError, parse
from regie.store import map_base
from regie.web import assets, auth, federation_regional, i18n, territory_choice
from regie.web.account_pages import _base, _forbidden
from regie.web.account_pages import render as render_private
from regie.web.deps import AdminCaller
from regie.web.ingest_pages import UploadTooLarge, read_upload
from regie.web.templating import render

router = APIRouter()

#: The largest background accepted by the upload form (the GeoJSON itself is checked by regie.model.basemap).
MAX_UPLOAD_BYTES = 6 * 1024 * 1024


def _config(request: Request, territory: Any) -> dict[str, Any]:
    """What map.js needs: where to fetch the background and the features, the tiles, and the words it shows."""
    gettext = i18n.translations(i18n.negotiate_locale(request)).gettext
    territory_id = territory.id if territory is not None else None
    settings = request.app.state.settings
    return {
        "baseUrl": request.app.url_path_for("map_base_geojson") + f"?{territory_choice.PARAM}={territory_id}"
        if territory_id else None,
        "featuresUrl": request.app.url_path_for("map_geojson") + f"?{territory_choice.PARAM}={territory_id}"
        if territory_id else None,
        "regionalUrl": request.app.url_path_for("map_regional_geojson")
        if federation_regional.is_hub(request.app.state.store) else None,
        "centre": [territory.latitude, territory.longitude] if territory and territory.latitude is not None else None,
        "tileUrl": settings.map_tile_url,
        "tileAttribution": settings.map_tile_attribution,
        "strings": {
            "producer": gettext("Producer"),
            "transformer": gettext("Transformer"),
            "building": gettext("Public building"),
            "operation": gettext("Collective self-consumption perimeter"),
            "district": gettext("District"),
            "peak": gettext("Peak power"),
            "loading": gettext("Loading"),
            "hidden": gettext("not shown (statistical secrecy)"),
            "consumption": gettext("Consumption"),
            "open": gettext("Open its page"),
            "noBase": gettext("No background for this territory yet: only the resources are drawn."),
            "error": gettext("Could not load the map data:"),
            "village": gettext("Village of the region"),
            "region": gettext("Region"),
            "sentBy": gettext("Sent by"),
            "received": gettext("received"),
            "notSent": gettext("not sent"),
            "figures": {k: gettext(v) for k, v in federation_regional.FIGURES.items()},
        },
    }


@router.get("/carte", name="map_page_fr", response_class=HTMLResponse, include_in_schema=False)
@router.get("/map", name="map_page", response_class=HTMLResponse, include_in_schema=False)
def map_page(request: Request) -> Response:
    """The map page: the same in French and English, ``/carte`` and ``/map`` both."""
    choice = territory_choice.choose(request)
    if choice.id is None and not federation_regional.is_hub(request.app.state.store):
        return render(request, "empty.html", {"active": "map"}, status_code=404)
    # a hub with no territory of its own still draws its villages
    territory = territories.get_territory(request.app.state.store, choice.id) if choice.id else None
    stored = map_base.load(request.app.state.store, choice.id) if choice.id else None
    context = {
        "active": "map",
        "territory": territory,
        "base_source": stored.source if stored else None,
        "map_library": assets.vendor_available("leaflet.js"),
        "map_config": _config(request, territory),
        **territory_choice.context(choice),
    }
    return territory_choice.remember(request, render(request, "map.html", context), choice)


@router.get("/api/map/base.geojson", name="map_base_geojson", tags=["map"])
def map_base_geojson(request: Request) -> Response:
    """The territory's map background (GeoJSON, RFC 7946); 404 when it has none."""
    choice = territory_choice.choose(request)
    stored = map_base.load(request.app.state.store, choice.id) if choice.id else None
    if stored is None:
        raise HTTPException(404, "this territory has no map background: an administrator uploads one at /admin/map")
    headers = {"Cache-Control": "public, max-age=300", "X-Map-Source": _ascii(stored.source)}
    return Response(stored.geojson, media_type="application/geo+json", headers=headers)


def _ascii(text: str) -> str:
    return text.encode("ascii", "replace").decode("ascii")


# ---------------------------------------------------------------- the administrators' upload


def _admin_page(request: Request, caller: Any, choice: Any, status_code: int = 200, **extra: Any) -> Response:
    stored = map_base.load(request.app.state.store, choice.id)
    context = {**_base(request, caller, "map"), "stored": stored, "territory_id": choice.id,
               "max_mib": MAX_UPLOAD_BYTES // (1 << 20), **territory_choice.context(choice), **extra}  # fmt: skip
    return render_private(request, "map_admin.html", context, status_code=status_code)


@router.get("/admin/map", name="map_admin", response_class=HTMLResponse, include_in_schema=False)
def map_admin(request: Request, caller: AdminCaller) -> Response:
    """The form that replaces the territory's background."""
    choice = territory_choice.choose(request, caller)
    if choice.id is None:
        return _forbidden(request, "no territory yet", status_code=404)
    return _admin_page(request, caller, choice)


@router.post("/admin/map", name="map_admin_upload", include_in_schema=False)
async def map_admin_upload(request: Request, caller: AdminCaller) -> Response:
    """Check the uploaded GeoJSON and keep it as the territory's background (logged); the old one stays on error."""
    choice = territory_choice.choose(request, caller)
    if choice.id is None:
        return _forbidden(request, "no territory yet", status_code=404)
    try:
        form = await read_upload(request, MAX_UPLOAD_BYTES)
    except UploadTooLarge:
        return _admin_page(request, caller, choice, 413, problem=f"> {MAX_UPLOAD_BYTES // (1 << 20)} MiB")
    try:
        token = form.get(auth.CSRF_FIELD)
        auth.check_csrf(request, caller, token if isinstance(token, str) else None)
        upload, source = form.get("geojson"), form.get("source")
        if not isinstance(upload, UploadFile) or not upload.filename:
            return _admin_page(request, caller, choice, 400, problem="file: no file was sent")
        text = await upload.read()
    finally:
        await form.close()
    try:
        base = parse(text, source if isinstance(source, str) else "")
        territories.set_map_base(request.app.state.store, caller.account, choice.id, base)
    except BaseMapError as exc:
        return _admin_page(request, caller, choice, 400, problem=str(exc))
    except PermissionError as exc:
        return _forbidden(request, str(exc))
    return RedirectResponse(request.app.url_path_for("map_admin") + f"?{territory_choice.PARAM}={choice.id}&done=1",
                            status_code=303)  # fmt: skip

