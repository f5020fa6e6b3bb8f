"""The gate: the one function through which a data subject's series are read.

:func:`read_personal` decides every read of a series attached to a delivery point (PRM): the caller's role,
a valid consent grant (given, not withdrawn, not expired, covering the category, the PRM, the period and the
purpose), and the granularity — a P1D grant yields daily sums (energy) or means (power) computed in the
territory's local days, never 30-minute points; a PT15M or PT10M read gives sums or means over UTC-aligned
15- or 10-minute steps (the ACC metering step, a Linky curve recorded every 10 minutes: see
:class:`regie.governance.consent.Granularity`), and is refused when the series is recorded at a coarser step
(it has no such values: a PT30M Linky curve read at PT15M) or at one that does not divide it (PT10M into
PT15M). Each decision, allowed or refused, is appended to the access log; an allowed read is logged once
the data has been read.

Who passes without a grant: the data subject, for the period they held the delivery point (a new occupant
does not see the previous one's data); an admin, with a reason that is logged. The public never does.

What is personal (:func:`personal_prms`): a series on a delivery point, and a series on a *site* (a sensor
in a house: an emonPi, a CT clamp) where the site holds a delivery point that a member holds or held; it is
then governed as that delivery point (its holder, its grants). Everything else describes no one — a plant,
a transformer, the weather, a school whose delivery points no member holds — and is read with
:func:`read_open` / :func:`read_open_rollup`, which refuse a personal series.

Three more doors, each logged once per call, none giving one point's values to someone without a grant:

- :func:`read_personal` with granularity ``"finest"``: the gate picks the finest step the caller may have
  (raw points for the data subject and an admin with a reason, else the finest valid grant's level that the
  series has values at: a PT10M grant on a 30-minute Linky curve gives PT30M) — for the emoncms API, whose
  clients cannot choose a granularity.
- :func:`read_aggregate`: sums over groups of delivery points on a time grid, for the régie's admin and
  the operators of the body that runs the grid (a régie or a commune); each group × row cell passes
  :func:`regie.governance.secrecy.protect` unless the caller is an admin with a stated reason or holds a
  valid grant for every contributor.
- :func:`read_presence`: timestamps only (is a series arriving? where are its gaps?), never values, for
  the same callers: data health needs when readings came, not what they said.

Nothing else in regie may call :meth:`Store.read` or :meth:`Store.read_rollup` on any series:
``tests/governance/test_gate.py`` scans the source tree and fails if a module outside ``regie.store`` and
``regie.governance`` does.
"""

from __future__ import annotations

import time
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from itertools import pairwise
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
from sqlalchemy import select

from regie.governance import audit, secrecy, territories
from regie.governance.accounts import Account, Role, is_active
from regie.governance.consent import PURPOSES, Granularity, Status, grants_for_prm, pmo_lookup
from regie.governance.covered import holders_over
from regie.governance.system_accounts import PUBLICATION  # noqa: F401 - the publication reads as it
from regie.model import OrganisationKind, Series, Step, mask_prm
from regie.model.calendar import Level, period_starts
from regie.store import Store, StoreError
from regie.store.schema import membership, territory
from regie.store.timeseries import Rollup

HALF_HOUR = 1800
FINEST = "finest"  # read_personal: the finest granularity the caller may have
RAW = Granularity.RAW.value  # what the log and PersonalData say of raw points, the series' own
#: Bodies whose operators supervise the grid and the buildings (the régie, the commune): they may read
#: aggregates and presence, never one point's values without a grant.
SUPERVISING_BODIES = (OrganisationKind.REGIE, OrganisationKind.COMMUNE)
#: The régie computing the figures it publishes (:mod:`regie.publication`): an admin of the gate that always
#: states its reason, so each read is logged under this name and each data subject sees it.



class AccessDenied(PermissionError):
    """The gate refused a read; ``reason`` says why (it is also in the access log)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class UnavailableGranularity(ValueError):
    """The caller may read the series but it has no values at the level asked (a 30-minute curve has no
    15-minute values); ``reason`` says why (it is also in the access log). A ValueError: the request, not
    the caller's rights, is what is wrong."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class PersonalData:
    """What the gate hands out: values at the granted granularity, never finer.

    ``t`` are UTC instants [s] starting each interval; ``values`` are in ``unit``: at every level coarser
    than the series' own step, the sum over the interval for an energy series [Wh] and the mean for a power
    series [W]; ``count`` is the number of raw points behind each value. ``granularity`` is the level served
    (``raw``: the series' own points, ``raw`` is then True).
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
    raw: bool = False  # the series' own points (every 10 s for a sensor): own data, an admin's, a raw grant


@dataclass(frozen=True, slots=True)
class _Decision:
    allowed: bool
    reason: str
    consent_id: str | None = None
    granularity: Granularity | None = None  # with "finest": the finest the caller may have (RAW for own data)


def _zone(store: Store, territory_id: str | None = None) -> ZoneInfo:
    """The zone of a territory (its local days and months); without one, of the store's first."""
    q = select(territory.c.timezone)
    q = q.where(territory.c.id == territory_id) if territory_id is not None else q.order_by(territory.c.id).limit(1)
    with store.engine.connect() as conn:
        tz = conn.execute(q).scalar_one_or_none()
    return ZoneInfo(tz or "Europe/Paris")


def _instant(d: date | None, zone: ZoneInfo) -> int | None:
    return None if d is None else int(datetime(d.year, d.month, d.day, tzinfo=zone).timestamp())


def holding_periods(store: Store, prm: str) -> list[tuple[str, int, int | None]]:
    """(holder, from, until) of a delivery point, as UTC instants of midnights local to its own territory, in
    order."""
    zone = _zone(store, territories.of_prm(store, prm))
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
    store: Store, caller: Account, s: Series, prms: Sequence[str], start: int, end: int, gran: Granularity | None,
    purpose: str, reason: str | None, subject: str | None, now: int,
) -> _Decision:  # fmt: skip
    """The decision on one read; ``gran`` None asks for the finest the caller may have (raw where allowed)."""
    whole = Granularity.RAW if gran is None else gran
    if caller.role is Role.PUBLIC:
        return _Decision(False, "the public never reads personal data: published aggregates only")
    if not is_active(store, caller):
        return _Decision(False, "account disabled")
    foreign = _foreign(store, caller, [s.id])
    if foreign:
        return _Decision(False, foreign)
    if caller.role is Role.ADMIN:
        if not reason or not reason.strip():
            return _Decision(False, "an admin reads personal data only with a stated reason")
        return _Decision(True, f"admin: {reason.strip()[:300]}", granularity=whole)
    if subject is None:
        return _Decision(False, "no single holder of this delivery point over the whole period")
    if caller.role is Role.MEMBER and caller.holder_id == subject:
        return _Decision(True, "own data", granularity=whole)
    why: list[str] = []
    best: _Decision | None = None
    seen: set[str] = set()
    pmo_of = pmo_lookup(store)  # a grant to an operation counts for its PMO's operators
    for g in (g for prm in prms for g in grants_for_prm(store, prm)):
        if g.id in seen or not g.names(caller, pmo_of) or g.subject_id != subject:
            continue
        seen.add(g.id)
        status = g.status_at(now)
        if status is not Status.GIVEN:
            why.append(f"grant {g.id[:8]} is {status.value}")
        elif s.kind.value not in g.categories:
            why.append(f"grant {g.id[:8]} does not cover {s.kind.value}")
        elif g.purpose != purpose:
            why.append(f"grant {g.id[:8]} is for {g.purpose}, not {purpose}")
        elif start < g.data_start or (g.data_end is not None and end > g.data_end):
            why.append(f"grant {g.id[:8]} does not cover this period")
        elif gran is None:  # the finest valid grant wins
            if best is None or best.granularity is None or g.granularity.rank < best.granularity.rank:
                best = _Decision(True, "grant", g.id, g.granularity)
        elif not g.granularity.allows(gran):
            why.append(f"grant {g.id[:8]} allows {g.granularity.value} at the finest, not {gran.value}")
        else:
            return _Decision(True, "grant", g.id, gran)
    if best is not None:
        return best
    return _Decision(False, "; ".join(why) if why else "no grant")


def _foreign(store: Store, caller: Account, series_ids: Sequence[str]) -> str | None:
    """Why a caller who runs one territory may not read these series (some belong to another), or None.

    An admin or operator whose account names a territory sees nothing of another, reason or grant
    notwithstanding (:mod:`regie.governance.territories`)."""
    others = territories.outside(store, caller, list(series_ids))
    if not others:
        return None
    return (f"{caller.label} runs territory {caller.territory_id} only; series {', '.join(others[:5])} "
            f"belong{'s' if len(others) == 1 else ''} to another territory")  # fmt: skip


def _fixed_step(s: Series) -> int | None:
    """The series' own step [s] when it is fixed; None when irregular (a sensor's feed) or calendar (P1D)."""
    return s.step.seconds if s.step is not None and not s.step.is_calendar else None


def unavailable(s: Series, gran: Granularity) -> str | None:
    """Why ``s`` has no values at ``gran``, or None when it has.

    A 10- or 15-minute read needs a series recorded at that step or at one that divides it: a 30-minute curve
    has no 15-minute values, and 10-minute points cannot be summed into 15-minute steps without splitting
    one. PT30M keeps its historical contract for every series (a series at 30 minutes or coarser is handed
    out at its own step, a finer one as half-hour sums or means), so that callers reading at PT30M since
    before the finer levels (an export, a balance) never start failing; ``raw``, P1D and P1M exist for every
    series.
    """
    step = gran.seconds
    if step is None or gran is Granularity.PT30M:
        return None
    if s.step is not None and s.step.is_calendar:
        return f"series {s.id} is recorded every {s.step}: it has no {gran.value} values"
    own = _fixed_step(s)
    if own is None or own == step:
        return None
    if own > step:
        return f"series {s.id} is recorded every {Step(seconds=own)}: it has no {gran.value} values"
    if step % own:
        return (f"series {s.id} is recorded every {Step(seconds=own)}: {gran.value} is not a whole number of "
                "its steps")  # fmt: skip
    return None


def level_for(s: Series, gran: Granularity) -> Granularity:
    """The finest level at ``gran`` or coarser that ``s`` has values at (PT30M always has): what ``"finest"``
    serves under a grant, and what a page shows a grant's holder without asking for a level the series lacks."""
    return next(g for g in Granularity if g.rank >= gran.rank and unavailable(s, g) is None)


def _read(store: Store, s: Series, start: int, end: int, gran: Granularity) -> tuple[np.ndarray, ...]:
    """Values of ``s`` at ``gran``: its own points, sums or means over fixed UTC-aligned steps, or rollups."""
    step = gran.seconds
    if gran is Granularity.RAW or step is not None:
        t, v = store.read(s.id, start, end)
        own = _fixed_step(s)
        if gran is Granularity.RAW or (own is not None and own >= step):
            return t, v, np.ones(len(t), dtype=np.int64)
        # Finer or irregular series: sums (energy) or means (power) over UTC-aligned steps. UTC 10-, 15- and
        # 30-minute steps are the local ones wherever the zone's offset is whole hours (Europe/Paris).
        t, v = np.asarray(t, dtype=np.int64), np.asarray(v, dtype=np.float64)
        ok = np.isfinite(v)
        t, v = t[ok], v[ok]
        starts, idx, count = np.unique((t // step) * step, return_inverse=True, return_counts=True)
        sums = np.bincount(idx, weights=v, minlength=len(starts))
        return starts, (sums if s.is_additive else sums / np.maximum(count, 1)), count
    return _read_calendar(store, s, start, end, "day" if gran is Granularity.P1D else "month")


def _read_calendar(store: Store, s: Series, start: int, end: int, level: Level) -> tuple[np.ndarray, ...]:
    """Daily or monthly sums (energy) or means (power) computed only from the instants in [start, end).

    The gate has checked the caller's entitlement (their holding, their grant's period) over exactly
    [start, end): a stored rollup of a local day or month that [start, end) covers only in part would also
    hold instants outside it — June's mean of a member who left on 15 June, with the next occupant's days in
    it (issue 18, item 6). Whole periods come from the rollups; a period cut by ``start`` or ``end`` is
    computed from the raw points of its part in range, and stamped with the first instant it covers.
    """
    edges = period_starts(start, end - 1, level, _zone(store, territories.of_series(store, s.id)))  # its rollups' zone
    cuts = [(max(int(a), start), min(int(b), end), bool(a >= start and b <= end))
            for a, b in pairwise(edges) if max(a, start) < min(b, end)]  # fmt: skip
    whole = [(a, b) for a, b, full in cuts if full]
    t, total, count = [], [], []
    if whole:
        r = store.read_rollup(s.id, level, whole[0][0], whole[-1][1])
        t, total, count = [r.t], [r.sum], [r.count]
    for a, b, full in cuts:
        if full:
            continue
        _, v = store.read(s.id, a, b)
        v = np.asarray(v, dtype=np.float64)
        v = v[np.isfinite(v)]
        if len(v):
            t.append(np.array([a], dtype=np.int64))
            total.append(np.array([v.sum()]))
            count.append(np.array([len(v)], dtype=np.int64))
    if not t:
        return np.zeros(0, np.int64), np.zeros(0), np.zeros(0, np.int64)
    t_all, sums, n = np.concatenate(t), np.concatenate(total).astype(np.float64), np.concatenate(count)
    order = np.argsort(t_all, kind="stable")
    t_all, sums, n = t_all[order], sums[order], n[order]
    with np.errstate(invalid="ignore", divide="ignore"):
        return t_all, (sums if s.is_additive else sums / n), n


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
    ``reason`` is required of admins. ``granularity`` ``"finest"`` lets the gate choose: raw points for the
    data subject and an admin, else the finest valid grant's level the series has values at
    (``PersonalData.granularity`` and ``raw`` say which). A level the series has no values at
    (:func:`unavailable`: a PT15M read of a 30-minute curve) raises :class:`UnavailableGranularity`, logged
    as refused. Every value handed out is computed only from instants in [start, end), the range the decision
    judged: a day or month cut by ``start`` or ``end`` is not its stored rollup (:func:`_read_calendar`).
    """
    at = int(time.time()) if now is None else int(now)
    finest = granularity == FINEST
    gran = None if finest else Granularity.parse(granularity)
    s = _resolve(store, target, category)
    if end <= start:
        raise ValueError("end must be after start")
    if purpose not in PURPOSES:
        raise ValueError(f"unknown purpose {purpose!r}: use one of {', '.join(PURPOSES)}")
    prms = personal_prms(store, s)
    if not prms:
        raise ValueError(f"series {s.id} describes no data subject: read it with read_open or as an aggregate")
    subject, logged_subject = _subject(store, prms, start, end)
    d = _decide(store, caller, s, prms, start, end, gran, purpose, reason, subject, at)
    chosen = d.granularity if d.allowed else gran
    if finest and chosen is not None:
        chosen = level_for(s, chosen)
    logged_gran = chosen.value if chosen is not None else FINEST

    def event(decision: str, why: str, points: int = 0) -> audit.AccessEvent:
        return audit.AccessEvent(
            caller.label, caller.role.value, logged_subject, s.id, mask_prm(prms[0]), int(start), int(end),
            logged_gran, purpose, decision, why, d.consent_id, points,
        )  # fmt: skip

    if not d.allowed:
        audit.append(store, event("refused", d.reason), now=at)
        raise AccessDenied(d.reason)
    assert chosen is not None  # an allowed decision names its level
    missing = unavailable(s, chosen)
    if missing is not None:
        audit.append(store, event("refused", missing), now=at)
        raise UnavailableGranularity(missing)
    t, values, count = _read(store, s, start, end, chosen)
    entry = audit.append(store, event("allowed", d.reason, len(t)), now=at)  # logged once the read happened
    return PersonalData(s.id, mask_prm(prms[0]), s.kind.value, s.unit, chosen, t, values, count, d.consent_id,
                        entry.seq, chosen is Granularity.RAW)  # fmt: skip


def _subject(store: Store, prms: Sequence[str], start: int, end: int) -> tuple[str | None, str | None]:
    """(the one holder of every delivery point over [start, end) or None, the holder to log the read under)."""
    holders, first = set(), None
    for prm in prms:
        periods = holding_periods(store, prm)
        holders.add(_holder_over(periods, start, end))
        first = first or _holder_at(periods, start)
    subject = holders.pop() if len(holders) == 1 else None
    return subject, subject or first


def personal_prms(store: Store, s: Series) -> tuple[str, ...]:
    """The delivery points whose holder a series describes; empty when it describes no one.

    A series on a delivery point is that point's. A series on a site without one (a sensor in a house) is
    the site's delivery points that a member holds or held: a household's emonPi is as personal as its
    Linky. A plant, a transformer, the weather, a public building whose points nobody holds: no one's.
    """
    if s.prm is not None:
        return (s.prm,)
    if s.site_id is None:
        return ()
    inv = store.load_inventory(territories.of_site(store, s.site_id))
    held = {m.prm for m in inv.memberships}
    return tuple(sorted(d.prm for d in inv.delivery_points if d.site_id == s.site_id and d.prm in held))


def is_personal(store: Store, s: Series) -> bool:
    """Whether reading ``s`` is reading someone's data (:func:`personal_prms`)."""
    return bool(personal_prms(store, s))


def describes_a_person(store: Store, s: Series) -> bool:
    """Whether ``s`` is a *person's* data (a household, a private roof), not only an organisation's.

    Built on :func:`personal_prms`: one of the series' delivery points is or was held by a person; a point that
    no one holds counts as a person's when its usage is residential (the holder is then unknown, and a home is
    presumed to be someone's). A plant or a building of a company, a cooperative or the commune describes no
    person: the public may see it by name. The usage alone is not enough — a farmer's barn roof is a
    professional point held by a person.
    """
    return s.id in persons_described(store, [s])


def persons_described(store: Store, series: Sequence[Series]) -> set[str]:
    """The ids of those of ``series`` that describe a person (:func:`describes_a_person`), in one pass."""
    everywhere = territories.inventories(store)  # the series may be of any territory of the store
    persons = {p.id for inv in everywhere for p in inv.persons}
    holders: dict[str, set[str]] = {}
    for m in (m for inv in everywhere for m in inv.memberships):
        holders.setdefault(m.prm, set()).add(m.holder_id)
    usage = {d.prm: d.usage for inv in everywhere for d in inv.delivery_points}

    def a_persons(prm: str) -> bool:
        held = holders.get(prm, set())
        return bool(held & persons) or (not held and usage.get(prm) == "residential")

    return {s.id for s in series if any(a_persons(p) for p in personal_prms(store, s))}


def _resolve(store: Store, target: str, category: str | None) -> Series:
    if len(target) == 14 and target.isdigit():
        if category is None:
            raise ValueError("reading by PRM needs a category (consumption, production, ...)")
        inv = store.load_inventory(territories.of_prm(store, target))
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
    """The series that describe a holder (what :mod:`rights` exports and erases): those on the delivery points
    they hold or held, and the sensors on those points' sites (:func:`personal_prms`)."""
    with store.engine.connect() as conn:
        prms = {r.prm for r in conn.execute(select(membership.c.prm).where(membership.c.holder_id == holder_id))}
    return [s for inv in territories.inventories(store) for s in inv.series
            if prms.intersection(personal_prms(store, s))]  # fmt: skip


# ---------------------------------------------------------------- series that describe no one


def read_open(store: Store, series_id: str, start: int, end: int) -> tuple[np.ndarray, np.ndarray]:
    """Raw points of a series that describes no one (a plant, a transformer, the weather): no grant, no log.

    Refuses a personal series (:func:`personal_prms`), so that a caller cannot go around the gate by mistake.
    """
    return store.read(_open(store, series_id).id, start, end)


def read_open_rollup(store: Store, series_id: str, level: Level, start: int, end: int) -> Rollup:
    """Rollups of a series that describes no one (see :func:`read_open`)."""
    return store.read_rollup(_open(store, series_id).id, level, start, end)


def _open(store: Store, series_id: str) -> Series:
    s = _resolve(store, series_id, None)
    if is_personal(store, s):
        raise ValueError(f"series {s.id} describes a data subject: read it through read_personal")
    return s


# ---------------------------------------------------------------- aggregates and presence, for supervision


def supervises(store: Store, caller: Account) -> bool:
    """The régie's admin, or an operator of the body that runs the grid or the buildings (an organisation of
    kind régie or commune; a cooperative's operator runs its ACC operation, not the grid)."""
    if caller.role is Role.ADMIN:
        return True
    if caller.role is not Role.OPERATOR or not caller.operator_of:
        return False
    try:
        kinds = {o.id: o.kind for o in store.load_inventory(caller.territory_id).organisations}
    except LookupError:
        return False
    return kinds.get(caller.operator_of) in SUPERVISING_BODIES


@dataclass(frozen=True, slots=True)
class Aggregate:
    """Sums over groups of delivery points on a time grid, as the gate lets them out.

    ``t`` are the cell starts [UTC s]; ``values[i, j]`` is Σ over group j's series of each one's mean in cell
    i [unit of the series] (series named in ``negative`` subtracted), NaN where none had a value, where the
    cell is in no row, or where statistical secrecy masked the cell's row in that group; ``complete[i, j]``
    says every series of the group had a value. Per row × group: ``counts`` (delivery points with a value)
    and ``reasons`` (None, or why secrecy masked it: ``fewer_than_10``, ``dominance``, ``secondary``).
    ``protected`` is False when the caller was entitled to every contributor (an admin with a reason, an
    operator with grants for all) and no cell was masked.
    """

    groups: tuple[str, ...]
    t: np.ndarray
    values: np.ndarray
    complete: np.ndarray
    points: np.ndarray
    counts: np.ndarray
    reasons: np.ndarray
    protected: bool
    log_seq: int

    def masked(self, row: int, group: str) -> str | None:
        """Why a row × group cell is masked, or None."""
        return self.reasons[row, self.groups.index(group)]


@dataclass(frozen=True, slots=True)
class Presence:
    """When readings came, never what they said: ``t[series]`` instants in [start, end), ``last_before[series]``
    the last instant in the lookback before ``start`` (None if none), ``first[series]`` the first instant ever
    (None if the series has no reading yet)."""

    t: dict[str, np.ndarray]
    last_before: dict[str, int | None]
    log_seq: int
    first: dict[str, int | None] = field(default_factory=dict)


def _step_granularity(step: int) -> Granularity:
    """The level a grant must allow for its holder to see one point's values on a grid of ``step`` [s]: the
    coarsest fixed level whose step divides it (a 20-minute grid is made of 10-minute values), else raw."""
    if step >= 28 * 86_400:
        return Granularity.P1M
    if step >= 86_400:
        return Granularity.P1D
    fixed = [g for g in Granularity if g.seconds is not None and step % g.seconds == 0]
    return max(fixed, key=lambda g: g.rank) if fixed else Granularity.RAW


def _supervisor_access(store: Store, caller: Account) -> tuple[bool, str]:
    if caller.role is Role.PUBLIC:
        return False, "the public sees published aggregates only"
    if not is_active(store, caller):
        return False, "account disabled"
    if not supervises(store, caller):
        return False, "for the régie's admin and the operators of the régie or the commune"
    return True, "admin" if caller.role is Role.ADMIN else f"operator of {caller.operator_of}"


def _entitled_to_all(
    store: Store, caller: Account, series: Sequence[Series], start: int, end: int, step: int, purpose: str,
    reason: str | None, now: int,
) -> bool:  # fmt: skip
    """Whether the caller may read every contributor's values (admin with a reason, or a grant for each)."""
    if caller.role is Role.ADMIN:
        return bool(reason and reason.strip())
    gran = _step_granularity(step)
    for s in series:
        prms = personal_prms(store, s)
        if not prms:
            continue
        subject, _ = _subject(store, prms, start, end)
        if not _decide(store, caller, s, prms, start, end, gran, purpose, None, subject, now).allowed:
            return False
    return True


def _cell_runs(include: np.ndarray) -> list[tuple[int, int]]:
    m = np.concatenate(([False], include, [False])).astype(np.int8)
    d = np.diff(m)
    return list(zip(np.flatnonzero(d == 1).tolist(), np.flatnonzero(d == -1).tolist(), strict=True))


def read_aggregate(
    store: Store,
    caller: Account,
    groups: Mapping[str, Sequence[str]],
    start: int,
    end: int,
    step: int,
    purpose: str,
    *,
    rows: np.ndarray | None = None,
    negative: Collection[str] = (),
    reason: str | None = None,
    now: int | None = None,
) -> Aggregate:
    """Sums over groups of delivery points per grid cell [start + i·step, + step), never a point's own values.

    ``groups`` maps a label to series ids. ``rows`` gives, per grid cell, the row of the secrecy table it
    belongs to (a month, a peak; -1: not wanted, left NaN and not read); by default one row. Each row ×
    group cell is judged by :func:`regie.governance.secrecy.protect` on the points' absolute contributions
    (count rule, dominance, secondary suppression), unless the caller is entitled to every contributor.
    Only the régie's admin and the operators of the régie or the commune may ask (:func:`supervises`);
    one entry in the access log per call says which groups, how many points and for what purpose.
    """
    at = int(time.time()) if now is None else int(now)
    if end <= start or step <= 0 or (end - start) % step:
        raise ValueError("the grid needs end after start and a whole number of steps")
    if purpose not in PURPOSES:
        raise ValueError(f"unknown purpose {purpose!r}: use one of {', '.join(PURPOSES)}")
    n = (end - start) // step
    row = np.zeros(n, dtype=np.int64) if rows is None else np.asarray(rows, dtype=np.int64)
    if row.shape != (n,):
        raise ValueError(f"rows must give one row per grid cell ({n})")
    labels = tuple(groups)
    members = {g: [_resolve(store, sid, None) for sid in groups[g]] for g in labels}
    everyone = [s for g in labels for s in members[g]]
    keys = {s.id: "+".join(personal_prms(store, s)) or s.id for s in everyone}
    n_points = len(set(keys.values()))
    # the members behind the points: each sees this read in "who accessed my data"
    covered = holders_over(store, {p for s in everyone for p in personal_prms(store, s)}, start, end)
    allowed, why = _supervisor_access(store, caller)
    foreign = _foreign(store, caller, [s.id for s in everyone]) if allowed else None
    if foreign:
        allowed, why = False, foreign

    def event(decision: str, text: str) -> audit.AccessEvent:
        return audit.AccessEvent(
            caller.label, caller.role.value, None, "aggregate:" + "+".join(labels), None, int(start), int(end),
            f"PT{step}S", purpose, decision, text, None, n_points,
        )  # fmt: skip

    if not allowed:
        audit.append(store, event("refused", why), now=at, subjects=covered)
        raise AccessDenied(why)
    entitled = _entitled_to_all(store, caller, everyone, start, end, step, purpose, reason, at)
    n_rows = int(row.max()) + 1 if n and row.max() >= 0 else 0
    include = row >= 0
    runs = _cell_runs(include)
    values = np.full((n, len(labels)), np.nan)
    complete = np.ones((n, len(labels)), dtype=bool)
    counts = np.zeros((n_rows, len(labels)), dtype=np.int64)
    table = np.zeros((n_rows, len(labels)))
    largest = np.zeros((n_rows, len(labels)))
    for j, g in enumerate(labels):
        total, seen = np.zeros(n), np.zeros(n, dtype=bool)
        per_point: dict[str, np.ndarray] = {}
        has_point: dict[str, np.ndarray] = {}
        ids = [s.id for s in members[g]]
        readers = [store.read_many(ids, start + a * step, start + b * step) for a, b in runs]
        for s, *parts in zip(members[g], *readers, strict=True):
            t = np.concatenate([p[0] for p in parts]) if parts else np.zeros(0, np.int64)
            v = np.concatenate([p[1] for p in parts]) if parts else np.zeros(0)
            idx = (np.asarray(t, dtype=np.int64) - start) // step
            c = np.bincount(idx, minlength=n)[:n]
            mean = np.divide(np.bincount(idx, weights=v, minlength=n)[:n], c, out=np.zeros(n), where=c > 0)
            present = c > 0
            complete[:, j] &= present | ~include
            seen |= present
            total += -mean if s.id in negative else mean
            k = keys[s.id]
            contrib = np.bincount(row[include], weights=np.abs(mean)[include], minlength=n_rows)[:n_rows]
            got = np.bincount(row[include], weights=present[include], minlength=n_rows)[:n_rows] > 0
            per_point[k] = per_point.get(k, np.zeros(n_rows)) + contrib
            has_point[k] = has_point.get(k, np.zeros(n_rows, dtype=bool)) | got
        values[:, j] = np.where(seen | (not members[g]), total, np.nan)
        for k, contrib in per_point.items():
            table[:, j] += contrib
            counts[:, j] += has_point[k]
            largest[:, j] = np.maximum(largest[:, j], contrib)
    reasons = np.full((n_rows, len(labels)), None, dtype=object)
    if not entitled and n_rows:
        frame = lambda x: pd.DataFrame(x, columns=list(labels))  # noqa: E731
        reasons = secrecy.protect(frame(table), frame(counts), frame(largest)).reasons.to_numpy(dtype=object)
    masked = reasons != None  # noqa: E711 - element-wise on an object array
    for r, j in zip(*np.nonzero(masked), strict=True):
        values[row == r, j] = np.nan
    values[~include] = np.nan
    stated = f": {reason.strip()[:300]}" if reason and reason.strip() else ""
    verdict = "no secrecy (entitled to every contributor)" if entitled else f"{int(masked.sum())} cell(s) masked"
    text = f"{why}{stated}; sums over {n_points} delivery points in {len(labels)} group(s), {verdict}"
    entry = audit.append(store, event("allowed", text), now=at, subjects=covered)
    points = np.array([len({keys[s.id] for s in members[g]}) for g in labels], dtype=np.int64)
    t_grid = start + step * np.arange(n, dtype=np.int64)
    return Aggregate(labels, t_grid, values, complete, points, counts, reasons, bool(masked.any()) or not entitled,
                     entry.seq)  # fmt: skip


def read_presence(
    store: Store,
    caller: Account,
    series_ids: Sequence[str],
    start: int,
    end: int,
    purpose: str,
    *,
    lookback: int = 0,
    now: int | None = None,
) -> Presence:
    """Instants of the readings of personal series over [start, end), and the last one in ``lookback`` [s]
    before ``start``: what data health needs (stopped feeds, gaps, completeness), never a value.

    For the régie's admin and the operators of the régie or the commune (:func:`supervises`); one entry in
    the access log per call (how many series, how many delivery points, the purpose).
    """
    at = int(time.time()) if now is None else int(now)
    if end <= start or lookback < 0:
        raise ValueError("end must be after start, lookback non-negative")
    if purpose not in PURPOSES:
        raise ValueError(f"unknown purpose {purpose!r}: use one of {', '.join(PURPOSES)}")
    series = [_resolve(store, sid, None) for sid in series_ids]
    prms = {p for s in series for p in personal_prms(store, s)}
    n_points = len(prms)
    covered = holders_over(store, prms, start - lookback, end)  # they see this read in their access log
    allowed, why = _supervisor_access(store, caller)
    foreign = _foreign(store, caller, [s.id for s in series]) if allowed else None
    if foreign:
        allowed, why = False, foreign

    def event(decision: str, text: str, points: int = 0) -> audit.AccessEvent:
        return audit.AccessEvent(
            caller.label, caller.role.value, None, f"presence:{len(series)} series", None, int(start), int(end),
            "timestamps", purpose, decision, text, None, points,
        )  # fmt: skip

    if not allowed:
        audit.append(store, event("refused", why), now=at, subjects=covered)
        raise AccessDenied(why)
    t_in: dict[str, np.ndarray] = {}
    before: dict[str, int | None] = {}
    for s in series:
        t, _ = store.read(s.id, start - lookback, end)  # the values stay here
        t = np.asarray(t, dtype=np.int64)
        cut = int(np.searchsorted(t, start))
        t_in[s.id] = t[cut:]
        before[s.id] = int(t[cut - 1]) if cut else None
    firsts = store.first_readings([s.id for s in series])
    total = sum(len(x) for x in t_in.values())
    text = f"{why}: timestamps only of {len(series)} series on {n_points} delivery points, no values"
    entry = audit.append(store, event("allowed", text, total), now=at, subjects=covered)
    return Presence(t_in, before, entry.seq, {s.id: firsts.get(s.id) for s in series})


def allowed_granularity(
    store: Store,
    caller: Account,
    target: str,
    start: int,
    end: int,
    purpose: str,
    *,
    reason: str | None = None,
    now: int | None = None,
) -> str | None:
    """What :func:`read_personal` with ``"finest"`` would give — ``"raw"``, ``"PT10M"``, ``"PT15M"``,
    ``"PT30M"``, ``"P1D"``, ``"P1M"`` — or None when it would refuse; reads nothing and logs nothing.

    For listing what a caller may open (an emoncms feed list) without filling another member's access log
    with refusals; the data itself still comes only from :func:`read_personal`, which logs.
    """
    at = int(time.time()) if now is None else int(now)
    s = _resolve(store, target, None)
    prms = personal_prms(store, s)
    if not prms:
        return RAW
    if end <= start or purpose not in PURPOSES:
        return None
    subject, _ = _subject(store, prms, start, end)
    d = _decide(store, caller, s, prms, start, end, None, purpose, reason, subject, at)
    if not d.allowed or d.granularity is None:
        return None
    return level_for(s, d.granularity).value
