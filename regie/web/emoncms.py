"""emoncms-compatible routes, so an emonPi / emonhub / ESP sketch can point at regie unchanged.

Write side: ``/input/post`` and ``/input/bulk`` (``.json`` suffix optional, GET or POST), parsed by
:mod:`regie.ingest.emoncms_input` and written by the one writer of :mod:`regie.ingest.inputs`; the reply
``ok`` is sent only after the commit. Read side: ``/input/list.json``, ``/feed/list.json`` and
``/feed/data.json``.

Replies are emoncms's, since clients test them byte for byte (emonhub resends a batch unless the body is
exactly ``ok``): ``ok`` as text/plain, ``{"success": true}`` for ``fulljson``, and
``{"success": false, "message": ...}`` with emoncms's message on a format error — HTTP 200, as emoncms
answers. A bad key gets emoncms's ``index.php`` answer: HTTP 401, body ``Invalid API key`` (``Invalid device
key`` for a ``devicekey``), its ``WWW-Authenticate: Bearer`` challenge, and PHP's default content type
(emoncms sets none). No key at all is a 401 too, where emoncms answers 200 (:func:`_key_required`).

Keys: ``Authorization: Bearer <key>``, or ``apikey`` / ``devicekey`` in the query or the form. A sensor key
bound to a site (:mod:`regie.ingest.apikeys`) posts into that site: its inputs become the site's series on
first sight (:mod:`regie.ingest.inputs`), and it may write nothing else (:mod:`regie.governance.writes`).

A *feed* is a series fed by an emoncms input (one row of ``input_map``); its id is the ``series.id``
integer, stable across re-mapping of the input. Series that no input feeds (Linky load curves) are not
reachable here; they are read through the JSON API.

Reading goes through :mod:`regie.governance.gate`. A key acts as its owner's account (``api_key.owner_id``,
as :func:`regie.web.auth.resolve_caller` does; a disabled or deleted owner makes the key invalid); a key
without an owner acts as the public. A feed that describes no one (a plant, a school's sensor, the weather,
an input nobody bound to a delivery point) is read by any key with the ``read`` scope. A *personal* feed —
on a member's delivery point or site (:func:`regie.governance.gate.personal_prms`) — is read only through
:func:`regie.governance.gate.read_personal`, once per feed and request, logged in the data subject's access
log:

- its data subject (a member's own key) gets the raw points, binned as emoncms does;
- a recipient of a grant gets values at the grant's granularity, never finer: with a P1D grant,
  ``/feed/data.json`` answers one value per local day (the mean power [W], the sum for an energy feed) even
  when 10-second ``interval`` was asked — for the days that *start* within the range; a coarser
  ``interval`` than the grant averages those values. emoncms clients expect bare numbers, so the body stays
  ``[[time, value], ...]``; the granularity served is said in the header ``X-Regie-Granularity``
  (``raw``, ``PT10M``, ``PT15M``, ``PT30M``, ``P1D`` or ``P1M``; ``<feedid>:<granularity>,...`` for ``ids=``);
- everyone else (another member, a key without owner, an admin without ``reason``) is refused, in emoncms's
  error style (HTTP 200, ``{"success": false, "message": "Permission denied: <the gate's reason>"}``), and the
  refusal is logged.

Two regie extensions of the query: ``purpose`` (a DPV purpose that a grant must name; default
``dpv:ServiceProvision``) and ``reason`` (an admin's stated reason). ``/feed/list.json`` and
``/input/list.json`` list a personal feed only to a caller who may read it (decided without logging); its
``time``/``value`` come from a logged gate read of the last reading, and are ``null`` when the caller may
read only coarser values than a single reading.
"""

from __future__ import annotations

import asyncio
import logging
import math
import re
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response

from regie.governance import gate, territories, writes
from regie.governance.accounts import Account
from regie.governance.gate import AccessDenied
from regie.governance.key_owner import key_account
from regie.ingest import apikeys
from regie.ingest.emoncms_input import (
    EmoncmsFormatError,
    EmoncmsRangeError,
    Frame,
    Samples,
    decode_body,
    decode_hex,
    group,
    parse_bulk,
    parse_post,
)
from regie.ingest.inputs import InputService, feeds, for_site, split_node, territory_zone
from regie.model.calendar import period_starts
from regie.store import Store
from regie.store.timeseries import DEFAULT_IRREGULAR_STEP

log = logging.getLogger(__name__)
router = APIRouter(tags=["emoncms"])

# emoncms ``settings.ini`` ``[feed] max_datapoints = 8928`` (31 days at 5 minutes): the most points one
# ``/feed/data.json`` answers; past it emoncms answers an error asking for a longer interval.
MAX_DATAPOINTS = 8928
_MS_THRESHOLD = 100_000_000_000  # a start/end above this is in milliseconds (year 5138 in seconds)
_CALENDAR = {"daily": ("day", "D"), "weekly": ("day", "W"), "monthly": ("month", "M"), "annual": ("month", "Y")}
_CALENDAR_SECONDS = {"daily": 86_400, "weekly": 7 * 86_400, "monthly": 28 * 86_400, "annual": 365 * 86_400}
_GRANTED_SECONDS = {"PT10M": 600, "PT15M": 900, "PT30M": 1800, "P1D": 86_400, "P1M": 28 * 86_400}
DEFAULT_PURPOSE = "dpv:ServiceProvision"  # a member's own dashboard; a grant must name the purpose asked
#: The instants a query may name: 1970 ± 2^40 s. Beyond, numpy's int64 arithmetic would overflow, and no
#: reading is there anyway (the store keeps 1970-2100): such a query is a 400, never a 500.
MAX_ABS_SECONDS = 1 << 40
#: The largest body an emoncms route reads: PHP's default ``post_max_size`` (8M), emoncms's own ceiling. An
#: emonhub bulk is a few kB; a larger body is refused as it streams, never buffered whole.
MAX_POST_BYTES = 8 << 20


# ---------------------------------------------------------------------------- plumbing
_Route = Callable[..., Awaitable[Response]]


def _emoncms_route(*paths: str) -> Callable[[_Route], _Route]:
    """Register a route under each of its paths for GET and POST (emoncms reads ``$_GET`` then ``$_POST``), one
    OpenAPI operation per path and method, each with its own id: one route for both methods would give GET's id
    to POST too (FastAPI's "Duplicate Operation ID" warning, and clients generated from the schema clash)."""

    def register(endpoint: _Route) -> _Route:
        for path in paths:
            slug = re.sub(r"\W+", "_", path).strip("_")
            for method in ("GET", "POST"):
                router.add_api_route(path, endpoint, methods=[method], response_model=None,
                                     operation_id=f"{endpoint.__name__}_{slug}_{method.lower()}")  # fmt: skip
        return endpoint

    return register


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
    given = _key_text(request, params)
    if given is not None and apikeys.verify(request.app.state.store, given) is None:
        return params, b""  # a wrong key in the URL or the header: 401 without reading the body
    body = await _bounded_body(request) if request.method == "POST" else b""
    if raw_body or not body:
        return params, body
    ctype = request.headers.get("content-type", "")
    if ctype.startswith("multipart/form-data"):
        form = await request.form()
        params.update({k: v for k, v in form.items() if isinstance(v, str)})
    elif not ctype.startswith("application/json"):
        params.update(parse_qsl(body.decode("utf-8", errors="replace"), keep_blank_values=True))
    return params, b""


async def _bounded_body(request: Request) -> bytes:
    """The body, read as it streams and refused (413) past :data:`MAX_POST_BYTES`, declared or sent."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_POST_BYTES:
        raise HTTPException(413, f"the body is larger than {MAX_POST_BYTES:,} bytes")
    chunks, seen = [], 0
    async for chunk in request.stream():
        seen += len(chunk)
        if seen > MAX_POST_BYTES:
            raise HTTPException(413, f"the body is larger than {MAX_POST_BYTES:,} bytes")
        chunks.append(chunk)
    request._body = body = b"".join(chunks)  # Starlette's cache: request.form() reads it from there
    return body


# emoncms ``index.php``, step "3) User sessions": a key that matches no session gets HTTP 401, one of these
# ``WWW-Authenticate`` challenges and a one-line body; emoncms sets no Content-Type there, so PHP's
# ``default_mimetype`` (text/html) with ``default_charset`` (UTF-8) goes out.
_PHP_DEFAULT_TYPE = "text/html; charset=UTF-8"
_CHALLENGES = {
    "apikey": ('Bearer realm="API KEY", error="invalid_apikey", error_description="Invalid API key"',
               "Invalid API key"),
    "devicekey": ('Bearer realm="Device KEY", error="invalid_devicekey", error_description="Invalid device key"',
                  "Invalid device key"),
}  # fmt: skip
# index.php again: a valid device key on anything but input/post or input/bulk (no challenge header).
_DEVICE_KEY_ONLY_POSTS = "Unauthorized. Device key autentication only permits input post or bulk actions"


def _invalid_key(kind: str = "apikey") -> Response:
    """emoncms's 401 for a wrong ``apikey`` (or Bearer token) or a wrong ``devicekey``."""
    challenge, body = _CHALLENGES[kind]
    return Response(body, status_code=401, media_type=_PHP_DEFAULT_TYPE, headers={"WWW-Authenticate": challenge})


def _key_required() -> Response:
    """No key at all. emoncms answers HTTP 200 there (``false``, ``[]`` or an empty body, from the
    controllers' ``$session['read']`` checks), which a client cannot tell from "no data"; regie answers 401
    with RFC 6750 §3.1's challenge for a request without credentials (a realm, no error code)."""
    return Response("API key required", status_code=401, media_type=_PHP_DEFAULT_TYPE,
                    headers={"WWW-Authenticate": 'Bearer realm="API KEY"'})  # fmt: skip


def _key_text(request: Request, params: dict[str, str]) -> str | None:
    return _given_key(request, params)[0]


def _given_key(request: Request, params: dict[str, str]) -> tuple[str | None, str]:
    """The key and how it came (``apikey`` for the query, the form or a Bearer token; ``devicekey``)."""
    auth = request.headers.get("authorization", "")
    if auth[:7].lower() == "bearer ":
        return auth[7:].strip(), "apikey"
    if params.get("apikey"):
        return params["apikey"], "apikey"
    return (params["devicekey"], "devicekey") if params.get("devicekey") else (None, "apikey")


def _authorise(request: Request, params: dict[str, str], scope: str) -> apikeys.ApiKey | Response:
    given, kind = _given_key(request, params)
    if given is None:
        return _key_required()
    key = apikeys.verify(request.app.state.store, given)
    if key is not None and kind == "devicekey" and scope != "ingest":
        return Response(_DEVICE_KEY_ONLY_POSTS, status_code=401, media_type=_PHP_DEFAULT_TYPE)
    if key is None or not key.allows(scope):
        log.warning("refused %s %s: invalid API key", request.method, request.url.path)  # never the key itself
        return _invalid_key(kind)
    return key


def _fail(message: str, status: int = 200) -> JSONResponse:
    """emoncms's error body; HTTP 200 as emoncms answers, or 400 for what emoncms itself would crash on
    (an infinite time, a number out of range, JSON nested too deep)."""
    return JSONResponse({"success": False, "message": message}, status_code=status)


def _format_error(exc: EmoncmsFormatError) -> JSONResponse:
    why = exc.why if exc.line is None else f"{exc.why} (item {exc.line})"
    return _fail(why, 400 if isinstance(exc, EmoncmsRangeError) else 200)


def _account(store: Store, key: apikeys.ApiKey) -> Account | None:
    """The account a key acts as: its active owner, or the public for a key without one; None (an invalid
    key) when the owner is disabled or gone, as :func:`regie.web.auth.resolve_caller` decides."""
    return key_account(store, key)


def _personal(store: Store, series_key: str) -> bool:
    """Whether a feed is someone's data, by the gate's own rule; when the store cannot tell, it is."""
    try:
        return gate.is_personal(store, store.series(series_key))
    except LookupError:
        return True


def _gate_args(request: Request, params: dict[str, str]) -> dict[str, Any]:
    return {"purpose": params.get("purpose") or DEFAULT_PURPOSE, "reason": params.get("reason") or None,
            "now": _clock(request)}  # fmt: skip


def _last_reading(
    request: Request, account: Account, params: dict[str, str], series_key: str, t: int | None, v: float | None
) -> tuple[int | None, float | None] | None:
    """A feed's (time, value) for the lists; None when the caller may not see the feed at all.

    A personal feed is listed to whoever may read it (decided without logging, so listing never fills another
    member's log); its last value is read through the gate (logged) when the caller may have raw points,
    and is null otherwise.
    """
    store: Store = request.app.state.store
    if not _personal(store, series_key):
        return t, v
    args = _gate_args(request, params)
    at = int(t) if t is not None else args["now"] - 1
    may = gate.allowed_granularity(store, account, series_key, at, at + 1, **args)
    if may is None:
        return None
    if t is None or may != gate.RAW:
        return None, None
    try:
        d = gate.read_personal(store, account, series_key, at, at + 1, gate.FINEST, **args)
    except (AccessDenied, ValueError, LookupError):
        return None, None
    return (t, float(d.values[-1])) if len(d.t) else (None, None)


def _poster(request: Request, key: apikeys.ApiKey, action: str) -> writes.WriteGuard | Response:
    """The write guard of a post (:mod:`regie.governance.writes`) before its body is read: its territory
    (``home()``) gives the time zone a local time in the post is read in."""
    account = _account(request.app.state.store, key)
    if account is None:
        return _invalid_key()
    return writes.guard(request.app.state.store, writes.key_writer(account, key.id, key.node, key.site_id), action,
                        live=True)  # fmt: skip


def _home(store: Store, account: Account) -> str | None:
    """The reader's territory, whose zone is emoncms's "user's time zone" here: a scoped account's, a member's
    own; None (the store's first territory) for an admin of every territory."""
    if territories.scoped(account):
        return account.territory_id
    return territories.of_holder(store, account.holder_id) if account.holder_id else None


def _poster_zone(request: Request, guard: writes.WriteGuard) -> ZoneInfo:
    """The poster's territory's zone (a sensor's site's, a member's own...), else the store's first territory's."""
    return territory_zone(request.app.state.store, guard.home())


def _guard(request: Request, guard: writes.WriteGuard, frames: list[Frame]) -> writes.WriteGuard | Response:
    """``guard`` with the post's nodes checked: a key bound to a node posts that node only (a refusal is
    logged)."""
    nodes = sorted({f.node for f in frames})
    guard.source = ",".join(nodes)[:200]
    try:
        for node in nodes:
            guard.node(node)
    except writes.WriteDenied as exc:
        guard.finish(exc, now=_clock(request))
        return _denied(exc)
    return guard


def _denied(exc: writes.WriteDenied) -> Response:
    """A refused write: HTTP 403 (emonhub logs it and does not count it as sent), emoncms's error body."""
    return JSONResponse({"success": False, "message": f"Permission denied: {exc.reason}"}, status_code=403)


async def _submit(request: Request, samples: Samples, guard: writes.WriteGuard) -> Response | None:
    """Hand the samples (:func:`regie.ingest.emoncms_input.group`) to the writer and wait for the commit; a reply
    if the guard or the store refused them (a series not the caller's, a value too large for the series'
    resolution...): nothing of the request is then written. The guard's decision is logged once the write is
    over. The caller keeps no frame, body or text of the request while it waits: only these arrays (16 bytes a
    point) stay alive until the commit, however many requests wait together (docs/footprint.md)."""
    samples = for_site(samples, guard.writer.site_id)  # a sensor key's inputs are its site's
    future = get_inputs(request).submit(samples, source="emoncms-http", origin=guard.action, guard=guard)
    try:
        result = await asyncio.wrap_future(future)
    except writes.WriteDenied as exc:
        guard.finish(exc, now=_clock(request))
        return _denied(exc)
    except ValueError as exc:  # StoreError, IngestError: the request's fault, not a server failure
        return _fail(f"Error: {exc}")
    guard.finish(points=result.points, now=_clock(request))
    return None


# ---------------------------------------------------------------------------- input
@_emoncms_route("/input/post", "/input/post.json", "/input/post/{node}")
async def input_post(request: Request, node: str | None = None) -> Response:
    """One node's inputs at one instant: ``node``, ``time``, and ``fulljson`` / ``json`` / ``csv`` / ``data``."""
    params, _ = await _params(request)
    key = _authorise(request, params, "ingest")
    if isinstance(key, Response):
        return key
    poster = _poster(request, key, "input/post")
    if isinstance(poster, Response):
        return poster
    try:
        frame, fulljson = parse_post(params, now=_clock(request), node=node, zone=_poster_zone(request, poster))
    except EmoncmsFormatError as exc:
        return _format_error(exc)
    guard = _guard(request, poster, [frame])
    if isinstance(guard, Response):
        return guard
    if problem := await _submit(request, group([frame]), guard):
        return problem
    if fulljson:
        return JSONResponse({"success": True})
    return PlainTextResponse("ok")


@_emoncms_route("/input/bulk", "/input/bulk.json")
async def input_bulk(request: Request) -> Response:
    """Many nodes and instants: ``data=[[t, node, v1, ...], ...]`` with ``sentat`` / ``offset`` / ``time``."""
    compressed = request.query_params.get("cb") == "1"
    params, body = await _params(request, raw_body=compressed)
    parsed = _bulk_frames(request, params, body, compressed)
    del body  # the body, its inflated text and its JSON are gone before the wait for the commit
    if isinstance(parsed, Response):
        return parsed
    key, frames = parsed
    poster = _poster(request, key, "input/bulk")
    if isinstance(poster, Response):
        return poster
    guard = _guard(request, poster, frames)
    if isinstance(guard, Response):
        return guard
    samples = group(frames)
    del frames, parsed
    if problem := await _submit(request, samples, guard):
        return problem
    return PlainTextResponse("ok")


def _bulk_frames(
    request: Request, params: dict[str, str], body: bytes, compressed: bool
) -> tuple[apikeys.ApiKey, list[Frame]] | Response:
    """A bulk request's key and frames, or the reply that refuses it; ``data`` leaves ``params`` (the text is
    not kept past the parse)."""
    try:
        if compressed:
            inflated = decode_body(body)
            if inflated.lstrip()[:5] == b"data=":  # a compressed form (data=...&sentat=...)
                params.update(parse_qsl(inflated.decode("utf-8", errors="replace"), keep_blank_values=True))
                data: str | bytes = params.pop("data", "")
            else:  # emonhub: the bare JSON
                data = inflated
            del inflated
        elif params.get("c") == "1":
            data = decode_hex(params.pop("data", ""))
        else:
            data = params.pop("data", "")
    except EmoncmsFormatError as exc:
        key = _authorise(request, params, "ingest")
        return key if isinstance(key, Response) else _format_error(exc)
    key = _authorise(request, params, "ingest")
    if isinstance(key, Response):
        return key
    try:
        return key, parse_bulk(data, params, now=_clock(request))
    except EmoncmsFormatError as exc:
        return _format_error(exc)


@_emoncms_route("/input/list.json")
async def input_list(request: Request) -> Response:
    """Inputs with their last value, as emoncms's ``input/list.json``."""
    params, _ = await _params(request)
    key = _authorise(request, params, "read")
    if isinstance(key, Response):
        return key
    account = _account(request.app.state.store, key)
    if account is None:
        return _invalid_key()
    out = []
    own = account.territory_id if territories.scoped(account) else None  # an admin of one territory: its inputs
    for r in get_inputs(request).inputs(own):
        last = _last_reading(request, account, params, r["series"], r["last_time"], r["last_value"])
        if last is None:
            continue  # someone else's personal feed: not listed
        out.append(
            {
                "id": r["id"],
                "nodeid": split_node(r["node"])[1],  # a site's sensor: the node as its device named it
                "name": r["name"],
                "description": "",
                "processList": f"1:{r['feed_id']}",  # "log to feed" (process 1) into its series
                "time": last[0],
                "value": last[1],
            }
        )
    return JSONResponse(out)


# ---------------------------------------------------------------------------- feed
@_emoncms_route("/feed/list.json")
async def feed_list(request: Request) -> Response:
    """The feeds (series fed by inputs), emoncms's fields: id, name, tag (the node), unit, time, value."""
    params, _ = await _params(request)
    key = _authorise(request, params, "read")
    if isinstance(key, Response):
        return key
    account = _account(request.app.state.store, key)
    if account is None:
        return _invalid_key()
    out = []
    every = feeds(request.app.state.store).values()
    hidden = set(territories.outside(request.app.state.store, account, [r.key for r in every]))
    for r in every:
        if r.key in hidden:
            continue  # a feed of a territory this account does not run
        last = _last_reading(request, account, params, r.key, r.last_time, r.last_value)
        if last is None:
            continue  # someone else's personal feed: not listed
        out.append(
            {
                "id": r.id,
                "userid": 1,
                "name": r.name,
                "tag": split_node(r.node)[1],
                "public": 0,
                "size": 0,
                "engine": 0,
                "unit": r.unit,
                "series": r.key,
                "time": last[0],
                "value": last[1],
            }
        )
    return JSONResponse(out)


def _seconds(text: str | None, default: int) -> int:
    """``start``/``end`` in s or ms (emoncms clients send ms), or an ISO 8601 date."""
    if text is None or text == "":
        return default
    try:
        x = float(text)
    except ValueError:
        dt = datetime.fromisoformat(text)
        return int((dt if dt.tzinfo else dt.replace(tzinfo=UTC)).timestamp())
    if not math.isfinite(x) or abs(x) >= MAX_ABS_SECONDS * 1000:
        raise ValueError(f"{text[:40]!r} is not an instant (s or ms since 1970)")
    return int(x // 1000) if abs(x) >= _MS_THRESHOLD else int(x)


def _step(interval: str) -> int:
    """A fixed ``interval`` [s]; ValueError for text, infinity or a step past :data:`MAX_ABS_SECONDS`."""
    x = float(interval)
    if not math.isfinite(x) or abs(x) >= MAX_ABS_SECONDS:
        raise ValueError(f"interval {interval[:40]!r} is out of range")
    return int(x)


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


#: ``Modules/feed/feed_model.php`` ``Feed::get_data``: any other ``timeformat`` is refused ("Invalid time format").
TIME_FORMATS = ("unix", "unixms", "excel", "iso8601", "notime")


def _format_times(t: np.ndarray, timeformat: str, zone: ZoneInfo) -> list:
    """``Feed::format_output_time`` (feed_model.php): ``excel`` is PHP ``date("d/m/Y H:i:s")`` and ``iso8601``
    ``date("c")``, both in the request's time zone (its ``timezone``, else the user's; here the territory's)."""
    if timeformat == "unix":
        return t.astype(np.int64).tolist()
    if timeformat in ("excel", "iso8601"):
        local = pd.to_datetime(t, unit="s", utc=True).tz_convert(zone)
        if timeformat == "excel":
            return local.strftime("%d/%m/%Y %H:%M:%S").tolist()
        return [x.isoformat() for x in local]
    return (t.astype(np.int64) * 1000).tolist()  # unixms, emoncms's default


Reader = Callable[[int, int], tuple[np.ndarray, np.ndarray]]
RollupReader = Callable[[str, int, int], Any]


def feed_data(
    read: Reader,
    rollup: RollupReader | None,
    *,
    start: int,
    end: int,
    interval: str | None,
    average: bool,
    skipmissing: bool,
    limitinterval: bool,
    timeformat: str,
    zone: ZoneInfo,
) -> list | str:
    """One feed's ``[[time, value], ...]`` (or an error message): raw points without ``interval``, else one
    value per interval — the mean with ``average=1``, else the first sample in it (emoncms samples).

    ``read(a, b)`` gives the raw points of [a, b) and is called at most once (a gate read is logged once);
    ``rollup(level, a, b)`` gives stored rollups, or is None to average the raw points instead."""
    if end <= start:
        return "Request end time before start time"
    if interval in _CALENDAR and (end - start) // _CALENDAR_SECONDS[interval] > MAX_DATAPOINTS:
        return f"request datapoint limit reached ({MAX_DATAPOINTS}), reduce the time range"
    if interval in _CALENDAR:
        edges, level = _edges_calendar(start, end, interval, zone)
        if average and rollup is None:
            t, v = read(int(edges[0]), int(edges[-1]))
            t_out, values = _bin(t, v, edges, average=True)
        elif average:
            r = rollup(level, int(edges[0]), int(edges[-1]))
            idx = np.searchsorted(edges, r.t, side="right") - 1
            n = len(edges) - 1
            cnt = np.bincount(idx, weights=r.count, minlength=n)[:n] if len(idx) else np.zeros(n)
            tot = np.bincount(idx, weights=r.sum, minlength=n)[:n] if len(idx) else np.zeros(n)
            values = np.full(n, np.nan)
            np.divide(tot, cnt, out=values, where=cnt > 0)
            t_out = edges[:-1]
        else:
            t, v = read(int(edges[0]), int(edges[-1]))
            t_out, values = _bin(t, v, edges, average=False)
    elif interval is not None:
        try:
            step = _step(interval)
        except ValueError:
            return f"Invalid interval {interval[:40]!r}"
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
        t, v = read(int(edges[0]), int(edges[-1]))
        t_out, values = _bin(t, v, edges, average)
    else:
        t_out, values = read(start, end + 1)  # emoncms's end is inclusive
        if len(t_out) > MAX_DATAPOINTS:
            return (
                f"request datapoint limit reached ({MAX_DATAPOINTS}), increase request interval or time range, "
                f"requested datapoints = {len(t_out)}"
            )
    return _reply(t_out, values, skipmissing, timeformat, zone)


def _reply(t_out: np.ndarray, values: np.ndarray, skipmissing: bool, timeformat: str, zone: ZoneInfo) -> list:
    values = np.asarray(values, dtype=np.float64)
    present = ~np.isnan(values)
    if skipmissing:
        t_out, values = t_out[present], values[present]
        present = present[present]
    vals = [float(x) if ok else None for x, ok in zip(values.tolist(), present.tolist(), strict=True)]
    if timeformat == "notime":  # PHPFina::get_data_combined: the values alone
        return vals
    times = _format_times(t_out, timeformat, zone)
    return [[a, b] for a, b in zip(times, vals, strict=True)]


class _Granted(Exception):
    """The gate served a personal feed at a grant's granularity, not as raw points."""

    def __init__(self, data: gate.PersonalData) -> None:
        super().__init__(data.granularity.value)
        self.data = data


def _granted_reply(d: gate.PersonalData, opts: dict[str, Any]) -> list:
    """Values at the granted granularity; a coarser ``interval`` averages them, a finer one is ignored."""
    t, v = np.asarray(d.t, dtype=np.int64), np.asarray(d.values, dtype=np.float64)
    interval, zone = opts["interval"], opts["zone"]
    granted = _GRANTED_SECONDS[d.granularity.value]
    if interval in _CALENDAR and _CALENDAR_SECONDS[interval] > granted:
        edges, _ = _edges_calendar(opts["start"], opts["end"], interval, zone)
        t, v = _bin(t, v, edges, average=True)
    elif interval is not None and interval not in _CALENDAR:
        try:
            step = _step(interval)
        except ValueError:
            step = 0
        if step > granted:
            first = opts["start"] - opts["start"] % step
            edges = first + step * np.arange((opts["end"] - first) // step + 2, dtype=np.int64)
            t, v = _bin(t, v, edges, average=True)
    return _reply(t, v, opts["skipmissing"], opts["timeformat"], zone)


def _personal_reader(request: Request, account: Account, params: dict[str, str], series_key: str) -> Reader:
    """Raw points through the gate (logged); a grant's coarser values leave as :class:`_Granted`."""

    def read(a: int, b: int) -> tuple[np.ndarray, np.ndarray]:
        d = gate.read_personal(request.app.state.store, account, series_key, a, b, gate.FINEST,
                               **_gate_args(request, params))  # fmt: skip
        if not d.raw:
            raise _Granted(d)
        return d.t, d.values

    return read


def _flag(params: dict[str, str], name: str, default: bool) -> bool:
    v = params.get(name)
    return default if v is None or v == "" else v not in ("0", "false")


@_emoncms_route("/feed/data.json")
async def feed_data_route(request: Request) -> Response:
    """``id`` (or ``ids=1,2``), ``start``, ``end`` (s or ms), ``interval`` (s or daily/weekly/monthly/annual),
    ``average``, ``timeformat`` (unixms, unix, excel, iso8601, notime), ``timezone``, ``skipmissing``,
    ``limitinterval``.

    Defaults as ``Modules/feed/feed_controller.php`` ``feed_controller()`` reads them today (``get(name,
    false, default)``, since emoncms commit 24dd442f of 3 November 2021): ``skipmissing=0``,
    ``limitinterval=0``, ``average=0``, ``timeformat=unixms``, ``timezone`` the user's (here the territory's)."""
    params, _ = await _params(request)
    key = _authorise(request, params, "read")
    if isinstance(key, Response):
        return key
    store: Store = request.app.state.store
    account = _account(store, key)
    if account is None:
        return _invalid_key()
    try:
        now = _clock(request)
        start = _seconds(params.get("start"), now - 86400)
        end = _seconds(params.get("end"), now)
        wanted = [int(x) for x in (params.get("ids") or params.get("id") or "").split(",") if x.strip()]
    except (ValueError, OverflowError) as exc:
        return _fail(f"Invalid parameter: {exc}", 400)
    if not wanted:
        return _fail("Feed does not exist")
    if any(not -(1 << 63) <= i < (1 << 63) for i in wanted):  # no SQL integer: no feed, and no 500
        return _fail("Invalid parameter: a feed id is a 64-bit integer", 400)
    timeformat = params.get("timeformat") or "unixms"
    if timeformat not in TIME_FORMATS:
        return _fail("Invalid time format")
    try:
        zone = ZoneInfo(params["timezone"]) if params.get("timezone") else territory_zone(store, _home(store, account))
    except (ValueError, KeyError) as exc:  # ZoneInfoNotFoundError is a KeyError; "../x" a ValueError
        return _fail(f"Invalid parameter: timezone {params['timezone'][:40]!r} is not an IANA time zone ({exc})", 400)
    found = feeds(store, wanted)
    opts = {
        "start": start,
        "end": end,
        "interval": params.get("interval") or None,
        "average": _flag(params, "average", False),
        "skipmissing": _flag(params, "skipmissing", False),
        "limitinterval": _flag(params, "limitinterval", False),
        "timeformat": timeformat,
        "zone": zone,
    }
    out, served = [], []
    for fid in wanted:
        if fid not in found:
            return _fail("Feed does not exist")
        series_key = found[fid].key
        try:
            if _personal(store, series_key):
                data = feed_data(_personal_reader(request, account, params, series_key), None, **opts)
                served.append(f"{fid}:{gate.RAW}")
            else:
                data = feed_data(
                    lambda a, b, k=series_key: gate.read_open(store, k, a, b),
                    lambda level, a, b, k=series_key: gate.read_open_rollup(store, k, level, a, b),
                    **opts,
                )
        except _Granted as granted:
            data = _granted_reply(granted.data, opts)
            served.append(f"{fid}:{granted.data.granularity.value}")
        except AccessDenied as exc:
            return _fail(f"Permission denied: {exc.reason}")
        except (ValueError, LookupError) as exc:  # an unknown purpose, a series gone meanwhile
            return _fail(f"Error: {exc}")
        if isinstance(data, str):
            return _fail(data, 400 if data.startswith("Invalid") else 200)
        out.append({"feedid": fid, "data": data})
    reply = JSONResponse(out if "ids" in params else out[0]["data"])
    if served:  # the granularity each personal feed was served at (the body holds numbers only)
        reply.headers["X-Regie-Granularity"] = ",".join(served) if "ids" in params else served[0].split(":")[1]
    return reply
