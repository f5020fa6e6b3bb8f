"""The gate: the one function through which a data subject's series are read.

:func:`read_personal` decides every read of a series attached to a delivery point (PRM): the caller's role,
a valid consent grant (given, not withdrawn, not expired, covering the category, the PRM, the period and the
purpose), and the granularity — a P1D grant yields daily sums (energy) or means (power) computed in the
territory's local days, never 30-minute points. Each decision, allowed or refused, is appended to the
access log; an allowed read is logged once the data has been read.

Who passes without a grant: the data subject, for the period they held the delivery point (a new occupant
does not see the previous one's data); an admin, with a reason that is logged. The public never does.

Nothing else in regie may call :meth:`Store.read` or :meth:`Store.read_rollup` on a personal series:
``tests/governance/test_gate.py`` scans the source tree and fails if a module outside ``regie.store`` and
``regie.governance`` does.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy import select

from regie.governance import audit
from regie.governance.accounts import Account, Role, is_active
from regie.governance.consent import PURPOSES, Granularity, Status, grants_for_prm
from regie.model import Series, mask_prm
from regie.store import Store, StoreError
from regie.store.schema import membership, territory

HALF_HOUR = 1800


class AccessDenied(PermissionError):
    """The gate refused a read; ``reason`` says why (it is also in the access log)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class PersonalData:
    """What the gate hands out: values at the granted granularity, never finer.

    ``t`` are UTC instants [s] starting each interval; ``values`` are in ``unit``: for P1D and P1M, the sum
    over the period for an energy series [Wh] and the mean for a power series [W]; ``count`` is the number
    of raw points behind each value.
    """

    series: str
    prm: str  # masked
    kind: str
    unit: str
    granularity: Granularity
    t: np.ndarray
    values: np.ndarray
    count: np.ndarray
    consent_id: str | None
    log_seq: int


@dataclass(frozen=True, slots=True)
class _Decision:
    allowed: bool
    reason: str
    consent_id: str | None = None


def _zone(store: Store) -> ZoneInfo:
    with store.engine.connect() as conn:
        tz = conn.execute(select(territory.c.timezone).limit(1)).scalar_one_or_none()
    return ZoneInfo(tz or "Europe/Paris")


def _instant(d: date | None, zone: ZoneInfo) -> int | None:
    return None if d is None else int(datetime(d.year, d.month, d.day, tzinfo=zone).timestamp())


def holding_periods(store: Store, prm: str) -> list[tuple[str, int, int | None]]:
    """(holder, from, until) of a delivery point, as UTC instants of local midnights, in order."""
    zone = _zone(store)
    with store.engine.connect() as conn:
        rows = conn.execute(select(membership).where(membership.c.prm == prm).order_by(membership.c.since)).all()
    return [(r.holder_id, _instant(r.since, zone), _instant(r.until, zone)) for r in rows]


def _holder_over(periods: list[tuple[str, int, int | None]], start: int, end: int) -> str | None:
    """The one holder whose membership covers all of [start, end), if any."""
    for holder, a, b in periods:
        if a <= start and (b is None or end <= b):
            return holder
    return None


def _holder_at(periods: list[tuple[str, int, int | None]], t: int) -> str | None:
    for holder, a, b in periods:
        if a <= t and (b is None or t < b):
            return holder
    return None


def _decide(
    store: Store, caller: Account, s: Series, start: int, end: int, gran: Granularity, purpose: str,
    reason: str | None, subject: str | None, now: int,
) -> _Decision:  # fmt: skip
    if caller.role is Role.PUBLIC:
        return _Decision(False, "the public never reads personal data: published aggregates only")
    if not is_active(store, caller):
        return _Decision(False, "account disabled")
    if caller.role is Role.ADMIN:
        if not reason or not reason.strip():
            return _Decision(False, "an admin reads personal data only with a stated reason")
        return _Decision(True, f"admin: {reason.strip()[:300]}")
    if subject is None:
        return _Decision(False, "no single holder of this delivery point over the whole period")
    if caller.role is Role.MEMBER and caller.holder_id == subject:
        return _Decision(True, "own data")
    why: list[str] = []
    for g in grants_for_prm(store, s.prm or ""):
        if not g.names(caller) or g.subject_id != subject:
            continue
        status = g.status_at(now)
        if status is not Status.GIVEN:
            why.append(f"grant {g.id[:8]} is {status.value}")
        elif s.kind.value not in g.categories:
            why.append(f"grant {g.id[:8]} does not cover {s.kind.value}")
        elif g.purpose != purpose:
            why.append(f"grant {g.id[:8]} is for {g.purpose}, not {purpose}")
        elif start < g.data_start or (g.data_end is not None and end > g.data_end):
            why.append(f"grant {g.id[:8]} does not cover this period")
        elif not g.granularity.allows(gran):
            why.append(f"grant {g.id[:8]} allows {g.granularity.value} at the finest, not {gran.value}")
        else:
            return _Decision(True, "grant", g.id)
    return _Decision(False, "; ".join(why) if why else "no grant")


def _read(store: Store, s: Series, start: int, end: int, gran: Granularity) -> tuple[np.ndarray, ...]:
    if gran is Granularity.PT30M:
        t, v = store.read(s.id, start, end)
        step = s.step.seconds if s.step is not None and not s.step.is_calendar else None
        if step is not None and step >= HALF_HOUR:
            return t, v, np.ones(len(t), dtype=np.int64)
        # Finer or irregular series: 30-minute means (UTC half-hours are local half-hours: whole-hour offsets).
        bins = (t // HALF_HOUR) * HALF_HOUR
        starts, idx, count = np.unique(bins, return_inverse=True, return_counts=True)
        sums = np.bincount(idx, weights=v, minlength=len(starts))
        return starts, (sums if s.is_additive else sums / np.maximum(count, 1)), count
    r = store.read_rollup(s.id, "day" if gran is Granularity.P1D else "month", start, end)
    return r.t, (r.sum if s.is_additive else r.mean), r.count


def read_personal(
    store: Store,
    caller: Account,
    target: str,
    start: int,
    end: int,
    granularity: Granularity | str,
    purpose: str,
    *,
    category: str | None = None,
    reason: str | None = None,
    now: int | None = None,
) -> PersonalData:
    """Read a series of a data subject for ``caller``, or raise :class:`AccessDenied`; log the decision.

    ``target`` is a series id, or a PRM together with ``category`` (a series kind). ``start`` and ``end``
    are UTC instants [s], the range half-open; ``purpose`` is a DPV purpose (:data:`consent.PURPOSES`);
    ``reason`` is required of admins.
    """
    at = int(time.time()) if now is None else int(now)
    gran = Granularity(granularity)
    s = _resolve(store, target, category)
    if end <= start:
        raise ValueError("end must be after start")
    if purpose not in PURPOSES:
        raise ValueError(f"unknown purpose {purpose!r}: use one of {', '.join(PURPOSES)}")
    if s.prm is None:
        raise ValueError(f"series {s.id} is not attached to a delivery point: read it as an aggregate")
    periods = holding_periods(store, s.prm)
    subject = _holder_over(periods, start, end)
    d = _decide(store, caller, s, start, end, gran, purpose, reason, subject, at)
    logged_subject = subject or _holder_at(periods, start)

    def event(decision: str, why: str, points: int = 0) -> audit.AccessEvent:
        return audit.AccessEvent(
            caller.label, caller.role.value, logged_subject, s.id, mask_prm(s.prm or ""), int(start), int(end),
            gran.value, purpose, decision, why, d.consent_id, points,
        )  # fmt: skip

    if not d.allowed:
        audit.append(store, event("refused", d.reason), now=at)
        raise AccessDenied(d.reason)
    t, values, count = _read(store, s, start, end, gran)
    entry = audit.append(store, event("allowed", d.reason, len(t)), now=at)  # logged once the read happened
    return PersonalData(s.id, mask_prm(s.prm), s.kind.value, s.unit, gran, t, values, count, d.consent_id, entry.seq)


def _resolve(store: Store, target: str, category: str | None) -> Series:
    if len(target) == 14 and target.isdigit():
        if category is None:
            raise ValueError("reading by PRM needs a category (consumption, production, ...)")
        inv = store.load_inventory()
        found = [s for s in inv.series if s.prm == target and s.kind.value == category]
        if not found:
            raise LookupError(f"no {category} series on {mask_prm(target)}")
        if len(found) > 1:
            raise LookupError(
                f"several {category} series on {mask_prm(target)}: name one ({', '.join(s.id for s in found)})"
            )
        return found[0]
    try:
        return store.series(target)
    except StoreError:
        raise LookupError(f"unknown series {target!r}") from None


def personal_series(store: Store, holder_id: str) -> list[Series]:
    """The series on the delivery points a holder holds or held (what :mod:`rights` exports and erases)."""
    with store.engine.connect() as conn:
        prms = {r.prm for r in conn.execute(select(membership.c.prm).where(membership.c.holder_id == holder_id))}
    return [s for s in store.load_inventory().series if s.prm in prms]
