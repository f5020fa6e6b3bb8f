"""``Cache-Control: no-store`` on every personal response, whatever route made it.

A response about a person, or to a caller who proved who they are, must not be kept by the browser's cache
(another user of the same computer, the back button after logout) nor by a shared cache on the way
(RFC 9111 §5.2.2.5: "no-store" — a cache must not store any part of the request or the response). Setting
it in each route would forget one; this middleware decides from the request alone:

- the caller sent credentials: an ``Authorization`` header, a session cookie, an emoncms ``apikey`` /
  ``devicekey`` in the query; or
- the path is a personal one (:data:`PERSONAL_PATHS`: my page and API, the operator's, the ACC pages of
  participants, emoncms feeds and inputs, the admin's lists), whoever asks.

A route that explicitly declares its response ``public`` (the static assets, the same bytes for everyone)
keeps its own caching.
"""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from regie.web import auth

NO_STORE = b"no-store"
#: Paths (and everything under them) whose responses are about persons.
PERSONAL_PATHS: tuple[str, ...] = (
    "/me", "/api/me", "/operator", "/acc", "/feed", "/input", "/admin", "/accesses", "/grants",
    "/quarantine", "/inputs", "/import", "/series",
)  # fmt: skip
_SESSION_COOKIES = (auth.SECURE_COOKIE, auth.PLAIN_COOKIE)


def personal_path(path: str) -> bool:
    return any(path == p or path.startswith(p + "/") or path.startswith(p + ".") for p in PERSONAL_PATHS)


def with_credentials(scope: Scope) -> bool:
    """Whether the request carries something that proves (or claims) who the caller is."""
    headers = Headers(scope=scope)
    if "authorization" in headers:
        return True
    cookies = headers.get("cookie", "")
    if any(f"{name}=" in cookies for name in _SESSION_COOKIES):
        return True
    query = scope.get("query_string", b"")
    return b"apikey=" in query or b"devicekey=" in query


class NoStoreMiddleware:
    """Pure ASGI middleware: see the module docstring."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not (with_credentials(scope) or personal_path(scope["path"])):
            await self.app(scope, receive, send)
            return

        async def private(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"cache-control"]
                declared = [v for k, v in message.get("headers", []) if k.lower() == b"cache-control"]
                if any(b"public" in v.lower() for v in declared):
                    headers = list(message.get("headers", []))
                else:
                    headers.append((b"cache-control", NO_STORE))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, private)
