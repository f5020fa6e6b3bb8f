"""When the database is down or its disk full: a clear 503, not a 500 with a traceback; when a page asks for
readings of a year ``regie archive`` moved to the lake: a clear 410 (Gone, RFC 9110 §15.5.11) naming the year.

A page gets a short page in the visitor's language; the API and the emoncms routes get an RFC 9457
problem-details document (``application/problem+json``). Both carry ``Retry-After`` (RFC 9110 §10.2.3):
an emonhub or a script retries later, and nothing it sent is lost on our side (a failed write commits
nothing). The app needs no restart: PostgreSQL connections are checked before use (``pool_pre_ping``)
and SQLite reopens its file, so the first request after the database is back is served.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import DBAPIError

from regie.store.timeseries import ArchivedYear
from regie.web import i18n
from regie.web.templating import render

log = logging.getLogger(__name__)
RETRY_AFTER_S = 30
PROBLEM_TYPE = "urn:regie:problem:"
_MACHINE_PREFIXES = ("/api/", "/feed/", "/input/", "/emoncms/")


def classify(exc: DBAPIError) -> str | None:
    """``database-unavailable`` or ``storage-full`` for the failures a retry can outlive; None otherwise."""
    message = str(getattr(exc, "orig", None) or exc).lower()
    if "database or disk is full" in message or "no space left" in message:
        return "storage-full"
    if exc.connection_invalidated or any(
        m in message
        for m in ("connection refused", "could not connect", "server closed the connection", "terminating connection",
                  "connection is closed", "timeout expired", "database is locked", "the database system is")
    ):  # fmt: skip
        return "database-unavailable"
    return None


def _wants_json(request: Request) -> bool:
    accept = request.headers.get("accept", "")
    return request.url.path.startswith(_MACHINE_PREFIXES) or (
        "application/json" in accept and "text/html" not in accept
    )


async def database_failure(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, DBAPIError)
    kind = classify(exc)
    if kind is None:
        raise exc
    log.warning("database failure answered with 503 (%s): %s", kind, exc.__class__.__name__)
    gettext = i18n.translations(i18n.negotiate_locale(request)).gettext
    title = gettext("The database is full") if kind == "storage-full" else gettext("The database is unavailable")
    detail = (
        gettext("The disk that holds regie's data is full. Nothing already stored is lost; please try again later.")
        if kind == "storage-full"
        else gettext("regie cannot reach its database right now. Nothing already stored is lost; please try again "
                     "in a moment.")
    )  # fmt: skip
    return _problem(request, kind, 503, title, detail, {"Retry-After": str(RETRY_AFTER_S)})


def _problem(request: Request, kind: str, status: int, title: str, detail: str, headers: dict[str, str],
             **extra: object) -> Response:  # fmt: skip
    """The answer, never cached: an RFC 9457 problem for machines, the short page for people."""
    headers = {**headers, "Cache-Control": "no-store"}
    if _wants_json(request):
        body = {"type": PROBLEM_TYPE + kind, "title": title, "status": status, "detail": detail,
                "instance": request.url.path, **extra}  # fmt: skip
        return JSONResponse(body, status_code=status, headers=headers, media_type="application/problem+json")
    response = render(request, "unavailable.html", {"title": title, "detail": detail, "active": ""},
                      status_code=status)  # fmt: skip
    response.headers.update(headers)
    return response


async def archived_year(request: Request, exc: Exception) -> Response:
    """A period in an archived year: not served here any more (the lake holds it), said in the visitor's
    language; nothing about where the lake is (a path on the server is the administrators' business)."""
    assert isinstance(exc, ArchivedYear)
    gettext = i18n.translations(i18n.negotiate_locale(request)).gettext
    title = gettext("These readings are archived")
    detail = gettext("The readings of %(year)s were moved to the régie's archive and are no longer served here. "
                     "Choose a later period; the régie's administrators can read the archive.") % {"year": exc.year}
    return _problem(request, "archived-year", 410, title, detail, {}, year=exc.year)


def install(app: FastAPI) -> None:
    """Register the handlers (called by :func:`regie.web.app.create_app`)."""
    app.add_exception_handler(DBAPIError, database_failure)
    app.add_exception_handler(ArchivedYear, archived_year)
