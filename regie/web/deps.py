"""Typed dependencies shared by the routers: the store the app was created with, a logged-in caller of a page,
and an admin of a page.

A page's visitor is either sent to the login form (the public: 303, :func:`page_caller`) or, logged in but not
an admin, shown the refusal page (403, :class:`AdminOnly`, answered by :func:`admin_only_page`): the one rule,
written once for every admin page (quarantine, inputs, a site's sensors, people, footprint, inventory, the
admin's page).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.responses import HTMLResponse

from regie.governance.accounts import Role
from regie.store import Store
from regie.web import auth
from regie.web.auth import Caller
from regie.web.templating import render

#: Admin pages are one person's: never kept by a shared cache nor the browser's, never framed by another site.
PRIVATE_HEADERS = {"Cache-Control": "no-store", "X-Frame-Options": "DENY", "Referrer-Policy": "same-origin"}


def get_store(request: Request) -> Store:
    """The one store of this app (set by :func:`regie.web.app.create_app`)."""
    return request.app.state.store


StoreDep = Annotated[Store, Depends(get_store)]


def page_caller(request: Request) -> Caller:
    """A logged-in caller for a page; the public is sent to the login form (303)."""
    caller = auth.resolve_caller(request)
    if caller.is_public:
        raise auth.login_redirect(request)
    if not caller.may("read" if request.method in auth.SAFE_METHODS else "write"):
        raise HTTPException(403, "this API key lacks the scope this page needs")
    return caller


PageCaller = Annotated[Caller, Depends(page_caller)]


class AdminOnly(Exception):
    """A logged-in caller who is not an admin asked for an admin page: the refusal page, 403."""


def admin_caller(request: Request) -> Caller:
    """An admin for a page (:func:`page_caller` first: the public goes to the login form); anyone else gets
    :class:`AdminOnly`. Which territory the admin may see is :mod:`regie.web.territory_choice`'s to decide."""
    caller = page_caller(request)
    if caller.role is not Role.ADMIN:
        raise AdminOnly("for the régie's administrators only")
    return caller


AdminCaller = Annotated[Caller, Depends(admin_caller)]


def admin_only_page(request: Request, exc: Exception) -> HTMLResponse:
    """The exception handler for :class:`AdminOnly` (registered by :func:`regie.web.app.create_app`)."""
    response = render(request, "refused.html", {"active": "account", "message": str(exc)}, status_code=403)
    response.headers.update(PRIVATE_HEADERS)
    return response
