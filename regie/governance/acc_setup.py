"""Setting up a collective self-consumption operation (ACC): who may, what is checked, what is logged.

One function per change — :func:`create_operation`, :func:`add_participant`, :func:`record_exit`,
:func:`set_key` — called alike by the pages (``regie.web.acc_setup_pages``) and the CLI (``regie acc ...``),
so both share every rule:

- **who**: the operation's PMO (an operator whose ``operator_of`` is the PMO organisation, or the operation
  itself) or an admin (:func:`may_manage`);
- **the perimeter**: :func:`perimeter_check` applies the criteria of :mod:`regie.model.operation` (distance
  between the two participants farthest apart ≤ 2 km, 10 or 20 km with the derogation; producers' total peak
  power < 3 MW, 5 MW since the arrêté du 21 février 2025, 0.5 MW in non-interconnected zones) on every day
  the set of participants grows, and a change that breaks them is refused before anything is stored;
- **consent**: each new participant's holder is asked (:func:`regie.governance.consent.request`, status
  *requested*, recipient the PMO) for the curve the allocation needs (consumption or production, at the
  operation's step, for the ACC purpose); :func:`participant_consents` says, without reading or logging a
  read, whose curve the PMO may not read yet (:func:`regie.governance.gate.allowed_granularity`);
- **the log**: each change appends an :class:`AccSetupEvent` to the tamper-evident access log.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field, replace
from datetime import date, datetime
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

from sqlalchemy import select

from regie.governance import audit, consent, gate, invitations
from regie.governance.acc_access import pmo_authority, runs_operation
from regie.governance.accounts import PUBLIC, Account, Role, accounts_of_holder
from regie.model import (
    Density,
    GridZone,
    Inventory,
    Operation,
    Participant,
    ParticipantType,
    SeriesKind,
    Step,
    mask_prm,
    validate_prm,
)
from regie.model import Role as AccRole
from regie.model.operation import (
    FIVE_MW_FROM,
    MAX_DISTANCE_M,
    MAX_DISTANCE_PERIURBAN_M,
    distance_limit_m,
    largest_distance,
    power_limit_w,
)
from regie.store import Store
from regie.store.operations import (
    KeyPeriod,
    StoredOperation,
    load_operation,
    operation_exists,
    save_key_period,
    save_operation,
)
from regie.store.schema import organisation

#: The DPV purpose of ACC reads (same as ``regie.services.acc.ACC_PURPOSE``; governance does not import services).
ACC_PURPOSE = "dpv:FulfilmentOfContractualObligation"
#: Keys a PMO can set (the dynamic simple and full dynamic keys come from the PMO's own files, step by step).
SETTABLE_KEYS: tuple[str, ...] = ("default", "static", "priority")
STEPS: tuple[str, ...] = ("PT15M", "PT30M")
#: Where each limit comes from (``PerimeterCheck.distance_rule`` / ``power_rule``).
RULE_SOURCES: dict[str, str] = {
    "2km": "arrêté du 21 novembre 2019, art. 1",
    "10km": "arrêté du 21 novembre 2019, art. 1 bis: derogation, rural or periurban communes",
    "20km": "arrêté du 21 novembre 2019, art. 1 bis: derogation, rural communes",
    "3MW": "arrêté du 21 novembre 2019, art. 2",
    "5MW": "arrêté du 21 février 2025",
    "zni": "arrêté du 21 novembre 2019, art. 2: non-interconnected zones",
}
#: How long a consent request asks for: 3 years, the longest a grant may last (``consent.MAX_YEARS``).
REQUEST_YEARS = consent.MAX_YEARS


class SetupError(ValueError):
    """A change refused: what, where and why. Nothing was stored."""


class NotManager(PermissionError):
    """The actor is neither the operation's PMO nor an admin."""


@dataclass(frozen=True, slots=True)
class AccSetupEvent:
    """A change to an ACC operation's set-up: ``action`` is operation/create, participant/add,
    participant/exit or key/set; ``detail`` what changed (PRMs masked)."""

    kind: ClassVar[str] = "acc_setup"
    action: str
    operation_id: str
    actor: str
    detail: dict = field(default_factory=dict)


def _log(store: Store, action: str, operation_id: str, actor: Account, detail: dict, now: int | None) -> None:
    audit.append(store, AccSetupEvent(action, operation_id, actor.label, detail), now=now)  # type: ignore[arg-type]


def may_manage(actor: Account, pmo_id: str, operation_id: str | None = None) -> bool:
    """Whether the actor may set up an operation of this PMO: an admin, or an operator of the PMO."""
    if actor.role is Role.ADMIN:
        return True
    return actor.role is Role.OPERATOR and actor.operator_of is not None and actor.operator_of in (
        pmo_id, operation_id)  # fmt: skip


def _require(actor: Account, op: Operation) -> None:
    if not (actor.role is Role.ADMIN or runs_operation(actor, op)):
        raise NotManager(f"operation {op.id}: only its PMO ({op.pmo_id}) or an admin changes it")


def pmo_territory(store: Store, pmo_id: str) -> str:
    """The territory of the PMO organisation; SetupError if there is no such organisation."""
    with store.engine.connect() as conn:
        r = conn.execute(select(organisation.c.territory_id).where(organisation.c.id == pmo_id)).one_or_none()
    if r is None:
        raise SetupError(f"PMO {pmo_id!r}: no such organisation in the inventory (add it first)")
    return r.territory_id


def pmo_choices(store: Store, actor: Account) -> list[tuple[str, str, str]]:
    """The organisations (id, name, territory) the actor may create an operation for: its own organisation
    (an operator), every organisation of its territory (an admin; all territories for a store-wide admin)."""
    with store.engine.connect() as conn:
        rows = conn.execute(select(organisation.c.id, organisation.c.name, organisation.c.territory_id)
                            .order_by(organisation.c.name, organisation.c.id)).all()  # fmt: skip
    return [(r.id, r.name, r.territory_id) for r in rows
            if may_manage(actor, r.id) and actor.territory_id in (None, r.territory_id)]


# ---------------------------------------------------------------- the perimeter


@dataclass(frozen=True, slots=True)
class PerimeterCheck:
    """The extended-ACC criteria on the worst day: the largest distance and the producers' total peak power,
    each with its limit and the rule it comes from; ``refusals`` break the rules (the change is refused),
    ``warnings`` do not (no producer or consumer yet, a participant without a position)."""

    distance_m: float
    pair: tuple[str, str] | None  # masked PRMs of the two farthest apart
    distance_limit_m: float
    distance_rule: str  # 2km, 10km or 20km
    power_w: float
    power_limit_w: float
    power_rule: str  # 3MW, 5MW or zni
    refusals: tuple[str, ...]
    warnings: tuple[str, ...]
    producers: int = 0
    consumers: int = 0
    unlocated: tuple[str, ...] = ()  # masked PRMs without a position

    @property
    def ok(self) -> bool:
        return not self.refusals

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "ok": self.ok}


def _distance_rule(limit: float) -> str:
    return "2km" if limit <= MAX_DISTANCE_M else "10km" if limit <= MAX_DISTANCE_PERIURBAN_M else "20km"


def _power_rule(zone: GridZone, day: date) -> str:
    return "zni" if zone is GridZone.ZNI else "3MW" if day < FIVE_MW_FROM else "5MW"


def perimeter_check(op: Operation, today: date | None = None) -> PerimeterCheck:
    """Check the distance and power criteria on every day the set of participants grows (each entry day:
    the set on any other day is one of these minus some exits), and report the worst figures.

    Sources: arrêté du 21 novembre 2019 (NOR TRER1924212A) art. 1 (2 km) and 1 bis as amended on 19 September
    2023 (10 / 20 km on derogation); art. 2 (< 3 MW), raised to < 5 MW by the arrêté du 21 février 2025 (from
    6 March 2025); < 0.5 MW in non-interconnected zones (see :mod:`regie.model.operation`).
    """
    today = today or date.today()
    days = sorted({p.entry for p in op.participants}) or [today]
    limit = distance_limit_m(op)
    worst_d, pair = 0.0, None
    worst_p, cap, cap_day = 0.0, power_limit_w(op.zone, days[-1]), days[-1]
    for day in days:
        people = op.active_on(day)
        d, a, b = largest_distance(people)
        if d > worst_d:
            worst_d, pair = d, (mask_prm(a.prm), mask_prm(b.prm))
        power = float(sum(p.peak_power_w or 0.0 for p in people if p.role is AccRole.PRODUCER))
        day_cap = power_limit_w(op.zone, day)
        if power / day_cap >= worst_p / cap:
            worst_p, cap, cap_day = power, day_cap, day
    refusals: list[str] = []
    if worst_d > limit and pair is not None:
        refusals.append(f"participants {pair[0]} and {pair[1]} are {worst_d / 1000:.2f} km apart, more than the "
                        f"{limit / 1000:g} km allowed (arrêté du 21 novembre 2019, art. 1"
                        f"{' bis' if limit > MAX_DISTANCE_M else ''})")  # fmt: skip
    if worst_p >= cap:
        where = "in a non-interconnected zone" if op.zone is GridZone.ZNI else "in mainland France"
        refusals.append(f"the producers' total peak power {worst_p / 1e6:.3f} MW must stay below {cap / 1e6:g} MW "
                        f"{where} on {cap_day} (arrêté du 21 novembre 2019, art. 2, as amended on 21 February 2025)")
    warnings: list[str] = []
    if not op.producers:
        warnings.append("no producer yet")
    if not op.consumers:
        warnings.append("no consumer yet")
    unlocated = [mask_prm(p.prm) for p in op.participants if p.latitude is None]
    if unlocated:
        warnings.append(f"no position for {', '.join(unlocated)}: the distance cannot be checked")
    return PerimeterCheck(worst_d, pair, limit, _distance_rule(limit), worst_p, cap, _power_rule(op.zone, cap_day),
                          tuple(refusals), tuple(warnings), len(op.producers), len(op.consumers),
                          tuple(unlocated))  # fmt: skip


def _refuse_if_outside(op: Operation) -> PerimeterCheck:
    check = perimeter_check(op)
    if not check.ok:
        raise SetupError(f"operation {op.id}: " + "; ".join(check.refusals))
    return check


# ---------------------------------------------------------------- keys


def parse_params(text: str | None, what: str = "the key's parameters") -> dict[str, Any] | None:
    """A key's parameters as typed (a JSON object), None when empty; SetupError naming ``what`` otherwise."""
    if text is None or not text.strip():
        return None
    try:
        parsed = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SetupError(f"{what} is not JSON: {exc}") from None
    if not isinstance(parsed, dict):
        raise SetupError(f'{what} is a JSON object, e.g. {{"share": "consumption"}}')
    return parsed



def check_key(op: Operation, key: str, params: dict[str, Any] | None) -> dict[str, Any]:
    """The key's parameters, checked: ``{}`` for the default key; ``{"shares": {PRM: fraction}}`` (optional:
    else each consumer's static share) for the static key; ``{"share": "weight" | "consumption"}`` for the
    priority key (how a level's production is split: by weight, or pro rata of consumption)."""
    params = dict(params or {})
    if key not in SETTABLE_KEYS:
        raise SetupError(f"key {key!r}: choose one of {', '.join(SETTABLE_KEYS)} (the dynamic simple and full "
                         "dynamic keys are files the PMO sends, step by step)")
    allowed = {"default": set(), "static": {"shares"}, "priority": {"share"}}[key]
    extra = sorted(set(params) - allowed)
    if extra:
        raise SetupError(f"key {key}: unknown parameter(s) {', '.join(extra)}"
                         + (f"; it takes {', '.join(sorted(allowed))}" if allowed else "; it takes none"))
    if "share" in params and params["share"] not in ("weight", "consumption"):
        raise SetupError(f"key priority: share is 'weight' or 'consumption', got {params['share']!r}")
    if "shares" in params:
        shares = params["shares"]
        if not isinstance(shares, dict) or not shares:
            raise SetupError("key static: shares is an object {PRM: fraction}")
        consumers = {p.prm for p in op.consumers}
        clean: dict[str, float] = {}
        for prm, value in shares.items():
            try:
                validate_prm(str(prm))
                fraction = float(value)
            except (TypeError, ValueError) as exc:
                raise SetupError(f"key static: share of {prm!r}: {exc}") from None
            if str(prm) not in consumers:
                raise SetupError(f"key static: {mask_prm(str(prm))} is not a consumer of operation {op.id}")
            if not 0 <= fraction <= 1:
                raise SetupError(f"key static: share of {mask_prm(str(prm))} must be between 0 and 1, got {fraction}")
            clean[str(prm)] = fraction
        if sum(clean.values()) > 1 + 1e-9:
            raise SetupError(f"key static: shares add up to {sum(clean.values()):.4f}, more than 1")
        params["shares"] = clean
    return params


# ---------------------------------------------------------------- changes


def create_operation(
    store: Store,
    actor: Account,
    *,
    operation_id: str,
    name: str,
    pmo_id: str,
    step: str = "PT30M",
    zone: str = "mainland",
    derogation: bool = False,
    key: str = "default",
    params: dict[str, Any] | None = None,
    now: int | None = None,
) -> StoredOperation:
    """A new operation without participants yet, in its PMO's territory (the PMO or an admin creates it)."""
    if not may_manage(actor, pmo_id, operation_id):
        raise NotManager(f"only an operator of {pmo_id} (the PMO) or an admin creates its operations")
    if not name.strip():
        raise SetupError("the operation needs a name")
    if step not in STEPS:
        raise SetupError(f"step {step!r}: an operation is computed at {' or '.join(STEPS)}")
    try:
        grid = GridZone(zone)
    except ValueError:
        raise SetupError(f"zone {zone!r}: {' or '.join(z.value for z in GridZone)}") from None
    territory_id = pmo_territory(store, pmo_id)
    if operation_exists(store, operation_id):
        raise SetupError(f"operation {operation_id!r} already exists")
    try:
        op = Operation(operation_id, name.strip(), pmo_id, (), Step.parse(step), grid, bool(derogation))
    except ValueError as exc:
        raise SetupError(str(exc)) from None
    params = check_key(op, key, params)
    if params:
        raise SetupError(f"key {key}: set its parameters with a key period once the participants are in "
                         "(regie acc key set, or the operation's set-up page)")
    stored = StoredOperation(op, territory_id, key)
    save_operation(store, stored)
    _log(store, "operation/create", op.id, actor, {"name": op.name, "pmo": pmo_id, "step": step, "zone": grid.value,
                                                  "derogation": op.derogation, "key": key}, now)  # fmt: skip
    return stored


@dataclass(frozen=True, slots=True)
class AddedParticipant:
    """A participant added, the consent request sent to its holder (None with ``consent_note`` saying why),
    and the perimeter once it is in."""

    participant: Participant
    holder_id: str | None
    request: consent.Grant | None
    consent_note: str | None
    check: PerimeterCheck
    invitation: invitations.Invitation | None = None
    invitation_note: str | None = None


def _candidate(inv: Inventory, values: dict[str, Any]) -> Participant:
    """A participant from typed values, its position and peak power taken from the inventory when not given."""
    prm = str(values.get("prm") or "").strip()
    validate_prm(prm)
    dp = next((d for d in inv.delivery_points if d.prm == prm), None)
    if dp is None:
        raise SetupError(f"{mask_prm(prm)} is not a delivery point of territory {inv.territory.id}: declare it first")
    role = AccRole(values.get("role") or "consumer")
    lat, lon = values.get("latitude"), values.get("longitude")
    if lat is None and lon is None:
        site = next((s for s in inv.sites if s.id == dp.site_id), None)
        if site is not None:
            lat, lon = site.latitude, site.longitude
    peak = values.get("peak_power_w")
    if role is AccRole.PRODUCER and peak is None:
        peak = next((p.peak_power_w for p in inv.producers if p.prm == prm), None)
    density = values.get("density")
    return Participant(
        prm=prm, role=role, entry=values["entry"], exit=values.get("exit"),
        type=ParticipantType(values.get("type") or "household"), priority=int(values.get("priority") or 1),
        weight=float(values.get("weight") or 1.0), peak_power_w=float(peak) if peak is not None else None,
        latitude=float(lat) if lat is not None else None, longitude=float(lon) if lon is not None else None,
        density=Density(density) if density else None, name=str(values.get("name") or "").strip(),
    )  # fmt: skip


def with_candidate(store: Store, stored: StoredOperation, values: dict[str, Any]) -> tuple[Operation, Participant]:
    """The operation as it would be with one more participant (for the live check and for :func:`add_participant`)."""
    try:
        p = _candidate(store.load_inventory(stored.territory_id), values)
        return replace(stored.operation, participants=(*stored.operation.participants, p)), p
    except (KeyError, TypeError, ValueError) as exc:
        raise SetupError(str(exc) if not isinstance(exc, KeyError) else f"missing {exc}") from None


def holder_of(inv: Inventory, prm: str, day: date) -> str | None:
    """Who holds the delivery point on a day (the data subject asked for consent)."""
    for m in inv.memberships:
        if m.prm == prm and m.since <= day and (m.until is None or day < m.until):
            return m.holder_id
    return None


def _midnight(day: date, zone: ZoneInfo) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=zone).timestamp())


def _pmo_account(actor: Account, op: Operation) -> Account:
    """The account the request is made as: the PMO's operator itself, else a stand-in for the PMO."""
    return actor if runs_operation(actor, op) and actor.operator_of == op.pmo_id else pmo_authority(op, actor)


def add_participant(store: Store, actor: Account, operation_id: str, values: dict[str, Any], *,
                    share: float | None = None, email: str | None = None, now: int | None = None) -> AddedParticipant:
    """Add a participant from its entry day on (``values``: prm, role, entry, and optionally exit, type,
    priority, weight, peak_power_w, latitude, longitude, density, name), refused if the perimeter would break;
    then ask its holder's consent for the curve the PMO needs and, with ``email``, invite the holder when
    they have no account yet (:func:`regie.governance.invitations.invite`; the caller delivers it)."""
    stored = load_operation(store, operation_id)
    _require(actor, stored.operation)
    address = None
    if email is not None and email.strip():
        try:
            address = invitations.normalise_email(email)
        except invitations.InvitationError as exc:
            raise SetupError(str(exc)) from None
    op, p = with_candidate(store, stored, values)
    check = _refuse_if_outside(op)
    shares = dict(stored.static_shares)
    if share is not None:
        if p.role is not AccRole.CONSUMER or not 0 <= share <= 1:
            raise SetupError("a static share is a fraction between 0 and 1, for a consumer")
        shares[p.prm] = float(share)
    save_operation(store, replace(stored, operation=op, static_shares=shares))
    at = int(time.time()) if now is None else int(now)
    inv = store.load_inventory(stored.territory_id)
    holder = holder_of(inv, p.prm, max(p.entry, datetime.fromtimestamp(at, inv.territory.zone).date()))
    holder = holder or holder_of(inv, p.prm, p.entry)
    request, note = None, None
    kind = SeriesKind.CONSUMPTION if p.role is AccRole.CONSUMER else SeriesKind.PRODUCTION
    standing = _standing_grant(store, op, p, holder, kind, _midnight(p.entry, inv.territory.zone), at)
    if holder is None:
        note = "no holder of this delivery point in the inventory: nobody to ask for consent"
    elif standing is not None:
        note = f"{holder} has already {'given' if standing.status is consent.Status.GIVEN else 'been asked for'} " \
               f"this consent (grant {standing.id[:8]})"
    else:
        try:
            request = consent.request(
                store, _pmo_account(actor, op), subject_id=holder, categories=[kind.value], prms=[p.prm],
                granularity=op.step.iso, data_start=_midnight(p.entry, inv.territory.zone), data_end=None,
                purpose=ACC_PURPOSE, expires_at=consent.add_years(at, REQUEST_YEARS), now=at,
            )  # fmt: skip
        except consent.ConsentError as exc:
            note = str(exc)
    _log(store, "participant/add", op.id, actor, {
        "prm": mask_prm(p.prm), "role": p.role.value, "entry": p.entry.isoformat(),
        "consent_request": request.id if request else None}, at)  # fmt: skip
    invitation, invite_note = _invite_holder(store, actor, holder, address, stored.territory_id, at)
    return AddedParticipant(p, holder, request, note, check, invitation, invite_note)


def _invite_holder(store: Store, actor: Account, holder: str | None, address: str | None, territory_id: str,
                   at: int) -> tuple[invitations.Invitation | None, str | None]:
    """Invite the holder as a member when an address is given and they have no account; else say why not."""
    if address is None:
        return None, None
    if holder is None:
        return None, "nobody holds this delivery point in the inventory: nobody to invite"
    if any(a.role is Role.MEMBER for a in accounts_of_holder(store, holder)):
        return None, f"{holder} already has an account: the consent request waits on their page"
    try:  # an admin, or this operation's PMO (its participant's holder, as a member): invitations decides
        return invitations.invite(store, actor, email=address, role=Role.MEMBER, holder_id=holder,
                                  territory_id=territory_id, now=at), None  # fmt: skip
    except (invitations.InvitationError, ValueError) as exc:
        return None, str(exc)


def _standing_grant(store: Store, op: Operation, p: Participant, holder: str | None, kind: SeriesKind, since: int,
                    at: int) -> consent.Grant | None:
    """A grant of the holder to the PMO, given or still asked, that already covers what the request would ask."""
    if holder is None:
        return None
    standin = pmo_authority(op, PUBLIC)
    step = consent.Granularity.parse(op.step.iso)
    pmo_of = consent.pmo_lookup(store)
    for g in consent.grants_for_prm(store, p.prm):
        if (g.names(standin, pmo_of) and g.subject_id == holder and g.purpose == ACC_PURPOSE
                and kind.value in g.categories and g.granularity.allows(step)
                and g.data_start <= since and g.data_end is None
                and g.status_at(at) in (consent.Status.GIVEN, consent.Status.REQUESTED)):
            return g
    return None


def record_exit(store: Store, actor: Account, operation_id: str, prm: str, on: date, *, role: str | None = None,
                now: int | None = None) -> Participant:
    """A participant leaves: it no longer counts from ``on`` (exclusive end, a local day)."""
    stored = load_operation(store, operation_id)
    op = stored.operation
    _require(actor, op)
    found = [p for p in op.participants if p.prm == prm.strip() and (role is None or p.role.value == role)]
    if not found:
        raise SetupError(f"{mask_prm(prm.strip())} is not a participant of operation {op.id}")
    if len(found) > 1:
        raise SetupError(f"{mask_prm(prm.strip())} is both consumer and producer: say which one leaves (role)")
    old = found[0]
    if old.exit is not None:
        raise SetupError(f"{mask_prm(old.prm)} already left operation {op.id} on {old.exit}")
    try:
        new = replace(old, exit=on)
    except ValueError as exc:
        raise SetupError(str(exc)) from None
    participants = tuple(new if p is old else p for p in op.participants)
    save_operation(store, replace(stored, operation=replace(op, participants=participants)))
    _log(store, "participant/exit", op.id, actor, {"prm": mask_prm(old.prm), "role": old.role.value,
                                                  "exit": on.isoformat()}, now)  # fmt: skip
    return new


def set_key(store: Store, actor: Account, operation_id: str, key: str, since: date,
            params: dict[str, Any] | None = None, *, now: int | None = None) -> KeyPeriod:
    """The allocation key from a local day on (a period starting that day is replaced)."""
    stored = load_operation(store, operation_id)
    _require(actor, stored.operation)
    period = KeyPeriod(since, key, check_key(stored.operation, key, params))
    old = save_key_period(store, operation_id, period)
    detail: dict[str, Any] = {"key": key, "since": since.isoformat(), "params": masked_params(period.params)}
    if old is not None:
        detail["replaced"] = {"key": old.key, "params": masked_params(old.params)}
    _log(store, "key/set", operation_id, actor, detail, now)
    return period


def masked_params(params: Any) -> Any:
    """Key parameters with the PRMs masked (for logs, pages and the console)."""
    if isinstance(params, dict) and isinstance(params.get("shares"), dict):
        return {**params, "shares": {mask_prm(k): v for k, v in params["shares"].items()}}
    return dict(params)


# ---------------------------------------------------------------- who has consented


@dataclass(frozen=True, slots=True)
class ParticipantConsent:
    """Whether the PMO may read a participant's curve over a period, and else why not.

    ``state``: ``given``; ``requested`` (asked on ``asked_at``, not answered), ``refused``, ``withdrawn``,
    ``expired``; ``insufficient`` (a grant that does not cover the period or the step); ``none`` (never
    asked); ``no_holder``; ``no_series`` (no load curve declared yet)."""

    participant: Participant
    holder_id: str | None
    state: str
    asked_at: int | None = None

    @property
    def consented(self) -> bool:
        return self.state == "given"


def participant_consents(store: Store, stored: StoredOperation, start: int, end: int, *,
                         now: int | None = None) -> list[ParticipantConsent]:
    """For each participant that counts in [start, end): may the PMO read its curve at the operation's step,
    for the ACC purpose, over its days in the period? Reads nothing and logs nothing."""
    at = int(time.time()) if now is None else int(now)
    op = stored.operation
    inv = store.load_inventory(stored.territory_id)
    zone = inv.territory.zone
    standin = pmo_authority(op, PUBLIC)  # reads and logs nothing: only whose grants would allow
    pmo_of = consent.pmo_lookup(store)
    out: list[ParticipantConsent] = []
    for p in op.participants:
        a = max(start, _midnight(p.entry, zone))
        b = min(end, _midnight(p.exit, zone)) if p.exit else end
        if b <= a:
            continue
        kind = SeriesKind.CONSUMPTION if p.role is AccRole.CONSUMER else SeriesKind.PRODUCTION
        series = [s for s in inv.series if s.prm == p.prm and s.kind is kind and s.unit in ("W", "Wh")]
        day = datetime.fromtimestamp(a, zone).date()
        holder = holder_of(inv, p.prm, day)
        if not series:
            out.append(ParticipantConsent(p, holder, "no_series"))
            continue
        if holder is None:
            out.append(ParticipantConsent(p, None, "no_holder"))
            continue
        level = gate.allowed_granularity(store, standin, series[0].id, a, b, ACC_PURPOSE, now=at)
        if level is not None and consent.Granularity.parse(level).allows(consent.Granularity.parse(op.step.iso)):
            out.append(ParticipantConsent(p, holder, "given"))
            continue
        mine = [g for g in consent.grants_for_prm(store, p.prm)
                if g.names(standin, pmo_of) and g.subject_id == holder and g.purpose == ACC_PURPOSE]
        latest = max(mine, key=lambda g: g.created_at, default=None)
        state = "none" if latest is None else latest.status_at(at).value
        out.append(ParticipantConsent(p, holder, "insufficient" if state == "given" else state,
                                      latest.created_at if latest else None))  # fmt: skip
    return out
