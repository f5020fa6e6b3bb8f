"""The first run on the web (``/setup``): the console's token, then the first admin and the territory.

``regie serve`` on a store without an admin calls :func:`offer`: it makes a one-time token
(:class:`regie.governance.first_run.SetupToken`, kept in memory only), returns it for the console to print,
and installs :class:`SetupRedirect`, which sends every page to ``/setup`` until the setup is done. The page
asks for the token (a link ``/setup?token=...`` fills it in), then for the first admin account (username,
password under the policy of :mod:`regie.governance.accounts`, e-mail) and the territory (id, name, INSEE
code, time zone, coordinates, metering step: :func:`regie.governance.territories.create_territory`, the
function ``regie territory create`` calls). A wrong token is refused and throttled; every attempt is in the
access log. Once an admin exists — made here or with ``regie user add`` — the page answers 404 and the token
is void. The forms carry a CSRF token bound to a pre-session nonce, as the login form does (there is no
session yet). An app without a pending setup (every app a test or ``regie demo`` builds) has no redirect and
``/setup`` is a 404.
"""

from __future__ import annotations

import re
import threading
from typing import Any
from zoneinfo import available_timezones

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from regie.governance import accounts, territories
from regie.governance.first_run import SetupToken
from regie.governance.system_accounts import FIRST_RUN
from regie.store import Store
from regie.web import auth
from regie.web.i18n import N_
from regie.web.password_pages import PASSWORD_PROBLEMS
from regie.web.templating import render

router = APIRouter(include_in_schema=False)
_ONE_AT_A_TIME = threading.Lock()

#: What may be reached before the setup: the page itself, its assets, and the probes an orchestrator polls.
OPEN_PATHS = ("/setup", "/static/", "/healthz", "/readyz", "/metrics")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")

#: Why a step was refused, as the visitor reads it (translated at render time, with the problem's parameters).
SETUP_PROBLEMS: dict[str, str] = {
    "invalid": N_("This setup token is wrong. Copy it from the console where `regie serve` runs."),
    "locked": N_("Too many failed attempts: try again in %(seconds)s seconds."),
    "csrf": N_("The form has expired: please try again."),
    "mismatch": N_("The two passwords differ."),
    "username": N_("A username has 2 to 64 characters: lower-case letters, digits, '.', '_' or '-'."),
    "email": N_("This e-mail address does not look right."),
    "id": N_("The territory's id is a short name of letters, digits, '-', '_' or '.' (at most 32 characters)."),
    "name": N_("The territory needs a name (at most 200 characters)."),
    "insee": N_("An INSEE code has 5 characters, such as 66150 or 2A004."),
    "timezone": N_("Unknown time zone: give a name such as Europe/Paris."),
    "coordinates": N_("Give both latitude (-90 to 90) and longitude (-180 to 180), or neither."),
    "step": N_("The metering step is one of PT10M, PT15M, PT30M or PT1H."),
    "exists": N_("A territory with this id already exists."),
    **{k: v for k, v in PASSWORD_PROBLEMS.items() if k in ("length", "common", "weak")},
}
_STATUS = {"invalid": 401, "locked": 429, "csrf": 403}
#: The metering steps offered, with what each is for (see :data:`regie.governance.territories.STEPS`).
STEP_LABELS = {
    "PT30M": N_("30 minutes (Enedis load curves)"),
    "PT15M": N_("15 minutes (collective self-consumption)"),
    "PT10M": N_("10 minutes (Linky curves every 10 minutes)"),
    "PT1H": N_("1 hour"),
}


# ---------------------------------------------------------------- the token and the redirect


def offer(app: Any, store: Store, policy: accounts.ThrottlePolicy | None = None) -> str | None:
    """Open the first-run setup on ``app`` when ``store`` has no admin: returns the token to print (once),
    or None when the store already has an admin (nothing is installed then)."""
    if territories.has_admin(store):
        return None
    holder, token = SetupToken.issue(policy)
    app.state.setup_token = holder
    app.add_middleware(SetupRedirect)
    return token


def pending(app: Any) -> SetupToken | None:
    """The app's setup token while the setup is still to be done; None once an admin exists (the token is
    then void for good, whoever made the admin)."""
    holder: SetupToken | None = getattr(app.state, "setup_token", None)
    if holder is None or holder.used:
        return None
    if territories.has_admin(app.state.store):
        holder.used = True
        return None
    return holder


class SetupRedirect:
    """Every page to ``/setup`` while the setup is pending (a GET or HEAD: 303; any other method: 503)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.done = False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.done or scope["path"].startswith(OPEN_PATHS):
            return await self.app(scope, receive, send)
        web = scope["app"]
        if pending(web) is None:
            self.done = True
            return await self.app(scope, receive, send)
        if scope["method"] in ("GET", "HEAD"):
            response: Response = RedirectResponse("/setup", status_code=303)
        else:
            response = Response("this régie is not set up yet: open /setup", status_code=503,
                                media_type="text/plain", headers={"Retry-After": "60"})  # fmt: skip
        await response(scope, receive, send)


# ---------------------------------------------------------------- the pages


def _holder(request: Request) -> SetupToken:
    holder = pending(request.app)
    if holder is None:
        raise HTTPException(404, "Not Found")
    return holder


def _page(
    request: Request, step: str, *, problem: str | None = None, token: str = "", values: dict[str, str] | None = None,
    params: dict[str, int] | None = None, status: int | None = None,
) -> HTMLResponse:  # fmt: skip
    nonce, fresh = auth.prelogin_nonce(request)
    context = {
        "active": "setup",
        "step": step,
        "token": token,
        "problem": SETUP_PROBLEMS.get(problem or ""),
        "params": params or {},
        "values": values or {},
        "csrf": accounts.csrf_token(nonce, auth.app_secret(request)),
        "min_length": accounts.MIN_PASSWORD,
        "steps": territories.STEPS,
        "step_labels": STEP_LABELS,
        "existing": territories.list_territories(request.app.state.store),
        "timezones": sorted(z for z in available_timezones() if "/" in z and not z.startswith(("Etc/", "SystemV/"))),
    }
    code = status if status is not None else _STATUS.get(problem or "", 400 if problem else 200)
    response = render(request, "setup.html", context, status_code=code)
    # no clickjacking; the token in the URL is never sent to another page as a Referer
    response.headers.update({"Cache-Control": "no-store", "X-Frame-Options": "DENY", "Referrer-Policy": "no-referrer"})
    if fresh:
        auth.set_prelogin_cookie(request, response, nonce)
    if problem == "locked":
        response.headers["Retry-After"] = str((params or {}).get("seconds", 60))
    return response


def _token_step(request: Request, holder: SetupToken, token: str) -> HTMLResponse:
    check = holder.check(request.app.state.store, token, auth.client_address(request))
    if check.ok:
        return _page(request, "account", token=token)
    if check.reason == "used":
        raise HTTPException(404, "Not Found")
    return _page(request, "token", problem=check.reason, params={"seconds": check.retry_after})


@router.get("/setup", name="setup_page", response_class=HTMLResponse)
def setup_page(request: Request, token: str | None = None) -> Response:
    """Step 1, the token (filled in by the console's link); a right token goes on to step 2."""
    holder = _holder(request)
    if token:
        return _token_step(request, holder, token[:200])
    return _page(request, "token")


@router.post("/setup/token", name="setup_token")
async def setup_token(request: Request) -> Response:
    """Check the token typed in (throttled, logged)."""
    holder = _holder(request)
    form = await request.form()
    if not auth.prelogin_csrf_ok(request, str(form.get(auth.CSRF_FIELD) or "")):
        return _page(request, "token", problem="csrf")
    return _token_step(request, holder, str(form.get("token") or "")[:200])


def _float(text: str) -> float | None:
    text = text.strip().replace(",", ".")
    return float(text) if text else None


@router.post("/setup", name="setup_done")
async def setup_done(request: Request) -> Response:
    """Step 2: the token again, then the first admin and the territory; on success, logged in as that admin."""
    holder = _holder(request)
    form = await request.form()
    fields = ("token", "username", "email", "id", "name", "insee", "timezone", "latitude", "longitude", "step")
    v = {k: str(form.get(k) or "").strip()[:300] for k in fields}
    password, again = (str(form.get(k) or "")[: accounts.MAX_PASSWORD + 1] for k in ("password", "again"))
    shown = {k: x for k, x in v.items() if k != "token"}  # what the form shows again after a problem

    def again_with(problem: str, **params: int) -> HTMLResponse:
        return _page(request, "account", problem=problem, token=v["token"], values=shown, params=params)

    if not auth.prelogin_csrf_ok(request, str(form.get(auth.CSRF_FIELD) or "")):
        return again_with("csrf")
    store: Store = request.app.state.store
    address = auth.client_address(request)
    check = holder.check(store, v["token"], address)
    if not check.ok:
        if check.reason == "used":
            raise HTTPException(404, "Not Found")
        return _page(request, "token", problem=check.reason, params={"seconds": check.retry_after})
    username = v["username"].lower()
    if password != again:
        return again_with("mismatch")
    if not _EMAIL.fullmatch(v["email"]):
        return again_with("email")
    existing = territories.list_territories(store)
    territory = None
    try:
        if v["id"] or not existing:  # a store whose territory the CLI made needs only its admin
            territory = territories.territory_from(
            v["id"], v["name"], insee=v["insee"], timezone=v["timezone"], latitude=_float(v["latitude"]),
                longitude=_float(v["longitude"]), step=v["step"] or None,
            )  # fmt: skip
    except territories.TerritoryError as exc:
        return again_with(exc.code if exc.code in SETUP_PROBLEMS else "id")
    except ValueError:  # a latitude or longitude that is not a number
        return again_with("coordinates")
    if territory is not None and any(t.id == territory.id for t in existing):
        return again_with("exists")
    hasher = getattr(request.app.state, "password_hasher", None)  # tests use cheap argon2 parameters
    with _ONE_AT_A_TIME:  # two tabs sending the form at once make one admin, not two
        if pending(request.app) is None:
            raise HTTPException(404, "Not Found")
        try:
            admin = accounts.create_account(store, username, password, accounts.Role.ADMIN, email=v["email"],
                                            actor=FIRST_RUN, hasher=hasher)  # fmt: skip
        except accounts.PasswordRejected as exc:
            return again_with(exc.reason, **exc.params)
        except accounts.AccountError:
            return again_with("username")
        if territory is not None:
            territories.create_territory(store, admin, territory)
        holder.spend(store, address, f"admin {admin.username}, territory {territory.id if territory else '-'}")
    response = RedirectResponse("/admin", status_code=303)
    auth.set_session_cookie(request, response, accounts.create_session(store, admin))
    return response
