"""Pages for people: an invitation link, a forgotten password, the second factor of a login, one's own
two-factor settings, and the admin's page to invite people and hand over links.

- ``/invite/<token>``: the invited person chooses a password and answers the consents asked of them.
- ``/password/forgot`` and ``/reset/<token>``: a reset link by e-mail; the form answers the same whether or
  not the address is known (no account enumeration), looks the address up and sends the mail after the
  answer (its timing says nothing either) and is throttled per client address and per address asked for.
- ``/login/code`` and ``/login/enrol``: the step after a right password, for an account with a second factor,
  or one the ``require_two_factor`` setting obliges to enrol first; the session opens only after it.
- ``/me/two-factor``: turn TOTP on (QR code, a first code to confirm, 10 recovery codes shown once), new
  recovery codes, turn it off (unless the setting requires it).
- ``/admin/people``: invite (role, e-mail, holder or organisation run), pending invitations, reset links,
  two-factor off for someone who lost both phone and codes.

Links carry a secret in their path: those pages send no ``Referer`` and are never cached. Forms before a
session carry a CSRF token bound to the pre-login nonce (as the login form) or to the pending login's token.
The rules themselves are in :mod:`regie.governance.invitations` and :mod:`regie.governance.two_factor`.
"""

from __future__ import annotations

import hashlib
import logging
import time
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, BackgroundTasks, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from regie.governance import accounts, invitations, one_time, territories, two_factor
from regie.governance.accounts import Account
from regie.governance.one_time import TokenError
from regie.store import Store
from regie.web import auth, territory_choice
from regie.web.account_pages import (
    CATEGORY_LABELS,
    GRANULARITY_LABELS,
    PURPOSE_LABELS,
    ROLE_LABELS,
    STATUS_LABELS,
    PageCaller,
    _grant_row,
)
from regie.web.auth import Caller
from regie.web.deps import AdminCaller
from regie.web.i18n import N_, negotiate_locale
from regie.web.password_pages import PASSWORD_PROBLEMS
from regie.web.templating import render as render_page

log = logging.getLogger(__name__)
router = APIRouter(include_in_schema=False)

#: Pages whose address holds a secret, or that show one: never cached, never framed, no Referer sent on.
SECRET_HEADERS = {"Cache-Control": "no-store", "X-Frame-Options": "DENY", "Referrer-Policy": "no-referrer"}

#: Why a link cannot be used (:class:`regie.governance.one_time.LinkProblem`), as the visitor reads it.
LINK_PROBLEMS: dict[str, str] = {
    "unknown": N_("This link is unknown. Check that you copied it whole, or ask for a new one."),
    "used": N_("This link was already used, or replaced by a newer one. Each link works once."),
    "expired": N_("This link has expired. Ask for a new one."),
    "disabled": N_("This account is disabled. Ask the régie's administrator."),
}
#: What went wrong on a form of these pages (the password policy's reasons come from the password page).
PEOPLE_PROBLEMS: dict[str, str] = {
    **PASSWORD_PROBLEMS,
    "csrf": N_("The form has expired: please try again."),
    "code": N_(
        "This code is not right (or was already used). Type the 6 digits your app shows now, or a recovery code."
    ),
    "locked": N_("Too many failed attempts: try again in %(seconds)s seconds."),
    "too_many": N_("Too many requests: try again in %(seconds)s seconds."),
    "required": N_("The régie requires a second factor for your account: it cannot be turned off."),
    "invite": N_("The invitation was refused: %(why)s"),
    "invite_email": N_("%(email)s is not an e-mail address (name@example.org)."),
    "invite_holder": N_("A member is invited for a person or organisation of the inventory: choose the holder."),
    "invite_operator_of": N_("An operator runs an organisation or an ACC operation: say which."),
    "invite_no_holder": N_("There is no person or organisation %(holder)s in the inventory."),
    "invite_pending": N_(
        "%(email)s was already invited as %(username)s and has not answered yet: invite again with the same role, "
        "or disable that account first."
    ),
    "invite_active": N_("%(email)s already has the account %(username)s: send a new password link instead."),
    "sealed": N_(
        "Your second factor cannot be checked any more: the régie's secret file changed. Ask the administrator "
        "to turn it off, then set it up again."
    ),
}
DONE_MESSAGES: dict[str, str] = {
    "disabled": N_("Two-factor authentication is off."),
    "two_factor_off": N_("Two-factor authentication is off for this account: it can log in with its password alone."),
}


def _store(request: Request) -> Store:
    return request.app.state.store


def _hasher(request: Request):
    return getattr(request.app.state, "password_hasher", None)  # tests use cheap argon2 parameters


def _render(request: Request, template: str, context: dict[str, Any], status_code: int = 200) -> HTMLResponse:
    shared = {"problems": PEOPLE_PROBLEMS, "link_problems": LINK_PROBLEMS, "role_labels": ROLE_LABELS}
    response = render_page(request, template, {**shared, **context}, status_code=status_code)
    response.headers.update(SECRET_HEADERS)
    return response


def _prelogin_csrf(request: Request) -> tuple[str, str, bool]:
    nonce, fresh = auth.prelogin_nonce(request)
    return nonce, accounts.csrf_token(nonce, auth.app_secret(request)), fresh


def _with_prelogin(request: Request, template: str, context: dict[str, Any], status_code: int = 200) -> Response:
    """A page with a form before any session: its CSRF token is bound to the pre-login nonce cookie."""
    nonce, csrf, fresh = _prelogin_csrf(request)
    response = _render(request, template, {**context, "csrf": csrf}, status_code)
    if fresh:
        auth.set_prelogin_cookie(request, response, nonce)
    return response


def base_url(request: Request) -> str:
    """Where links point: the settings' public URL (what members type), else this request's own address."""
    return auth.app_settings(request).public_url or str(request.base_url).rstrip("/")


async def _form(request: Request) -> dict[str, str]:
    form = await request.form()
    return {k: v for k, v in form.items() if isinstance(v, str)}


def _new_password(form: dict[str, str]) -> tuple[str, str | None]:
    new, again = (form.get(k, "")[: accounts.MAX_PASSWORD + 1] for k in ("new", "again"))
    return new, "mismatch" if new != again else None


# ---------------------------------------------------------------- invitation


def _invite_context(request: Request, acct: Account, token: str) -> dict[str, Any]:
    rows = []
    asked = invitations.requested_grants(_store(request), acct)
    if asked:  # the requests name delivery points of the invited holder's own territory
        inv = _store(request).load_inventory(territories.of_holder(_store(request), acct.holder_id or ""))
        now = int(time.time())
        rows = [_grant_row(g, inv, now) for g in asked]
    return {
        "active": "login", "invited": acct, "token": token, "requests": rows, "min_length": accounts.MIN_PASSWORD,
        "granularity_labels": GRANULARITY_LABELS, "purpose_labels": PURPOSE_LABELS,
        "category_labels": CATEGORY_LABELS, "status_labels": STATUS_LABELS,
    }  # fmt: skip


def _link_problem(request: Request, exc: TokenError, template: str = "invite.html") -> Response:
    status = 404 if exc.problem is one_time.LinkProblem.UNKNOWN else 410
    return _render(request, template, {"active": "login", "link_problem": exc.problem.value}, status)


@router.get("/invite/{token}", name="invite_page", response_class=HTMLResponse)
def invite_page(request: Request, token: str) -> Response:
    """The invited person's page: who they are invited as, the consents asked of them, a password form."""
    try:
        acct, _ = invitations.check_invitation(_store(request), token)
    except TokenError as exc:
        return _link_problem(request, exc)
    return _with_prelogin(request, "invite.html", _invite_context(request, acct, token))


@router.post("/invite/{token}", name="invite_accept")
async def invite_accept(request: Request, token: str) -> Response:
    """Set the password, answer the consents, log in (through the second factor's enrolment when required)."""
    store = _store(request)
    try:
        acct, _ = invitations.check_invitation(store, token)
    except TokenError as exc:
        return _link_problem(request, exc)
    form = await _form(request)
    context = _invite_context(request, acct, token)
    if not auth.prelogin_csrf_ok(request, form.get(auth.CSRF_FIELD)):
        return _with_prelogin(request, "invite.html", {**context, "problem": "csrf"}, 403)
    new, problem = _new_password(form)
    if problem:
        return _with_prelogin(request, "invite.html", {**context, "problem": problem}, 400)
    choices = {k.removeprefix("choice-"): v for k, v in form.items() if k.startswith("choice-")}
    try:
        acct = invitations.accept_invitation(store, token, new, choices=choices, hasher=_hasher(request))
    except accounts.PasswordRejected as exc:
        return _with_prelogin(request, "invite.html", {**context, "problem": exc.reason, "params": exc.params}, 400)
    except TokenError as exc:
        return _link_problem(request, exc)
    home = auth.home_of(acct)
    if two_factor.required(auth.app_settings(request).require_two_factor, acct.role):
        return auth.second_step(request, acct, "enrol", home)
    return auth.open_session(request, acct, home)


# ---------------------------------------------------------------- forgotten password


def _reset_keys(request: Request, email: str) -> dict[str, int]:
    limit = auth.app_settings(request).password_reset_max_requests
    # the address asked for is kept as a digest: the throttling table must not become a list of e-mails
    digest = hashlib.sha256(email.strip().lower().encode()).hexdigest()[:32]
    return {f"reset-addr:{auth.client_address(request)[:100]}": limit, f"reset-mail:{digest}": limit}


@router.get("/password/forgot", name="forgot_page", response_class=HTMLResponse)
def forgot_page(request: Request) -> Response:
    """The "forgot password" form: an e-mail address."""
    return _with_prelogin(request, "invite_forgot.html", {"active": "login"})


def _reset_and_mail(store: Store, email: str, settings: Any, url: str, locale: str) -> None:
    for reset in invitations.request_reset(store, email):
        delivery = invitations.deliver_reset(settings, reset, url, locale)
        if not delivery.mailed:
            log.info("no reset link mailed to an account: %s", delivery.problem)


@router.post("/password/forgot", name="forgot")
async def forgot(request: Request, background: BackgroundTasks) -> Response:
    """Answer the same whatever the address; mail the links after the answer. Throttled."""
    form = await _form(request)
    email = form.get("email", "")[:300]
    if not auth.prelogin_csrf_ok(request, form.get(auth.CSRF_FIELD)):
        return _with_prelogin(request, "invite_forgot.html", {"active": "login", "problem": "csrf"}, 403)
    store = _store(request)
    keys = _reset_keys(request, email)
    policy = auth.throttle_policy(auth.app_settings(request))
    wait = accounts.locked_for(store, *keys)
    if wait:
        context = {"active": "login", "problem": "too_many", "params": {"seconds": wait}}
        response = _with_prelogin(request, "invite_forgot.html", context, 429)
        response.headers["Retry-After"] = str(wait)
        return response
    accounts.count_failures(store, keys, policy=policy)
    # Looking the address up, making the links and mailing them all happen after the answer: the answer does
    # the same work, in the same time, whether or not an account has this address.
    background.add_task(_reset_and_mail, store, email, auth.app_settings(request), base_url(request),
                        negotiate_locale(request))  # fmt: skip
    return _with_prelogin(request, "invite_forgot.html", {"active": "login", "sent": True})


@router.get("/reset/{token}", name="reset_page", response_class=HTMLResponse)
def reset_page(request: Request, token: str) -> Response:
    """The new-password form of a reset link."""
    try:
        acct = invitations.check_reset(_store(request), token)
    except TokenError as exc:
        return _link_problem(request, exc, "invite_reset.html")
    return _with_prelogin(request, "invite_reset.html", _reset_context(acct, token))


def _reset_context(acct: Account, token: str) -> dict[str, Any]:
    return {"active": "login", "reset_account": acct, "token": token, "min_length": accounts.MIN_PASSWORD}


@router.post("/reset/{token}", name="reset")
async def reset(request: Request, token: str) -> Response:
    """Set the new password; every session of the account ends; the person logs in again (with their second
    factor, if they have one)."""
    store = _store(request)
    try:
        acct = invitations.check_reset(store, token)
    except TokenError as exc:
        return _link_problem(request, exc, "invite_reset.html")
    form = await _form(request)
    context = _reset_context(acct, token)
    if not auth.prelogin_csrf_ok(request, form.get(auth.CSRF_FIELD)):
        return _with_prelogin(request, "invite_reset.html", {**context, "problem": "csrf"}, 403)
    new, problem = _new_password(form)
    if problem:
        return _with_prelogin(request, "invite_reset.html", {**context, "problem": problem}, 400)
    try:
        invitations.reset_password(store, token, new, hasher=_hasher(request))
    except accounts.PasswordRejected as exc:
        return _with_prelogin(request, "invite_reset.html", {**context, "problem": exc.reason, "params": exc.params},
                              400)  # fmt: skip
    except TokenError as exc:
        return _link_problem(request, exc, "invite_reset.html")
    return _render(request, "invite_reset.html", {"active": "login", "reset_done": True})


# ---------------------------------------------------------------- login's second step


def _pending(request: Request, step: str) -> tuple[Account, str] | None:
    token = auth.step_token(request)
    acct = two_factor.pending_login(_store(request), token, step)
    return None if acct is None or token is None else (acct, token)


async def _pending_form(request: Request, step: str) -> tuple[Account, str, dict[str, str], bool] | None:
    """The pending login's account and token, the posted form and whether its CSRF token is right; None when
    there is no pending login of this step (expired, spent, or none)."""
    pending = _pending(request, step)
    if pending is None:
        return None
    acct, token = pending
    form = await _form(request)
    return acct, token, form, accounts.csrf_ok(form.get(auth.CSRF_FIELD), token, auth.app_secret(request))


def _restart_login(request: Request) -> Response:
    back = auth.safe_next(request.query_params.get("next"), "")
    return RedirectResponse(f"/login?next={quote(back, safe='/')}" if back else "/login", status_code=303)


def _step_csrf(request: Request, token: str) -> str:
    return accounts.csrf_token(token, auth.app_secret(request))


def _code_page(request: Request, acct: Account, token: str, problem: str | None = None, status: int = 200,
               **params: int) -> Response:  # fmt: skip
    next_path = auth.safe_next(request.query_params.get("next"), auth.home_of(acct))
    context = {"active": "login", "who": acct, "csrf": _step_csrf(request, token), "problem": problem,
               "params": params, "next": next_path}  # fmt: skip
    response = _render(request, "two_factor_login.html", context, status)
    if problem == "locked":
        response.headers["Retry-After"] = str(params.get("seconds", 0))
    return response


@router.get("/login/code", name="login_code_page", response_class=HTMLResponse)
def login_code_page(request: Request) -> Response:
    """Ask the code of the authenticator app (or a recovery code)."""
    pending = _pending(request, "code")
    if pending is None:
        return _restart_login(request)
    return _code_page(request, *pending)


@router.post("/login/code", name="login_code")
async def login_code(request: Request) -> Response:
    """Check the code (throttled, never the same one twice); open the session."""
    posted = await _pending_form(request, "code")
    if posted is None:
        return _restart_login(request)
    acct, token, form, csrf_ok = posted
    if not csrf_ok:
        return _code_page(request, acct, token, "csrf", 403)
    store = _store(request)
    try:
        result = two_factor.check_code(
            store, acct, auth.app_secret(request), form.get("code", "")[:64], auth.client_address(request),
            policy=auth.throttle_policy(auth.app_settings(request)),
        )  # fmt: skip
    except two_factor.TwoFactorError:
        return _code_page(request, acct, token, "sealed", 409)
    if not result.ok:
        status = 429 if result.reason == "locked" else 401
        return _code_page(request, acct, token, "locked" if result.reason == "locked" else "code", status,
                          seconds=result.retry_after)  # fmt: skip
    if not two_factor.finish_login(store, token, "code"):
        return _restart_login(request)
    return auth.open_session(request, acct, auth.safe_next(form.get("next"), auth.home_of(acct)))


def _enrol_page(request: Request, acct: Account, csrf: str | None, action: str, problem: str | None = None,
                status: int = 200) -> Response:  # fmt: skip
    enrolment = two_factor.begin_enrolment(_store(request), acct, auth.app_secret(request))
    context = {"active": "account", "who": acct, "enrolment": enrolment, "csrf": csrf, "action": action,
               "problem": problem, "params": {}, "forced": action.startswith("/login/"),
               "next": auth.safe_next(request.query_params.get("next"), auth.home_of(acct))}  # fmt: skip
    return _render(request, "two_factor_enrol.html", context, status)


def _codes_page(request: Request, codes: list[str], next_path: str, status: int = 200) -> HTMLResponse:
    return _render(request, "two_factor_codes.html", {"active": "account", "codes": codes, "next": next_path}, status)


@router.get("/login/enrol", name="login_enrol_page", response_class=HTMLResponse)
def login_enrol_page(request: Request) -> Response:
    """The setting requires a second factor and this account has none: enrol before the session opens."""
    pending = _pending(request, "enrol")
    if pending is None:
        return _restart_login(request)
    acct, token = pending
    return _enrol_page(request, acct, _step_csrf(request, token), "/login/enrol")


@router.post("/login/enrol", name="login_enrol")
async def login_enrol(request: Request) -> Response:
    """Confirm the first code; show the recovery codes once, with the session now open."""
    posted = await _pending_form(request, "enrol")
    if posted is None:
        return _restart_login(request)
    acct, token, form, csrf_ok = posted
    csrf = _step_csrf(request, token)
    if not csrf_ok:
        return _enrol_page(request, acct, csrf, "/login/enrol", "csrf", 403)
    store = _store(request)
    codes = two_factor.confirm_enrolment(store, acct, auth.app_secret(request), form.get("code", "")[:64])
    if codes is None:
        return _enrol_page(request, acct, csrf, "/login/enrol", "code", 400)
    if not two_factor.finish_login(store, token, "enrol"):
        return _restart_login(request)
    next_path = auth.safe_next(form.get("next"), auth.home_of(acct))
    session = auth.open_session(request, acct, next_path)  # its cookies go on the page that shows the codes
    response = _codes_page(request, codes, next_path)
    for name, value in session.headers.items():
        if name.lower() == "set-cookie":
            response.headers.append("set-cookie", value)
    return response


# ---------------------------------------------------------------- one's own second factor


def _session_only(caller: Caller) -> None:
    if caller.via != "session":
        raise HTTPException(403, "log in with your password to change your second factor")


def _my_page(request: Request, caller: Caller, problem: str | None = None, status: int = 200, **params: int):
    store = _store(request)
    acct = caller.account
    context = {
        "active": "account", "account": acct, "csrf": auth.csrf_for(request, caller), "problem": problem,
        "params": params, "left": two_factor.recovery_left(store, acct) if acct.two_factor else 0,
        "required": two_factor.required(auth.app_settings(request).require_two_factor, acct.role),
        "done": DONE_MESSAGES.get(request.query_params.get("done", "")),
    }  # fmt: skip
    return _render(request, "two_factor.html", context, status)


@router.get("/me/two-factor", name="two_factor_page", response_class=HTMLResponse)
def two_factor_page(request: Request, caller: PageCaller) -> Response:
    """Whether the second factor is on, recovery codes left, and the forms to change it."""
    _session_only(caller)
    return _my_page(request, caller)


@router.get("/me/two-factor/enrol", name="two_factor_enrol_page", response_class=HTMLResponse)
def two_factor_enrol_page(request: Request, caller: PageCaller) -> Response:
    """The QR code, the secret, and a field for the first code."""
    _session_only(caller)
    if caller.account.two_factor:
        return RedirectResponse("/me/two-factor", status_code=303)
    return _enrol_page(request, caller.account, auth.csrf_for(request, caller), "/me/two-factor/enrol")


@router.post("/me/two-factor/enrol", name="two_factor_enrol")
async def two_factor_enrol(request: Request, caller: PageCaller) -> Response:
    """Confirm the first code; show the recovery codes once."""
    _session_only(caller)
    form = await auth.form_with_csrf(request, caller)
    csrf = auth.csrf_for(request, caller)
    try:
        codes = two_factor.confirm_enrolment(_store(request), caller.account, auth.app_secret(request),
                                             str(form.get("code") or "")[:64])  # fmt: skip
    except two_factor.TwoFactorError:
        return RedirectResponse("/me/two-factor", status_code=303)
    if codes is None:
        return _enrol_page(request, caller.account, csrf, "/me/two-factor/enrol", "code", 400)
    return _codes_page(request, codes, "/me/two-factor")


async def _checked_code(request: Request, caller: Caller) -> Response | None:
    """The page with a problem when the form's code is wrong, else None (the code is spent)."""
    form = await auth.form_with_csrf(request, caller)
    if not caller.account.two_factor:
        return RedirectResponse("/me/two-factor", status_code=303)
    try:
        result = two_factor.check_code(
            _store(request), caller.account, auth.app_secret(request), str(form.get("code") or "")[:64],
            auth.client_address(request), policy=auth.throttle_policy(auth.app_settings(request)),
        )  # fmt: skip
    except two_factor.TwoFactorError:
        return _my_page(request, caller, "sealed", 409)
    if result.reason == "locked":
        return _my_page(request, caller, "locked", 429, seconds=result.retry_after)
    if not result.ok:
        return _my_page(request, caller, "code", 400)
    return None


@router.post("/me/two-factor/codes", name="two_factor_codes")
async def two_factor_codes(request: Request, caller: PageCaller) -> Response:
    """Ten new recovery codes (a current code asked first); the old ones stop working."""
    _session_only(caller)
    refused = await _checked_code(request, caller)
    if refused is not None:
        return refused
    return _codes_page(request, two_factor.new_recovery_codes(_store(request), caller.account), "/me/two-factor")


@router.post("/me/two-factor/off", name="two_factor_off")
async def two_factor_off(request: Request, caller: PageCaller) -> Response:
    """Turn the second factor off (a current code asked first), unless the setting requires it."""
    _session_only(caller)
    if two_factor.required(auth.app_settings(request).require_two_factor, caller.role):
        await auth.form_with_csrf(request, caller)
        return _my_page(request, caller, "required", 403)
    refused = await _checked_code(request, caller)
    if refused is not None:
        return refused
    two_factor.disable(_store(request), caller.account, caller.account)
    return RedirectResponse("/me/two-factor?done=disabled", status_code=303)


# ---------------------------------------------------------------- the admin's page


def _when(t: int) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%d %H:%M UTC")


def _admin_context(request: Request, caller: Caller) -> dict[str, Any]:
    """The people of the territory shown (:mod:`regie.web.territory_choice`) and the accounts the admin sees
    (:func:`regie.governance.territories.accounts_seen_by`: an admin of one territory, that territory's)."""
    store = _store(request)
    choice = territory_choice.choose(request, caller)
    try:
        inv = store.load_inventory(choice.id)
        persons, organisations = inv.persons, inv.organisations
    except LookupError:
        persons, organisations = [], []
    now = int(time.time())
    seen = territories.accounts_seen_by(store, caller.account)
    ids = {a.id for a in seen}
    pending = {a.username: (_when(until), until > now) for a, until in invitations.pending_invitations(store)
               if a.id in ids}  # fmt: skip
    return {
        **territory_choice.context(choice),
        "active": "account", "account": caller.account, "csrf": auth.csrf_for(request, caller),
        "persons": persons, "organisations": organisations, "accounts": seen,
        "pending": pending, "smtp": bool(auth.app_settings(request).smtp_host),
        "locale": negotiate_locale(request), "params": {},
        "done": DONE_MESSAGES.get(request.query_params.get("done", "")),
    }  # fmt: skip


@router.get("/admin/people", name="people_admin", response_class=HTMLResponse)
def people_admin(request: Request, caller: AdminCaller) -> Response:
    """Invite someone; see who has not answered; hand over links."""
    context = _admin_context(request, caller)
    response = _render(request, "invite_admin.html", context)
    return territory_choice.remember(request, response, context["territory_choice"])


def _invite_problem(exc: ValueError) -> tuple[str, dict[str, str]]:
    """The translated message of a refused invitation when there is one, else the refusal's own words."""
    reason = getattr(exc, "reason", "other")
    if f"invite_{reason}" in PEOPLE_PROBLEMS:
        return f"invite_{reason}", dict(getattr(exc, "params", {}))
    return "invite", {"why": str(exc)}


@router.post("/admin/people/invite", name="people_invite")
async def people_invite(request: Request, caller: AdminCaller) -> Response:
    """Create the account and its link; mail it, or show it to hand over (an admin of one territory invites
    the people of that territory only: :func:`regie.governance.invitations.invite` refuses others)."""
    form = {k: v for k, v in (await auth.form_with_csrf(request, caller)).items() if isinstance(v, str)}
    role = form.get("role", "member")
    holder = form.get("holder") or None if role == "member" else None
    operator_of = (form.get("operator_of") or "").strip() or None if role == "operator" else None
    email = form.get("email", "").strip()
    if not email and holder:  # the person's e-mail of the inventory, when the field was left empty
        email = invitations.person_emails(_store(request)).get(holder, "")
    try:
        invitation = invitations.invite(
            _store(request), caller.account, email=email, role=role, holder_id=holder, operator_of=operator_of,
            username=(form.get("username") or "").strip().lower() or None,
            territory_id=caller.account.territory_id,
        )  # fmt: skip
    except ValueError as exc:  # InvitationError and AccountError are ValueErrors
        problem, params = _invite_problem(exc)
        context = {**_admin_context(request, caller), "problem": problem, "params": params, "form": form}
        return _render(request, "invite_admin.html", context, 400)
    lang = form.get("lang") if form.get("lang") in ("fr", "en") else negotiate_locale(request)
    delivery = invitations.deliver(auth.app_settings(request), invitation, base_url(request), lang)
    context = {**_admin_context(request, caller), "invited": invitation.account, "delivery": delivery,
               "expires_at": _when(invitation.expires_at)}  # fmt: skip
    return _render(request, "invite_admin.html", context)


@router.post("/admin/people/{username}/reset-link", name="people_reset_link")
async def people_reset_link(request: Request, caller: AdminCaller, username: str) -> Response:
    """A reset link for the account: mailed when the régie sends mail and the account has an address, else
    shown to hand over (an account the admin does not see is refused as unknown, and the refusal logged)."""
    await auth.form_with_csrf(request, caller)
    try:
        reset_ = invitations.reset_link(_store(request), caller.account, username)
    except accounts.AccountError as exc:
        context = {**_admin_context(request, caller), "problem": "invite", "params": {"why": str(exc)}}
        return _render(request, "invite_admin.html", context, 400)
    delivery = invitations.deliver_reset(auth.app_settings(request), reset_, base_url(request),
                                         negotiate_locale(request))  # fmt: skip
    context = {**_admin_context(request, caller), "reset_for": reset_.account, "delivery": delivery,
               "expires_at": _when(reset_.expires_at)}  # fmt: skip
    return _render(request, "invite_admin.html", context)


@router.post("/admin/people/{username}/two-factor-off", name="people_two_factor_off")
async def people_two_factor_off(request: Request, caller: AdminCaller, username: str) -> Response:
    """Turn someone's second factor off (they lost their phone and their recovery codes); an account the admin
    does not see is answered as unknown (the refusal is logged)."""
    await auth.form_with_csrf(request, caller)
    target = accounts.get_account(_store(request), username)
    if target is None:
        raise HTTPException(404, f"no account {username!r}")
    try:
        two_factor.disable(_store(request), target, caller.account)
    except two_factor.TwoFactorError:
        raise HTTPException(404, f"no account {username!r}") from None
    query = territory_choice.query(territory_choice.choose(request, caller))
    return RedirectResponse(f"/admin/people{query}{'&' if query else '?'}done=two_factor_off", status_code=303)
