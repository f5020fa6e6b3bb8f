"""emoncms-compatible routes, so an emonPi / emonhub / ESP sketch can point at regie unchanged.

Write side: ``/input/post`` and ``/input/bulk`` (``.json`` suffix optional, GET or POST), parsed by
:mod:`regie.ingest.emoncms_input` and written by the one writer of :mod:`regie.ingest.inputs`; the reply
``ok`` is sent only after the commit. Read side: ``/input/list.json``, ``/feed/list.json`` and
``/feed/data.json``.

Replies are emoncms's, since clients test them byte for byte (emonhub resends a batch unless the body is
exactly ``ok``): ``ok`` as text/plain, ``{"success": true}`` for ``fulljson``, and
``{"success": false, "message": ...}`` with emoncms's message on a format error — HTTP 200, as emoncms
answers. A bad key gets emoncms's ``index.php`` answer: HTTP 401, body ``Invalid API key``, a
``WWW-Authenticate: Bearer`` header, and PHP's default content type (emoncms sets none).

Keys: ``Authorization: Bearer <key>``, or ``apikey`` / ``devicekey`` in the query or the form.

A *feed* is a series fed by an emoncms input (one row of ``input_map``); its id is the ``series.id``
integer, stable across re-mapping of the input. Series that no input feeds (Linky load curves: personal
data) are not reachable here; they are read through the JSON API and its governance gate.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from sqlalchemy import select

from regie.ingest import apikeys
from regie.ingest.emoncms_input import (
    EmoncmsFormatError,
    Frame,
    decode_body,
    decode_hex,
    group,
    parse_bulk,
    parse_post,
)
from regie.ingest.inputs import InputService
from regie.model.calendar import period_starts
from regie.store import Store
from regie.store.schema import input_map, series, territory
from regie.store.timeseries import DEFAULT_IRREGULAR_STEP

log = logging.getLogger(__name__)
router = APIRouter(tags=["emoncms"])

# emoncms ``settings.ini`` ``[feed] max_datapoints = 8928`` (31 days at 5 minutes): the most points one
# ``/feed/data.json`` answers; past it emoncms answers an error asking for a longer interval.
MAX_DATAPOINTS = 8928
_MS_THRESHOLD = 100_000_000_000  # a start/end above this is in milliseconds (year 5138 in seconds)
_CALENDAR = {"daily": ("day", "D"), "weekly": ("day", "W"), "monthly": ("month", "M"), "annual": ("month", "Y")}


# ---------------------------------------------------------------------------- plumbing
_SECRET_PARAM = re.compile(r"((?:^|[?&])(?:apikey|devicekey)=)([^&\s]*)", re.IGNORECASE)


class MaskKeysFilter(logging.Filter):
    """Mask ``apikey=`` / ``devicekey=`` in uvicorn's access log: emoncms clients put keys in the URL."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                _SECRET_PARAM.sub(lambda m: m.group(1) + apikeys.mask(m.group(2)), a) if isinstance(a, str) else a
                for a in record.args
            )
        return True


def mask_keys_in_access_log() -> None:
    """Install :class:`MaskKeysFilter` on ``uvicorn.access`` (idempotent); call before serving."""
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, MaskKeysFilter) for f in access.filters):
        access.addFilter(MaskKeysFilter())


def get_inputs(request: Request) -> InputService:
    """The app's one input service (one writer), created on first use unless the caller set one."""
    state = request.app.state
    service = getattr(state, "inputs", None)
    if service is None:
        service = InputService(request.app.state.store, clock=getattr(state, "clock", time.time)).start()
        state.inputs = service
    return service


def _clock(request: Request) -> int:
    return int(getattr(request.app.state, "clock", time.time)())


async def _params(request: Request, *, raw_body: bool = False) -> tuple[dict[str, str], bytes]:
    """Query parameters, then form fields over them (emoncms's ``$param``: ``$_GET`` then ``$_POST``).
    With ``raw_body`` (``cb=1``) the body is returned untouched instead of parsed as a form."""
    params = dict(request.query_params)
    body = await request.body() if request.method == "POST" else b""
    if raw_body or not body:
        return params, body
    ctype = request.headers.get("content-type", "")
    if ctype.startswith("multipart/form-data"):
        form = await request.form()
        params.update({k: v for k, v in form.items() if isinstance(v, str)})
    elif not ctype.startswith("application/json"):
        params.update(parse_qsl(body.decode("utf-8", errors="replace"), keep_blank_values=True))
    return params, b""


def _invalid_key() -> Response:
    return Response(
        "Invalid API key",
        status_code=401,
        media_type="text/html; charset=UTF-8",
        headers={
            "WWW-Authenticate": 'Bearer realm="API KEY", error="invalid_apikey", error_description="Invalid API key"'
        },
    )


def _key_text(request: Request, params: dict[str, str]) -> str | None:
    auth = request.headers.get("authorization", "")
    if auth[:7].lower() == "bearer ":
        return auth[7:].strip()
    return params.get("apikey") or params.get("devicekey")


def _authorise(request: Request, params: dict[str, str], scope: str) -> apikeys.ApiKey | Response:
    key = apikeys.verify(request.app.state.store, _key_text(request, params))
    if key is None or not key.allows(scope):
        log.warning("refused %s %s: invalid API key", request.method, request.url.path)  # never the key itself
        return _invalid_key()
    return key


def _fail(message: str) -> JSONResponse:
    return JSONResponse({"success": False, "message": message})


def _check_nodes(key: apikeys.ApiKey, nodes: set[str]) -> str | None:
    if key.node is not None and nodes - {key.node}:
        other = sorted(nodes - {key.node})[0]
        return f"Error: this device key may only post to node {key.node}, not {other}"
    return None


async def _submit(request: Request, frames: list[Frame], origin: str) -> str | None:
    """Hand the frames to the writer and wait for the commit; an error message if the store refused them
    (a value too large for the series' resolution, ...): nothing of the request is then written."""
    future = get_inputs(request).submit(group(frames), source="emoncms-http", origin=origin)
    try:
        await asyncio.wrap_future(future)
    except ValueError as exc:  # StoreError, IngestError: the request's fault, not a server failure
        return f"Error: {exc}"
    return None


# ---------------------------------------------------------------------------- input
@router.api_route("/input/post", methods=["GET", "POST"], response_model=None)
@router.api_route("/input/post.json", methods=["GET", "POST"], response_model=None)
@router.api_route("/input/post/{node}", methods=["GET", "POST"], response_model=None)
async def input_post(request: Request, node: str | None = None) -> Response:
    """One node's inputs at one instant: ``node``, ``time``, and ``fulljson`` / ``json`` / ``csv`` / ``data``."""
    params, _ = await _params(request)
    key = _authorise(request, params, "ingest")
    if isinstance(key, Response):
        return key
    zone = _zone(request.app.state.store)
    try:
        frame, fulljson = parse_post(params, now=_clock(request), node=node, zone=zone)
    except EmoncmsFormatError as exc:
        return _fail(exc.why)
    if problem := _check_nodes(key, {frame.node}):
        return _fail(problem)
    if problem := await _submit(request, [frame], "input/post"):
        return _fail(problem)
    if fulljson:
        return JSONResponse({"success": True})
    return PlainTextResponse("ok")


@router.api_route("/input/bulk", methods=["GET", "POST"], response_model=None)
@router.api_route("/input/bulk.json", methods=["GET", "POST"], response_model=None)
async def input_bulk(request: Request) -> Response:
    """Many nodes and instants: ``data=[[t, node, v1, ...], ...]`` with ``sentat`` / ``offset`` / ``time``."""
    compressed = request.query_params.get("cb") == "1"
    params, body = await _params(request, raw_body=compressed)
    try:
        if compressed:
            inflated = decode_body(body)
            if inflated.lstrip()[:5] == b"data=":  # a compressed form (data=...&sentat=...)
                params.update(parse_qsl(inflated.decode("utf-8", errors="replace"), keep_blank_values=True))
                data: str | bytes = params.get("data", "")
            else:  # emonhub: the bare JSON
                data = inflated
        elif params.get("c") == "1":
            data = decode_hex(params.get("data", ""))
        else:
            data = params.get("data", "")
    except EmoncmsFormatError as exc:
        key = _authorise(request, params, "ingest")
        return key if isinstance(key, Response) else _fail(exc.why)
    key = _authorise(request, params, "ingest")
    if isinstance(key, Response):
        return key
    try:
        frames = parse_bulk(data, params, now=_clock(request))
    except EmoncmsFormatError as exc:
        return _fail(exc.why if exc.line is None else f"{exc.why} (item {exc.line})")
    if problem := _check_nodes(key, {f.node for f in frames}):
        return _fail(problem)
    if problem := await _submit(request, frames, "input/bulk"):
        return _fail(problem)
    return PlainTextResponse("ok")


@router.api_route("/input/list.json", methods=["GET", "POST"], response_model=None)
async def input_list(request: Request) -> Response:
    """Inputs with their last value, as emoncms's ``input/list.json``."""
    params, _ = await _params(request)
    key = _authorise(request, params, "read")
    if isinstance(key, Response):
        return key
    rows = get_inputs(request).inputs()
    return JSONResponse(
        [
            {
                "id": r["id"],
                "nodeid": r["node"],
                "name": r["name"],
                "description": "",
                "processList": f"1:{r['feed_id']}",  # "log to feed" (process 1) into its series
                "time": r["last_time"],
                "value": r["last_value"],
            }
            for r in rows
        ]
    )


# ---------------------------------------------------------------------------- feed
def _zone(store: Store) -> ZoneInfo:
    with store.engine.connect() as conn:
        tz = conn.execute(select(territory.c.timezone).order_by(territory.c.id)).scalar()
    return ZoneInfo(tz or "UTC")


def _feeds(store: Store, ids: list[int] | None = None) -> dict[int, Any]:
    q = (
        select(
            series.c.id,
            series.c.key,
            series.c.unit,
            input_map.c.node,
            input_map.c.name,
            input_map.c.last_time,
            input_map.c.last_value,
        )
        .join(input_map, input_map.c.series_id == series.c.id)
        .order_by(series.c.id)
    )
    if ids is not None:
        q = q.where(series.c.id.in_(ids))
    with store.engine.connect() as conn:
        return {r.id: r for r in conn.execute(q)}


@router.api_route("/feed/list.json", methods=["GET", "POST"], response_model=None)
async def feed_list(request: Request) -> Response:
    """The feeds (series fed by inputs), emoncms's fields: id, name, tag (the node), unit, time, value."""
    params, _ = await _params(request)
    key = _authorise(request, params, "read")
    if isinstance(key, Response):
        return key
    return JSONResponse(
        [
            {
                "id": r.id,
                "userid": 1,
                "name": r.name,
                "tag": r.node,
                "public": 0,
                "size": 0,
                "engine": 0,
                "unit": r.unit,
                "series": r.key,
                "time": r.last_time,
                "value": r.last_value,
            }
            for r in _feeds(request.app.state.store).values()
        ]
    )


def _seconds(text: str | None, default: int) -> int:
    """``start``/``end`` in s or ms (emoncms clients send ms), or an ISO 8601 date."""
    if text is None or text == "":
        return default
    try:
        x = float(text)
    except ValueError:
        dt = datetime.fromisoformat(text)
        return int((dt if dt.tzinfo else dt.replace(tzinfo=UTC)).timestamp())
    return int(x // 1000) if abs(x) >= _MS_THRESHOLD else int(x)


def _edges_calendar(start: int, end: int, interval: str, zone: ZoneInfo) -> tuple[np.ndarray, str]:
    """Local period edges for daily/weekly/monthly/annual; weeks start on Monday, years on 1 January."""
    level, every = _CALENDAR[interval]
    if every in ("D", "M"):
        return period_starts(start, max(start, end - 1), level, zone).astype(np.int64), level
    first = pd.Timestamp(start, unit="s", tz="UTC").tz_convert(zone).tz_localize(None).normalize()
    last = pd.Timestamp(max(start, end - 1), unit="s", tz="UTC").tz_convert(zone).tz_localize(None).normalize()
    if every == "W":
        a = first - pd.Timedelta(days=first.dayofweek)
        b = last + pd.Timedelta(days=7 - last.dayofweek)
    else:
        a = first.replace(month=1, day=1)
        b = pd.Timestamp(last.year + 1, 1, 1)
    lo, hi = (int(x.tz_localize(zone).timestamp()) for x in (a, b))
    edges = period_starts(lo, hi - 1, level, zone).astype(np.int64)
    local = pd.to_datetime(edges, unit="s", utc=True).tz_convert(zone)
    keep = np.asarray(local.dayofweek == 0) if every == "W" else np.asarray(local.month == 1)
    return edges[keep], level


def _bin(t: np.ndarray, v: np.ndarray, edges: np.ndarray, average: bool) -> tuple[np.ndarray, np.ndarray]:
    """Per bucket [edges[i], edges[i+1]): the mean (``average``) or the first value; NaN when empty."""
    n = len(edges) - 1
    out = np.full(n, np.nan)
    if n <= 0 or len(t) == 0:
        return edges[:-1], out
    idx = np.searchsorted(edges, t, side="right") - 1
    ok = (idx >= 0) & (idx < n)
    idx, t, v = idx[ok], t[ok], v[ok]
    if average:
        cnt = np.bincount(idx, minlength=n)
        tot = np.bincount(idx, weights=v, minlength=n)
        np.divide(tot, cnt, out=out, where=cnt > 0)
    else:
        first = np.flatnonzero(np.diff(idx, prepend=-1))
        out[idx[first]] = v[first]
    return edges[:-1], out


def _format_times(t: np.ndarray, timeformat: str, zone: ZoneInfo) -> list:
    if timeformat == "unix":
        return t.astype(np.int64).tolist()
    if timeformat in ("excel", "iso8601"):
        local = pd.to_datetime(t, unit="s", utc=True).tz_convert(zone)
        if timeformat == "excel":
            return local.strftime("%d/%m/%Y %H:%M:%S").tolist()  # PHP date("d/m/Y H:i:s")
        return [x.isoformat() for x in local]  # PHP date("c")
    return (t.astype(np.int64) * 1000).tolist()  # unixms, emoncms's default


def feed_data(
    store: Store,
    series_key: str,
    *,
    start: int,
    end: int,
    interval: str | None,
    average: bool,
    skipmissing: bool,
    limitinterval: bool,
    timeformat: str,
    zone: ZoneInfo,
) -> list[list] | str:
    """One feed's ``[[time, value], ...]`` (or an error message): raw points without ``interval``, else one
    value per interval — the mean with ``average=1``, else the first sample in it (emoncms samples)."""
    if end <= start:
        return "Request end time before start time"
    if interval in _CALENDAR:
        edges, level = _edges_calendar(start, end, interval, zone)
        if average:
            r = store.read_rollup(series_key, level, int(edges[0]), int(edges[-1]))
            idx = np.searchsorted(edges, r.t, side="right") - 1
            n = len(edges) - 1
            cnt = np.bincount(idx, weights=r.count, minlength=n)[:n] if len(idx) else np.zeros(n)
            tot = np.bincount(idx, weights=r.sum, minlength=n)[:n] if len(idx) else np.zeros(n)
            values = np.full(n, np.nan)
            np.divide(tot, cnt, out=values, where=cnt > 0)
            t_out = edges[:-1]
        else:
            t, v = store.read(series_key, int(edges[0]), int(edges[-1]))
            t_out, values = _bin(t, v, edges, average=False)
    elif interval is not None:
        try:
            step = int(float(interval))
        except ValueError:
            return f"Invalid interval {interval!r}"
        if limitinterval:
            step = max(step, DEFAULT_IRREGULAR_STEP)
        if step <= 0:
            return "Invalid interval"
        first = start - start % step
        npoints = (end - first + step - 1) // step
        if npoints > MAX_DATAPOINTS:
            return (
                f"request datapoint limit reached ({MAX_DATAPOINTS}), increase request interval or time range, "
                f"requested datapoints = {npoints}"
            )
        edges = first + step * np.arange(npoints + 1, dtype=np.int64)
        t, v = store.read(series_key, int(edges[0]), int(edges[-1]))
        t_out, values = _bin(t, v, edges, average)
    else:
        t_out, values = store.read(series_key, start, end + 1)  # emoncms's end is inclusive
        if len(t_out) > MAX_DATAPOINTS:
            return (
                f"request datapoint limit reached ({MAX_DATAPOINTS}), increase request interval or time range, "
                f"requested datapoints = {len(t_out)}"
            )
    present = ~np.isnan(values)
    if skipmissing:
        t_out, values = t_out[present], values[present]
        present = present[present]
    times = _format_times(t_out, timeformat, zone)
    vals = [float(x) if ok else None for x, ok in zip(values.tolist(), present.tolist(), strict=True)]
    return [[a, b] for a, b in zip(times, vals, strict=True)]


def _flag(params: dict[str, str], name: str, default: bool) -> bool:
    v = params.get(name)
    return default if v is None or v == "" else v not in ("0", "false")


@router.api_route("/feed/data.json", methods=["GET", "POST"], response_model=None)
async def feed_data_route(request: Request) -> Response:
    """``id`` (or ``ids=1,2``), ``start``, ``end`` (s or ms), ``interval`` (s or daily/weekly/monthly/annual),
    ``average``, ``timeformat`` (unixms, unix, excel, iso8601), ``skipmissing``, ``limitinterval``.

    Defaults as ``Modules/feed/feed_controller.php`` reads them: ``skipmissing=1``, ``limitinterval=1``,
    ``average=0``, times in ``unixms``."""
    params, _ = await _params(request)
    key = _authorise(request, params, "read")
    if isinstance(key, Response):
        return key
    store: Store = request.app.state.store
    try:
        now = _clock(request)
        start = _seconds(params.get("start"), now - 86400)
        end = _seconds(params.get("end"), now)
        wanted = [int(x) for x in (params.get("ids") or params.get("id") or "").split(",") if x.strip()]
    except ValueError as exc:
        return _fail(f"Invalid parameter: {exc}")
    if not wanted:
        return _fail("Feed does not exist")
    feeds = _feeds(store, wanted)
    zone = _zone(store)
    opts = {
        "start": start,
        "end": end,
        "interval": params.get("interval") or None,
        "average": _flag(params, "average", False),
        "skipmissing": _flag(params, "skipmissing", True),
        "limitinterval": _flag(params, "limitinterval", True),
        "timeformat": params.get("timeformat", "unixms"),
        "zone": zone,
    }
    out = []
    for fid in wanted:
        if fid not in feeds:
            return _fail("Feed does not exist")
        data = feed_data(store, feeds[fid].key, **opts)
        if isinstance(data, str):
            return _fail(data)
        out.append({"feedid": fid, "data": data})
    return JSONResponse(out if "ids" in params else out[0]["data"])
