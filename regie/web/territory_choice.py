"""Which territory a page shows, when a store holds several (:mod:`regie.governance.territories`).

The choice is, in order: the ``territory`` query parameter (remembered in a cookie), the cookie, the
account's own territory, the store's main one (:func:`regie.governance.territories.main_territory`: the one
whose data came first, so adding a territory never changes it). An account that runs
one territory (an admin or operator with ``territory_id``) sees that one only: asking for another is a 403,
logged in the access log (:func:`regie.governance.territories.refuse`); a cookie naming another is ignored.
The public and an account of every territory may choose any. The chooser (``setup_chooser.html``, in the
header) lists the territories the visitor may see, and shows only when there are at least two.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import HTTPException, Query, Request, Response
from fastapi.responses import HTMLResponse

from regie.governance import territories
from regie.model import Territory
from regie.store import Store
from regie.web.auth import ANONYMOUS, Caller, cookie_secure, resolve_caller
from regie.web.templating import render

COOKIE = "regie_territory"
PARAM = "territory"

#: The ``?territory=`` parameter as the JSON API documents it (:func:`choose` reads it from the request).
TerritoryQ = Annotated[
    str | None,
    Query(description="the territory's id, when the store holds several (default: the caller's own, else the "
                      "store's first); an account that runs one territory is refused any other", max_length=64),
]


class Refused(Exception):
    """A page of a territory the caller's account does not run (already logged): the refusal page, 403."""

    def __init__(self, why: str) -> None:
        super().__init__(why)
        self.why = why


def refused_page(request: Request, exc: Exception) -> HTMLResponse:
    """The exception handler for :class:`Refused` (registered by :func:`regie.web.app.create_app`)."""
    message = exc.why if isinstance(exc, Refused) else str(exc)
    return render(request, "refused.html", {"active": "territory", "message": message}, status_code=403)


@dataclass(frozen=True, slots=True)
class Choice:
    """The territory shown (``id``; None when the store has none yet), those the visitor may pick, and whether
    the choice came from the query (then :func:`remember` keeps it in a cookie)."""

    id: str | None
    options: tuple[Territory, ...]
    asked: bool = False

    @property
    def several(self) -> bool:
        return len(self.options) > 1


def choose(request: Request, caller: Caller | None = None) -> Choice:
    """The territory this request's page shows (see the module docstring); 404 for an unknown one, 403
    (logged) for one the caller's account does not run."""
    store: Store = request.app.state.store
    if caller is None:
        try:
            caller = resolve_caller(request)
        except HTTPException:  # a wrong API key on a public page: it stays the public page it always was
            caller = ANONYMOUS
    account = caller.account
    everything = territories.list_territories(store)
    if not everything:
        return Choice(None, ())
    ids = [t.id for t in everything]
    options = tuple(territories.visible(store, account)) if territories.scoped(account) else tuple(everything)
    asked = (request.query_params.get(PARAM) or "").strip()[:64]
    if asked:
        if asked not in ids:
            raise HTTPException(404, f"no territory {asked!r} in this store")
        if not territories.may_see(account, asked):
            why = territories.refuse(store, account, asked, request.url.path)
            raise HTTPException(403, why) if request.url.path.startswith("/api/") else Refused(why)
        return Choice(asked, options, asked=True)
    remembered = request.cookies.get(COOKIE)
    if remembered in ids and territories.may_see(account, remembered):
        return Choice(remembered, options)
    if account.territory_id in ids:
        return Choice(account.territory_id, options)
    return Choice(territories.main_territory(store), options)


def remember(request: Request, response: Response, choice: Choice) -> Response:
    """Keep a territory picked in the query for the next pages (a cookie, not a secret: HttpOnly, Lax)."""
    if choice.asked and choice.id is not None:
        response.set_cookie(COOKIE, choice.id, max_age=365 * 86400, path="/", httponly=True, samesite="lax",
                            secure=cookie_secure(request))  # fmt: skip
    return response


def query(choice: Choice) -> str:
    """``?territory=ID`` for the links and forms of a page when the visitor may see several territories (a form
    then acts on the territory its page showed, whatever another tab chose meanwhile), else nothing."""
    return f"?{PARAM}={choice.id}" if choice.several and choice.id is not None else ""


def context(choice: Choice) -> dict[str, object]:
    """What the header's chooser needs (``setup_chooser.html``), and the query a page's forms carry."""
    return {"territory_choice": choice, "territory_query": query(choice)}
