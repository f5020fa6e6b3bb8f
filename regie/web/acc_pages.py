"""Pages of a collective self-consumption operation (ACC): the PMO's and each participant's.

Who sees what, and under whose authority
----------------------------------------
Decided in :mod:`regie.governance.acc_access` (the PMO, the régie's admins with a reason, a participant
through a stand-in for the PMO); these pages only render the decision. Every curve is read through
:func:`regie.services.acc.gate_reader` bound to the account that decision names, so each read is decided
by the participants' own grants and logged. A participant's page keeps only their own rows, and only from
the day they hold the delivery point: a participant never sees another's curve, allocation, bill or name.

Savings are an estimate: what the participant's allocated energy would have cost at their supplier's price
(:data:`SUPPLIER_REFERENCE_PRICE`, or the price they type in, per kWh *including* taxes, as printed on a
supplier's bill) minus what the local energy bill charges for it (all taxes included).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Annotated, Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import numpy as np
from babel.numbers import format_currency
from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, Response

from regie.analytics.acc import dynamic_keys, format_keys_csv
from regie.governance import acc_access, acc_setup
from regie.governance.gate import AccessDenied
from regie.model import Inventory, Operation, Participant, mask_prm
from regie.model.operation import distance_limit_m, haversine_m, perimeter_problems
from regie.services import acc as service
from regie.services import invoices as docs
from regie.store import Store
from regie.store.operations import operation_ids
from regie.web import auth, i18n
from regie.web.auth import Caller
from regie.web.i18n import N_
from regie.web.templating import render

router = APIRouter(include_in_schema=False)

#: The supplier price a participant's savings are measured against, per kWh *including* taxes [EUR/kWh]:
#: the regulated sales tariff (TRVE, EDF "Tarif Bleu"), option Base, ≤ 36 kVA, in force from 1 February 2025
#: (0.2016 EUR/kWh incl. VAT and excise, as published with the CRE's proposal of January 2025). A default
#: for an estimate only: a participant types their own contract's price on their page
#: (``supplier_price``), and a régie sets ``app.state.acc_supplier_price`` to the tariff its members know.
SUPPLIER_REFERENCE_PRICE = 0.2016
SUPPLIER_REFERENCE_SOURCE = N_("Regulated sales tariff (Tarif Bleu), option Base, from 1 February 2025")
#: Keys that can be simulated without PMO files (dynamic simple and full dynamic keys are the PMO's own files).
SIMULATED_KEYS: tuple[str, ...] = ("default", "static", "priority")

KEY_LABELS: dict[str, str] = {
    "default": N_("Default dynamic key"),
    "static": N_("Static key"),
    "priority": N_("Priority key"),
    "dynamic_simple": N_("Dynamic simple key"),
    "full_dynamic": N_("Full dynamic key"),
}
TYPE_LABELS: dict[str, str] = {
    "household": N_("Household"),
    "commune": N_("Commune"),
    "business": N_("Business"),
    "public_body": N_("Public body"),
    "association": N_("Association"),
    "other": N_("Other"),
}
ROLE_LABELS: dict[str, str] = {"consumer": N_("Consumer"), "producer": N_("Producer")}
VIEW_LEVELS: dict[str, str] = {"year": "month", "month": "day", "day": "step"}
#: A participant's consent to the PMO (``regie.governance.acc_setup.ParticipantConsent.state``), as pages say it.
CONSENT_LABELS: dict[str, str] = {
    "given": N_("consented"),
    "requested": N_("asked, not answered yet"),
    "refused": N_("refused"),
    "withdrawn": N_("withdrawn"),
    "expired": N_("expired"),
    "insufficient": N_("a grant that does not cover this period or the operation's step"),
    "none": N_("never asked"),
    "no_holder": N_("nobody holds this delivery point in the inventory"),
    "no_series": N_("no load curve declared for this delivery point"),
}


# ---------------------------------------------------------------- who is asking


def acc_caller(request: Request) -> Caller:
    """A logged-in caller (the public, and keys without an owner, are sent to the login form)."""
    caller = auth.resolve_caller(request)
    if caller.is_public:
        raise auth.login_redirect(request)
    if not caller.may("read"):
        raise HTTPException(403, "this API key lacks the 'read' scope")
    return caller


AccCaller = Annotated[Caller, Depends(acc_caller)]


def _store(request: Request) -> Store:
    return request.app.state.store


def _locale(request: Request) -> str:
    return i18n.negotiate_locale(request)


def _gettext(request: Request) -> Callable[[str], str]:
    return i18n.translations(_locale(request)).gettext


@dataclass(frozen=True, slots=True)
class OperationAccess:
    """An operation opened for one caller: as ``pmo``, ``admin`` or ``participant``, with the reader to use."""

    stored: service.StoredOperation
    inventory: Inventory
    as_: str
    reader: service.CurveReader
    reason: str | None = None
    own: dict[str, date] | None = None  # participant: PRM → first day held

    @property
    def operation(self) -> Operation:
        return self.stored.operation

    @property
    def zone(self) -> ZoneInfo:
        return self.inventory.territory.zone

    @property
    def pmo_name(self) -> str:
        op = self.operation
        return next((o.name for o in self.inventory.organisations if o.id == op.pmo_id), op.pmo_id)


class Refusal(Exception):
    """A page that cannot be shown to this caller: the response that says why."""

    def __init__(self, response: Response) -> None:
        super().__init__("refused")
        self.response = response


def _page_error(request: Request, title: str, message: str, status_code: int, **extra: Any) -> HTMLResponse:
    return render(
        request,
        "acc_error.html",
        {"active": "acc", "title": title, "message": message, **extra},
        status_code=status_code,
    )


def open_operation(
    request: Request, caller: Caller, operation_id: str, *, want: str, document: bool = False
) -> OperationAccess:
    """Load an operation and decide who the caller is for it; raise :class:`Refusal` when they may not see it.

    ``want`` is ``pmo`` (the PMO's pages: the PMO and admins) or ``participant`` (a participant's own page).
    """
    store = _store(request)
    gettext = _gettext(request)
    try:
        stored = service.stored_operation(store, operation_id)
    except LookupError:
        raise Refusal(_page_error(request, gettext("No such operation"), operation_id, 404)) from None
    inventory = store.load_inventory(stored.territory_id)
    op = stored.operation
    try:
        role = acc_access.open_as(caller.account, op, inventory, want, request.query_params.get("reason"))
    except acc_access.ReasonRequired:
        if document:
            raise Refusal(
                _page_error(
                    request,
                    gettext("State a reason"),
                    gettext("An administrator reads personal data only with a reason."),
                    400,
                )
            ) from None
        raise Refusal(render(request, "acc_reason.html", {
            "active": "acc", "operation": op,
            "keep": [(k, v) for k, v in request.query_params.multi_items() if k not in ("reason", "lang")],
        })) from None  # fmt: skip
    except acc_access.NotAllowed:
        role = None
    if role is not None:
        reader = service.gate_reader(store, role.reader, step=op.step, reason=role.reason)
        return OperationAccess(stored, inventory, role.as_, reader, role.reason, own=role.own)
    message = (
        gettext("This page is for the operation's PMO and the régie's administrators.")
        if want == "pmo"
        else gettext("This page is for the operation's participants.")
    )
    raise Refusal(_page_error(request, gettext("Not allowed"), message, 403))


def _computation_error(request: Request, access: OperationAccess, exc: Exception) -> HTMLResponse:
    """The gate refused a curve (403), or the service cannot answer as asked (409): say which and why."""
    gettext = _gettext(request)
    if isinstance(exc, AccessDenied):
        return _page_error(
            request,
            gettext("Access refused by the governance gate"),
            exc.reason,
            403,
            operation=access.operation,
            access=access,
            gate=True,
        )
    return _page_error(
        request, gettext("This cannot be computed"), str(exc), 409, operation=access.operation, access=access
    )


COMPUTE_ERRORS = (AccessDenied, service.AccRequestError, LookupError, ValueError)


# ---------------------------------------------------------------- periods


def data_days(store: Store, zone: ZoneInfo) -> tuple[date, date] | None:
    """First and last local day the store holds readings for."""
    span = store.data_period()
    if span is None:
        return None
    return span[0].astimezone(zone).date(), span[1].astimezone(zone).date()


def _midnight(d: date, zone: ZoneInfo) -> int:
    return int(datetime(d.year, d.month, d.day, tzinfo=zone).timestamp())


def parse_period(text: str | None, zone: ZoneInfo, default: str) -> tuple[str, str, int, int]:
    """``YYYY``, ``YYYY-MM`` or ``YYYY-MM-DD`` → (kind, text, start, end) in UTC seconds; the default if empty."""
    text = (text or default).strip()
    try:
        if len(text) == 4:
            start, end = service.year_bounds(int(text), zone)
            return "year", text, start, end
        if len(text) == 7:
            start, end = service.month_bounds(text, zone)
            return "month", text, start, end
        d = date.fromisoformat(text)
    except ValueError:
        raise service.AccRequestError(f"period {text!r}: write YYYY, YYYY-MM or YYYY-MM-DD") from None
    return "day", text, _midnight(d, zone), _midnight(d + timedelta(days=1), zone)


def _money(amount: Decimal | float, locale: str) -> str:
    return format_currency(amount, "EUR", locale="fr_FR" if locale == "fr" else "en_GB")


def _kwh(wh: float) -> float:
    return round(float(wh) / 1000, 3)


def _label(t: int, level: str, zone: ZoneInfo) -> str:
    """A sub-period's label: ``2025-06`` for a month, ``2025-06-15`` for a day, ``14:30`` for a step."""
    return datetime.fromtimestamp(int(t), zone).strftime({"month": "%Y-%m", "day": "%Y-%m-%d"}.get(level, "%H:%M"))


def _links(access: OperationAccess) -> dict[str, str]:
    """The operation's tabs, each keeping the admin's reason."""
    base = f"/acc/{access.operation.id}"
    keep = urlencode({"reason": access.reason}) if access.reason else ""
    q = f"?{keep}" if keep else ""
    return {
        "overview": base + q,
        "allocation": f"{base}/allocation{q}",
        "compare": f"{base}/keys{q}",
        "invoices": f"{base}/invoices{q}",
        "setup": f"{base}/setup",
        "reason_q": keep,
    }


def _base(request: Request, access: OperationAccess, tab: str) -> dict[str, Any]:
    return {
        "active": "acc",
        "tab": tab,
        "operation": access.operation,
        "access": access,
        "pmo_name": access.pmo_name,
        "links": _links(access),
        "key_labels": KEY_LABELS,
        "type_labels": TYPE_LABELS,
        "role_labels": ROLE_LABELS,
    }


def _who(p: Participant) -> str:
    return p.name or mask_prm(p.prm)


# ---------------------------------------------------------------- the list of operations


@router.get("/acc", name="acc_index", response_class=HTMLResponse)
def acc_index(request: Request, caller: AccCaller) -> Response:
    """The operations this caller may open: all (admin), the ones it runs (PMO), the ones it is part of."""
    store = _store(request)
    rows = []
    for op_id in operation_ids(store):
        stored = service.stored_operation(store, op_id)
        op = stored.operation
        seen = acc_access.sees_as(caller.account, op, store.load_inventory(stored.territory_id))
        if seen is not None:
            href = f"/acc/{op.id}" if seen == acc_access.PMO else f"/acc/{op.id}/me"
            rows.append({"operation": op, "href": href, "as": seen})
    may_create = bool(acc_setup.pmo_choices(store, caller.account))
    return render(request, "acc_index.html", {"active": "acc", "rows": rows, "may_create": may_create})


# ---------------------------------------------------------------- the PMO: the operation


def participant_rows(op: Operation, on: date) -> list[dict[str, Any]]:
    """Each participant with its dates and perimeter status: ``ok``, ``left``, ``unlocated`` or ``far``.

    ``far`` means the participant is farther than the operation's distance limit from another participant
    that counts on ``on`` (arrêté du 21 novembre 2019, art. 1); ``distance_km`` is that largest distance.
    """
    limit = distance_limit_m(op)
    located = [p for p in op.active_on(on) if p.latitude is not None]
    rows = []
    for p in op.participants:
        farthest = 0.0
        if p.latitude is not None:
            others = [q for q in located if q is not p]
            if others:
                farthest = float(
                    np.max(
                        haversine_m(
                            p.latitude,
                            p.longitude,
                            np.array([q.latitude for q in others]),
                            np.array([q.longitude for q in others]),
                        )
                    )
                )
        status = (
            "left"
            if p.exit is not None and p.exit <= on
            else "unlocated"
            if p.latitude is None
            else "far"
            if farthest > limit
            else "ok"
        )
        rows.append(
            {
                "p": p,
                "prm": mask_prm(p.prm),
                "name": _who(p),
                "status": status,
                "distance_km": farthest / 1000,
                "future": p.entry > on,
            }
        )
    return rows


def sankey_config(result: service.OperationAllocation, gettext: Callable[[str], str]) -> dict[str, Any]:
    """The Sankey's nodes and links with translated names for the surplus and the suppliers' complement."""
    data = service.sankey(result)
    names = {"surplus": gettext("Surplus (SURPLUS)"), "grid": gettext("Suppliers (COMPLEMENT)")}
    linked = {x for link in data["links"] for x in (link["source"], link["target"])}
    data["nodes"] = [n for n in data["nodes"] if n["id"] in linked]  # no zero-width node (no surplus, say)
    for node in data["nodes"]:
        node["label"] = names.get(node["id"], node["name"])
    return data


@router.get("/acc/{operation_id}", name="acc_operation", response_class=HTMLResponse)
def acc_operation(request: Request, caller: AccCaller, operation_id: str, period: str | None = None) -> Response:
    """The PMO's view: participants and perimeter, and the flows of a month or a year as a Sankey."""
    try:
        access = open_operation(request, caller, operation_id, want="pmo")
    except Refusal as r:
        return r.response
    store, zone, op = _store(request), access.zone, access.operation
    span = data_days(store, zone)
    today = date.today()
    on = min(today, span[1]) if span else today
    context = {
        **_base(request, access, "overview"),
        "participants": participant_rows(op, on),
        "on": on,
        "problems": perimeter_problems(op, on),
        "limit_km": distance_limit_m(op) / 1000,
        "peak_w": op.peak_power_w,
        "span": span,
        "period": None,
        "flows": None,
        "rates": None,
    }
    if span is None:
        return render(request, "acc_operation.html", context)
    try:
        kind, text, start, end = parse_period(period, zone, str(span[1].year))
        if kind == "day":
            raise service.AccRequestError("the flows are shown for a month (YYYY-MM) or a year (YYYY)")
        missing = [c for c in acc_setup.participant_consents(store, access.stored, start, end) if not c.consented]
        if missing:  # nothing is read: the page says whose consent is missing instead of a refusal
            context.update(period=text, not_consented=missing, consent_labels=CONSENT_LABELS,
                           years=list(range(span[0].year, span[1].year + 1)), months=_months(span))
            return render(request, "acc_operation.html", context)
        result = service.allocate_stored(store, op.id, start, end, access.reader)
    except COMPUTE_ERRORS as exc:
        return _computation_error(request, access, exc)
    gettext = _gettext(request)
    context.update(period=text, period_kind=kind, rates=result.rates(), key=result.key,
                   flows=result.participants(), masked=[mask_prm(f.participant.prm) for f in result.participants()],
                   missing={mask_prm(k): v for k, v in
                                                                     result.curves.missing.items()},
                   years=list(range(span[0].year, span[1].year + 1)),
                   months=_months(span), chart={"locale": _locale(request), "sankey": sankey_config(result, gettext),
                                                "strings": {"kwh": "kWh"}})  # fmt: skip
    return render(request, "acc_operation.html", context)


def _months(span: tuple[date, date]) -> list[str]:
    out, d = [], span[0].replace(day=1)
    while d <= span[1]:
        out.append(f"{d:%Y-%m}")
        d = (d + timedelta(days=32)).replace(day=1)
    return out


# ---------------------------------------------------------------- the PMO: allocation per day / month / year


def allocation_table(result: service.OperationAllocation, level: str, zone: ZoneInfo) -> dict[str, Any]:
    """Per sub-period and per participant [kWh] for the chart, and the period's totals for the table."""
    flows = result.by_period(level)  # type: ignore[arg-type]
    labels = [_label(int(t), level, zone) for t in flows.edges[:-1]]
    return {
        "labels": labels,
        "consumers": [{"name": _who(p), "autocons": [_kwh(v) for v in flows.autocons[:, j]],
                       "complement": [_kwh(v) for v in flows.complement[:, j]]}
                      for j, p in enumerate(flows.consumers)],
        "production": [_kwh(v) for v in flows.prod.sum(axis=1)],
        "surplus": [_kwh(v) for v in flows.surplus.sum(axis=1)],
    }  # fmt: skip


@router.get("/acc/{operation_id}/allocation", name="acc_allocation", response_class=HTMLResponse)
def acc_allocation(
    request: Request, caller: AccCaller, operation_id: str, view: str = "month", period: str | None = None
) -> Response:
    """Allocation per participant over a year (by month), a month (by day) or a day (by metering step)."""
    try:
        access = open_operation(request, caller, operation_id, want="pmo")
    except Refusal as r:
        return r.response
    store, zone, op = _store(request), access.zone, access.operation
    span = data_days(store, zone)
    view = view if view in VIEW_LEVELS else "month"
    context = {**_base(request, access, "allocation"), "view": view, "span": span, "result": None}
    if span is None:
        return render(request, "acc_allocation.html", context)
    last = span[1]
    default = {"year": str(last.year), "month": f"{last:%Y-%m}", "day": last.isoformat()}[view]
    try:
        kind, text, start, end = parse_period(period, zone, default)
        if kind != view:
            raise service.AccRequestError(
                f"the {view} view needs a period written "
                f"{ {'year': 'YYYY', 'month': 'YYYY-MM', 'day': 'YYYY-MM-DD'}[view] }"
            )
        result = service.allocate_stored(store, op.id, start, end, access.reader)
    except COMPUTE_ERRORS as exc:
        return _computation_error(request, access, exc)
    table = allocation_table(result, VIEW_LEVELS[view], zone)
    gettext = _gettext(request)
    context.update(period=text, result=result, rates=result.rates(), flows=result.participants(),
                   masked=[mask_prm(f.participant.prm) for f in result.participants()],
                   chart={"locale": _locale(request), "allocation": table,
                          "strings": {"autocons": gettext("Allocated (AUTOCONS)"),
                                      "production": gettext("Production (PROD)"),
                                      "surplus": gettext("Surplus (SURPLUS)"), "kwh": "kWh"}})  # fmt: skip
    return render(request, "acc_allocation.html", context)


# ---------------------------------------------------------------- the PMO: keys side by side


@router.get("/acc/{operation_id}/keys", name="acc_keys", response_class=HTMLResponse)
def acc_keys(
    request: Request, caller: AccCaller, operation_id: str, key: Annotated[list[str] | None, Query()] = None
) -> Response:
    """What each chosen key would have given each consumer over the last twelve whole months."""
    try:
        access = open_operation(request, caller, operation_id, want="pmo")
    except Refusal as r:
        return r.response
    store, zone, stored = _store(request), access.zone, access.stored
    available = [k for k in SIMULATED_KEYS if k != "static" or stored.static_shares]
    chosen = [k for k in dict.fromkeys(key or ()) if k in available]
    if len(chosen) < 1:
        chosen = list(
            dict.fromkeys(
                [stored.key if stored.key in available else "default", *(k for k in available if k != stored.key)]
            )
        )[:2]
    context = {
        **_base(request, access, "keys"),
        "available": available,
        "chosen": chosen,
        "comparison": None,
        "stored_key": stored.key,
    }
    try:
        start, end = service.last_year_bounds(store, zone)
        curves = service.load_curves(store, stored.operation, start, end, access.reader, stored.territory_id)
        comparison = service.compare_keys(curves, chosen, static_shares=stored.static_shares)
    except COMPUTE_ERRORS as exc:
        return _computation_error(request, access, exc)
    rows = [{"p": p, "name": _who(p), "prm": mask_prm(p.prm), "cons": comparison.cons[j],
             "autocons": {k: comparison.autocons[k][j] for k in comparison.keys}}
            for j, p in enumerate(comparison.consumers)]  # fmt: skip
    totals = {k: float(comparison.autocons[k].sum()) for k in comparison.keys}
    context.update(
        comparison=comparison,
        rows=rows,
        totals=totals,
        total_cons=float(comparison.cons.sum()),
        first=datetime.fromtimestamp(start, zone).date(),
        last=datetime.fromtimestamp(end - 1, zone).date(),
    )
    return render(request, "acc_keys.html", context)


# ---------------------------------------------------------------- the PMO: invoices and files


def _allow_illustrative(request: Request) -> bool:
    return request.app.state.settings.acc_allow_illustrative


@router.get("/acc/{operation_id}/invoices", name="acc_invoices", response_class=HTMLResponse)
def acc_invoices(request: Request, caller: AccCaller, operation_id: str, month: str | None = None) -> Response:
    """A month's invoices (one per consumer) and producer statements, with their PDF and CSV files."""
    try:
        access = open_operation(request, caller, operation_id, want="pmo")
    except Refusal as r:
        return r.response
    store, zone, op = _store(request), access.zone, access.operation
    span = data_days(store, zone)
    context = {**_base(request, access, "invoices"), "run": None, "span": span}
    if span is None:
        return render(request, "acc_invoices.html", context)
    try:
        kind, text, _, _ = parse_period(month, zone, f"{span[1]:%Y-%m}")
        if kind != "month":
            raise service.AccRequestError("invoices are monthly: write the month as YYYY-MM")
        run = service.bill_month(store, op.id, text, access.reader, allow_illustrative=_allow_illustrative(request))
    except COMPUTE_ERRORS as exc:
        return _computation_error(request, access, exc)
    locale = _locale(request)
    context.update(
        month=text, run=run, months=_months(span), years=list(range(span[0].year, span[1].year + 1)),
        bills=[{"cb": cb, "name": _who(cb.participant), "prm": mask_prm(cb.participant.prm),
                "excl": _money(cb.bill.total_excl_vat_eur, locale), "incl": _money(cb.bill.total_incl_vat_eur, locale)}
               for cb in run.bills],
        statements=[{"st": st, "name": _who(st.participant), "prm": mask_prm(st.participant.prm),
                     "sales": _money(st.local_sales_eur, locale)} for st in run.statements],
        total_excl=_money(run.total_excl_vat_eur, locale), total_incl=_money(run.total_incl_vat_eur, locale),
    )  # fmt: skip
    return render(request, "acc_invoices.html", context)


def _download(body: bytes | str, filename: str, media_type: str) -> Response:
    data = body.encode("utf-8") if isinstance(body, str) else body
    return Response(
        data,
        media_type=media_type,
        headers={"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"},
    )


def _lang(request: Request) -> docs.Lang:
    return "en" if _locale(request) == "en" else "fr"


@router.get("/acc/{operation_id}/invoices/{month}/{document}", name="acc_invoice_document")
def acc_invoice_document(request: Request, caller: AccCaller, operation_id: str, month: str, document: str) -> Response:
    """One document of a month: ``<number>.pdf`` (an invoice or a producer statement), ``invoices.csv`` or
    ``statements.csv``."""
    try:
        access = open_operation(request, caller, operation_id, want="pmo", document=True)
    except Refusal as r:
        return r.response
    store = _store(request)
    try:
        run = service.bill_month(
            store, access.operation.id, month, access.reader, allow_illustrative=_allow_illustrative(request)
        )
    except COMPUTE_ERRORS as exc:
        return _computation_error(request, access, exc)
    if document == "invoices.csv":
        return _download(docs.invoices_csv(run), f"{access.operation.id}-{month}-invoices.csv", "text/csv")
    if document == "statements.csv":
        return _download(docs.statements_csv(run), f"{access.operation.id}-{month}-statements.csv", "text/csv")
    number = document.removesuffix(".pdf")
    for cb in run.bills:
        if cb.number == number and document.endswith(".pdf"):
            pdf = docs.invoice_pdf(cb, run, pmo_name=access.pmo_name, lang=_lang(request))
            return _download(pdf, f"{cb.number}.pdf", "application/pdf")
    for st in run.statements:
        if st.number == number and document.endswith(".pdf"):
            pdf = docs.statement_pdf(st, run, pmo_name=access.pmo_name, lang=_lang(request))
            return _download(pdf, f"{st.number}.pdf", "application/pdf")
    return _page_error(request, _gettext(request)("No such document"), document, 404)


@router.get("/acc/{operation_id}/summary/{document}", name="acc_summary_document")
def acc_summary_document(request: Request, caller: AccCaller, operation_id: str, document: str) -> Response:
    """The yearly summary of the operation: ``<year>.pdf`` or ``<year>.csv``."""
    try:
        access = open_operation(request, caller, operation_id, want="pmo", document=True)
    except Refusal as r:
        return r.response
    year, _, fmt = document.partition(".")
    if not (year.isdigit() and len(year) == 4 and fmt in ("pdf", "csv")):
        return _page_error(request, _gettext(request)("No such document"), document, 404)
    try:
        summary = service.yearly_summary(
            _store(request),
            access.operation.id,
            int(year),
            access.reader,
            allow_illustrative=_allow_illustrative(request),
        )
    except COMPUTE_ERRORS as exc:
        return _computation_error(request, access, exc)
    name = f"{access.operation.id}-{year}-summary.{fmt}"
    if fmt == "csv":
        return _download(docs.summary_csv(summary), name, "text/csv")
    return _download(docs.summary_pdf(summary, pmo_name=access.pmo_name, lang=_lang(request)), name, "application/pdf")


@router.get("/acc/{operation_id}/dynamic-keys/{month}.csv", name="acc_dynamic_keys")
def acc_dynamic_keys(request: Request, caller: AccCaller, operation_id: str, month: str) -> Response:
    """The keys file the PMO sends to the grid operator for a month: the operation's key, step by step.

    It holds the consumers' full PRMs, as the grid operator needs them: it is for the PMO only.
    """
    try:
        access = open_operation(request, caller, operation_id, want="pmo", document=True)
    except Refusal as r:
        return r.response
    try:
        start, end = service.month_bounds(month, access.zone)
        result = service.allocate_stored(_store(request), access.operation.id, start, end, access.reader)
    except COMPUTE_ERRORS as exc:
        return _computation_error(request, access, exc)
    keys = dynamic_keys(result.allocation)
    text = format_keys_csv(result.curves.t, [p.prm for p in result.consumers], keys, zone=access.zone)
    return _download(text, f"{access.operation.id}-{month}-keys.csv", "text/csv")


# ---------------------------------------------------------------- a participant


def supplier_price(request: Request, typed: str | None) -> tuple[float, bool]:
    """The supplier price savings are measured against [EUR/kWh incl. taxes], and whether the visitor typed it."""
    if typed:
        try:
            value = float(typed.replace(",", "."))
        except ValueError:
            value = math.nan
        if math.isfinite(value) and 0 <= value <= 5:
            return value, True
    configured = request.app.state.settings.acc_supplier_price  # REGIE_ACC_SUPPLIER_PRICE
    return (SUPPLIER_REFERENCE_PRICE if configured is None else configured), False


def my_rows(summary: service.YearlySummary, own: dict[str, date], price: float) -> list[dict[str, Any]]:
    """The participant's months: energies [kWh], the local bill and the estimated savings [EUR].

    Only bills of the delivery points the participant holds, and only from the month their holding began.
    """
    rows = []
    for run in summary.months:
        for cb in run.bills:
            since = own.get(cb.participant.prm)
            if since is None or run.end < since:
                continue
            autocons = float(cb.autocons_wh) / 1000
            billed = float(cb.bill.total_incl_vat_eur)
            rows.append({"month": f"{run.start:%Y-%m}", "number": cb.number, "prm": mask_prm(cb.participant.prm),
                         "cons": float(cb.cons_wh) / 1000, "autocons": autocons,
                         "complement": float(cb.complement_wh) / 1000,
                         "share": autocons / (float(cb.cons_wh) / 1000) if cb.cons_wh > 0 else None,
                         "billed": billed, "savings": autocons * price - billed})  # fmt: skip
    return rows


@router.get("/acc/{operation_id}/me", name="acc_participant", response_class=HTMLResponse)
def acc_participant(
    request: Request,
    caller: AccCaller,
    operation_id: str,
    year: int | None = None,
    supplier: Annotated[str | None, Query(alias="supplier_price", max_length=20)] = None,
) -> Response:
    """A participant's own allocation, savings and bills, computed under the PMO's authority (module docstring)."""
    try:
        access = open_operation(request, caller, operation_id, want="participant")
    except Refusal as r:
        return r.response
    store, zone = _store(request), access.zone
    span = data_days(store, zone)
    price, typed = supplier_price(request, supplier)
    context = {
        "active": "acc",
        "operation": access.operation,
        "pmo_name": access.pmo_name,
        "rows": None,
        "price": price,
        "price_typed": typed,
        "reference_price": SUPPLIER_REFERENCE_PRICE,
        "reference_source": SUPPLIER_REFERENCE_SOURCE,
        "span": span,
        "prms": [mask_prm(p) for p in access.own or {}],
        "authority": f"pmo:{access.operation.pmo_id}",
    }
    if span is None:
        return render(request, "acc_participant.html", context)
    chosen = year if year is not None and span[0].year <= year <= span[1].year else span[1].year
    try:
        summary = service.yearly_summary(
            store, access.operation.id, chosen, access.reader, allow_illustrative=_allow_illustrative(request)
        )
    except COMPUTE_ERRORS as exc:
        return _computation_error(request, access, exc)
    locale = _locale(request)
    rows = my_rows(summary, access.own or {}, price)
    totals = {k: sum(r[k] for r in rows) for k in ("cons", "autocons", "complement", "billed", "savings")}
    gettext = _gettext(request)
    context.update(
        rows=rows, totals=totals, year=chosen, years=list(range(span[0].year, span[1].year + 1)),
        money={r["number"]: (_money(r["billed"], locale), _money(r["savings"], locale)) for r in rows},
        total_money=(_money(totals["billed"], locale), _money(totals["savings"], locale)),
        share=totals["autocons"] / totals["cons"] if totals["cons"] else None,
        chart={"locale": locale, "mine": {"labels": [r["month"] for r in rows],
                                          "autocons": [round(r["autocons"], 3) for r in rows],
                                          "complement": [round(r["complement"], 3) for r in rows]},
               "strings": {"autocons": gettext("Local energy (AUTOCONS)"),
                           "complement": gettext("From my supplier (COMPLEMENT)"), "kwh": "kWh"}},
    )  # fmt: skip
    return render(request, "acc_participant.html", context)


@router.get("/acc/{operation_id}/me/invoices/{month}.pdf", name="acc_participant_invoice")
def acc_participant_invoice(request: Request, caller: AccCaller, operation_id: str, month: str) -> Response:
    """The participant's own invoice for a month (never another participant's)."""
    try:
        access = open_operation(request, caller, operation_id, want="participant", document=True)
    except Refusal as r:
        return r.response
    try:
        run = service.bill_month(
            _store(request), access.operation.id, month, access.reader, allow_illustrative=_allow_illustrative(request)
        )
    except COMPUTE_ERRORS as exc:
        return _computation_error(request, access, exc)
    own = access.own or {}
    for cb in run.bills:
        since = own.get(cb.participant.prm)
        if since is not None and run.end >= since:
            pdf = docs.invoice_pdf(cb, run, pmo_name=access.pmo_name, lang=_lang(request))
            return _download(pdf, f"{cb.number}.pdf", "application/pdf")
    return _page_error(request, _gettext(request)("No such document"), month, 404)
