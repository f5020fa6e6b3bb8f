"""The live view: producers' current power, consumption and the instantaneous balance, pushed to the browser
by server-sent events as readings arrive through the emoncms API or MQTT.

Where the numbers come from. Every emoncms input (HTTP or MQTT) is written by the one writer of
:mod:`regie.ingest.inputs`, which keeps each input's last value and instant in ``input_map`` in the same
transaction as the points. The writer offers no post-commit hook, so the stream polls that small table
(one indexed query per second per open page — the emoncms dashboards read the same "input last value")
and sends an event only when the snapshot changed. Nothing reads a series.

Which inputs count. An input bound to a production or consumption series counts as such; so does an
input bound to a *live twin*: a sensor series ``live-<id>`` standing for series ``<id>`` at a finer step
(the schools demo's 10-second feeds). Other sensors are not shown.

What the public sees (this page is the régie's guest view). A plant is shown by name unless it is on a
residential delivery point (a household's roof is personal data); a building's consumption is shown by
name when its delivery point is a public building's. Everything else is only summed, and a sum is shown
only where statistical secrecy holds (:mod:`regie.governance.secrecy`: at least 10 points, none above
85 %); the public buildings are not subtracted from it, so a hidden rest cannot be recovered. A value
older than :data:`MAX_AGE_S` is stale: shown as such, never added.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import pandas as pd
from fastapi import APIRouter, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, StreamingResponse
from sqlalchemy import select

from regie.governance import secrecy
from regie.model import Inventory, Series, SeriesKind
from regie.store import Store
from regie.store.schema import input_map
from regie.store.schema import series as series_table
from regie.web import i18n
from regie.web.deps import StoreDep
from regie.web.templating import render

router = APIRouter()
TWIN_PREFIX = "live-"
MAX_AGE_S = 300  # a live reading older than this is stale (emonTx posts every 10 s)
POLL_S = 1.0
KEEPALIVE_S = 15.0
STREAM_S = 60.0  # a stream ends after this; EventSource reconnects by itself (``retry``) and gets a snapshot


def _clock(request: Request) -> float:
    return float(getattr(request.app.state, "clock", time.time)())


def _role(s: Series, by_id: dict[str, Series]) -> Series | None:
    """The production or consumption series an input's series counts as, if any."""
    if s.kind in (SeriesKind.PRODUCTION, SeriesKind.CONSUMPTION):
        return s
    if s.id.startswith(TWIN_PREFIX):
        target = by_id.get(s.id[len(TWIN_PREFIX) :])
        if target is not None and target.kind in (SeriesKind.PRODUCTION, SeriesKind.CONSUMPTION):
            return target
    return None


def _secret_sum(values: dict[str, float]) -> tuple[float | None, str | None]:
    """The sum of several points' values when secrecy holds (one cell: count and dominance rules)."""
    if not values:
        return 0.0, None
    v = pd.DataFrame([[sum(abs(x) for x in values.values())]])
    n = pd.DataFrame([[len(values)]])
    big = pd.DataFrame([[max(abs(x) for x in values.values())]])
    t = secrecy.protect(v, n, big)
    reason = t.reasons.iat[0, 0]
    return (None, str(reason)) if reason is not None else (float(sum(values.values())), None)


def snapshot(store: Store, inv: Inventory, now: float) -> dict[str, Any]:
    """What the live page shows at ``now`` [UTC s], already fit for the public."""
    by_id = {s.id: s for s in inv.series}
    usage = {d.prm: d.usage for d in inv.delivery_points}
    producers = {p.id: p for p in inv.producers}
    sites = {s.id: s.name for s in inv.sites}
    q = select(series_table.c.key, input_map.c.last_time, input_map.c.last_value).join(
        input_map, input_map.c.series_id == series_table.c.id
    )
    with store.engine.connect() as conn:
        rows = conn.execute(q).all()
    latest: dict[str, tuple[int, float]] = {}  # counted series id → (instant, W), newest input wins
    for key, t, v in rows:
        s = by_id.get(key)
        if s is None or t is None or v is None or s.unit != "W":
            continue
        target = _role(s, by_id)
        if target is not None and (target.id not in latest or latest[target.id][0] < t):
            latest[target.id] = (int(t), float(v))
    shown_producers, shown_buildings = [], []
    prod_other: dict[str, float] = {}
    cons_other: dict[str, float] = {}
    prod_public = cons_public = 0.0
    stale = 0
    last = 0
    for sid, (t, v) in sorted(latest.items()):
        s = by_id[sid]
        fresh = now - t <= MAX_AGE_S
        last = max(last, t)
        if not fresh:
            stale += 1
        point_usage = usage.get(s.prm or "")
        if s.kind is SeriesKind.PRODUCTION:
            p = producers.get(s.producer_id or "")
            public = point_usage != "residential" and p is not None
            if public:
                shown_producers.append({"id": p.id, "name": p.name, "source": p.source.value,
                                        "power_w": round(v, 1) if fresh else None, "t": t, "fresh": fresh})
                prod_public += v if fresh else 0.0
            elif fresh:
                prod_other[s.prm or sid] = prod_other.get(s.prm or sid, 0.0) + v
        else:
            public = point_usage == "public"
            if public:
                shown_buildings.append({"id": s.id, "name": sites.get(s.site_id or "", s.name or s.id),
                                        "power_w": round(v, 1) if fresh else None, "t": t, "fresh": fresh})
                cons_public += v if fresh else 0.0
            elif fresh:
                cons_other[s.prm or sid] = cons_other.get(s.prm or sid, 0.0) + v
    p_rest, p_why = _secret_sum(prod_other)
    c_rest, c_why = _secret_sum(cons_other)
    production = None if p_rest is None else round(prod_public + p_rest, 1)
    consumption = None if c_rest is None else round(cons_public + c_rest, 1)
    balance = None if production is None or consumption is None else round(production - consumption, 1)
    has_data = bool(latest)
    return {
        "territory": inv.territory.name,
        "producers": shown_producers,
        "buildings": shown_buildings,
        "production_w": production if has_data else None,
        "consumption_w": consumption if has_data else None,
        "balance_w": balance if has_data else None,
        "masked": {"production": p_why, "consumption": c_why},
        "hidden_points": {"production": len(prod_other), "consumption": len(cons_other)},
        "stale": stale,
        "last_reading": last or None,
        "max_age_s": MAX_AGE_S,
    }


def _inventory(store: Store) -> Inventory | None:
    try:
        return store.load_inventory()
    except LookupError:
        return None


def _current(store: Store, now: float) -> dict[str, Any] | None:
    inv = _inventory(store)
    return None if inv is None else snapshot(store, inv, now)


LIVE_STRINGS = {
    "masked": i18n.N_("Part of it is hidden by statistical secrecy."),
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
    data = _current(store, _clock(request))
    if data is None:
        return render(request, "empty.html", {"active": "live"}, status_code=404)
    strings = {k: gettext(v) for k, v in LIVE_STRINGS.items()}
    strings["sources"] = {k: gettext(v) for k, v in i18n.SOURCE_LABELS.items()}
    config = {"stream": request.app.url_path_for("live_stream"), "locale": locale, "strings": strings}
    context = {"active": "live", "live": data, "live_config": config, "source_labels": i18n.SOURCE_LABELS,
               "max_age_min": MAX_AGE_S // 60}  # fmt: skip
    return render(request, "live.html", context)


@router.get("/api/live", name="api_live", tags=["live"], summary="The territory's live balance, as published")
def api_live(request: Request, store: StoreDep) -> dict[str, Any]:
    """The same snapshot the live page shows: public producers and buildings, secrecy-checked totals [W]."""
    data = _current(store, _clock(request))
    if data is None:
        raise HTTPException(404, "no territory in this store yet")
    return data


async def _events(request: Request, store: Store, once: bool = False) -> AsyncIterator[str]:
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
        data = await run_in_threadpool(_current, store, _clock(request))
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
    return StreamingResponse(_events(request, store, once), media_type="text/event-stream", headers=headers)
