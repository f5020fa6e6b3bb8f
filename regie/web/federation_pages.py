"""``/admin/peers``: the régie's peers, for its administrators: add one by URL and key fingerprint, choose
what flows each way, suspend or resume it (the same functions as `regie peer ...`, logged alike). Who: the
régie's administrators (:data:`regie.web.deps.AdminCaller`, the one admin check)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from regie.federation import identity, peers
from regie.store import federation as rows
from regie.web import auth
from regie.web.account_pages import _base, render
from regie.web.deps import AdminCaller

router = APIRouter(include_in_schema=False)


def _page(request: Request, caller, problem: str | None = None, status_code: int = 200) -> Response:
    store = request.app.state.store
    data_dir = getattr(request.app.state, "federation_dir", None)
    mine = identity.load_or_create(data_dir).current.key_id if data_dir is not None else None
    context = {**_base(request, caller, "account"), "peers": rows.peers(store), "kinds": peers.KINDS,
               "fingerprint": mine, "problem": problem}  # fmt: skip
    return render(request, "peers.html", context, status_code=status_code)


@router.get("/admin/peers", name="peers_page", response_class=HTMLResponse)
def peers_page(request: Request, caller: AdminCaller) -> Response:
    """The peers, their keys and flows, this régie's own fingerprint, the form to add one."""
    return _page(request, caller)


@router.post("/admin/peers", name="peers_add")
async def peers_add(request: Request, caller: AdminCaller) -> Response:
    """Add a peer (its well-known document must offer the typed fingerprint)."""
    form = await auth.form_with_csrf(request, caller)
    try:
        peers.add(request.app.state.store, caller.account.label, url=str(form.get("url") or "")[:500],
                  key_fingerprint=str(form.get("fingerprint") or "")[:100], peer_id=str(form.get("id") or "") or None,
                  send=tuple(form.getlist("send")), receive=tuple(form.getlist("receive")))  # fmt: skip
    except peers.PeerError as exc:
        return _page(request, caller, str(exc), 400)
    return RedirectResponse("/admin/peers", status_code=303)


@router.post("/admin/peers/{peer_id}/status", name="peers_status")
async def peers_status(request: Request, caller: AdminCaller, peer_id: str) -> Response:
    """Suspend or resume a peer."""
    form = await auth.form_with_csrf(request, caller)
    try:
        peers.set_status(request.app.state.store, peer_id, str(form.get("status") or ""), caller.account.label)
    except peers.PeerError as exc:
        return _page(request, caller, str(exc), 404 if rows.peer(request.app.state.store, peer_id) is None else 400)
    return RedirectResponse("/admin/peers", status_code=303)
