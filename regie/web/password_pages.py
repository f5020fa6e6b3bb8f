"""Change one's own password (``/me/password``), for every kind of account, with the policy's reasons said in
the visitor's language.

The current password is asked again and checked under the login throttling (a stolen session must not be
enough to take the account over, nor a way to guess the password without limit). The new one goes through
:func:`regie.governance.accounts.set_password`, which applies the password policy (NIST SP 800-63B
§5.1.1.2: length, common passwords, a strength score for admins and operators) and ends every session of
the account; this browser then gets a new session, so the person stays logged in here and nowhere else.
"""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from regie.governance import accounts
from regie.web import auth
from regie.web.account_pages import PageCaller, render
from regie.web.auth import Caller
from regie.web.i18n import N_

router = APIRouter(include_in_schema=False)

#: Why a new password was refused (:class:`regie.governance.accounts.PasswordRejected` reasons), and the
#: form's own problems; translated at render time with the rejection's parameters.
PASSWORD_PROBLEMS: dict[str, str] = {
    "length": N_("A password has %(min)s to %(max)s characters."),
    "common": N_(
        "This password is too common or too easy to guess (a known password, your username, a repeated or "
        "sequential series of characters). A few unrelated words make a good password."
    ),
    "weak": N_(
        "Your account opens other people's data: its password must be harder to guess (strength %(score)s out "
        "of 4, %(needed)s needed). Add a word or make it longer."
    ),
    "current": N_("Your current password is wrong."),
    "locked": N_("Too many failed attempts: try again in %(seconds)s seconds."),
    "mismatch": N_("The two new passwords differ."),
}
DONE = N_("Your password is changed; every other session of your account is closed.")


def _page(
    request: Request, caller: Caller, problem: str | None = None, status: int = 200, **params: int
) -> HTMLResponse:
    context = {
        "active": "account",
        "account": caller.account,
        "csrf": auth.csrf_for(request, caller),
        "problem": PASSWORD_PROBLEMS.get(problem or ""),
        "done": request.query_params.get("done") == "1" and problem is None,
        "params": params,
        "min_length": accounts.MIN_PASSWORD,
        "done_message": DONE,
    }
    return render(request, "password.html", context, status_code=status)


def _session_only(caller: Caller) -> None:
    if caller.via != "session":  # an API key has no password to change
        raise HTTPException(403, "log in with your password to change it")


@router.get("/me/password", name="password_page", response_class=HTMLResponse)
def password_page(request: Request, caller: PageCaller) -> Response:
    """The form: current password, new password twice."""
    _session_only(caller)
    return _page(request, caller)


@router.post("/me/password", name="password_change")
async def password_change(request: Request, caller: PageCaller) -> Response:
    """Check the current password (throttled), apply the policy to the new one, open a fresh session."""
    _session_only(caller)
    form = await auth.form_with_csrf(request, caller)
    current, new, again = (str(form.get(k) or "")[: accounts.MAX_PASSWORD + 1] for k in ("current", "new", "again"))
    if new != again:
        return _page(request, caller, "mismatch", 400)
    store = request.app.state.store
    hasher = getattr(request.app.state, "password_hasher", None)  # tests use cheap argon2 parameters
    check = accounts.authenticate(
        store, caller.account.username, current, auth.client_address(request),
        policy=auth.throttle_policy(auth.app_settings(request)), hasher=hasher,
    )  # fmt: skip
    if check.reason == "locked":
        return _page(request, caller, "locked", 429, seconds=check.retry_after)
    if not check.ok:
        return _page(request, caller, "current", 400)
    try:
        accounts.set_password(store, caller.account.username, new, actor=caller.account, hasher=hasher)
    except accounts.PasswordRejected as exc:
        return _page(request, caller, exc.reason, 400, **exc.params)
    response = RedirectResponse("/me/password?done=1", status_code=303)
    auth.set_session_cookie(request, response, accounts.create_session(store, caller.account))
    return response
