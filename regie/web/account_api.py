"""The JSON face of an account (/api/me): the same actions as the account pages, for scripts and apps.

Callers authenticate with an API key of their account (``Authorization: Bearer``; scope ``read`` for GET,
``write`` for POST) or with the session cookie, in which case a POST must carry the ``X-CSRF-Token``
header (:mod:`regie.web.auth`). Personal series are read through the gate only; a refusal is a 403 whose
``detail`` is the gate's reason, and it is in the data subject's access log like any other decision.
"""

from __future__ import annotations

import time
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from regie.governance import audit, consent, rights
from regie.governance.accounts import Role
from regie.governance.consent import Grant, Granularity, RecipientKind
from regie.governance.gate import AccessDenied, read_personal
from regie.model import mask_prm
from regie.web import account_pages, auth, queries
from regie.web.api import load_inventory
from regie.web.auth import AccountDep, Caller
from regie.web.deps import StoreDep

router = APIRouter(prefix="/api/me", tags=["my account"])

_AUTH_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"description": "no session and no valid API key"},
    403: {"description": "not allowed for this account, or missing CSRF token / API-key scope"},
}


class AccountOut(BaseModel):
    username: str
    role: str
    holder_id: str | None = Field(description="member: the person or organisation holding delivery points")
    operator_of: str | None = Field(description="operator: the organisation or operation run")
    display_name: str | None
    via: str = Field(description="session or api_key")


class SeriesOut(BaseModel):
    id: str
    kind: str
    unit: str
    step: str | None
    prm: str = Field(description="the delivery point, masked")


#: What the granularity levels mean (finest first; a grant at one level allows every coarser one).
GRANULARITY_HELP = (
    "raw: the series' own points (a sensor: every 10 s); PT10M, PT15M, PT30M: sums (energy) or means (power) "
    "over UTC-aligned 10-, 15-, 30-minute steps, refused (400) for a series recorded at a coarser step; "
    "P1D, P1M: local days, months"
)


class DataOut(BaseModel):
    series: str
    prm: str = Field(description="masked")
    kind: str
    unit: str = Field(description="for P1D/P1M: the sum [Wh] of an energy series, the mean [W] of a power series")
    granularity: str
    start: list[str] = Field(description="start of each interval, ISO 8601 in the territory's zone")
    value: list[float]
    count: list[int] = Field(description="raw points behind each value")
    consent_id: str | None = Field(description="the grant that allowed the read, if any")
    log_seq: int = Field(description="the access-log entry recording this read")


class GrantOut(BaseModel):
    id: str
    subject_id: str
    recipient: str = Field(description="KIND:ID")
    categories: list[str]
    prms: list[str] = Field(description="masked")
    granularity: str
    data_start: datetime
    data_end: datetime | None
    purpose: str
    status: str = Field(description="in force now: requested, given, refused, withdrawn, expired")
    created_at: datetime
    expires_at: datetime
    requested_by: str | None


class GrantIn(BaseModel):
    recipient_kind: RecipientKind = Field(description="organisation or operation (account: one named account)")
    recipient_id: str = Field(min_length=1, max_length=64)
    categories: list[str] = Field(min_length=1, max_length=10, examples=[["consumption"]])
    prms: list[str] | None = Field(default=None, max_length=100, description="default: every point held now")
    granularity: Granularity = Field(default=Granularity.P1D, description=GRANULARITY_HELP)
    data_from: str = Field(max_length=40, description="first day of data covered (ISO date, local)")
    data_until: str | None = Field(default=None, max_length=40, description="day after the last day covered")
    purpose: str = Field(max_length=80, examples=["dpv:ServiceProvision"])
    expires: str = Field(max_length=40, description="last day the grant is valid (ISO date), at most 3 years ahead")


class RequestIn(BaseModel):
    subject_id: str = Field(min_length=1, max_length=64)
    categories: list[str] = Field(min_length=1, max_length=10, examples=[["consumption"]])
    granularity: Granularity = Field(default=Granularity.P1D, description=GRANULARITY_HELP)
    data_from: str = Field(max_length=40)
    data_until: str | None = Field(default=None, max_length=40)
    purpose: str = Field(max_length=80, examples=["dpv:FulfilmentOfContractualObligation"])
    expires: str = Field(max_length=40)


class AccessOut(BaseModel):
    at: datetime
    caller: str
    role: str
    series: str | None
    prm: str | None
    start: datetime
    end: datetime
    granularity: str
    purpose: str
    consent_id: str | None
    decision: str
    reason: str


class Action(StrEnum):
    ACCEPT = "accept"
    REFUSE = "refuse"
    WITHDRAW = "withdraw"


def _utc(t: int) -> datetime:
    from datetime import UTC

    return datetime.fromtimestamp(t, UTC)


def _grant_out(g: Grant, now: int) -> GrantOut:
    return GrantOut(
        id=g.id, subject_id=g.subject_id, recipient=g.recipient, categories=sorted(g.categories),
        prms=[mask_prm(p) for p in g.prms], granularity=g.granularity.value, data_start=_utc(g.data_start),
        data_end=_utc(g.data_end) if g.data_end is not None else None, purpose=g.purpose,
        status=g.status_at(now).value, created_at=_utc(g.created_at), expires_at=_utc(g.expires_at),
        requested_by=g.requested_by,
    )  # fmt: skip


WritingCaller = Annotated[Caller, Depends(auth.csrf_protect)]


@router.get("", response_model=AccountOut, summary="Who I am", responses=_AUTH_RESPONSES)
def get_me(caller: AccountDep) -> AccountOut:
    a = caller.account
    return AccountOut(
        username=a.username, role=a.role.value, holder_id=a.holder_id, operator_of=a.operator_of,
        display_name=a.display_name, via=caller.via,
    )  # fmt: skip


@router.get("/series", response_model=list[SeriesOut], summary="My series (member)", responses=_AUTH_RESPONSES)
def get_my_series(caller: AccountDep, store: StoreDep) -> list[SeriesOut]:
    if caller.role is not Role.MEMBER:
        return []
    return [
        SeriesOut(
            id=s.id, kind=s.kind.value, unit=s.unit, step=s.step.iso if s.step else None, prm=mask_prm(s.prm or "")
        )
        for s in account_pages.own_series(store, caller.account.holder_id or "")
    ]


@router.get(
    "/data",
    response_model=DataOut,
    summary="Read a series of a data subject through the gate (own data, or under a grant)",
    responses={**_AUTH_RESPONSES, 400: {"description": "a period the gate cannot read, or a step the series lacks"},
               404: {"description": "unknown series"}, 422: {"description": "a malformed parameter"}},
)  # fmt: skip
def get_data(
    caller: AccountDep,
    store: StoreDep,
    series: Annotated[str, Query(min_length=1, max_length=64, description="series id")],
    start: Annotated[str, Query(max_length=40, description="ISO 8601 date or date-time (territory's zone if naive)")],
    end: Annotated[str, Query(max_length=40, description="excluded")],
    granularity: Annotated[Granularity, Query(description=GRANULARITY_HELP)] = Granularity.P1D,
    purpose: Annotated[str, Query(max_length=80)] = account_pages.OWN_PURPOSE,
    reason: Annotated[str | None, Query(max_length=300, description="required of admins; logged")] = None,
) -> DataOut:
    inv = load_inventory(store)
    zone = inv.territory.zone
    try:
        a = int(queries.parse_instant("start", start, zone).timestamp())
        b = int(queries.parse_instant("end", end, zone).timestamp())
    except queries.QueryError as exc:
        raise HTTPException(422, str(exc)) from None
    if b <= a:
        raise HTTPException(400, "end must be after start")
    if b - a > queries.MAX_SPAN.total_seconds():
        raise HTTPException(400, f"a read covers at most {queries.MAX_SPAN.days} days")
    try:
        d = read_personal(store, caller.account, series, a, b, granularity, purpose, reason=reason)
    except AccessDenied as exc:
        raise HTTPException(403, exc.reason) from None
    except LookupError as exc:
        raise HTTPException(404, str(exc)) from None
    except ValueError as exc:
        raise HTTPException(400, str(exc)) from None
    return DataOut(
        series=d.series, prm=d.prm, kind=d.kind, unit=d.unit, granularity=d.granularity.value,
        start=[datetime.fromtimestamp(int(t), zone).isoformat() for t in d.t.tolist()],
        value=[float(v) for v in d.values.tolist()], count=[int(c) for c in d.count.tolist()],
        consent_id=d.consent_id, log_seq=d.log_seq,
    )  # fmt: skip


def _visible(caller: Caller, g: Grant) -> bool:
    a = caller.account
    return a.role is Role.ADMIN or g.subject_id == a.holder_id or g.names(a) or g.requested_by == a.username


@router.get("/grants", response_model=list[GrantOut], summary="Grants I gave, received or requested",
            responses=_AUTH_RESPONSES)  # fmt: skip
def get_grants(caller: AccountDep, store: StoreDep) -> list[GrantOut]:
    now = int(time.time())
    return [_grant_out(g, now) for g in consent.list_grants(store) if _visible(caller, g)]


def _terms(body: GrantIn | RequestIn, store: StoreDep) -> account_pages.GrantTerms:
    zone = load_inventory(store).territory.zone
    form = body.model_dump()
    form["granularity"] = body.granularity.value
    return account_pages.parse_terms(form, zone)


@router.post(
    "/grants", response_model=GrantOut, status_code=201, summary="Give a grant (member)",
    responses={**_AUTH_RESPONSES, 400: {"description": "the terms are refused, and why"}},
)  # fmt: skip
def post_grant(body: GrantIn, caller: AccountDep, writer: WritingCaller, store: StoreDep) -> GrantOut:
    if caller.role is not Role.MEMBER:
        raise HTTPException(403, "only a member gives grants here")
    inv = load_inventory(store)
    try:
        terms = _terms(body, store)
        g = consent.grant(
            store, caller.account, subject_id=caller.account.holder_id or "", recipient_kind=body.recipient_kind,
            recipient_id=body.recipient_id, categories=terms.categories,
            prms=body.prms or account_pages.held_prms(inv, caller.account.holder_id), granularity=terms.granularity,
            data_start=terms.data_start, data_end=terms.data_end, purpose=terms.purpose, expires_at=terms.expires_at,
        )  # fmt: skip
    except ValueError as exc:
        raise HTTPException(400, str(exc)) from None
    return _grant_out(g, int(time.time()))


@router.post(
    "/requests", response_model=GrantOut, status_code=201, summary="Ask a member for a grant (operator)",
    responses={**_AUTH_RESPONSES, 400: {"description": "the terms are refused, and why"}},
)  # fmt: skip
def post_request(body: RequestIn, caller: AccountDep, writer: WritingCaller, store: StoreDep) -> GrantOut:
    if caller.role is not Role.OPERATOR:
        raise HTTPException(403, "only an operator requests grants")
    inv = load_inventory(store)
    try:
        terms = _terms(body, store)
        g = consent.request(
            store, caller.account, subject_id=body.subject_id, categories=terms.categories,
            prms=account_pages.held_prms(inv, body.subject_id), granularity=terms.granularity,
            data_start=terms.data_start, data_end=terms.data_end, purpose=terms.purpose, expires_at=terms.expires_at,
        )  # fmt: skip
    except ValueError as exc:
        raise HTTPException(400, str(exc)) from None
    return _grant_out(g, int(time.time()))


_CHANGES = {Action.ACCEPT: consent.accept, Action.REFUSE: consent.refuse, Action.WITHDRAW: consent.withdraw}


@router.post(
    "/grants/{consent_id}/{action}", response_model=GrantOut, summary="Accept, refuse or withdraw (data subject)",
    responses={**_AUTH_RESPONSES, 404: {"description": "no such grant of yours"},
               409: {"description": "the grant is not in a state that allows this"}},
)  # fmt: skip
def post_grant_change(
    consent_id: str,
    action: Action,
    caller: AccountDep,
    writer: WritingCaller,
    store: StoreDep,
) -> GrantOut:
    g = consent.get_grant(store, consent_id)
    if g is None or not (caller.role is Role.ADMIN or g.subject_id == caller.account.holder_id):
        raise HTTPException(404, "no such grant of yours")
    try:
        changed = _CHANGES[action](store, consent_id, caller.account)
    except consent.ConsentError as exc:
        raise HTTPException(409, str(exc)) from None
    return _grant_out(changed, int(time.time()))


@router.get(
    "/grants/{consent_id}/receipt", summary="The JSON-LD consent receipt (ISO/IEC TS 27560, W3C DPV)",
    responses={**_AUTH_RESPONSES, 200: {"content": {"application/ld+json": {}}},
               404: {"description": "no such grant of yours"}},
)  # fmt: skip
def get_receipt(consent_id: str, caller: AccountDep, store: StoreDep) -> JSONResponse:
    g = consent.get_grant(store, consent_id)
    if g is None or not _visible(caller, g):
        raise HTTPException(404, "no such grant of yours")
    return JSONResponse(consent.receipt(store, consent_id), media_type="application/ld+json")


@router.get("/accesses", response_model=list[AccessOut], summary="Who accessed my data (member)",
            responses=_AUTH_RESPONSES)  # fmt: skip
def get_accesses(caller: AccountDep, store: StoreDep) -> list[AccessOut]:
    if caller.role is not Role.MEMBER:
        raise HTTPException(403, "the access log of a data subject is theirs: member accounts only")
    return [
        AccessOut(
            at=_utc(r.at),
            caller=r.caller,
            role=r.role,
            series=r.series,
            prm=r.prm,
            start=_utc(r.start),
            end=_utc(r.end),
            granularity=r.granularity,
            purpose=r.purpose,
            consent_id=r.consent_id,
            decision=r.decision,
            reason=r.reason,
        )
        for r in audit.accesses_to(store, caller.account.holder_id or "")
    ]


class DetailsIn(BaseModel):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    email: str | None = Field(default=None, min_length=3, max_length=200)


class DetailsOut(BaseModel):
    changed: list[str] = Field(description="the fields corrected (their values are not logged)")


@router.post(
    "/details", response_model=DetailsOut, summary="Correct my name or e-mail address (member, GDPR art. 16)",
    responses={**_AUTH_RESPONSES, 400: {"description": "not a valid value"}},
)  # fmt: skip
def post_details(body: DetailsIn, caller: AccountDep, writer: WritingCaller, store: StoreDep) -> DetailsOut:
    if caller.role is not Role.MEMBER:
        raise HTTPException(403, "member accounts only")
    try:
        changed = rights.correct_details(
            store, caller.account, caller.account.holder_id or "", name=body.name, email=body.email
        )
    except (ValueError, LookupError) as exc:
        raise HTTPException(400, str(exc)) from None
    return DetailsOut(changed=changed)


@router.post(
    "/export", summary="Everything regie holds about me, one zip (member, GDPR art. 15 and 20)",
    responses={**_AUTH_RESPONSES, 200: {"content": {"application/zip": {}}}},
)  # fmt: skip
def post_export(caller: AccountDep, writer: WritingCaller, store: StoreDep) -> Response:
    if caller.role is not Role.MEMBER:
        raise HTTPException(403, "member accounts only")
    blob = rights.export_member(store, caller.account, caller.account.holder_id or "")
    name = f"regie-{caller.account.holder_id}.zip"
    return Response(
        blob, media_type="application/zip",
        headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"},
    )  # fmt: skip


class DashboardPeriod(StrEnum):
    day = "day"
    week = "week"
    month = "month"
    year = "year"


class TariffOption(StrEnum):
    base = "base"
    hphc = "hphc"
    tempo = "tempo"


@router.get(
    "/dashboard",
    summary="My dashboard (member): consumption over a period and the same period last year, local share, "
    "estimated cost, similar homes, ACC operations",
    responses={**_AUTH_RESPONSES, 422: {"description": "a malformed parameter"}},
)
def get_my_dashboard(
    caller: AccountDep,
    store: StoreDep,
    period: Annotated[DashboardPeriod, Query(description="calendar period: day, ISO week, month, year")] = (
        DashboardPeriod.month
    ),
    on: Annotated[
        str | None,
        Query(max_length=10, description="a day in the period (YYYY-MM-DD); default: the last day with data"),
    ] = None,
    option: Annotated[TariffOption | None, Query(description="tariff option (default: the one I chose)")] = None,
) -> dict[str, Any]:
    """Every figure of ``/me``'s dashboard as JSON: energies in Wh, the local share as Σ over metering steps of my
    consumption × the territory's published self-sufficiency (``unknown_wh``: my consumption over steps it is
    hidden), the energy part of the regulated tariff in EUR (subscription not included) with its sources,
    similar homes from the publication's frozen monthly cells of my size class only, for a month or a year
    (``months``: each cell used; ``masked`` says why when one is hidden: :mod:`regie.publication.similar_homes`)."""
    from regie.services import member
    from regie.store import member_preferences

    if caller.role is not Role.MEMBER:
        raise HTTPException(403, "for member accounts only")
    try:
        day = datetime.strptime(on, "%Y-%m-%d").date() if on else None
    except ValueError:
        raise HTTPException(422, f"on: {on!r} is not a date (YYYY-MM-DD)") from None
    chosen = option.value if option else member_preferences.get(store, caller.account.id).tariff_option
    board = member.dashboard(store, caller.account, load_inventory(store), period.value, day, chosen)
    return board.as_dict()
