"""Pages of an account: a member's data, grants and rights; an operator's grants and reads; the admin's view.

Every figure of a data subject shown here comes from :func:`regie.governance.gate.read_personal` — the
member reading their own series too — so every view is a logged decision, and an operator sees exactly what
their grant allows (a P1D grant gives daily totals, never half-hours). Forms that change something are
POSTs carrying the session's CSRF token (:mod:`regie.web.auth`); each answers with a 303 to the page, with
a ``done`` code the page turns into a message (post/redirect/get), or with the page and a 4xx saying what
was wrong.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from regie.governance import accounts, audit, consent, rights, territories
from regie.governance.accounts import Account, Role
from regie.governance.consent import Grant, Granularity, RecipientKind, Status
from regie.governance.gate import (
    AccessDenied,
    PersonalData,
    holding_periods,
    level_for,
    personal_series,
    read_personal,
    unavailable,
)
from regie.model import Inventory, Series, mask_prm
from regie.store import Store
from regie.store import federation as federation_rows
from regie.store.archives import ArchiveUnreachable
from regie.web import auth, queries, territory_choice
from regie.web.api import load_inventory
from regie.web.auth import Caller
from regie.web.deps import PRIVATE_HEADERS, AdminCaller, PageCaller
from regie.web.i18n import N_
from regie.web.templating import render as render_page

router = APIRouter(include_in_schema=False)

#: Shown when an erasure cannot reach an archived year (regie.store.archives.ArchiveUnreachable).
ERASURE_POSTPONED = N_("your data could not be erased now: a past year kept in the régie's archive is out of "
                       "reach. Nothing was erased; the régie's administrators must make the archive reachable, "
                       "then you can ask again.")  # fmt: skip



def render(request: Request, template: str, context: dict[str, Any], status_code: int = 200) -> HTMLResponse:
    """:func:`regie.web.templating.render` with :data:`PRIVATE_HEADERS`."""
    response = render_page(request, template, context, status_code=status_code)
    response.headers.update(PRIVATE_HEADERS)
    return response


OWN_PURPOSE = "dpv:ServiceProvision"
#: How much a view shows by default at each granularity, in local days or months (a page, not an export: the
#: export has everything); a view keeps the last :data:`MAX_BARS` values of it.
WINDOWS: dict[Granularity, int] = {
    Granularity.RAW: 1,
    Granularity.PT10M: 1,
    Granularity.PT15M: 1,
    Granularity.PT30M: 2,
    Granularity.P1D: 31,
    Granularity.P1M: 12,
}
MAX_BARS = 400

#: Finest first, as the forms list them (:class:`regie.governance.consent.Granularity`).
GRANULARITY_LABELS: dict[str, str] = {
    "raw": N_("every reading, as recorded (a sensor: every 10 seconds)"),
    "PT10M": N_("every 10 minutes"),
    "PT15M": N_("every 15 minutes"),
    "PT30M": N_("every 30 minutes"),
    "P1D": N_("daily totals"),
    "P1M": N_("monthly totals"),
}
CATEGORY_LABELS: dict[str, str] = {
    "consumption": N_("Consumption"),
    "production": N_("Production"),
}
PURPOSE_LABELS: dict[str, str] = {
    "dpv:ServiceProvision": N_("Providing the service I asked for (dashboard, alerts)"),
    "dpv:OptimisationForConsumer": N_("Advice to lower my consumption or my bill"),
    "dpv:FulfilmentOfContractualObligation": N_("Collective self-consumption: allocation keys and bills"),
    "dpv:ServiceMonitoring": N_("Supervising the local grid"),
    "dpv:ResearchAndDevelopment": N_("Research on local energy"),
    "dpv:CombatClimateChange": N_("Territorial energy planning"),
}
ROLE_LABELS: dict[str, str] = {
    "admin": N_("administrator"),
    "operator": N_("operator"),
    "member": N_("member"),
    "public": N_("public"),
}
STATUS_LABELS: dict[str, str] = {
    "requested": N_("requested"),
    "given": N_("given"),
    "refused": N_("refused"),
    "withdrawn": N_("withdrawn"),
    "expired": N_("expired"),
}
PERIOD_LABELS: dict[str, str] = {"day": N_("day"), "week": N_("week"), "month": N_("month"), "year": N_("year")}
TARIFF_LABELS: dict[str, str] = {
    "base": N_("Base (one price)"),
    "hphc": N_("Peak / off-peak hours (HP/HC)"),
    "tempo": N_("Tempo (blue, white and red days)"),
}
SIMILAR_REASONS: dict[str, str] = {
    "fewer_than_10": N_("fewer than 10 similar homes have data over this period"),
    "dominance": N_("one home would make more than 85 %% of the figure"),
    "secondary": N_("it would let a hidden figure be deduced"),
    "no_class": N_("the subscribed power of your delivery point is not recorded, so your home has no size class"),
}
SIZE_CLASS_LABELS: dict[str, str] = {
    "up to 6 kVA": N_("homes subscribing up to 6 kVA"),
    "9 to 12 kVA": N_("homes subscribing 9 to 12 kVA"),
    "more than 12 kVA": N_("homes subscribing more than 12 kVA"),
}
#: Messages after a successful POST (post/redirect/get), by the ``done`` code of the redirect.
DONE_MESSAGES: dict[str, str] = {
    "granted": N_("Your grant is recorded. You can withdraw it at any time."),
    "accepted": N_("You accepted the request: the grant is now in force."),
    "refused": N_("You refused the request."),
    "withdrawn": N_("The grant is withdrawn: from now on every read under it is refused."),
    "corrected": N_("Your details are corrected."),
    "requested": N_("Your request is sent: the member will accept or refuse it."),
    "preferences": N_("Your choices are saved."),
}


# ---------------------------------------------------------------- dependencies of pages


# PageCaller (and page_caller, AdminCaller) live in regie.web.deps.


def _store(request: Request) -> Store:
    return request.app.state.store


def _forbidden(request: Request, message: str, status_code: int = 403) -> HTMLResponse:
    return render(request, "refused.html", {"active": "account", "message": message}, status_code=status_code)


def _base(request: Request, caller: Caller, active: str) -> dict[str, Any]:
    done = request.query_params.get("done", "")
    return {
        "active": active,
        "account": caller.account,
        "csrf": auth.csrf_for(request, caller),
        "done": DONE_MESSAGES.get(done),
        "granularity_labels": GRANULARITY_LABELS,
        "category_labels": CATEGORY_LABELS,
        "purpose_labels": PURPOSE_LABELS,
        "status_labels": STATUS_LABELS,
        "role_labels": ROLE_LABELS,
    }


# ---------------------------------------------------------------- reading through the gate


@dataclass(slots=True)
class DataView:
    """One series read through the gate, ready for a table and a bar chart."""

    series: str
    kind: str
    prm: str
    granularity: str
    rows: list[dict[str, Any]] = field(default_factory=list)
    unit: str = "Wh"
    log_seq: int = 0
    max_value: float = 0.0


def _local_midnight(d: date, zone: ZoneInfo) -> int:
    return int(datetime(d.year, d.month, d.day, tzinfo=zone).timestamp())


def _next_month(d: date) -> date:
    return (d.replace(day=1) + timedelta(days=32)).replace(day=1)


def window(gran: Granularity, lo: int, hi: int, zone: ZoneInfo, periods: int | None = None) -> tuple[int, int]:
    """The last ``periods`` whole periods (local days or months) inside [lo, hi), as UTC instants."""
    n = periods or WINDOWS[gran]
    hi_day = datetime.fromtimestamp(hi, zone).date()
    if gran is Granularity.P1M:
        end_d = hi_day.replace(day=1) if hi_day.day == 1 else _next_month(hi_day)
        y, m = end_d.year, end_d.month - n
        while m < 1:
            y, m = y - 1, m + 12
        start_d = date(y, m, 1)
    else:
        end_d = hi_day if _local_midnight(hi_day, zone) >= hi else hi_day + timedelta(days=1)
        start_d = end_d - timedelta(days=n)
    start, end = _local_midnight(start_d, zone), min(_local_midnight(end_d, zone), hi)
    lo_day = datetime.fromtimestamp(lo, zone).date()
    lo_aligned = _local_midnight(lo_day if gran is not Granularity.P1M else lo_day.replace(day=1), zone)
    if lo_aligned < lo:  # a holding or a grant that starts mid-period: begin at the next whole period
        nxt = lo_day + timedelta(days=1) if gran is not Granularity.P1M else _next_month(lo_day)
        lo_aligned = _local_midnight(nxt, zone)
    return max(start, lo_aligned), end


def _energy(d: PersonalData, s: Series) -> tuple[np.ndarray, str]:
    """Values as energy [Wh] when they are a load curve (mean power × time covered), else as stored."""
    if d.unit == "W" and s.step is not None and not s.step.is_calendar:
        return d.values * d.count * s.step.seconds / 3600.0, "Wh"
    return d.values, d.unit


def to_view(d: PersonalData, s: Series, zone: ZoneInfo) -> DataView:
    values, unit = _energy(d, s)
    fmt = {"raw": "%Y-%m-%d %H:%M:%S", "P1D": "%Y-%m-%d", "P1M": "%Y-%m"}.get(d.granularity.value, "%Y-%m-%d %H:%M")
    view = DataView(s.id, d.kind, d.prm, d.granularity.value, unit=unit, log_seq=d.log_seq)
    for t, v in zip(d.t.tolist()[-MAX_BARS:], values.tolist()[-MAX_BARS:], strict=True):
        view.rows.append({"label": datetime.fromtimestamp(int(t), zone).strftime(fmt), "value": float(v)})
    view.max_value = max([r["value"] for r in view.rows] + [0.0])
    return view


def _data_bounds(store: Store, inv: Inventory) -> tuple[int, int] | None:
    period = queries.data_period(store, inv)
    if period is None:
        return None
    return int(period.first.timestamp()), int(period.end.timestamp())


def own_series(store: Store, holder_id: str) -> list[Series]:
    """The series on the delivery points the holder holds or held (metadata only, no readings)."""
    return personal_series(store, holder_id)


def read_own(store: Store, caller: Caller, s: Series, gran: Granularity, inv: Inventory) -> DataView | None:
    """The member's own series over the last window of their holding, through the gate (logged); at ``gran``,
    or the next coarser level the series has (:func:`level_for`: a 30-minute curve has no 15-minute values)."""
    gran = level_for(s, gran)
    bounds = _data_bounds(store, inv)
    holder = caller.account.holder_id
    if bounds is None or holder is None:
        return None
    spans = [(a, b) for h, a, b in holding_periods(store, s.prm or "") if h == holder]
    if not spans:
        return None
    a, b = spans[-1]
    lo, hi = max(bounds[0], a), min(bounds[1], b if b is not None else bounds[1])
    start, end = window(gran, lo, hi, inv.territory.zone)
    if end <= start:
        return None
    d = read_personal(store, caller.account, s.id, start, end, gran, OWN_PURPOSE)
    return to_view(d, s, inv.territory.zone)


def read_granted(store: Store, caller: Caller, g: Grant, gran: Granularity, inv: Inventory) -> list[DataView]:
    """What a grant lets its recipient see: the covered series, last window of the granted period.

    Each series at ``gran`` or the next coarser level it has (a PT15M grant over a 30-minute Linky curve shows
    30-minute values). Raises AccessDenied (logged by the gate) when the grant no longer holds or never named
    the caller.
    """
    bounds = _data_bounds(store, inv)
    if bounds is None:
        return []
    lo = max(bounds[0], g.data_start)
    hi = min(bounds[1], g.data_end) if g.data_end is not None else bounds[1]
    found = [s for s in personal_series(store, g.subject_id) if s.prm in g.prms and s.kind.value in g.categories]
    views = []
    for s in found:
        level = level_for(s, gran)
        start, end = window(level, lo, hi, inv.territory.zone)
        if end <= start:
            break
        d = read_personal(store, caller.account, s.id, start, end, level, g.purpose)
        views.append(to_view(d, s, inv.territory.zone))
    return views


# ---------------------------------------------------------------- grants: forms and helpers


def holder_name(inv: Inventory, holder_id: str | None) -> str:
    for p in inv.persons:
        if p.id == holder_id:
            return p.name
    for o in inv.organisations:
        if o.id == holder_id:
            return o.name
    return holder_id or ""


def recipients(store: Store, inv: Inventory, caller: Account) -> list[tuple[str, str]]:
    """Who a member may give a grant to: the organisations of the territory and the operations operators run."""
    out = [(f"organisation:{o.id}", o.name) for o in inv.organisations if o.id != caller.holder_id]
    orgs = {o.id for o in inv.organisations}
    ops = sorted({a.operator_of for a in accounts.list_accounts(store) if a.operator_of and a.operator_of not in orgs})
    out += [(f"operation:{op}", op) for op in ops]
    # peer régies this one may send personal data to (docs/federation.md): e.g. the regional middleware
    out += [(f"peer:{p.id}", f"{p.name} ({p.organisation})") for p in federation_rows.peers(store)
            if p.status == "active" and "personal" in p.send]  # fmt: skip
    return out


def held_prms(inv: Inventory, holder_id: str | None) -> list[str]:
    """Delivery points the holder holds now (a grant covers present holdings)."""
    return sorted({m.prm for m in inv.memberships if m.holder_id == holder_id and m.until is None})


def _day(text: str | None, name: str) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise consent.ConsentError(f"{name}: {text!r} is not a date (YYYY-MM-DD)") from None


@dataclass(frozen=True, slots=True)
class GrantTerms:
    """What a grant form says, in the units the consent module takes."""

    categories: list[str]
    granularity: str
    purpose: str
    data_start: int
    data_end: int | None
    expires_at: int


def parse_terms(form: dict[str, Any], zone: ZoneInfo) -> GrantTerms:
    """Read and check the common fields of a grant or a request form (ConsentError says what is wrong)."""
    categories = [c for c in form.get("categories", []) if c]
    gran = form.get("granularity") or ""
    if gran not in {g.value for g in Granularity}:
        raise consent.ConsentError(f"granularity: choose {', '.join(g.value for g in Granularity)}")
    start = _day(form.get("data_from"), "data from")
    if start is None:
        raise consent.ConsentError("data from: give the first day of data covered")
    until = _day(form.get("data_until"), "data until")
    expires = _day(form.get("expires"), "expires")
    if expires is None:
        raise consent.ConsentError("expires: give the last day the grant is valid")
    return GrantTerms(
        categories, gran, str(form.get("purpose") or ""), _local_midnight(start, zone),
        _local_midnight(until, zone) if until else None, _local_midnight(expires + timedelta(days=1), zone),
    )  # fmt: skip


async def _form(request: Request, caller: Caller) -> dict[str, Any]:
    """The form as a dict (lists for the multi-valued fields), once its CSRF token is checked."""
    form = await auth.form_with_csrf(request, caller)
    out: dict[str, Any] = {k: v for k, v in form.items() if isinstance(v, str)}
    for multi in ("categories", "prms"):
        out[multi] = [v for v in form.getlist(multi) if isinstance(v, str)]
    return out


def _grant_row(g: Grant, inv: Inventory, now: int) -> dict[str, Any]:
    return {
        "grant": g,
        "status": g.status_at(now).value,
        "subject_name": holder_name(inv, g.subject_id),
        "recipient_name": holder_name(inv, g.recipient_id)
        if g.recipient_kind is not RecipientKind.ACCOUNT
        else g.recipient_id,
        "prms": [mask_prm(p) for p in g.prms],
        "data_from": _local_day(g.data_start, inv.territory.zone),
        # data_end is excluded: the last day covered is the day before
        "data_until": _local_day(g.data_end - 1, inv.territory.zone) if g.data_end is not None else None,
        "valid_until": _local_day(g.expires_at - 1, inv.territory.zone),
    }


def _access_row(a: audit.AccessRecord, zone: ZoneInfo) -> dict[str, Any]:
    return {
        "when": datetime.fromtimestamp(a.at, zone).strftime("%Y-%m-%d %H:%M:%S"),
        "caller": a.caller, "role": a.role, "series": a.series, "prm": a.prm, "granularity": a.granularity,
        "purpose": a.purpose, "consent_id": a.consent_id, "decision": a.decision, "reason": a.reason,
        "covered": a.points if a.series and a.series.startswith("aggregate:") else None,  # a sum, theirs in it
    }  # fmt: skip


def _local_day(t: int, zone: ZoneInfo) -> date:
    return datetime.fromtimestamp(t, zone).date()


# ---------------------------------------------------------------- the member


@dataclass(frozen=True, slots=True)
class PeriodChoice:
    """What the dashboard's period picker asks: a kind of period and a day in it (None: the last day of data)."""

    kind: str = "month"
    on: date | None = None


def period_choice(period: str | None, on: str | None) -> PeriodChoice:
    """The picker's fields, falling back to the default on anything malformed (a page, not an API: it shows)."""
    kind = period if period in PERIOD_LABELS else "month"
    try:
        day = date.fromisoformat(on) if on else None
    except ValueError:
        day = None
    return PeriodChoice(kind, day)


def _dashboard_context(store: Store, caller: Caller, inv: Inventory, choice: PeriodChoice) -> dict[str, Any]:
    from regie.services import member
    from regie.store import member_preferences

    prefs = member_preferences.get(store, caller.account.id)
    board = member.dashboard(store, caller.account, inv, choice.kind, choice.on, prefs.tariff_option)
    top = max([max(b["wh"], b["last_year_wh"] or 0.0) for b in board.bars] + [0.0])
    change = None
    if board.last_year_wh:
        change = board.consumption_wh / board.last_year_wh - 1
    return {
        "dash": board,
        "dash_top": top,
        "dash_change": change,
        "dash_last_day": board.end - timedelta(days=1),
        "prefs": prefs,
        "period_labels": PERIOD_LABELS,
        "tariff_labels": TARIFF_LABELS,
        "similar_reasons": SIMILAR_REASONS,
        "size_class_labels": SIZE_CLASS_LABELS,
    }


def _member_context(
    request: Request, caller: Caller, store: Store, inv: Inventory, gran: Granularity, series_id: str | None,
    choice: PeriodChoice | None = None,
) -> dict[str, Any]:  # fmt: skip
    holder = caller.account.holder_id
    now = int(time.time())
    mine = own_series(store, holder or "")
    chosen = next((s for s in mine if s.id == series_id), None) or next(
        (s for s in mine if s.kind.value == "consumption"), mine[0] if mine else None
    )
    view, refused = None, None
    if chosen is not None:
        try:
            view = read_own(store, caller, chosen, gran, inv)
        except AccessDenied as exc:
            refused = exc.reason
    grants = consent.list_grants(store, subject_id=holder)
    bounds = _data_bounds(store, inv)
    zone = inv.territory.zone
    accesses = [_access_row(a, zone) for a in reversed(audit.accesses_to(store, holder or ""))][:100]
    person = next((p for p in inv.persons if p.id == holder), None)
    return {
        **_base(request, caller, "account"),
        "holder_name": holder_name(inv, holder),
        "email": person.email if person else None,
        "is_person": person is not None,
        "prms": [(m.prm, m.since, m.until) for m in inv.memberships if m.holder_id == holder],
        "series": mine,
        "chosen": chosen,
        "granularity": view.granularity if view is not None else gran.value,
        # the steps the chosen series has (a 30-minute Linky curve has no 15-minute values)
        "view_levels": [g.value for g in Granularity if chosen is None or unavailable(chosen, g) is None],
        "view": view,
        "refused": refused,
        "given": [_grant_row(g, inv, now) for g in grants if g.status is not Status.REQUESTED],
        "pending": [_grant_row(g, inv, now) for g in grants if g.status_at(now) is Status.REQUESTED],
        "accesses": accesses,
        "zone": zone,
        "recipients": recipients(store, inv, caller.account),
        "held": held_prms(inv, holder),
        "categories": sorted({s.kind.value for s in mine}) or ["consumption"],
        "default_from": datetime.fromtimestamp(bounds[0], zone).date().isoformat() if bounds else "",
        "default_expires": (date.today() + timedelta(days=365)).isoformat(),
        "max_expires": (date.today() + timedelta(days=3 * 365)).isoformat(),
        **_dashboard_context(store, caller, inv, choice or PeriodChoice()),
        "signal_widget": _signal_widget(request, store, inv),
    }


def _signal_widget(request: Request, store: Store, inv: Inventory) -> dict[str, Any]:
    """The village's "when to consume" signal (public figures only, docs/signal.md), as on the territory page."""
    from regie.web import signal_api

    return signal_api.widget_context(request, store, inv.territory.id)


@router.get("/me", name="me_page", response_class=HTMLResponse)
def me_page(
    request: Request, caller: PageCaller, granularity: str = "P1D", series: str | None = None,
    period: str | None = None, on: str | None = None,
) -> Response:  # fmt: skip
    """A member's page: their dashboard (period picker), delivery points, their data through the gate, grants,
    requests, accesses, rights."""
    if caller.role is not Role.MEMBER:
        return RedirectResponse(auth.home_of(caller.account), status_code=303)
    try:
        gran = Granularity(granularity)
    except ValueError:
        gran = Granularity.P1D
    store = _store(request)
    inv = load_inventory(store)
    context = _member_context(request, caller, store, inv, gran, series, period_choice(period, on))
    return render(request, "me.html", context)


@router.post("/me/preferences", name="me_preferences")
async def me_preferences(request: Request, caller: PageCaller) -> Response:
    """The member's tariff option, monthly digest (opt-in) and the digest's language."""
    from regie.services import digest
    from regie.store import member_preferences
    from regie.web import i18n

    _member_only(caller)
    form = await _form(request, caller)
    option = str(form.get("tariff_option") or "base")
    language = str(form.get("language") or "fr")
    if option not in TARIFF_LABELS:
        return _member_error(request, caller, f"tariff option: choose one of {', '.join(TARIFF_LABELS)}")
    if language not in i18n.LOCALES:
        return _member_error(request, caller, f"language: choose one of {', '.join(i18n.LOCALES)}")
    wants = form.get("digest") == "on"
    store = _store(request)
    if wants and not digest.address_of(store, caller.account):
        return _member_error(request, caller, "the monthly digest needs an e-mail address: add one under My rights")
    member_preferences.put(store, caller.account.id, member_preferences.Preferences(option, wants, language))
    return RedirectResponse("/me?done=preferences#dashboard", status_code=303)


@router.get("/digest/unsubscribe/{token}", name="digest_unsubscribe_page", response_class=HTMLResponse)
def digest_unsubscribe_page(request: Request, token: str) -> Response:
    """The link of a digest: a button to stop the digest, without logging in (a GET changes nothing: mail
    scanners open links)."""
    from regie.governance import one_time
    from regie.services import digest

    try:
        one_time.check(_store(request), token, digest.UNSUBSCRIBE)
    except one_time.TokenError as exc:
        return render(request, "unsubscribe.html", {"active": "account", "problem": exc.problem.value}, 400)
    return render(request, "unsubscribe.html", {"active": "account", "token": token, "problem": None})


@router.post("/digest/unsubscribe/{token}", name="digest_unsubscribe")
def digest_unsubscribe(request: Request, token: str) -> Response:
    """Stop the monthly digest of the link's account (also the one-click POST of RFC 8058 from a mail client)."""
    from regie.governance import one_time
    from regie.services import digest

    try:
        digest.unsubscribe(_store(request), token)
    except one_time.TokenError as exc:
        return render(request, "unsubscribe.html", {"active": "account", "problem": exc.problem.value}, 400)
    return render(request, "unsubscribe.html", {"active": "account", "done": True, "problem": None})


def _member_error(request: Request, caller: Caller, message: str, status_code: int = 400) -> HTMLResponse:
    store = _store(request)
    inv = load_inventory(store)
    context = _member_context(request, caller, store, inv, Granularity.P1D, None)
    return render(request, "me.html", {**context, "error": message}, status_code=status_code)


def _member_only(caller: Caller) -> None:
    if caller.role is not Role.MEMBER:
        raise HTTPException(403, "for member accounts only")


@router.post("/me/grants", name="me_grant")
async def me_grant(request: Request, caller: PageCaller) -> Response:
    """A member gives a grant to an organisation or an operation."""
    _member_only(caller)
    form = await _form(request, caller)
    store = _store(request)
    inv = load_inventory(store)
    kind, _, rid = str(form.get("recipient") or "").partition(":")
    try:
        terms = parse_terms(form, inv.territory.zone)
        offered_peer = kind == RecipientKind.PEER.value and any(  # a peer régie the admin lets personal data go to
            v == f"peer:{rid}" for v, _ in recipients(store, inv, caller.account))  # fmt: skip
        local = kind in {RecipientKind.ORGANISATION.value, RecipientKind.OPERATION.value}
        if not (local or offered_peer) or not rid:
            raise consent.ConsentError("choose who receives the grant")
        consent.grant(
            store, caller.account, subject_id=caller.account.holder_id or "", recipient_kind=kind, recipient_id=rid,
            categories=terms.categories, prms=form["prms"],  # the boxes ticked: none ticked is refused
            granularity=terms.granularity, data_start=terms.data_start, data_end=terms.data_end,
            purpose=terms.purpose, expires_at=terms.expires_at,
        )  # fmt: skip
    except ValueError as exc:
        return _member_error(request, caller, str(exc))
    return RedirectResponse("/me?done=granted#grants", status_code=303)


_TRANSITIONS = {"accept": (consent.accept, "accepted"), "refuse": (consent.refuse, "refused"),
                "withdraw": (consent.withdraw, "withdrawn")}  # fmt: skip


@router.post("/me/grants/{consent_id}/{action}", name="me_grant_change")
async def me_grant_change(request: Request, caller: PageCaller, consent_id: str, action: str) -> Response:
    """Accept or refuse a request, or withdraw a grant (the data subject only)."""
    _member_only(caller)
    if action not in _TRANSITIONS:
        raise HTTPException(404, "unknown action: accept, refuse or withdraw")
    await _form(request, caller)
    store = _store(request)
    g = consent.get_grant(store, consent_id)
    if g is None or g.subject_id != caller.account.holder_id:
        raise HTTPException(404, "no such grant of yours")
    change, done = _TRANSITIONS[action]
    try:
        change(store, consent_id, caller.account)
    except consent.ConsentError as exc:
        return _member_error(request, caller, str(exc), 409)
    return RedirectResponse(f"/me?done={done}#grants", status_code=303)


@router.get("/me/grants/{consent_id}/receipt", name="me_receipt")
def me_receipt(request: Request, caller: PageCaller, consent_id: str) -> Response:
    """The JSON-LD consent receipt, for the data subject, the recipient and the admin."""
    store = _store(request)
    g = consent.get_grant(store, consent_id)
    if g is None or not (
        caller.role is Role.ADMIN or g.subject_id == caller.account.holder_id or g.names(caller.account)
    ):
        raise HTTPException(404, "no such grant of yours")
    body = json.dumps(consent.receipt(store, consent_id), ensure_ascii=False, indent=2)
    return Response(
        body, media_type="application/ld+json",
        headers={**PRIVATE_HEADERS, "Content-Disposition": f'attachment; filename="consent-{consent_id[:12]}.jsonld"'},
    )  # fmt: skip


@router.post("/me/export", name="me_export")
async def me_export(request: Request, caller: PageCaller) -> Response:
    """Everything regie holds about the member, one zip (series read through the gate; logged)."""
    _member_only(caller)
    await _form(request, caller)
    blob = rights.export_member(_store(request), caller.account, caller.account.holder_id or "")
    name = f"regie-{caller.account.holder_id}.zip"
    return Response(
        blob, media_type="application/zip",
        headers={**PRIVATE_HEADERS, "Content-Disposition": f'attachment; filename="{name}"'},
    )  # fmt: skip


@router.post("/me/details", name="me_details")
async def me_details(request: Request, caller: PageCaller) -> Response:
    """Correct one's name or e-mail address (GDPR art. 16)."""
    _member_only(caller)
    form = await _form(request, caller)
    name = (form.get("name") or "").strip() or None
    email = (form.get("email") or "").strip() or None
    try:
        rights.correct_details(_store(request), caller.account, caller.account.holder_id or "", name=name, email=email)
    except (ValueError, LookupError) as exc:
        return _member_error(request, caller, str(exc))
    return RedirectResponse("/me?done=corrected#rights", status_code=303)


@router.post("/me/erase", name="me_erase")
async def me_erase(request: Request, caller: PageCaller) -> Response:
    """Erase the member's account and personal series, once they typed their username to confirm."""
    _member_only(caller)
    form = await _form(request, caller)
    if (form.get("confirm") or "").strip().lower() != caller.account.username:
        return _member_error(request, caller, N_("type your username to confirm the erasure"))
    try:
        rights.erase_member(_store(request), caller.account, caller.account.holder_id or "")
    except ArchiveUnreachable:  # an archived year's lake is out of reach: nothing was erased (store/archives.py)
        return _member_error(request, caller, ERASURE_POSTPONED, status_code=503)
    response = render(request, "erased.html", {"active": "account"})
    auth.clear_session_cookie(request, response)
    return response


# ---------------------------------------------------------------- the operator


def _operator_context(request: Request, caller: Caller, store: Store, inv: Inventory) -> dict[str, Any]:
    now = int(time.time())
    me = caller.account
    mine = [g for g in consent.list_grants(store) if g.names(me) or g.requested_by == me.username]
    bounds = _data_bounds(store, inv)
    zone = inv.territory.zone
    members = sorted({(h, holder_name(inv, h)) for h in known_subjects(mine, inv)}, key=lambda x: x[1])
    return {
        **_base(request, caller, "account"),
        "grants": [_grant_row(g, inv, now) for g in mine],
        "members": members,
        "zone": zone,
        "categories": ["consumption", "production"],
        "default_from": datetime.fromtimestamp(bounds[0], zone).date().isoformat() if bounds else "",
        "default_expires": (date.today() + timedelta(days=365)).isoformat(),
        "max_expires": (date.today() + timedelta(days=3 * 365)).isoformat(),
    }


def known_subjects(grants: list[consent.Grant], inv: Inventory) -> set[str]:
    """The people an operator may see named: those who granted it something or whom it asked (issue 18:
    an operator listing every member's name learnt who lives where). Erased holders are no one's."""
    present = {p.id for p in inv.persons} | {o.id for o in inv.organisations}
    return {g.subject_id for g in grants if g.subject_id in present}


def holder_of(inv: Inventory, prm: str) -> str:
    """The current holder of a delivery point the operator names (it knows its participants' PRMs), without
    telling the operator who it is; ValueError when no member holds it now."""
    held = [m.holder_id for m in inv.memberships if m.prm == prm and m.until is None]
    known = {p.id for p in inv.persons} | {o.id for o in inv.organisations}
    if len(held) != 1 or held[0] not in known:
        raise ValueError(f"no member holds the delivery point {mask_prm(prm)} now")
    return held[0]


def _operator_only(caller: Caller) -> None:
    if caller.role is not Role.OPERATOR:
        raise HTTPException(403, "for operator accounts only")


@router.get("/operator", name="operator_page", response_class=HTMLResponse)
def operator_page(request: Request, caller: PageCaller) -> Response:
    """An operator's grants (given, requested) and the form to request one."""
    if caller.role is not Role.OPERATOR:
        return _forbidden(request, "for operator accounts only")
    store = _store(request)
    return render(request, "operator.html", _operator_context(request, caller, store, load_inventory(store)))


@router.post("/operator/requests", name="operator_request")
async def operator_request(request: Request, caller: PageCaller) -> Response:
    """An operator asks a member for a grant (the member accepts or refuses on their page)."""
    _operator_only(caller)
    form = await _form(request, caller)
    store = _store(request)
    inv = load_inventory(store)
    subject = str(form.get("subject") or "")
    prm = str(form.get("prm") or "").replace(" ", "")
    try:
        if prm:
            subject = holder_of(inv, prm)
        terms = parse_terms(form, inv.territory.zone)
        consent.request(
            store, caller.account, subject_id=subject, categories=terms.categories, prms=held_prms(inv, subject),
            granularity=terms.granularity, data_start=terms.data_start, data_end=terms.data_end,
            purpose=terms.purpose, expires_at=terms.expires_at,
        )  # fmt: skip
    except ValueError as exc:
        context = _operator_context(request, caller, store, inv)
        return render(request, "operator.html", {**context, "error": str(exc)}, status_code=400)
    return RedirectResponse("/operator?done=requested", status_code=303)


@router.get("/operator/data", name="operator_data", response_class=HTMLResponse)
def operator_data(request: Request, caller: PageCaller, grant: str = "", granularity: str | None = None) -> Response:
    """A member's data under one grant, read through the gate at the grant's granularity (or coarser)."""
    _operator_only(caller)
    store = _store(request)
    inv = load_inventory(store)
    g = consent.get_grant(store, grant)
    if g is None:
        raise HTTPException(404, "no such grant")
    try:
        gran = Granularity(granularity) if granularity else g.granularity
    except ValueError:
        gran = g.granularity
    row = _grant_row(g, inv, int(time.time()))
    context = {**_base(request, caller, "account"), "row": row, "granularity": gran.value}
    try:
        views = read_granted(store, caller, g, gran, inv)
    except AccessDenied as exc:
        return render(request, "operator_data.html", {**context, "refused": exc.reason, "views": []}, status_code=403)
    return render(request, "operator_data.html", {**context, "refused": None, "views": views})


# ---------------------------------------------------------------- the admin


@router.get("/admin", name="admin_page", response_class=HTMLResponse)
def admin_page(request: Request, caller: AdminCaller) -> Response:
    """Accounts, grants by status, and whether the access log verifies against its signed checkpoints."""
    store = _store(request)
    result, head_error = _verify_log(request, store)
    now = int(time.time())
    statuses: dict[str, int] = {}
    choice = territory_choice.choose(request, caller)
    # an admin of one territory sees the accounts and grants of that territory only
    scoped = territories.scoped(caller.account)
    holders = territories.holders_of(store, caller.account.territory_id or "") if scoped else None
    for g in consent.list_grants(store):
        if holders is None or g.subject_id in holders:
            statuses[g.status_at(now).value] = statuses.get(g.status_at(now).value, 0) + 1
    context = {
        **_base(request, caller, "account"),
        **territory_choice.context(choice),
        "territories": territories.visible(store, caller.account),
        "accounts": territories.accounts_seen_by(store, caller.account),
        "verification": result,
        "head_error": head_error,
        "signatures_checked": getattr(request.app.state, "audit_public_key", None) is not None,
        "statuses": statuses,
    }
    return render(request, "admin.html", context)


def _verify_log(request: Request, store: Store) -> tuple[audit.Verification, str | None]:
    """The log re-hashed against its checkpoints and, under `regie serve`, the signed head in the data folder."""
    from regie.governance import log_head

    state = request.app.state
    head, error = None, None
    path = getattr(state, "audit_head_path", None)
    if path is not None:
        try:
            head = log_head.read_head(path)
        except ValueError as exc:
            error = str(exc)
    notary = getattr(state, "audit_notary", None)
    if notary is not None and notary.last_error:
        error = notary.last_error
    public = getattr(state, "audit_public_key", None)
    if public is None and notary is not None and head is not None:
        public = notary.key.public_key()  # the key that signed the head, created since the server started
    return audit.verify(store, public, head, expect_signed=path is not None), error
