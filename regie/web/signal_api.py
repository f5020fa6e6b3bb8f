"""The "when to consume" signal on the web: ``/api/signal`` (JSON-LD), ``/api/signal.txt`` (one line for a
microcontroller) and the widget's context (``_signal_widget.html``, on the territory page and ``/me``).

Public, like the territory page: the signal is computed from the published balance only
(:mod:`regie.services.signal`), so it tells nobody anything the page does not already show. Formats and terms:
``docs/signal.md``.
"""

from __future__ import annotations

import time
from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import JSONResponse, PlainTextResponse

from regie.model import Inventory
from regie.services import signal as signals
from regie.services.balance import BalanceRequestError
from regie.store import Store
from regie.web import queries
from regie.web.api import TerritoryQ, chosen_inventory
from regie.web.deps import StoreDep

router = APIRouter(prefix="/api", tags=["signal"])

AtQ = Annotated[
    str | None,
    Query(description="the instant the signal is computed at, ISO 8601 (naive: the territory's zone), from the "
                      "public data known then; default: now", examples=["2025-06-15T12:00"]),
]  # fmt: skip
RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"description": "the signal cannot be computed (no coordinates, no load curve with a fixed step)"},
    403: {"description": "a territory the caller's account does not run"},
    404: {"description": "no territory"},
    422: {"description": "a malformed parameter"},
}


def _clock(request: Request) -> float:
    """Now; or the instant ``app.state.signal_at`` replays (``regie demo``: its year of data ended long ago, so
    it shows the signal as it was on its last day rather than "no recent data")."""
    replay = getattr(request.app.state, "signal_at", None)
    if replay is not None:
        return float(replay)
    return float(getattr(request.app.state, "clock", time.time)())


def signal_for(request: Request, store: Store, inv: Inventory, at: str | None = None) -> signals.Signal:
    """The signal of ``inv``'s territory now (or ``at``), with the configured weather forecast; 4xx on bad input."""
    try:
        now = _clock(request) if at is None else queries.parse_instant("at", at, inv.territory.zone).timestamp()
    except queries.QueryError as exc:
        raise HTTPException(422, str(exc)) from None
    source = getattr(request.app.state.settings, "signal_weather_forecast", None)
    try:
        return signals.current_signal(store, inv.territory.id, now, source)
    except (signals.SignalError, BalanceRequestError) as exc:
        raise HTTPException(400, str(exc)) from None


@router.get("/signal", summary="When to consume: the forecast local balance per 30 minutes for 36 hours, in three "
            "levels (JSON-LD)", responses=RESPONSES)  # fmt: skip
def get_signal(request: Request, store: StoreDep, territory: TerritoryQ = None, at: AtQ = None) -> JSONResponse:
    """green: a local surplus is expected even in the pessimistic case; red: the village imports even in the
    optimistic case; orange: tight or uncertain; unknown: no recent public data. Each step gives the expected
    balance (production − consumption) [W] and the bounds of its 80 % interval from the forecast's past errors."""
    inv = chosen_inventory(request, store)
    s = signal_for(request, store, inv, at)
    return JSONResponse(signals.as_jsonld(s, inv.territory.zone), media_type="application/ld+json")


@router.get("/signal.txt", summary="The signal as one line of text, for a microcontroller (grammar: docs/signal.md)",
            response_class=PlainTextResponse, responses=RESPONSES)  # fmt: skip
def get_signal_text(
    request: Request, store: StoreDep, territory: TerritoryQ = None, at: AtQ = None
) -> PlainTextResponse:
    """``REGIE-SIGNAL/1 <territory> <start> <step> <issued> <letters>``: UTC seconds, one letter per step from
    ``start`` (G green, O orange, R red, U unknown)."""
    inv = chosen_inventory(request, store)
    return PlainTextResponse(signal_for(request, store, inv, at).text() + "\n")


def widget_context(request: Request, store: Store, territory_id: str | None, at: str | None = None) -> dict[str, Any]:
    """What ``_signal_widget.html`` needs, under the name ``signal_widget`` (None when the signal cannot be
    computed, with the reason in ``problem``). For any page: ``{"signal_widget": widget_context(...)}``."""
    try:
        inv = store.load_inventory(territory_id)
        s = signal_for(request, store, inv, at)
    except (HTTPException, LookupError) as exc:
        return {"signal": None, "problem": getattr(exc, "detail", str(exc))}
    zone = inv.territory.zone
    cells = []
    for i, level in enumerate(s.levels):
        start = datetime.fromtimestamp(s.start + i * s.step, zone)
        cells.append({"level": level, "start": start, "label": start.strftime("%H:%M") if start.minute == 0
                      and start.hour % 6 == 0 else None})  # fmt: skip
    try:
        skill = signals.measured_skill(store, inv.territory.id)
    except (signals.SignalError, BalanceRequestError):
        skill = None
    if skill:
        skill = {**skill, "from": date.fromisoformat(skill["from"]), "until": date.fromisoformat(skill["until"])}
    return {
        "signal": s,
        "now_level": s.now,
        "start": datetime.fromtimestamp(s.start, zone),
        "data_until": datetime.fromtimestamp(s.data_end, zone) if s.data_end else None,
        "cells": cells,
        "skill": skill,
        "api": f"{request.app.url_path_for('get_signal')}?territory={inv.territory.id}",
        "text_api": f"{request.app.url_path_for('get_signal_text')}?territory={inv.territory.id}",
        "problem": None,
    }
