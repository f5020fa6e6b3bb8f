"""The live view: producers' current power, consumption and the instantaneous balance, pushed to the browser
by server-sent events as readings arrive through the emoncms API or MQTT.

Where the numbers come from. Every emoncms input (HTTP or MQTT) is written by the one writer of
:mod:`regie.ingest.inputs`, which keeps each input's last value and instant in ``input_map`` in the same
transaction as the points. The writer offers no post-commit hook, so the stream polls those last values
(one indexed query per second per open page — the emoncms dashboards read the same "input last value")
and sends an event only when the published snapshot changed.

What the public sees is decided by :mod:`regie.publication.live` (named public plants and buildings; the
rest only as sums over stable, secrecy-checked groups, rounded): these routes only serve it. One
:class:`~regie.publication.live.LivePublication` per application keeps the groups, so that the page, the
API and every stream publish the same frames.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, StreamingResponse

from regie.governance import territories
from regie.model import Inventory
from regie.publication.live import MAX_AGE_S, LivePublication
from regie.store import Store
from regie.web import i18n, territory_choice
from regie.web.deps import StoreDep
from regie.web.templating import render

router = APIRouter()
POLL_S = 1.0
KEEPALIVE_S = 15.0
_STATE_LOCK = threading.Lock()
STREAM_S = 60.0  # a stream ends after this; EventSource reconnects by itself (``retry``) and gets a snapshot


def _clock(request: Request) -> float:
    return float(getattr(request.app.state, "clock", time.time)())


def _inventory(store: Store, territory_id: str | None = None) -> Inventory | None:
    try:
        return store.load_inventory(territory_id)
    except LookupError:
        return None


def _publication(request: Request, store: Store, territory_id: str) -> LivePublication:
    """The live publication of a territory: the main one (:func:`regie.governance.territories.main_territory`)
    keeps its groups in the store (as ever), another one in memory only (:class:`LivePublication`)."""
    state = request.app.state
    with _STATE_LOCK:
        if getattr(state, "live_publication", None) is None:
            state.live_publication = LivePublication()
        if territory_id == territories.main_territory(store):
            return state.live_publication
        others = state.__dict__.setdefault("live_publications", {})
        return others.setdefault(territory_id, LivePublication(persist=False))


def _current(request: Request, store: Store, territory_id: str | None = None) -> dict[str, Any] | None:
    inv = _inventory(store, territory_id)
    if inv is None:
        return None
    return _publication(request, store, inv.territory.id).snapshot(store, inv, _clock(request))


LIVE_STRINGS = {
    "masked": i18n.N_("Part of it is hidden by statistical secrecy."),
    "regrouping": i18n.N_("The households' total is being recomputed over a new group of points."),
    "no_producer": i18n.N_("No plant publishes live readings yet."),
    "stale": i18n.N_("no recent reading"),
    "connected": i18n.N_("Live: updated as readings arrive."),
    "reconnecting": i18n.N_("Connection lost, reconnecting…"),
}


@router.get("/live", name="live_page", response_class=HTMLResponse, include_in_schema=False)
def live_page(request: Request, store: StoreDep) -> HTMLResponse:
    """The guest view: what the régie publishes live (see the module docstring)."""
    locale = i18n.negotiate_locale(request)
    gettext = i18n.translations(locale).gettext
    choice = territory_choice.choose(request)
    data = _current(request, store, choice.id)
    if data is None:
        return render(request, "empty.html", {"active": "live"}, status_code=404)
    strings = {k: gettext(v) for k, v in LIVE_STRINGS.items()}
    strings["sources"] = {k: gettext(v) for k, v in i18n.SOURCE_LABELS.items()}
    stream = request.app.url_path_for("live_stream")
    if choice.several:
        stream += f"?{territory_choice.PARAM}={choice.id}"
    config = {"stream": stream, "locale": locale, "strings": strings}
    context = {"active": "live", "live": data, "live_config": config, "source_labels": i18n.SOURCE_LABELS,
               "max_age_min": MAX_AGE_S // 60, **territory_choice.context(choice)}  # fmt: skip
    return territory_choice.remember(request, render(request, "live.html", context), choice)


@router.get("/api/live", name="api_live", tags=["live"], summary="The territory's live balance, as published")
def api_live(request: Request, store: StoreDep) -> dict[str, Any]:
    """The same snapshot the live page shows: public producers and buildings, secrecy-checked totals [W]."""
    data = _current(request, store, territory_choice.choose(request).id)
    if data is None:
        raise HTTPException(404, "no territory in this store yet")
    return data


async def _events(
    request: Request, store: Store, once: bool = False, territory_id: str | None = None
) -> AsyncIterator[str]:
    state = request.app.state
    poll = float(getattr(state, "live_poll_s", POLL_S))
    lifetime = float(getattr(state, "live_stream_s", STREAM_S))
    started = time.monotonic()
    quiet_since = started
    previous: str | None = None
    yield "retry: 2000\n\n"
    while time.monotonic() - started < lifetime:
        if await request.is_disconnected():
            return
        data = await run_in_threadpool(_current, request, store, territory_id)
        text = json.dumps(data, separators=(",", ":"))
        if text != previous:
            previous = text
            quiet_since = time.monotonic()
            yield f"event: snapshot\ndata: {text}\n\n"
            if once:
                return
        elif time.monotonic() - quiet_since > KEEPALIVE_S:
            quiet_since = time.monotonic()
            yield ": keep-alive\n\n"
        await asyncio.sleep(poll)


@router.get("/live/stream", name="live_stream", include_in_schema=False)
async def live_stream(request: Request, store: StoreDep, once: bool = False) -> StreamingResponse:
    """Server-sent events: a ``snapshot`` event each time the published figures change (``once``: the first
    snapshot only, then the stream ends — for scripts and tests)."""
    headers = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    territory_id = territory_choice.choose(request).id  # decided (or refused) before the stream starts
    return StreamingResponse(_events(request, store, once, territory_id), media_type="text/event-stream",
                             headers=headers)  # fmt: skip
