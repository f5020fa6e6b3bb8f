"""Who is calling: a web session (cookie) or an API key (``Authorization: Bearer``), and what they may do.

Every route that needs to know the caller depends on :data:`CallerDep` (anyone, the public included) or one
of the role dependencies (:func:`require_account`, :func:`require_roles`). The decision about *personal
data* is never taken here: that is :func:`regie.governance.gate.read_personal`'s alone. This module only
says who the caller is.

Sessions and cookies. The cookie holds a random token; the store keeps its SHA-256
(:mod:`regie.governance.accounts`). It is ``HttpOnly`` and ``SameSite=Lax`` always. It is ``Secure`` and
named with the ``__Host-`` prefix (RFC 6265bis §4.1.3.2) when the settings say members come over HTTPS
(``public_url = "https://..."``, or ``cookie_secure = true``), or else when the request came over HTTPS (the
scheme a trusted proxy reports in ``X-Forwarded-Proto``: ``trusted_proxies``). Over plain HTTP — the local
demo on 127.0.0.1 — a browser neither stores nor sends a ``__Host-``/``Secure`` cookie, so the cookie is
then plain ``regie_session``: still HttpOnly and Lax, and the only way to log in on a loopback demo. Once
cookies must be Secure, a plain cookie is never read: nobody can downgrade a production régie to an
insecure cookie by speaking HTTP to it. Login throttling follows the ``login_*`` settings.

CSRF. Every state-changing request authenticated by a cookie carries a synchroniser token
(:func:`regie.governance.accounts.csrf_token`) in the form field ``csrf_token`` or the ``X-CSRF-Token``
header. Before login there is no session to bind it to, so the login form binds it to a random pre-session
nonce kept in its own cookie (OWASP: "login CSRF"). Requests authenticated by an API key carry no cookie a
browser could replay and need no token; they need the key's scope instead (``read`` for reads, ``write``
for changes).

The secret that keys CSRF tokens is ``app.state.secret`` (``regie serve`` loads it from the data directory,
:func:`regie.governance.keys.load_or_create_secret`); an app without one makes a random one at first use,
so tokens then last as long as the process.
"""

from __future__ import annotations

import logging
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, HTTPException, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.datastructures import FormData

from regie.config import Settings
from regie.governance import accounts, key_owner, two_factor
from regie.governance.accounts import PUBLIC, Account, Role
from regie.ingest import apikeys
from regie.store import Store
from regie.web.i18n import N_
from regie.web.templating import render

log = logging.getLogger(__name__)

SECURE_COOKIE = accounts.SESSION_COOKIE["key"]  # "__Host-regie_session"
PLAIN_COOKIE = "regie_session"
PRELOGIN_COOKIE = "regie_prelogin"
PRELOGIN_SECURE_COOKIE = "__Host-regie_prelogin"
#: The pending login between the password and the second factor (regie.web.people_pages).
STEP_COOKIE = "regie_login_step"
STEP_SECURE_COOKIE = "__Host-regie_login_step"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True, slots=True)
class Caller:
    """The account behind a request (:data:`PUBLIC` when anonymous) and how it proved who it is."""

    account: Account
    via: str  # "anonymous", "session" or "api_key"
    session_token: str | None = field(default=None, repr=False)  # a secret: never in a repr, a log or a trace
    key: apikeys.ApiKey | None = None

    @property
    def role(self) -> Role:
        return self.account.role

    @property
    def is_public(self) -> bool:
        return self.account.role is Role.PUBLIC

    def may(self, scope: str) -> bool:
        """Whether an API key allows ``scope``; sessions and anonymous callers are not limited by scopes."""
        return self.key is None or self.key.allows(scope)


ANONYMOUS = Caller(PUBLIC, "anonymous")
_SECRET_LOCK = threading.Lock()


# ---------------------------------------------------------------- configuration kept on the app


def app_secret(request: Request) -> bytes:
    """The HMAC secret of this app (see the module docstring)."""
    state = request.app.state
    with _SECRET_LOCK:  # two first requests at once must not make two secrets
        secret = getattr(state, "secret", None)
        if not secret:
            secret = secrets.token_bytes(32)
            state.secret = secret
    return secret


def app_settings(request: Request) -> Settings:
    """The settings this app was created with (:func:`regie.web.app.create_app`)."""
    return request.app.state.settings


def cookie_secure(request: Request) -> bool:
    """Whether cookies are ``Secure`` (and ``__Host-``): configured, else an https public URL, else whether
    this request is HTTPS."""
    settings = app_settings(request)
    if settings.cookie_secure is not None:
        return settings.cookie_secure
    return settings.public_https or request.url.scheme == "https"


def throttle_policy(settings: Settings) -> accounts.ThrottlePolicy:
    """Login throttling as the settings ask (OWASP Authentication Cheat Sheet, "Login throttling")."""
    return accounts.ThrottlePolicy(
        max_failures=settings.login_max_failures, max_failures_addr=settings.login_max_failures_per_address,
        window=settings.login_window_s, base_lock=settings.login_lock_s, max_lock=settings.login_max_lock_s,
    )  # fmt: skip


def _store(request: Request) -> Store:
    return request.app.state.store


def client_address(request: Request) -> str:
    """The client's address for throttling (uvicorn resolves X-Forwarded-For only from trusted proxies)."""
    return request.client.host if request.client else "unknown"


# ---------------------------------------------------------------- resolving the caller


def _bearer(request: Request) -> str | None:
    auth = request.headers.get("authorization", "")
    if auth[:7].lower() == "bearer ":
        return auth[7:].strip()
    return None


def session_token(request: Request) -> str | None:
    """The session token of the cookie this app reads (never a plain cookie once cookies must be Secure)."""
    token = request.cookies.get(SECURE_COOKIE)
    if not token and not cookie_secure(request):
        token = request.cookies.get(PLAIN_COOKIE)
    return token or None


def resolve_caller(request: Request) -> Caller:
    """The caller of a request; an API key that is unknown, revoked, or whose owner is disabled is a 401.

    A key owned by an account (bound by id: :mod:`regie.governance.key_owner`) acts as that account within its scopes; a
    key without an owner (a device posting inputs) acts as the public for everything but ingest.
    """
    cached = getattr(request.state, "caller", None)
    if cached is not None:
        return cached
    store = _store(request)
    caller = ANONYMOUS
    token = _bearer(request)
    if token is not None:
        key = apikeys.verify(store, token)
        if key is None:
            raise HTTPException(401, "invalid API key", headers={"WWW-Authenticate": "Bearer"})
        owner = key_owner.key_account(store, key)
        if owner is None:
            raise HTTPException(401, "the owner of this API key is disabled or gone", {"WWW-Authenticate": "Bearer"})
        caller = Caller(owner, "api_key", key=key)
    else:
        cookie = session_token(request)
        account = accounts.resolve_session(store, cookie)
        if account is not None:
            caller = Caller(account, "session", session_token=cookie)
    request.state.caller = caller
    return caller


def get_caller(request: Request) -> Caller:
    """FastAPI dependency: the caller, anonymous included."""
    return resolve_caller(request)


CallerDep = Annotated[Caller, Depends(get_caller)]


def _scope_for(request: Request) -> str:
    return "read" if request.method in SAFE_METHODS else "write"


def require_account(request: Request, caller: CallerDep) -> Caller:
    """FastAPI dependency: a logged-in account (or an owned API key with the scope the method needs)."""
    if caller.is_public:
        raise HTTPException(401, "log in, or send an API key of your account", headers={"WWW-Authenticate": "Bearer"})
    if not caller.may(_scope_for(request)):
        raise HTTPException(403, f"this API key lacks the {_scope_for(request)!r} scope")
    return caller


AccountDep = Annotated[Caller, Depends(require_account)]


def require_roles(*roles: Role) -> Callable[..., Caller]:
    """A dependency admitting only these roles (after :func:`require_account`)."""

    def dependency(caller: AccountDep) -> Caller:
        if caller.role not in roles:
            raise HTTPException(403, f"for {' or '.join(r.value for r in roles)} accounts only")
        return caller

    dependency.__name__ = "require_" + "_or_".join(r.value for r in roles)
    return dependency


MemberDep = Annotated[Caller, Depends(require_roles(Role.MEMBER))]
OperatorDep = Annotated[Caller, Depends(require_roles(Role.OPERATOR))]
AdminDep = Annotated[Caller, Depends(require_roles(Role.ADMIN))]


# ---------------------------------------------------------------- CSRF


def csrf_for(request: Request, caller: Caller) -> str | None:
    """The token to put in this caller's forms (None for API keys and anonymous callers)."""
    if caller.session_token is None:
        return None
    return accounts.csrf_token(caller.session_token, app_secret(request))


def check_csrf(request: Request, caller: Caller, submitted: str | None) -> None:
    """Refuse (403) a state-changing request by cookie without this session's CSRF token."""
    if caller.via != "session":
        return
    candidate = submitted or request.headers.get(CSRF_HEADER)
    if not accounts.csrf_ok(candidate, caller.session_token, app_secret(request)):
        raise HTTPException(403, "missing or wrong CSRF token: reload the page and try again")


async def form_with_csrf(request: Request, caller: Caller) -> FormData:
    """The submitted form, once its CSRF token has been checked."""
    form = await request.form()
    value = form.get(CSRF_FIELD)
    check_csrf(request, caller, value if isinstance(value, str) else None)
    return form


async def csrf_protect(request: Request, caller: CallerDep) -> Caller:
    """FastAPI dependency for state-changing JSON routes: the CSRF header when the caller uses a cookie."""
    if request.method not in SAFE_METHODS:
        check_csrf(request, caller, None)
    return caller


def prelogin_nonce(request: Request) -> tuple[str, bool]:
    """The pre-session nonce the login form's CSRF token is bound to; True when it must be (re)set."""
    name = PRELOGIN_SECURE_COOKIE if cookie_secure(request) else PRELOGIN_COOKIE
    nonce = request.cookies.get(name)
    if nonce and 20 <= len(nonce) <= 100:
        return nonce, False
    return secrets.token_urlsafe(32), True


def set_prelogin_cookie(request: Request, response: Response, nonce: str) -> None:
    secure = cookie_secure(request)
    response.set_cookie(
        PRELOGIN_SECURE_COOKIE if secure else PRELOGIN_COOKIE, nonce, max_age=3600, path="/",
        secure=secure, httponly=True, samesite="strict",
    )  # fmt: skip


def prelogin_csrf_ok(request: Request, submitted: str | None) -> bool:
    name = PRELOGIN_SECURE_COOKIE if cookie_secure(request) else PRELOGIN_COOKIE
    return accounts.csrf_ok(submitted, request.cookies.get(name), app_secret(request))


# ---------------------------------------------------------------- session cookie


def set_session_cookie(request: Request, response: Response, token: str) -> None:
    """The session cookie, with the attributes the backend asks for (see the module docstring)."""
    secure = cookie_secure(request)
    response.set_cookie(
        SECURE_COOKIE if secure else PLAIN_COOKIE, token, max_age=accounts.SESSION_TTL, path="/",
        secure=secure, httponly=True, samesite="lax",
    )  # fmt: skip


def clear_session_cookie(request: Request, response: Response) -> None:
    secure = cookie_secure(request)
    response.delete_cookie(
        SECURE_COOKIE if secure else PLAIN_COOKIE, path="/", secure=secure, httponly=True, samesite="lax"
    )


def safe_next(target: str | None, default: str = "/me") -> str:
    """A local path to go to after login: never another site (no open redirect)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    return target


def login_redirect(request: Request) -> HTTPException:
    """A 303 to the login page that comes back here afterwards (for pages; the API answers 401)."""
    back = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return HTTPException(303, "log in first", headers={"Location": f"/login?next={quote(back, safe='/')}"})


# ---------------------------------------------------------------- login and logout

router = APIRouter(include_in_schema=False)

#: Why a login failed, as the visitor reads it (translated at render time). "invalid" never says whether the
#: user exists.
LOGIN_PROBLEMS: dict[str, str] = {
    "invalid": N_("Wrong username or password."),
    "locked": N_("Too many failed attempts: try again in %(seconds)s seconds."),
    "disabled": N_("This account is disabled. Ask the régie's administrator."),
    "csrf": N_("The form has expired: please try again."),
}
_LOGIN_STATUS = {"invalid": 401, "locked": 429, "disabled": 403, "csrf": 403}


def _login_page(
    request: Request, next_path: str, problem: str | None = None, retry_after: int = 0, username: str = ""
) -> HTMLResponse:
    nonce, fresh = prelogin_nonce(request)
    context = {
        "active": "login",
        "next": next_path,
        "username": username,
        "problem": problem,
        "retry_after": retry_after,
        "csrf": accounts.csrf_token(nonce, app_secret(request)),
        "login_problems": LOGIN_PROBLEMS,
    }
    status = _LOGIN_STATUS.get(problem or "", 200)
    response = render(request, "login.html", context, status_code=status)
    response.headers.update({"Cache-Control": "no-store", "X-Frame-Options": "DENY"})  # no clickjacking of the form
    if fresh:
        set_prelogin_cookie(request, response, nonce)
    if problem == "locked":
        response.headers["Retry-After"] = str(retry_after)
    return response


@router.get("/login", name="login_page", response_class=HTMLResponse)
def login_page(request: Request, caller: CallerDep, next: str | None = None) -> Response:
    """The login form; someone already logged in goes on to their page."""
    if not caller.is_public and caller.via == "session":
        return RedirectResponse(safe_next(next, home_of(caller.account)), status_code=303)
    return _login_page(request, safe_next(next, ""))


@router.post("/login", name="login")
def login(
    request: Request,
    username: Annotated[str, Form(max_length=100)] = "",
    password: Annotated[str, Form(max_length=accounts.MAX_PASSWORD)] = "",
    csrf_token: Annotated[str, Form(max_length=200)] = "",
    next: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """Check the password under throttling; on success open a new session (never reuse one: no fixation)."""
    username = username.strip().lower()
    if not prelogin_csrf_ok(request, csrf_token):
        return _login_page(request, safe_next(next, ""), "csrf", username=username)
    store = _store(request)
    result = accounts.authenticate(
        store, username, password, client_address(request),
        policy=throttle_policy(app_settings(request)),
        hasher=getattr(request.app.state, "password_hasher", None),  # tests use cheap argon2 parameters
    )  # fmt: skip
    if not result.ok or result.account is None:
        log.info("login refused for a user (%s) from %s", result.reason, client_address(request))
        return _login_page(request, safe_next(next, ""), result.reason, result.retry_after, username)
    step = two_factor.login_step(result.account, app_settings(request).require_two_factor)
    if step is not None:  # the password was right; the session opens after the second factor
        return second_step(request, result.account, step, safe_next(next, home_of(result.account)))
    return open_session(request, result.account, safe_next(next, home_of(result.account)))


def second_step(request: Request, account: Account, step: str, next_path: str) -> Response:
    """Send the browser to the second step of the login (``/login/code`` or ``/login/enrol``) with a short-lived
    one-time token in its own cookie."""
    token = two_factor.begin_login(_store(request), account, step)
    response = RedirectResponse(f"/login/{step}?next={quote(next_path, safe='/')}", status_code=303)
    secure = cookie_secure(request)
    response.set_cookie(
        STEP_SECURE_COOKIE if secure else STEP_COOKIE, token, max_age=two_factor.LOGIN_STEP_TTL, path="/",
        secure=secure, httponly=True, samesite="strict",
    )  # fmt: skip
    return response


def step_token(request: Request) -> str | None:
    """The pending login's token (see :func:`second_step`)."""
    return request.cookies.get(STEP_SECURE_COOKIE if cookie_secure(request) else STEP_COOKIE) or None


def open_session(request: Request, account: Account, next_path: str) -> Response:
    """A new session for the account (never the browser's old one: no fixation) and a 303 to ``next_path``."""
    store = _store(request)
    previous = session_token(request)
    if previous:  # a login replaces the session the browser had, whoever it was
        accounts.revoke_session(store, previous)
    token = accounts.create_session(store, account)
    response = RedirectResponse(next_path, status_code=303)
    set_session_cookie(request, response, token)
    secure = cookie_secure(request)
    response.delete_cookie(PRELOGIN_SECURE_COOKIE if secure else PRELOGIN_COOKIE, path="/", secure=secure)
    response.delete_cookie(STEP_SECURE_COOKIE if secure else STEP_COOKIE, path="/", secure=secure)
    return response


@router.post("/logout", name="logout")
async def logout(request: Request, caller: CallerDep) -> Response:
    """End the session (its token is revoked in the store, not only forgotten by the browser)."""
    if caller.via == "session" and caller.session_token:
        await form_with_csrf(request, caller)
        accounts.revoke_session(_store(request), caller.session_token)
    response = RedirectResponse("/", status_code=303)
    clear_session_cookie(request, response)
    return response


def home_of(account: Account) -> str:
    """Where an account lands after login."""
    return {Role.ADMIN: "/admin", Role.OPERATOR: "/operator"}.get(account.role, "/me")
