"""Save and load collective self-consumption operations (tables ``acc_operation`` and ``acc_participant``).

An operation is metadata, like the inventory: it names delivery points of the territory and says from when
to when each counts. What the PMO chose to run it with (the default key, static shares, the billing set-up)
is kept next to it so that ``regie allocate`` and ``regie invoice`` need no other file. The billing set-up
is stored as plain JSON: the store knows no analytics types (``regie.services.acc`` reads it).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update

from regie.model import Density, GridZone, Operation, Participant, ParticipantType, Role, Step
from regie.store import Store
from regie.store.schema import acc_key_period, acc_operation, acc_participant


@dataclass(frozen=True, slots=True)
class KeyPeriod:
    """The allocation key an operation uses from a local day on (table ``acc_key_period``, revision 0009).

    ``params`` is the key's JSON-able set-up: ``{"shares": {PRM: fraction}}`` for the static key,
    ``{"share": "weight" | "consumption"}`` for the priority key, ``{}`` otherwise.
    """

    since: date
    key: str
    params: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class StoredOperation:
    """An operation with what its PMO set it up with.

    ``key`` is the allocation key used unless another is asked for (``default``, ``static``, ``priority``,
    ...); ``static_shares`` maps a consumer's PRM to its fraction of production under the static key;
    ``billing`` is the JSON-able billing set-up (see ``regie.services.acc.billing_config``).
    """

    operation: Operation
    territory_id: str
    key: str = "default"
    static_shares: Mapping[str, float] = field(default_factory=dict)
    billing: Mapping[str, Any] | None = None
    key_periods: tuple[KeyPeriod, ...] = ()

    def key_on(self, day: date) -> KeyPeriod | None:
        """The key period in force on a local day: the latest ``since`` not after it; None before the first
        (then the operation's own :attr:`key` and :attr:`static_shares` apply)."""
        found = None
        for period in self.key_periods:  # sorted by ``since``
            if period.since <= day:
                found = period
        return found


def _participant_row(operation_id: str, position: int, p: Participant, share: float | None) -> dict[str, Any]:
    return {"position": position,
        "operation_id": operation_id, "prm": p.prm, "role": p.role.value, "entry": p.entry, "exit": p.exit,
        "type": p.type.value, "priority": p.priority, "weight": p.weight, "peak_power_w": p.peak_power_w,
        "latitude": p.latitude, "longitude": p.longitude, "density": p.density.value if p.density else None,
        "name": p.name, "static_share": share,
    }  # fmt: skip


def save_operation(store: Store, stored: StoredOperation) -> None:
    """Create or replace an operation and all its participants, in one transaction.

    Replacing the whole participant list keeps the table equal to the model: a participant removed from
    the operation (not one that left: that is an ``exit`` date) disappears.
    """
    op = stored.operation
    unknown = set(stored.static_shares) - {p.prm for p in op.consumers}
    if unknown:
        raise ValueError(f"operation {op.id}: static shares for {len(unknown)} PRM(s) that are not consumers")
    row = {
        "territory_id": stored.territory_id, "name": op.name, "pmo_id": op.pmo_id, "step": op.step.iso,
        "zone": op.zone.value, "derogation": op.derogation, "key": stored.key,
        "billing": json.dumps(stored.billing, sort_keys=True) if stored.billing is not None else None,
    }  # fmt: skip
    with store.engine.execution_options(writer=True).begin() as conn:
        exists = conn.execute(select(acc_operation.c.id).where(acc_operation.c.id == op.id)).first()
        conn.execute(delete(acc_participant).where(acc_participant.c.operation_id == op.id))
        if exists:
            conn.execute(update(acc_operation).where(acc_operation.c.id == op.id).values(**row))
        else:
            conn.execute(insert(acc_operation).values(id=op.id, **row))
        rows = [
            _participant_row(op.id, i, p, stored.static_shares.get(p.prm) if p.role == Role.CONSUMER else None)
            for i, p in enumerate(op.participants)
        ]
        if rows:
            conn.execute(insert(acc_participant), rows)


def operation_ids(store: Store) -> list[str]:
    """Ids of the operations in the store, sorted."""
    with store.engine.connect() as conn:
        return [r[0] for r in conn.execute(select(acc_operation.c.id).order_by(acc_operation.c.id))]


def operation_pmo(store: Store, operation_id: str) -> str | None:
    """The PMO organisation of an operation, or None when there is no such operation."""
    with store.engine.connect() as conn:
        return conn.execute(select(acc_operation.c.pmo_id).where(acc_operation.c.id == operation_id)).scalar()


def load_operation(store: Store, operation_id: str) -> StoredOperation:
    """The operation and its set-up; LookupError naming the known ids if there is no such operation."""
    with store.engine.connect() as conn:
        r = conn.execute(select(acc_operation).where(acc_operation.c.id == operation_id)).one_or_none()
        if r is None:
            known = [x[0] for x in conn.execute(select(acc_operation.c.id).order_by(acc_operation.c.id))]
            raise LookupError(f"no operation {operation_id!r}; known: {', '.join(known) or 'none'}")
        rows = conn.execute(
            select(acc_participant)
            .where(acc_participant.c.operation_id == operation_id)
            .order_by(acc_participant.c.position)
        ).all()
    participants = tuple(
        Participant(
            prm=p.prm, role=Role(p.role), entry=p.entry, exit=p.exit, type=ParticipantType(p.type),
            priority=int(p.priority), weight=float(p.weight), peak_power_w=p.peak_power_w, latitude=p.latitude,
            longitude=p.longitude, density=Density(p.density) if p.density else None, name=p.name,
        )
        for p in rows
    )
    operation = Operation(
        id=r.id, name=r.name, pmo_id=r.pmo_id, participants=participants, step=Step.parse(r.step),
        zone=GridZone(r.zone), derogation=bool(r.derogation),
    )  # fmt: skip
    shares = {p.prm: float(p.static_share) for p in rows if p.static_share is not None}
    billing = json.loads(r.billing) if r.billing else None
    return StoredOperation(operation, r.territory_id, r.key, shares, billing, key_periods(store, operation_id))


def operation_exists(store: Store, operation_id: str) -> bool:
    with store.engine.connect() as conn:
        return conn.execute(select(acc_operation.c.id).where(acc_operation.c.id == operation_id)).first() is not None


def key_periods(store: Store, operation_id: str) -> tuple[KeyPeriod, ...]:
    """The operation's key periods, sorted by the day each starts."""
    with store.engine.connect() as conn:
        rows = conn.execute(
            select(acc_key_period).where(acc_key_period.c.operation_id == operation_id).order_by(acc_key_period.c.since)
        ).all()
    return tuple(KeyPeriod(r.since, r.key, json.loads(r.params) if r.params else {}) for r in rows)


def save_key_period(store: Store, operation_id: str, period: KeyPeriod) -> KeyPeriod | None:
    """Set the key from ``period.since`` on (replacing a period that starts the same day); returns the
    period it replaced, if any. Later periods stay: each keeps its own day."""
    params = json.dumps(dict(period.params), sort_keys=True) if period.params else None
    where = (acc_key_period.c.operation_id == operation_id, acc_key_period.c.since == period.since)
    with store.engine.execution_options(writer=True).begin() as conn:
        old = conn.execute(select(acc_key_period).where(*where)).one_or_none()
        if old is not None:
            conn.execute(update(acc_key_period).where(*where).values(key=period.key, params=params))
        else:
            conn.execute(insert(acc_key_period).values(operation_id=operation_id, since=period.since,
                                                       key=period.key, params=params))  # fmt: skip
    return None if old is None else KeyPeriod(old.since, old.key, json.loads(old.params) if old.params else {})


def remove_days(conn: Connection, prm: str, first: date, last: date | None) -> list[str]:
    """Take the local days [first, last) (``last`` None: to the end) out of every participation of ``prm``,
    in the caller's transaction, and blank the participant's name; returns the operations touched.

    Erasure (:func:`regie.governance.rights.erase_member`) calls this for the days the erased person held
    the delivery point: a participation wholly theirs disappears, one shared with another occupant keeps
    only the other's days (a participation has one entry and one exit, so days held in the middle of
    someone else's cut the rest off too). The name goes in every case: it was the erased person's, and the
    pages show the masked PRM instead.
    """
    touched: list[str] = []
    rows = conn.execute(select(acc_participant).where(acc_participant.c.prm == prm)).all()
    for r in rows:
        key = (acc_participant.c.operation_id == r.operation_id, acc_participant.c.prm == r.prm,
               acc_participant.c.role == r.role)  # fmt: skip
        to_the_end = last is None or (r.exit is not None and r.exit <= last)
        if first <= r.entry and to_the_end:  # wholly held by them
            conn.execute(delete(acc_participant).where(*key))
        elif last is not None and first <= r.entry < last:  # they held its beginning
            conn.execute(update(acc_participant).where(*key).values(entry=last, name=""))
        elif r.entry < first and (r.exit is None or first < r.exit):  # they held its end, or a middle part
            conn.execute(update(acc_participant).where(*key).values(exit=first, name=""))
        else:
            continue
        touched.append(r.operation_id)
    return sorted(set(touched))
