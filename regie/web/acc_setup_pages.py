"""Setting up an ACC operation from the browser: create it, add participants, record exits, change the key.

Every change calls one function of :mod:`regie.governance.acc_setup` — the same as ``regie acc ...`` — which
decides who may (the operation's PMO or an admin), checks the perimeter and logs the change. These pages
read no curve: the set-up page shows the participants, whose consent to the PMO is still missing
(:func:`regie.governance.acc_setup.participant_consents`, which reads nothing), and the key periods.

The perimeter and power checks run as the PMO types: ``acc_setup.js`` asks ``GET /acc/check`` (debounced)
for the operation with the participant being typed, and shows the largest distance and the total peak
power with the rule each limit comes from; the same check refuses the save server-side.

This router is included before :mod:`regie.web.acc_pages`'s, so ``/acc/new`` and ``/acc/check`` are not
taken for an operation id.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from regie.governance import acc_setup, invitations
from regie.governance.accounts import Role
from regie.model import GridZone, Operation, ParticipantType, mask_prm
from regie.store import Store
from regie.store.operations import StoredOperation, load_operation
from regie.web import auth, i18n
from regie.web.acc_pages import CONSENT_LABELS, KEY_LABELS, ROLE_LABELS, TYPE_LABELS, AccCaller, data_days
from regie.web.auth import Caller
from regie.web.i18n import N_
from regie.web.people_pages import base_url as people_base_url
from regie.web.templating import render

router = APIRouter(include_in_schema=False)

#: The rule each limit comes from, as the pages say it (``PerimeterCheck.distance_rule`` / ``power_rule``).
RULE_LABELS: dict[str, str] = {
    "2km": N_("2 km: arrêté of 21 November 2019, art. 1"),
    "10km": N_("10 km with the derogation, every commune rural or periurban: arrêté of 21 November 2019, art. 1 bis"),
    "20km": N_("20 km with the derogation, every commune rural: arrêté of 21 November 2019, art. 1 bis"),
    "3MW": N_("below 3 MW: arrêté of 21 November 2019, art. 2"),
    "5MW": N_("below 5 MW: arrêté of 21 February 2025"),
    "zni": N_("below 0.5 MW in a non-interconnected zone: arrêté of 21 November 2019, art. 2"),
}
ZONE_LABELS: dict[str, str] = {"mainland": N_("Mainland France"), "zni": N_("Non-interconnected zone (ZNI)")}
DENSITY_LABELS: dict[str, str] = {"urban": N_("Urban"), "periurban": N_("Periurban"), "rural": N_("Rural")}


def _store(request: Request) -> Store:
    return request.app.state.store


def _gettext(request: Request) -> Callable[[str], str]:
    return i18n.translations(i18n.negotiate_locale(request)).gettext


def _labels() -> dict[str, Any]:
    return {"key_labels": KEY_LABELS, "role_labels": ROLE_LABELS, "type_labels": TYPE_LABELS,
            "rule_labels": RULE_LABELS, "consent_labels": CONSENT_LABELS, "zone_labels": ZONE_LABELS,
            "density_labels": DENSITY_LABELS, "keys": acc_setup.SETTABLE_KEYS, "steps": acc_setup.STEPS,
            "types": [t.value for t in ParticipantType]}  # fmt: skip


def _not_allowed(request: Request, message: str) -> HTMLResponse:
    gettext = _gettext(request)
    return render(request, "acc_error.html", {"active": "acc", "title": gettext("Not allowed"),
                                              "message": gettext(message)}, status_code=403)  # fmt: skip


def _pmos(request: Request, caller: Caller) -> list[tuple[str, str]]:
    """The organisations the caller may create an operation for: its own (an operator), any (an admin)."""
    return [(o_id, name) for o_id, name, _ in acc_setup.pmo_choices(_store(request), caller.account)]


def _day(text: str | None, what: str) -> date:
    try:
        return date.fromisoformat((text or "").strip())
    except ValueError:
        raise acc_setup.SetupError(f"{what} {text!r}: write the day as YYYY-MM-DD") from None


# ---------------------------------------------------------------- a new operation


def _new_form(request: Request, caller: Caller, values: dict[str, Any], error: str | None = None,
              status_code: int = 200) -> HTMLResponse:
    return render(request, "acc_new.html", {
        "active": "acc", "pmos": _pmos(request, caller), "values": values, "error": error,
        "csrf": auth.csrf_for(request, caller), **_labels(),
    }, status_code=status_code)  # fmt: skip


@router.get("/acc/new", name="acc_new", response_class=HTMLResponse)
def acc_new(request: Request, caller: AccCaller) -> Response:
    """The form a PMO (or an admin) creates an operation with."""
    if caller.account.role not in (Role.ADMIN, Role.OPERATOR):
        return _not_allowed(request, N_("Only a PMO's operators and the régie's administrators create operations."))
    return _new_form(request, caller, {"step": "PT30M", "zone": "mainland", "key": "default"})


def _writer(request: Request, caller: Caller) -> Response | None:
    """An API key changes an operation only with the ``write`` scope (sessions are not limited by scopes)."""
    if caller.may("write"):
        return None
    return _not_allowed(request, N_("This API key lacks the 'write' scope."))


@router.post("/acc/new", name="acc_create")
async def acc_create(request: Request, caller: AccCaller) -> Response:
    if (refused := _writer(request, caller)) is not None:
        return refused
    form = await auth.form_with_csrf(request, caller)
    values = {k: v for k, v in form.items() if isinstance(v, str)}
    try:
        made = acc_setup.create_operation(
            _store(request), caller.account, operation_id=values.get("id", "").strip(),
            name=values.get("name", ""), pmo_id=values.get("pmo", ""), step=values.get("step", "PT30M"),
            zone=values.get("zone", "mainland"), derogation=values.get("derogation") == "on",
            key=values.get("key", "default"),
        )  # fmt: skip
    except acc_setup.NotManager:
        return _not_allowed(request, N_("Only a PMO's operators and the régie's administrators create operations."))
    except acc_setup.SetupError as exc:
        return _new_form(request, caller, values, str(exc), 400)
    return RedirectResponse(f"/acc/{made.operation.id}/setup?done=created", status_code=303)


# ---------------------------------------------------------------- the live check


def _float(text: str | None, scale: float = 1.0) -> float | None:
    if text is None or not text.strip():
        return None
    return float(text.replace(",", ".")) * scale


def check_sentences(check: acc_setup.PerimeterCheck, gettext: Callable[[str], str]) -> tuple[list[str], list[str]]:
    """The check's refusals and warnings in the visitor's language (the governance texts are English)."""
    refusals, warnings = [], []
    if check.distance_m > check.distance_limit_m and check.pair:
        refusals.append(gettext("%(a)s and %(b)s are %(km)s km apart, more than the %(limit)s km allowed.")
                        % {"a": check.pair[0], "b": check.pair[1], "km": f"{check.distance_m / 1000:.2f}",
                           "limit": f"{check.distance_limit_m / 1000:g}"})  # fmt: skip
    if check.power_w >= check.power_limit_w:
        refusals.append(gettext("The producers' total peak power, %(mw)s MW, must stay below %(limit)s MW.")
                        % {"mw": f"{check.power_w / 1e6:.3f}", "limit": f"{check.power_limit_w / 1e6:g}"})
    if not check.producers:
        warnings.append(gettext("No producer yet."))
    if not check.consumers:
        warnings.append(gettext("No consumer yet."))
    if check.unlocated:
        warnings.append(gettext("No position for %(prms)s: the distance cannot be checked.")
                        % {"prms": ", ".join(check.unlocated)})
    return refusals, warnings


def _check_json(check: acc_setup.PerimeterCheck, gettext: Callable[[str], str]) -> dict[str, Any]:
    refusals, warnings = check_sentences(check, gettext)
    return {
        "ok": check.ok, "distance_km": round(check.distance_m / 1000, 3),
        "distance_limit_km": check.distance_limit_m / 1000,
        "distance_source": gettext(RULE_LABELS[check.distance_rule]),
        "power_mw": round(check.power_w / 1e6, 4), "power_limit_mw": check.power_limit_w / 1e6,
        "power_source": gettext(RULE_LABELS[check.power_rule]), "pair": check.pair,
        "refusals": refusals, "warnings": warnings, "error": None,
    }  # fmt: skip


def candidate_values(q: dict[str, str]) -> dict[str, Any]:
    """A participant's typed fields as :func:`regie.governance.acc_setup.add_participant` takes them."""
    entry = q.get("entry", "").strip()
    exit_ = q.get("exit", "").strip()
    return {
        "prm": q.get("prm", "").strip(), "role": q.get("role") or "consumer",
        "entry": _day(entry, "entry") if entry else date.today(),
        "exit": _day(exit_, "exit") if exit_ else None, "type": q.get("type") or "household",
        "priority": int(q.get("priority") or 1), "weight": _float(q.get("weight")) or 1.0,
        "peak_power_w": _float(q.get("peak_kw"), 1000.0), "latitude": _float(q.get("latitude")),
        "longitude": _float(q.get("longitude")), "density": q.get("density") or None, "name": q.get("name", ""),
    }  # fmt: skip


@router.get("/acc/check", name="acc_check")
def acc_check(request: Request, caller: AccCaller) -> Response:
    """The perimeter of an operation with the participant being typed (``operation`` plus the participant's
    fields), or of a new operation's zone and derogation: JSON for ``acc_setup.js``."""
    gettext = _gettext(request)
    q = dict(request.query_params)
    store = _store(request)
    op_id = q.get("operation", "").strip()
    try:
        if op_id:
            stored = load_operation(store, op_id)
            if not acc_setup.may_manage(caller.account, stored.operation.pmo_id, op_id):
                return JSONResponse({"error": gettext("Not allowed")}, status_code=403)
            op = stored.operation
            if q.get("prm", "").strip():
                op, _ = acc_setup.with_candidate(store, stored, candidate_values(q))
        else:
            if caller.account.role not in (Role.ADMIN, Role.OPERATOR):
                return JSONResponse({"error": gettext("Not allowed")}, status_code=403)
            op = Operation("new", "new", "pmo", (), zone=GridZone(q.get("zone") or "mainland"),
                           derogation=q.get("derogation") in ("on", "true", "1"))  # fmt: skip
    except LookupError:
        return JSONResponse({"error": gettext("No such operation")}, status_code=404)
    except (acc_setup.SetupError, ValueError) as exc:
        return JSONResponse({"ok": False, "error": str(exc)})
    return JSONResponse(_check_json(acc_setup.perimeter_check(op), gettext))


# ---------------------------------------------------------------- the set-up page


def consent_period(store: Store, stored: StoredOperation) -> tuple[int, int]:
    """The period whose consents matter now: the year the operation page shows by default (the last year
    with data), else today."""
    inv = store.load_inventory(stored.territory_id)
    zone = inv.territory.zone
    span = data_days(store, zone)
    if span is not None:
        first, after = date(span[1].year, 1, 1), date(span[1].year + 1, 1, 1)
    else:
        first = date.today()
        after = first + timedelta(days=1)
    return (int(datetime(first.year, first.month, first.day, tzinfo=zone).timestamp()),
            int(datetime(after.year, after.month, after.day, tzinfo=zone).timestamp()))  # fmt: skip


def _open(request: Request, caller: Caller, operation_id: str) -> StoredOperation | Response:
    try:
        stored = load_operation(_store(request), operation_id)
    except LookupError:
        gettext = _gettext(request)
        return render(request, "acc_error.html", {"active": "acc", "title": gettext("No such operation"),
                                                  "message": operation_id}, status_code=404)  # fmt: skip
    if not acc_setup.may_manage(caller.account, stored.operation.pmo_id, operation_id):
        return _not_allowed(request, N_("This page is for the operation's PMO and the régie's administrators."))
    return stored


def _setup_page(request: Request, caller: Caller, stored: StoredOperation, *, error: str | None = None,
                values: dict[str, Any] | None = None, status_code: int = 200, done: str | None = None,
                invited: acc_setup.AddedParticipant | None = None,
                delivery: invitations.Delivery | None = None) -> HTMLResponse:
    store = _store(request)
    op = stored.operation
    inv = store.load_inventory(stored.territory_id)
    start, end = consent_period(store, stored)
    consents = acc_setup.participant_consents(store, stored, start, end)
    state = {(c.participant.prm, c.participant.role): c for c in consents}
    rows = [{"p": p, "prm": mask_prm(p.prm), "name": p.name or mask_prm(p.prm), "n": i,
             "consent": state.get((p.prm, p.role))} for i, p in enumerate(op.participants)]  # fmt: skip
    zone = inv.territory.zone
    base = f"/acc/{op.id}"
    return render(request, "acc_setup.html", {
        "active": "acc", "tab": "setup", "operation": op, "stored": stored, "access": None,
        "pmo_name": next((o.name for o in inv.organisations if o.id == op.pmo_id), op.pmo_id),
        "links": {"overview": base, "allocation": f"{base}/allocation", "compare": f"{base}/keys",
                  "invoices": f"{base}/invoices", "setup": f"{base}/setup"},
        "rows": rows, "missing": [c for c in consents if not c.consented],
        "period": (datetime.fromtimestamp(start, zone).date(), datetime.fromtimestamp(end - 1, zone).date()),
        "check": acc_setup.perimeter_check(op), "periods": [
            {"since": k.since, "key": k.key, "params": json.dumps(acc_setup.masked_params(k.params), sort_keys=True)
             if k.params else ""} for k in stored.key_periods],
        "error": error, "values": values or {}, "done": done or request.query_params.get("done"),
        "invited": invited, "delivery": delivery,
        "csrf": auth.csrf_for(request, caller), **_labels(),
    }, status_code=status_code)  # fmt: skip


@router.get("/acc/{operation_id}/setup", name="acc_setup", response_class=HTMLResponse)
def acc_setup_page(request: Request, caller: AccCaller, operation_id: str) -> Response:
    """Participants with their consent to the PMO, the key periods, and the forms that change them."""
    opened = _open(request, caller, operation_id)
    if isinstance(opened, Response):
        return opened
    return _setup_page(request, caller, opened)


async def _change(request: Request, caller: Caller, operation_id: str,
                  apply: Callable[[StoredOperation, dict[str, str]], str | Response]) -> Response:
    """Check the form's CSRF token, apply one governance change, and come back to the set-up page (or show
    the page ``apply`` rendered)."""
    if (refused := _writer(request, caller)) is not None:
        return refused
    form = await auth.form_with_csrf(request, caller)
    values = {k: v for k, v in form.items() if isinstance(v, str)}
    opened = _open(request, caller, operation_id)
    if isinstance(opened, Response):
        return opened
    try:
        done = apply(opened, values)
    except acc_setup.NotManager:
        return _not_allowed(request, N_("This page is for the operation's PMO and the régie's administrators."))
    except (acc_setup.SetupError, LookupError, ValueError) as exc:
        return _setup_page(request, caller, load_operation(_store(request), operation_id), error=str(exc),
                           values=values, status_code=400)  # fmt: skip
    if isinstance(done, Response):
        return done
    return RedirectResponse(f"/acc/{operation_id}/setup?done={done}", status_code=303)


@router.post("/acc/{operation_id}/setup/participants", name="acc_add_participant")
async def acc_add_participant(request: Request, caller: AccCaller, operation_id: str) -> Response:
    """Add a participant; with an e-mail address, its holder is invited too. When the invitation cannot be
    mailed, its one-time link is shown on the page returned (never put in a redirect's address)."""
    def apply(stored: StoredOperation, values: dict[str, str]) -> str | Response:
        if not values.get("entry", "").strip():
            raise acc_setup.SetupError("give the participant's entry day")
        store = _store(request)
        values_in = candidate_values(values)
        op, _ = acc_setup.with_candidate(store, stored, values_in)
        refusals, _ = check_sentences(acc_setup.perimeter_check(op), _gettext(request))
        if refusals:  # said in the visitor's language; add_participant refuses the same on its own
            raise acc_setup.SetupError(" ".join(refusals))
        added = acc_setup.add_participant(store, caller.account, stored.operation.id, values_in,
                                          share=_float(values.get("share")), email=values.get("email"))  # fmt: skip
        if added.invitation is None and added.invitation_note is None:
            return "added"
        delivery = None
        if added.invitation is not None:
            delivery = invitations.deliver(auth.app_settings(request), added.invitation, people_base_url(request),
                                           i18n.negotiate_locale(request))  # fmt: skip
        return _setup_page(request, caller, load_operation(store, stored.operation.id), done="added",
                           invited=added, delivery=delivery)  # fmt: skip

    return await _change(request, caller, operation_id, apply)


@router.post("/acc/{operation_id}/setup/exit", name="acc_record_exit")
async def acc_record_exit(request: Request, caller: AccCaller, operation_id: str) -> Response:
    def apply(stored: StoredOperation, values: dict[str, str]) -> str:
        n = values.get("n", "")
        if not n.isdigit() or int(n) >= len(stored.operation.participants):
            raise acc_setup.SetupError(f"participant {n!r}: no such participant in this operation")
        p = stored.operation.participants[int(n)]
        acc_setup.record_exit(_store(request), caller.account, stored.operation.id, p.prm,
                              _day(values.get("on"), "exit"), role=p.role.value)  # fmt: skip
        return "left"

    return await _change(request, caller, operation_id, apply)


@router.post("/acc/{operation_id}/setup/key", name="acc_set_key")
async def acc_set_key(request: Request, caller: AccCaller, operation_id: str) -> Response:
    def apply(stored: StoredOperation, values: dict[str, str]) -> str:
        params = acc_setup.parse_params(values.get("params"))
        acc_setup.set_key(_store(request), caller.account, stored.operation.id, values.get("key", ""),
                          _day(values.get("since"), "from"), params)  # fmt: skip
        return "key"

    return await _change(request, caller, operation_id, apply)
