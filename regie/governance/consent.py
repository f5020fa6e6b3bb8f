"""Consent grants: a data subject lets a recipient read some of their series, on their terms.

A grant names the data subject (the Person or Organisation holding the delivery points), the recipient
(an account, an organisation, an ACC operation, later a peer régie), the data categories (series kinds:
consumption, production, ...), the delivery points (PRMs) it covers, the finest granularity the recipient
may see (raw, PT10M, PT15M, PT30M, P1D, P1M: :class:`Granularity`), the period of data covered, the purpose
(a W3C DPV purpose) and an expiry.

The expiry is at most 3 years after the grant, as Enedis does for third parties: the ``duration`` of a
Data Connect consent "ne peut excéder 3 ans" (Enedis Data Connect, ``/oauth2/authorize``, parameter
``duration``, ISO 8601, e.g. ``P3Y``). A grant can be withdrawn at any time (GDPR art. 7(3)), and the gate
stops access at once. An operator may *request* a grant; the data subject gives or refuses it.

Every change (requested, given, refused, withdrawn, expired) is a consent record kept in
``consent_event`` and in the access log, shaped after ISO/IEC TS 27560:2023 ("Privacy technologies —
Consent record information structure") with W3C DPV terms (DPV 2.x, https://w3id.org/dpv): the
receipt of :func:`receipt` is JSON-LD.
"""

from __future__ import annotations

import functools
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from sqlalchemy import insert, select, update

from regie.governance import audit
from regie.governance.accounts import Account, Role
from regie.model import SeriesKind, mask_prm, validate_prm
from regie.store import Store
from regie.store.operations import operation_pmo
from regie.store.schema import consent, consent_event, membership

MAX_YEARS = 3


class Granularity(StrEnum):
    """The finest time step a recipient may see; coarser is always allowed.

    Finest first: ``raw`` (a series' own points, as recorded: an emonPi posts every 10 s), then PT10M,
    PT15M, PT30M, P1D, P1M. Why the sub-half-hour levels: a Linky meter can record its load curve every
    10 minutes and Enedis delivers it with ``Pas`` = ``PT10M`` (flux R63, field ``Pas``: PT5M, PT10M, PT15M,
    PT30M, PT60M; see :mod:`regie.ingest.enedis`), and collective self-consumption is computed at 15 minutes
    since imbalance settlement moved to 15-minute periods (Commission Regulation (EU) 2017/2195, art. 53;
    the operation's step follows it, see :class:`regie.model.Operation`), 30 minutes before. Values are
    stored as these strings (``consent.granularity``, 8 characters): older grants stay valid as they are.
    """

    RAW = "raw"
    PT10M = "PT10M"
    PT15M = "PT15M"
    PT30M = "PT30M"
    P1D = "P1D"
    P1M = "P1M"

    @property
    def rank(self) -> int:
        """0 for ``raw``, then one more for each coarser level."""
        return _ORDER.index(self)

    @property
    def seconds(self) -> int | None:
        """The length of a fixed step [s] (PT10M, PT15M, PT30M); None for ``raw`` and the calendar levels."""
        return _SECONDS.get(self)

    def allows(self, requested: Granularity) -> bool:
        """A P1D grant allows P1D and P1M reads, never PT30M; a PT15M grant allows PT15M and coarser."""
        return requested.rank >= self.rank

    @classmethod
    def parse(cls, text: str) -> Granularity:
        """The level named ``text`` (``PT15M``, ``raw``, ...), or :class:`ConsentError` listing the choices."""
        cleaned = text.strip()
        for g in cls:
            if cleaned.upper() == g.value.upper():
                return g
        raise ConsentError(f"granularity {text!r}: choose one of {', '.join(g.value for g in cls)}")


_ORDER: tuple[Granularity, ...] = tuple(Granularity)
_SECONDS: dict[Granularity, int] = {Granularity.PT10M: 600, Granularity.PT15M: 900, Granularity.PT30M: 1800}


class Status(StrEnum):
    REQUESTED = "requested"
    GIVEN = "given"
    REFUSED = "refused"
    WITHDRAWN = "withdrawn"
    EXPIRED = "expired"

    @property
    def dpv(self) -> str:
        """The DPV consent status (DPV "Consent Status" taxonomy: ConsentRequested, ConsentGiven, ...)."""
        return "dpv:Consent" + self.value.capitalize()


class RecipientKind(StrEnum):
    ACCOUNT = "account"
    ORGANISATION = "organisation"
    OPERATION = "operation"
    PEER = "peer"


#: Purposes a grant may name: terms of the W3C DPV purposes taxonomy (DPV 2.3, ``purposes`` module). DPV
#: has no energy-specific purpose in its core, so we use the nearest core terms and say what they mean here.
PURPOSES: dict[str, str] = {
    "dpv:ServiceProvision": "providing the service the member asked for (dashboard, alerts)",
    "dpv:OptimisationForConsumer": "advice to lower the member's consumption or bill",
    "dpv:FulfilmentOfContractualObligation": "collective self-consumption: allocation keys and bills",
    "dpv:ServiceMonitoring": "supervising the local grid (transformer loads, voltage)",
    "dpv:ResearchAndDevelopment": "research on local energy (e.g. a university study)",
    "dpv:CombatClimateChange": "territorial energy planning (PCAET, renovation programmes)",
}

CATEGORIES = tuple(k.value for k in SeriesKind)


class ConsentError(ValueError):
    """A consent operation refused, with the reason."""


@dataclass(frozen=True, slots=True)
class Grant:
    id: str
    subject_id: str
    recipient_kind: RecipientKind
    recipient_id: str
    categories: frozenset[str]
    prms: tuple[str, ...]
    granularity: Granularity
    data_start: int
    data_end: int | None
    purpose: str
    status: Status
    created_at: int
    expires_at: int
    requested_by: str | None = None

    def status_at(self, now: int) -> Status:
        """The status in force at ``now``: a given grant past its expiry is expired, whatever is stored."""
        if self.status is Status.GIVEN and now >= self.expires_at:
            return Status.EXPIRED
        return self.status

    @property
    def recipient(self) -> str:
        return f"{self.recipient_kind.value}:{self.recipient_id}"

    def names(self, caller: Account, pmo_of: Callable[[str], str | None] | None = None) -> bool:
        """Whether the caller is (or acts for) the recipient of this grant.

        A grant to an operation names the operators of that operation and those of its PMO organisation
        (who runs the operation and computes its allocation, ``pmo_of(operation id)``: see
        :func:`pmo_lookup`); without ``pmo_of`` only the former."""
        k, r = self.recipient_kind, self.recipient_id
        if k is RecipientKind.ACCOUNT:
            return caller.username == r
        if k is RecipientKind.ORGANISATION:
            return r in (caller.operator_of, caller.holder_id)
        if k is RecipientKind.OPERATION:
            if caller.role is not Role.OPERATOR or caller.operator_of is None:
                return False
            return caller.operator_of == r or (pmo_of is not None and pmo_of(r) == caller.operator_of)
        if k is RecipientKind.PEER:  # a peer régie reads as its federation account (regie.federation.peers)
            return caller.username == f"peer:{r}"
        return False


def _now(now: int | None) -> int:
    return int(time.time()) if now is None else int(now)


def add_years(t: int, years: int) -> int:
    """The same UTC instant ``years`` later (29 February becomes 28 February)."""
    d = datetime.fromtimestamp(t, UTC)
    try:
        return int(d.replace(year=d.year + years).timestamp())
    except ValueError:
        return int(d.replace(year=d.year + years, day=28).timestamp())


def _from_row(r) -> Grant:
    return Grant(
        r.id, r.subject_id, RecipientKind(r.recipient_kind), r.recipient_id,
        frozenset(c for c in r.categories.split(",") if c), tuple(p for p in r.prms.split(",") if p),
        Granularity(r.granularity), int(r.data_start), int(r.data_end) if r.data_end is not None else None,
        r.purpose, Status(r.status), int(r.created_at), int(r.expires_at), r.requested_by,
    )  # fmt: skip


def held_prms(store: Store, subject_id: str) -> set[str]:
    """Every delivery point the data subject holds or held (a grant may cover any of them)."""
    with store.engine.connect() as conn:
        return {r.prm for r in conn.execute(select(membership.c.prm).where(membership.c.holder_id == subject_id))}


def _validate(
    store: Store,
    subject_id: str,
    categories: list[str] | tuple[str, ...] | frozenset[str],
    prms: list[str] | tuple[str, ...],
    purpose: str,
    data_start: int,
    data_end: int | None,
    expires_at: int,
    now: int,
) -> None:
    bad = sorted(set(categories) - set(CATEGORIES))
    if not categories or bad:
        raise ConsentError(f"categories must be among {', '.join(CATEGORIES)}; got {', '.join(sorted(categories))}")
    if purpose not in PURPOSES:
        raise ConsentError(f"unknown purpose {purpose!r}: use one of {', '.join(PURPOSES)}")
    if not prms:
        raise ConsentError("a grant covers at least one delivery point")
    for p in prms:
        validate_prm(p)
    foreign = [p for p in prms if p not in held_prms(store, subject_id)]
    if foreign:
        raise ConsentError(f"{subject_id} does not hold {', '.join(mask_prm(p) for p in foreign)}")
    if data_end is not None and data_end <= data_start:
        raise ConsentError("the data period ends before it starts")
    if expires_at <= now:
        raise ConsentError("the expiry is in the past")
    if expires_at > add_years(now, MAX_YEARS):
        raise ConsentError(f"a grant lasts at most {MAX_YEARS} years (as an Enedis consent does)")


def _insert(store: Store, g: Grant, actor: str, note: str | None) -> None:
    with store.engine.execution_options(writer=True).begin() as conn:
        conn.execute(
            insert(consent).values(
                id=g.id, subject_id=g.subject_id, recipient_kind=g.recipient_kind.value, recipient_id=g.recipient_id,
                categories=",".join(sorted(g.categories)), prms=",".join(g.prms), granularity=g.granularity.value,
                data_start=g.data_start, data_end=g.data_end, purpose=g.purpose, status=g.status.value,
                created_at=g.created_at, expires_at=g.expires_at, requested_by=g.requested_by,
            )
        )  # fmt: skip
        conn.execute(
            insert(consent_event).values(
                consent_id=g.id, status=g.status.value, at=g.created_at, actor=actor, note=note
            )
        )
    _log(store, g, g.status, actor, g.created_at)


def _log(store: Store, g: Grant, status: Status, actor: str, at: int) -> None:
    audit.append(store, audit.ConsentEvent(g.id, g.subject_id, status.value, actor, g.recipient, g.purpose), now=at)


def _may_act_for(actor: Account, subject_id: str) -> bool:
    return actor.role is Role.ADMIN or (actor.role is Role.MEMBER and actor.holder_id == subject_id)


def grant(
    store: Store,
    actor: Account,
    *,
    subject_id: str,
    recipient_kind: RecipientKind | str,
    recipient_id: str,
    categories: list[str] | tuple[str, ...],
    prms: list[str] | tuple[str, ...],
    granularity: Granularity | str,
    data_start: int,
    data_end: int | None,
    purpose: str,
    expires_at: int,
    now: int | None = None,
) -> Grant:
    """The data subject (or an admin on their written instruction) gives a grant."""
    at = _now(now)
    if not _may_act_for(actor, subject_id):
        raise ConsentError("only the data subject (or an admin) gives a grant")
    _validate(store, subject_id, categories, prms, purpose, data_start, data_end, expires_at, at)
    g = Grant(
        uuid.uuid4().hex, subject_id, RecipientKind(recipient_kind), recipient_id, frozenset(categories),
        tuple(sorted(set(prms))), Granularity.parse(granularity), int(data_start), data_end, purpose, Status.GIVEN, at,
        int(expires_at),
    )  # fmt: skip
    _insert(store, g, actor.label, None)
    return g


def request(
    store: Store,
    actor: Account,
    *,
    subject_id: str,
    categories: list[str] | tuple[str, ...],
    prms: list[str] | tuple[str, ...],
    granularity: Granularity | str,
    data_start: int,
    data_end: int | None,
    purpose: str,
    expires_at: int,
    now: int | None = None,
) -> Grant:
    """An operator asks a data subject for a grant to their operation (or organisation)."""
    at = _now(now)
    if actor.role is not Role.OPERATOR or not actor.operator_of:
        raise ConsentError("only an operator requests a grant")
    _validate(store, subject_id, categories, prms, purpose, data_start, data_end, expires_at, at)
    g = Grant(
        uuid.uuid4().hex, subject_id, RecipientKind.OPERATION, actor.operator_of, frozenset(categories),
        tuple(sorted(set(prms))), Granularity.parse(granularity), int(data_start), data_end, purpose, Status.REQUESTED,
        at, int(expires_at), actor.username,
    )  # fmt: skip
    _insert(store, g, actor.label, None)
    return g


def _transition(
    store: Store,
    consent_id: str,
    actor: Account,
    to: Status,
    allowed_from: tuple[Status, ...],
    now: int | None,
    note: str | None,
) -> Grant:
    at = _now(now)
    with store.engine.execution_options(writer=True).begin() as conn:
        r = conn.execute(select(consent).where(consent.c.id == consent_id).with_for_update()).one_or_none()
        if r is None:
            raise ConsentError(f"no consent {consent_id}")
        g = _from_row(r)
        if not _may_act_for(actor, g.subject_id):
            raise ConsentError("only the data subject (or an admin) changes a grant")
        current = g.status_at(at)
        if current not in allowed_from:
            raise ConsentError(f"consent {consent_id} is {current.value}: it cannot become {to.value}")
        if to is Status.GIVEN and g.expires_at > add_years(at, MAX_YEARS):
            raise ConsentError(f"a grant lasts at most {MAX_YEARS} years")
        conn.execute(update(consent).where(consent.c.id == consent_id).values(status=to.value))
        conn.execute(
            insert(consent_event).values(consent_id=consent_id, status=to.value, at=at, actor=actor.label, note=note)
        )
    _log(store, g, to, actor.label, at)
    return _replace_status(g, to)


def _replace_status(g: Grant, status: Status) -> Grant:
    from dataclasses import replace

    return replace(g, status=status)


def accept(store: Store, consent_id: str, actor: Account, *, now: int | None = None) -> Grant:
    """The data subject gives a requested grant."""
    return _transition(store, consent_id, actor, Status.GIVEN, (Status.REQUESTED,), now, None)


def refuse(store: Store, consent_id: str, actor: Account, *, now: int | None = None, note: str | None = None) -> Grant:
    """The data subject refuses a requested grant."""
    return _transition(store, consent_id, actor, Status.REFUSED, (Status.REQUESTED,), now, note)


def withdraw(
    store: Store, consent_id: str, actor: Account, *, now: int | None = None, note: str | None = None
) -> Grant:
    """Withdraw a grant: from this instant the gate refuses every read under it (GDPR art. 7(3))."""
    return _transition(store, consent_id, actor, Status.WITHDRAWN, (Status.GIVEN,), now, note)


def expire_due(store: Store, *, now: int | None = None) -> int:
    """Record the expiry of grants past their date (the gate already refuses them; this keeps the record)."""
    at = _now(now)
    with store.engine.connect() as conn:
        rows = conn.execute(
            select(consent).where(consent.c.status == Status.GIVEN.value, consent.c.expires_at <= at)
        ).all()
    done = 0
    for r in rows:
        g = _from_row(r)
        with store.engine.execution_options(writer=True).begin() as conn:
            n = conn.execute(
                update(consent)
                .where(consent.c.id == g.id, consent.c.status == Status.GIVEN.value)
                .values(status=Status.EXPIRED.value)
            ).rowcount
            if n:
                conn.execute(
                    insert(consent_event).values(consent_id=g.id, status=Status.EXPIRED.value, at=at, actor="regie")
                )
        if n:
            _log(store, g, Status.EXPIRED, "regie", at)
            done += 1
    return done


def get_grant(store: Store, consent_id: str) -> Grant | None:
    with store.engine.connect() as conn:
        r = conn.execute(select(consent).where(consent.c.id == consent_id)).one_or_none()
    return None if r is None else _from_row(r)


def list_grants(store: Store, *, subject_id: str | None = None, recipient_id: str | None = None) -> list[Grant]:
    q = select(consent).order_by(consent.c.created_at, consent.c.id)
    if subject_id is not None:
        q = q.where(consent.c.subject_id == subject_id)
    if recipient_id is not None:
        q = q.where(consent.c.recipient_id == recipient_id)
    with store.engine.connect() as conn:
        return [_from_row(r) for r in conn.execute(q)]


def pmo_lookup(store: Store) -> Callable[[str], str | None]:
    """``operation id → its PMO organisation``, read once per operation (for :meth:`Grant.names`)."""
    return functools.cache(lambda operation_id: operation_pmo(store, operation_id))


def grants_for_prm(store: Store, prm: str) -> list[Grant]:
    """Candidate grants for a delivery point (the gate filters them precisely)."""
    with store.engine.connect() as conn:
        rows = conn.execute(select(consent).where(consent.c.prms.contains(prm)))
        return [g for g in map(_from_row, rows) if prm in g.prms]


@dataclass(frozen=True, slots=True)
class ConsentRecord:
    """One change of a grant: the ISO/IEC TS 27560 "consent record" event."""

    consent_id: str
    status: Status
    at: int
    actor: str
    note: str | None


def history(store: Store, consent_id: str) -> list[ConsentRecord]:
    with store.engine.connect() as conn:
        rows = conn.execute(
            select(consent_event).where(consent_event.c.consent_id == consent_id).order_by(consent_event.c.id)
        )
        return [ConsentRecord(r.consent_id, Status(r.status), int(r.at), r.actor, r.note) for r in rows]


# ---------------------------------------------------------------- receipts

JSONLD_CONTEXT: dict[str, object] = {
    "dpv": "https://w3id.org/dpv#",
    "dct": "http://purl.org/dc/terms/",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "regie": "https://w3id.org/regie/ns#",
    "dct:created": {"@type": "xsd:dateTime"},
    "dct:modified": {"@type": "xsd:dateTime"},
    "regie:dataStart": {"@type": "xsd:dateTime"},
    "regie:dataEnd": {"@type": "xsd:dateTime"},
    "rdf:value": {"@type": "xsd:dateTime"},
    "dpv:hasPurpose": {"@type": "@id"},
    "dpv:hasConsentStatus": {"@type": "@id"},
    "regie:granularity": {"@type": "xsd:duration"},
}


def _iso(t: int | None) -> str | None:
    return None if t is None else datetime.fromtimestamp(t, UTC).isoformat().replace("+00:00", "Z")


def receipt(store: Store, consent_id: str, *, base: str = "urn:regie:") -> dict:
    """The consent record as a JSON-LD receipt (ISO/IEC TS 27560 structure, DPV terms), with its history.

    PRMs appear masked: a receipt may be forwarded, and a full PRM is personal data.
    """
    g = get_grant(store, consent_id)
    if g is None:
        raise ConsentError(f"no consent {consent_id}")
    events = history(store, consent_id)
    return {
        "@context": JSONLD_CONTEXT,
        "@id": f"{base}consent:{g.id}",
        "@type": "dpv:ConsentRecord",
        "dct:identifier": g.id,
        "dct:created": _iso(g.created_at),
        "dct:modified": _iso(events[-1].at if events else g.created_at),
        "dpv:hasDataSubject": {"@id": f"{base}holder:{g.subject_id}"},
        "dpv:hasRecipient": {"@id": f"{base}{g.recipient}"},
        "dpv:hasPurpose": g.purpose,
        "dpv:hasConsentStatus": g.status.dpv,
        "dpv:hasPersonalData": [{"@id": f"regie:category/{c}"} for c in sorted(g.categories)],
        "dpv:hasDuration": {"@type": "dpv:UntilTimeDuration", "rdf:value": _iso(g.expires_at)},
        # an ISO 8601 duration (xsd:duration); "raw" is no duration, so it is named as a node instead
        "regie:granularity": {"@id": "regie:raw"} if g.granularity is Granularity.RAW else g.granularity.value,
        "regie:deliveryPoint": [mask_prm(p) for p in g.prms],
        "regie:dataStart": _iso(g.data_start),
        **({"regie:dataEnd": _iso(g.data_end)} if g.data_end is not None else {}),
        **({"regie:requestedBy": g.requested_by} if g.requested_by else {}),
        "regie:history": [
            {
                "@type": "regie:ConsentChange",
                "dpv:hasConsentStatus": e.status.dpv,
                "dct:created": _iso(e.at),
                "regie:actor": e.actor,
            }
            for e in events
        ],
    }
