"""Build the FastAPI application over one store. Nothing is created at import time."""

from __future__ import annotations

from fastapi import FastAPI

from regie import __version__
from regie.config import Settings
from regie.governance import log_head
from regie.store import Store
from regie.web import (
    acc_pages,
    acc_setup_pages,
    account_api,
    account_pages,
    api,
    assets,
    auth,
    deps,
    disclosure,
    emoncms,
    federation_api,
    federation_pages,
    federation_regional,
    footprint_pages,
    health,
    imports,
    ingest_pages,
    inventory_pages,
    live,
    map_pages,
    pages,
    password_pages,
    people_pages,
    semantic_pages,
    setup_pages,
    signal_api,
    supervision_api,
    supervision_pages,
    territory_choice,
    unavailable,
)
from regie.web.limits import BodyLimitMiddleware
from regie.web.no_store import NoStoreMiddleware


def create_app(store: Store, settings: Settings | None = None) -> FastAPI:
    """The whole web face: JSON API (/api), emoncms-compatible routes, pages.

    ``settings`` are :func:`regie.config.get_settings`'s for ``regie serve``; without them, the defaults alone
    (never the environment: an app built by a test behaves the same on every machine)."""
    app = FastAPI(title="regie", version=__version__, description="An energy-data trust for local energy communities")
    app.router.lifespan_context = log_head.lifespan  # signs the access log while serving and at shutdown
    app.state.store = store
    app.state.settings = settings if settings is not None else Settings.defaults()
    # Routers are added here, one line each (api, pages, emoncms, ...).
    app.include_router(api.router)
    app.include_router(pages.router)
    app.include_router(assets.router)
    app.include_router(emoncms.router)
    app.include_router(imports.router)
    app.include_router(ingest_pages.router)
    app.include_router(auth.router)
    app.include_router(account_pages.router)
    app.include_router(account_api.router)
    app.include_router(disclosure.router)
    app.include_router(acc_setup_pages.router)  # before acc_pages: /acc/new, /acc/check are no operation ids
    app.include_router(acc_pages.router)
    app.include_router(supervision_pages.router)
    app.include_router(supervision_api.router)
    app.include_router(live.router)
    app.include_router(password_pages.router)
    app.include_router(people_pages.router)
    app.include_router(setup_pages.router)
    app.include_router(inventory_pages.router)
    app.include_router(footprint_pages.router)
    app.include_router(map_pages.router)
    app.include_router(signal_api.router)  # /api/signal, /api/signal.txt

    app.include_router(federation_api.router)
    app.include_router(federation_pages.router)
    app.include_router(federation_regional.router)  # a hub's villages on the map: /api/map/regional.geojson

    app.include_router(semantic_pages.router)
    app.add_exception_handler(supervision_pages.PageRefused, supervision_pages.refused)
    app.add_exception_handler(territory_choice.Refused, territory_choice.refused_page)
    app.add_exception_handler(inventory_pages.Refused, inventory_pages.refused_page)
    app.add_exception_handler(deps.AdminOnly, deps.admin_only_page)
    app.add_exception_handler(federation_api.Refused, federation_api.refused_answer)
    unavailable.install(app)
    health.install(app)  # /healthz, /readyz, /metrics and request timing
    # Outermost last: a body's size is checked before anything reads it; personal answers are never cached.
    app.add_middleware(NoStoreMiddleware)
    app.add_middleware(BodyLimitMiddleware)
    return app
