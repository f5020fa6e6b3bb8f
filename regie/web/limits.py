"""Request body limits, enforced before the body is read: one table, one ASGI middleware for every route.

Why here and not in the routes: a route learns about its body only once FastAPI has parsed it (a JSON
document in memory, a multipart upload spooled to disk), and an emoncms route reads the whole body to find
the key in it; so anyone, without a key, could make the server hold hundreds of megabytes per request.
This middleware sits in front of every route and answers ``413 Content Too Large`` (RFC 9110 §15.5.14):

- at once, without reading a byte, when the declared ``Content-Length`` is over the limit;
- as soon as the count of streamed bytes passes it, for a body without a length (chunked transfer coding,
  RFC 9112 §7.1): the bytes are counted as the route pulls them (uvicorn stops reading the socket while the
  route does not ask, so nothing piles up), never buffered here.

The 413 says ``Connection: close``, so the server does not go on reading (and discarding) the rest of a
huge body on that connection.

Every route gets :data:`DEFAULT_LIMIT`; only the routes of :data:`BODY_LIMITS` get more. A larger limit that
is ``authenticated`` is granted only to a caller who proved who they are *before* the body (a valid API key
in ``Authorization``, or a valid session cookie: neither needs the body); anyone else gets the default, so an
anonymous client cannot make the server spool a gigabyte to learn that its key is missing. The route still
makes its own decision (scope, role) afterwards.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from fastapi import HTTPException
from fastapi.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

KIB, MIB, GIB = 1 << 10, 1 << 20, 1 << 30

#: Any route: a login form, a consent, a JSON query, an emoncms ``input/post`` are a few kilobytes.
DEFAULT_LIMIT = 1 * MIB


@dataclass(frozen=True, slots=True)
class BodyLimit:
    """The largest body ``path`` accepts [bytes], and whether only an authenticated caller gets it."""

    path: re.Pattern[str]
    limit: int
    authenticated: bool
    why: str


def _route(pattern: str, limit: int, authenticated: bool, why: str) -> BodyLimit:
    return BodyLimit(re.compile(pattern), limit, authenticated, why)


#: The only routes that accept more than :data:`DEFAULT_LIMIT`.
BODY_LIMITS: tuple[BodyLimit, ...] = (
    _route(
        r"/import", 1 * GIB, True,
        "the upload page: a year of 10 s data for 50 feeds in an emoncms archive (as MAX_UPLOAD_BYTES of "
        "regie.web.ingest_pages, which counts the same bytes and says so on the page)",
    ),
    _route(r"/api/import/[^/]+", 1 * GIB, True, "the same files as the upload page, through the API"),
    _route(
        r"/input/bulk(\.json)?", 4 * MIB, False,
        "emonhub posts at most 1000 buffered frames per request (batchsize of EmonHubEmoncmsHTTPInterfacer): "
        "1000 x [time, node, 30 values of up to 20 characters] is under 1 MB, and under 2 MB "
        "form-encoded; not authenticated first, since emonhub sends its key in the body",
    ),
)  # fmt: skip


def limit_for(path: str) -> BodyLimit | None:
    """The table's row for this path, or None (then :data:`DEFAULT_LIMIT`)."""
    return next((row for row in BODY_LIMITS if row.path.fullmatch(path)), None)


class BodyTooLarge(HTTPException):
    """Raised from ``receive`` when the streamed body passes the limit. An :class:`HTTPException`, so that
    FastAPI's body parsing lets it through (it turns any other error while parsing into a 400)."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"request body too large: at most {limit:,} bytes here", {"Connection": "close"})


def _declared_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _authenticated(scope: Scope) -> bool:
    """Whether the request carries a valid API key or session (checked without the body; the result is kept
    in the request's state, where the route's own caller resolution finds it)."""
    from regie.web import auth

    try:
        caller = await run_in_threadpool(auth.resolve_caller, Request(scope))
    except HTTPException:  # an invalid or revoked key
        return False
    return caller.via != "anonymous"


def _too_large(limit: int) -> JSONResponse:
    exc = BodyTooLarge(limit)
    return JSONResponse({"detail": exc.detail}, status_code=413, headers=exc.headers)


class BodyLimitMiddleware:
    """Pure ASGI middleware applying :data:`BODY_LIMITS` (see the module docstring)."""

    def __init__(self, app: ASGIApp, default: int = DEFAULT_LIMIT) -> None:
        self.app = app
        self.default = default

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _declared_length(scope)
        limit = self.default
        row = limit_for(scope["path"])
        # the row matters only for a body that may be larger than the default
        big = row is not None and (declared is None or declared > limit)
        if big and (not row.authenticated or await _authenticated(scope)):
            limit = row.limit
        if declared is not None and declared > limit:
            await _too_large(limit)(scope, receive, send)
            return

        received = 0
        exceeded = False
        started = False

        async def counted() -> Message:
            nonlocal received, exceeded
            if exceeded:
                raise BodyTooLarge(limit)
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    exceeded = True
                    raise BodyTooLarge(limit)
            return message

        async def watched(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = list(message.get("headers", []))
                if exceeded and all(name.lower() != b"connection" for name, _ in headers):
                    # whatever the route answers, the rest of the body is not to be read
                    message = {**message, "headers": [*headers, (b"connection", b"close")]}
            await send(message)

        try:
            await self.app(scope, counted, watched)
        except BodyTooLarge:
            if started:
                raise
            await _too_large(limit)(scope, receive, send)
