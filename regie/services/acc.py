"""Collective self-consumption for one operation: its curves from the store, a key, flows, bills.

The pure rules are in :mod:`regie.analytics.acc` (keys) and :mod:`regie.analytics.billing` (bills); this
module puts them on stored data: it reads each participant's load curve over the days it counts, puts it on
the operation's metering step (PT30M or PT15M) as energy per step [Wh], applies a key, and sums flows into
local days, months or a year (Europe/Paris days: a DST day has 46 or 50 half-hours, each counted once).

**Personal data.** A participant's curve, allocation and bill are personal data. This module never reads
a series itself: every function that needs curves takes a :data:`CurveReader`, ``reader(series_id, start,
end) -> (t, values)``. The web layer passes :func:`gate_reader` bound to the logged-in caller, so every read
goes through ``regie.governance.gate.read_personal`` (role, consent grant, access log) *before* any figure
is computed; the CLI passes the same reader for the shell's admin with a stated reason. Only the days a
participant is in the operation are asked for, so a participant who joined on the 17th is read from the 17th.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal
from zoneinfo import ZoneInfo

import numpy as np

from regie.analytics import acc
from regie.analytics.billing import (
    AcciseCategory,
    Bill,
    BillingConfig,
    LocalPrice,
    Part,
    PriceRule,
    TariffSet,
    accise_category,
    bill_consumer_over,
)
from regie.analytics.tariffs import load_parameters, periods
from regie.model import (
    Inventory,
    Operation,
    Participant,
    ParticipantType,
    Role,
    Series,
    SeriesKind,
    Step,
    activity_mask,
)
from regie.model.calendar import period_starts
from regie.model.metering import mask_prm
from regie.store import Store
from regie.store.operations import StoredOperation, load_operation

if TYPE_CHECKING:
    from regie.governance.accounts import Account

#: The DPV purpose ACC reads are made for (see ``regie.governance.consent.PURPOSES``).
ACC_PURPOSE = "dpv:FulfilmentOfContractualObligation"

#: Keys regie computes; ``default`` is the default dynamic key of art. D315-6.
KEYS: tuple[str, ...] = ("default", "static", "dynamic_simple", "full_dynamic", "priority")

#: ``reader(series_id, start, end) -> (t, values)``: UTC seconds at the start of each value, in the
#: series' unit, over [start, end). Build it with :func:`gate_reader` so reads are authorised and logged.
CurveReader = Callable[[str, int, int], tuple[np.ndarray, np.ndarray]]

Level = Literal["step", "day", "month"]


class AccRequestError(ValueError):
    """A request the service cannot answer as asked (bad period, missing series, unknown key): says why."""


# ------------------------------------------------------------------------------------------ readers


def gate_reader(store: Store, caller: Account, *, step: Step | str, reason: str | None = None,
                purpose: str = ACC_PURPOSE, now: int | None = None) -> CurveReader:
    """A reader that asks the governance gate for every curve, as ``caller``, at the operation's ``step``.

    ``step`` is :attr:`regie.model.Operation.step` (``PT30M`` historically, ``PT15M`` since imbalance
    settlement moved to 15 minutes): reading at a coarser level would leave steps missing, so the gate is
    asked for exactly that level, and a participant's grant must allow it (a PT30M grant refuses a PT15M
    read, logged). Each call is decided and logged by ``regie.governance.gate.read_personal``; a refusal raises
    its ``AccessDenied`` and nothing is computed. Admins (the CLI's ``CLI_ADMIN``) must give a ``reason``.
    """
    from regie.governance.consent import Granularity
    from regie.governance.gate import read_personal

    iso = step.iso if isinstance(step, Step) else Step.parse(step).iso
    level = next((g for g in Granularity if g.seconds is not None and g.value == iso), None)
    if level is None:
        raise AccRequestError(f"the gate has no {iso} level: an operation's step is PT10M, PT15M or PT30M")

    def read(series_id: str, start: int, end: int) -> tuple[np.ndarray, np.ndarray]:
        data = read_personal(store, caller, series_id, start, end, level, purpose, reason=reason, now=now)
        return data.t, data.values

    return read


# ------------------------------------------------------------------------------------------ periods


def _midnight(day: date, zone: ZoneInfo) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=zone).timestamp())


def _day(t: int, zone: ZoneInfo) -> date:
    return datetime.fromtimestamp(int(t), zone).date()


def month_bounds(month: str, zone: ZoneInfo | str = "Europe/Paris") -> tuple[int, int]:
    """UTC bounds [start, end) of a local calendar month written ``YYYY-MM``."""
    tz = ZoneInfo(zone) if isinstance(zone, str) else zone
    try:
        first = datetime.strptime(month.strip(), "%Y-%m").date()
    except ValueError:
        raise AccRequestError(f"month {month!r}: expected YYYY-MM, e.g. 2025-06") from None
    after = date(first.year + first.month // 12, first.month % 12 + 1, 1)
    return _midnight(first, tz), _midnight(after, tz)


def year_bounds(year: int, zone: ZoneInfo | str = "Europe/Paris") -> tuple[int, int]:
    """UTC bounds [start, end) of a local calendar year."""
    tz = ZoneInfo(zone) if isinstance(zone, str) else zone
    return _midnight(date(year, 1, 1), tz), _midnight(date(year + 1, 1, 1), tz)


def last_year_bounds(store: Store, zone: ZoneInfo | str = "Europe/Paris") -> tuple[int, int]:
    """The last twelve whole local months the store holds data for (ends at the last complete month).

    Why: "what each key would give each participant over the last year" compares keys on a full seasonal
    cycle; a partial month at the end would weigh one season twice.
    """
    tz = ZoneInfo(zone) if isinstance(zone, str) else zone
    span = store.data_period()
    if span is None:
        raise AccRequestError("the store holds no readings yet")
    last = _day(int(span[1].timestamp()), tz) + timedelta(days=1)  # the day after the last reading
    end = date(last.year, last.month, 1) if last.day != 1 else last
    return _midnight(date(end.year - 1, end.month, 1), tz), _midnight(end, tz)


# ------------------------------------------------------------------------------------------- curves


@dataclass(frozen=True, slots=True)
class OperationCurves:
    """Energy per step [Wh] of the participants that count at some step of [t[0], t[-1] + step).

    ``consumption`` is ``(n_steps, n_consumers)``, ``production`` ``(n_steps, n_producers)``; NaN where the
    participant is out or gave no value. ``active`` / ``producer_active`` say where each one counts;
    ``missing`` counts, per PRM, steps it counts but gave no value (a gap the PMO should know about).
    """

    operation: Operation
    zone: ZoneInfo
    t: np.ndarray
    step_s: int
    consumers: tuple[Participant, ...]
    producers: tuple[Participant, ...]
    consumption: np.ndarray
    production: np.ndarray
    active: np.ndarray
    producer_active: np.ndarray
    missing: dict[str, int] = field(default_factory=dict)

    @property
    def start(self) -> int:
        return int(self.t[0]) if len(self.t) else 0

    @property
    def end(self) -> int:
        return int(self.t[-1]) + self.step_s if len(self.t) else 0


def participant_series(inventory: Inventory, participant: Participant, step: Step | None = None) -> Series:
    """The load curve of a participant: its delivery point's consumption (or production) series.

    A point may hold several (Enedis Data Connect gives a daily energy series and a load curve for the same
    point): allocation needs the load curve, so the choice is the series at the operation's ``step``, else
    the finest power series [W] whose step divides it, else the finest series that does. A series with a
    calendar step (a day) or one coarser than the step is never chosen when another fits; two equally good
    candidates are an error that names them.
    """
    kind = SeriesKind.CONSUMPTION if participant.role == Role.CONSUMER else SeriesKind.PRODUCTION
    found = [s for s in inventory.series if s.prm == participant.prm and s.kind is kind and s.unit in ("W", "Wh")]
    if not found:
        raise AccRequestError(f"no {kind.value} series on {mask_prm(participant.prm)} in territory "
                              f"{inventory.territory.id}: import its load curve first")
    if len(found) == 1:
        return found[0]
    curves = [s for s in found if s.step is not None and not s.step.is_calendar
              and (step is None or (step.seconds % s.step.seconds == 0))]  # fmt: skip

    def rank(s: Series) -> tuple[bool, bool, int]:
        seconds = s.step.seconds if s.step is not None else 0
        return (step is None or seconds != step.seconds, s.unit != "W", seconds)

    curves.sort(key=rank)
    if not curves or (len(curves) > 1 and rank(curves[0]) == rank(curves[1])):
        tied = [s for s in curves if rank(s) == rank(curves[0])] if curves else found
        why = "none is a load curve at the operation's step or finer" if not curves else "choose one"
        raise AccRequestError(f"several {kind.value} series on {mask_prm(participant.prm)} "
                              f"({', '.join(s.id for s in tied)}): {why}")
    return curves[0]


def _on_grid(series: Series, t: np.ndarray, values: np.ndarray, start: int, n: int, step: int) -> np.ndarray:
    """Energy per operation step [Wh] from raw points; NaN where the step has no value.

    A power series [W] is averaged over the step then times the step; an energy series [Wh] is summed.
    """
    t = np.asarray(t, dtype=np.int64)
    v = np.asarray(values, dtype=np.float64)
    ok = np.isfinite(v) & (t >= start) & (t < start + n * step)
    idx = (t[ok] - start) // step
    count = np.bincount(idx, minlength=n)[:n]
    total = np.bincount(idx, weights=v[ok], minlength=n)[:n]
    with np.errstate(divide="ignore", invalid="ignore"):
        wh = total / count * (step / 3600) if series.unit == "W" else total
    return np.where(count > 0, wh, np.nan)


def load_curves(store: Store, operation: Operation, start: int, end: int, reader: CurveReader,
                territory_id: str | None = None) -> OperationCurves:
    """Read the curves of every participant that counts in [start, end), on the operation's step.

    ``start`` and ``end`` are UTC seconds on the step grid. Each participant is read only over the days it
    counts (entry included, exit excluded, local days), through ``reader`` (see :func:`gate_reader`).
    """
    return curves_from(store.load_inventory(territory_id), operation, start, end, reader)


def curves_from(inventory: Inventory, operation: Operation, start: int, end: int,
                reader: CurveReader) -> OperationCurves:
    """:func:`load_curves` on an inventory already at hand (a Spark executor has the lake's, not a store)."""
    step = operation.step.seconds
    if end <= start:
        raise AccRequestError("the period is empty: end must be after start")
    if start % step or end % step:
        raise AccRequestError(f"start and end must fall on the operation's step ({operation.step})")
    zone = inventory.territory.zone
    n = (end - start) // step
    t = start + step * np.arange(n, dtype=np.int64)
    curves: dict[Role, tuple[list[Participant], np.ndarray, np.ndarray]] = {}
    missing: dict[str, int] = {}
    for role in (Role.CONSUMER, Role.PRODUCER):
        people = [p for p in operation.participants if p.role == role]
        mask = activity_mask(people, t, zone) if people else np.zeros((n, 0), dtype=bool)
        keep = mask.any(axis=0)
        people = [p for p, k in zip(people, keep, strict=True) if k]
        mask = mask[:, keep]
        out = np.full((n, len(people)), np.nan)
        for j, p in enumerate(people):
            s = participant_series(inventory, p, operation.step)
            if s.step is not None and not s.step.is_calendar and s.step.seconds > step:
                raise AccRequestError(f"series {s.id} has a {s.step} step, coarser than the operation's "
                                      f"{operation.step}: allocation needs a load curve at least as fine")
            rows = np.flatnonzero(mask[:, j])
            a, b = int(t[rows[0]]), int(t[rows[-1]]) + step  # its days in the period (contiguous)
            ts, vs = reader(s.id, a, b)
            out[:, j] = np.where(mask[:, j], _on_grid(s, ts, vs, start, n, step), np.nan)
            gaps = int((mask[:, j] & np.isnan(out[:, j])).sum())
            if gaps:
                missing[p.prm] = gaps
        curves[role] = (people, out, mask)
    cons, c_values, c_mask = curves[Role.CONSUMER]
    prods, p_values, p_mask = curves[Role.PRODUCER]
    if not prods:
        raise AccRequestError(f"operation {operation.id}: no producer counts in this period")
    if not cons:
        raise AccRequestError(f"operation {operation.id}: no consumer counts in this period")
    return OperationCurves(operation, zone, t, step, tuple(cons), tuple(prods), c_values, p_values, c_mask,
                           p_mask, missing)


# ------------------------------------------------------------------------------------------ allocation


@dataclass(frozen=True, slots=True)
class ParticipantFlows:
    """One participant's totals over a period [Wh], with Enedis's names (consumers: CONS, AUTOCONS,
    COMPLEMENT; producers: PROD, AUTOPROD, SURPLUS — the other three are 0)."""

    participant: Participant
    cons_wh: float = 0.0
    autocons_wh: float = 0.0
    complement_wh: float = 0.0
    prod_wh: float = 0.0
    autoprod_wh: float = 0.0
    surplus_wh: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        p = self.participant
        return {"prm": mask_prm(p.prm), "name": p.name, "role": p.role.value, "type": p.type.value,
                "CONS": self.cons_wh, "AUTOCONS": self.autocons_wh, "COMPLEMENT": self.complement_wh,
                "PROD": self.prod_wh, "AUTOPROD": self.autoprod_wh, "SURPLUS": self.surplus_wh}


@dataclass(frozen=True, slots=True)
class PeriodFlows:
    """Flows summed per period: ``edges`` are the UTC bounds (``len = periods + 1``); arrays are
    ``(periods, n_consumers)`` or ``(periods, n_producers)`` [Wh]."""

    level: str
    edges: np.ndarray
    consumers: tuple[Participant, ...]
    producers: tuple[Participant, ...]
    cons: np.ndarray
    autocons: np.ndarray
    prod: np.ndarray
    autoprod: np.ndarray
    zone: ZoneInfo

    @property
    def complement(self) -> np.ndarray:
        return self.cons - self.autocons

    @property
    def surplus(self) -> np.ndarray:
        return self.prod - self.autoprod

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready, PRMs masked: what an API route or a chart needs."""
        def iso(x: int) -> str:
            return datetime.fromtimestamp(int(x), self.zone).isoformat()

        def col(a: np.ndarray, j: int) -> list[float]:
            return [round(float(v), 3) for v in a[:, j]]

        return {
            "level": self.level,
            "start": [iso(x) for x in self.edges[:-1]],
            "end": iso(self.edges[-1]) if len(self.edges) else None,
            "consumers": [{"prm": mask_prm(p.prm), "name": p.name, "CONS": col(self.cons, j),
                           "AUTOCONS": col(self.autocons, j), "COMPLEMENT": col(self.complement, j)}
                          for j, p in enumerate(self.consumers)],
            "producers": [{"prm": mask_prm(p.prm), "name": p.name, "PROD": col(self.prod, j),
                           "AUTOPROD": col(self.autoprod, j), "SURPLUS": col(self.surplus, j)}
                          for j, p in enumerate(self.producers)],
        }


@dataclass(frozen=True, slots=True)
class OperationAllocation:
    """An operation's flows under one key over a period, per step (see :class:`regie.analytics.acc.Allocation`)."""

    curves: OperationCurves
    key: str
    allocation: acc.Allocation

    @property
    def consumers(self) -> tuple[Participant, ...]:
        return self.curves.consumers

    @property
    def producers(self) -> tuple[Participant, ...]:
        return self.curves.producers

    @property
    def start(self) -> int:
        return self.curves.start

    @property
    def end(self) -> int:
        return self.curves.end

    def participants(self) -> list[ParticipantFlows]:
        """Totals per participant over the whole period: consumers first, then producers."""
        tot = self.allocation.totals()
        out = [ParticipantFlows(p, cons_wh=float(tot["CONS"][j]), autocons_wh=float(tot["AUTOCONS"][j]),
                                complement_wh=float(tot["COMPLEMENT"][j])) for j, p in enumerate(self.consumers)]
        out += [ParticipantFlows(p, prod_wh=float(tot["PROD"][j]), autoprod_wh=float(tot["AUTOPROD"][j]),
                                 surplus_wh=float(tot["SURPLUS"][j])) for j, p in enumerate(self.producers)]
        return out

    def rates(self) -> dict[str, float | None]:
        """Taux d'autoconsommation Σ AUTOCONS / Σ PROD and taux d'autoproduction Σ AUTOCONS / Σ CONS."""
        return {"self_consumption": self.allocation.self_consumption_rate,
                "self_production": self.allocation.self_production_rate}

    def by_period(self, level: Level) -> PeriodFlows:
        """Flows per step, per local day or per local month (DST days keep their 46 or 50 half-hours)."""
        a, t, zone = self.allocation, self.curves.t, self.curves.zone
        if level == "step":
            edges = np.append(t, self.end)
            return PeriodFlows(level, edges, self.consumers, self.producers, a.cons, a.autocons, a.prod,
                               a.autoprod, zone)
        if level not in ("day", "month"):
            raise AccRequestError(f"level is step, day or month, got {level!r}")
        edges = period_starts(self.start, self.end - 1, level, zone)
        edges = np.clip(edges, self.start, self.end)
        def s(x: np.ndarray) -> np.ndarray:
            return acc.period_totals(x, t, edges)

        return PeriodFlows(level, edges, self.consumers, self.producers, s(a.cons), s(a.autocons), s(a.prod),
                           s(a.autoprod), zone)

    def window(self, start: int, end: int) -> OperationAllocation:
        """The same allocation restricted to [start, end) (per-step results: slicing is exact)."""
        t = self.curves.t
        lo, hi = np.searchsorted(t, [start, end])
        c = self.curves
        sub = OperationCurves(c.operation, c.zone, t[lo:hi], c.step_s, c.consumers, c.producers,
                              c.consumption[lo:hi], c.production[lo:hi], c.active[lo:hi], c.producer_active[lo:hi],
                              c.missing)
        a = self.allocation
        part = acc.Allocation(a.key, a.cons[lo:hi], a.autocons[lo:hi], a.prod[lo:hi], a.autoprod[lo:hi])
        return OperationAllocation(sub, self.key, part)


def sankey(result: OperationAllocation) -> dict[str, Any]:
    """Production → consumers → surplus, as nodes and links [kWh] for a Sankey chart (PRMs masked).

    With several producers, each consumer's AUTOCONS is split among them pro rata of their AUTOPROD at
    each step (what the default, static and priority keys do); COMPLEMENT comes from "the grid" (suppliers).
    """
    a = result.allocation
    pooled = a.autoprod.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        part = np.where(pooled[:, None] > 0, a.autoprod / pooled[:, None], 0.0)  # (n, producers)
    pair = part.T @ a.autocons  # (producers, consumers) [Wh]
    names = [p.name or mask_prm(p.prm) for p in (*result.producers, *result.consumers)]
    nodes = [{"id": f"p{j}", "name": n, "prm": mask_prm(p.prm), "role": "producer"}
             for j, (p, n) in enumerate(zip(result.producers, names, strict=False))]
    nodes += [{"id": f"c{i}", "name": names[len(result.producers) + i], "prm": mask_prm(p.prm), "role": "consumer"}
              for i, p in enumerate(result.consumers)]
    nodes += [{"id": "surplus", "name": "SURPLUS", "role": "surplus"}, {"id": "grid", "name": "COMPLEMENT",
                                                                        "role": "grid"}]
    links = [{"source": f"p{j}", "target": f"c{i}", "kwh": round(float(pair[j, i]) / 1000, 3)}
             for j in range(len(result.producers)) for i in range(len(result.consumers)) if pair[j, i] > 0]
    links += [{"source": f"p{j}", "target": "surplus", "kwh": round(float(s) / 1000, 3)}
              for j, s in enumerate(a.surplus.sum(axis=0)) if s > 0]
    links += [{"source": "grid", "target": f"c{i}", "kwh": round(float(c) / 1000, 3)}
              for i, c in enumerate(a.complement.sum(axis=0)) if c > 0]
    return {"key": result.key, "nodes": nodes, "links": links}


def participant_only(result: OperationAllocation, prm: str, level: Level = "day") -> dict[str, Any]:
    """One participant's flows per period and nothing of the others: what a participant's own page shows.

    Why: an allocation needs every participant's curve (the default key shares by everyone's consumption),
    so it is computed under the PMO's authority (its reader, its grants); a participant is then shown only
    their own row. The web layer must log that release through the gate before calling this.
    """
    flows = result.by_period(level).as_dict()
    cons = [i for i, p in enumerate(result.consumers) if p.prm == prm]
    prods = [j for j, p in enumerate(result.producers) if p.prm == prm]
    if not cons and not prods:
        raise AccRequestError(f"{mask_prm(prm)} does not count in this operation over this period")
    mine = flows["consumers"][cons[0]] if cons else flows["producers"][prods[0]]
    return {"level": level, "start": flows["start"], "end": flows["end"], "key": result.key, "flows": mine,
            "rates": result.rates()}


def allocate(curves: OperationCurves, key: str = "default", *, static_shares: Mapping[str, float] | None = None,
             shares: np.ndarray | None = None, coefficients: np.ndarray | None = None,
             share: acc.Share = "weight") -> OperationAllocation:
    """Apply a key to an operation's curves.

    ``static_shares`` (PRM → fraction) for ``static``; ``shares`` ``(n_steps, n_consumers)`` for
    ``dynamic_simple`` and ``coefficients`` for ``full_dynamic`` (the PMO's files, columns in the order of
    ``curves.consumers``); ``priority`` uses each consumer's level and weight from the operation.
    """
    cons, active = curves.consumption, curves.active
    prod = np.where(curves.producer_active, curves.production, 0.0)
    name = "default" if key in ("default", "default_dynamic") else key
    if name == "default":
        result = acc.default_dynamic(prod, cons, active)
    elif name == "static":
        if static_shares is None:
            raise AccRequestError("the static key needs each consumer's share (set static shares on the operation)")
        result = acc.static(prod, cons, np.array([float(static_shares.get(p.prm, 0.0)) for p in curves.consumers]),
                            active)
    elif name == "priority":
        levels = np.array([p.priority for p in curves.consumers])
        weights = np.array([p.weight for p in curves.consumers])
        result = acc.priority(prod, cons, levels, weights, share=share, active=active)
    elif name == "dynamic_simple":
        if shares is None:
            raise AccRequestError("the dynamic simple key needs the PMO's shares per step")
        result = acc.dynamic_simple(prod, cons, shares, active)
    elif name == "full_dynamic":
        if coefficients is None:
            raise AccRequestError("the full dynamic key needs a coefficient per producer, consumer and step")
        result = acc.full_dynamic(prod, cons, coefficients, active)
    else:
        raise AccRequestError(f"unknown key {key!r}; regie computes {', '.join(KEYS)}")
    return OperationAllocation(curves, name, result)


def allocate_stored(store: Store, operation_id: str, start: int, end: int, reader: CurveReader,
                    key: str | None = None) -> OperationAllocation:
    """Load a stored operation's curves over [start, end) and apply the key in force each day (or ``key``)."""
    stored = load_operation(store, operation_id)
    curves = load_curves(store, stored.operation, start, end, reader, stored.territory_id)
    return allocate_in_force(curves, stored, key)


def _slice_curves(c: OperationCurves, lo: int, hi: int) -> OperationCurves:
    return OperationCurves(c.operation, c.zone, c.t[lo:hi], c.step_s, c.consumers, c.producers, c.consumption[lo:hi],
                           c.production[lo:hi], c.active[lo:hi], c.producer_active[lo:hi], c.missing)


def allocate_in_force(curves: OperationCurves, stored: StoredOperation, key: str | None = None) -> OperationAllocation:
    """Apply, on each local day, the key in force that day (``acc_key_period``: the latest ``since`` not
    after it, else the operation's own ``key``); ``key`` forces one key over the whole period instead.

    The keys regie computes decide each step on that step's curves alone, so allocating each run of days
    under its key and putting the runs end to end is exact. The result is labelled with the key of the last
    run (the one in force at the end of the period).
    """
    if key is not None or not stored.key_periods:
        return allocate(curves, key or stored.key, static_shares=stored.static_shares)
    bounds = np.array([_midnight(p.since, curves.zone) for p in stored.key_periods], dtype=np.int64)
    which = np.searchsorted(bounds, curves.t, side="right") - 1  # -1: before the first period
    parts: list[OperationAllocation] = []
    edges = np.flatnonzero(np.diff(which)) + 1
    for lo, hi in itertools.pairwise([0, *edges.tolist(), len(which)]):
        i = int(which[lo]) if len(which) else -1
        if i < 0:
            part_key, shares, share = stored.key, stored.static_shares, "weight"
        else:
            period = stored.key_periods[i]
            part_key, shares = period.key, period.params.get("shares", stored.static_shares)
            share = period.params.get("share", "weight")
        parts.append(allocate(_slice_curves(curves, lo, hi), part_key, static_shares=shares, share=share))
    if len(parts) == 1:
        return OperationAllocation(curves, parts[0].key, parts[0].allocation)
    a = [p.allocation for p in parts]
    joined = acc.Allocation(parts[-1].key, *(np.concatenate([getattr(x, f) for x in a])
                                             for f in ("cons", "autocons", "prod", "autoprod")))
    return OperationAllocation(curves, parts[-1].key, joined)


# ------------------------------------------------------------------------------------- key comparison


@dataclass(frozen=True, slots=True)
class KeyComparison:
    """What each key gives each consumer over the same period: ``autocons[key]`` per consumer [Wh]."""

    consumers: tuple[Participant, ...]
    keys: tuple[str, ...]
    cons: np.ndarray
    autocons: dict[str, np.ndarray]
    surplus: dict[str, float]
    rates: dict[str, dict[str, float | None]]
    start: int
    end: int

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready, PRMs masked: one row per consumer, one column per key."""
        return {
            "keys": list(self.keys),
            "surplus_wh": self.surplus,
            "rates": self.rates,
            "consumers": [{"prm": mask_prm(p.prm), "name": p.name, "type": p.type.value, "priority": p.priority,
                           "CONS": float(self.cons[j]),
                           "AUTOCONS": {k: float(self.autocons[k][j]) for k in self.keys}}
                          for j, p in enumerate(self.consumers)],
        }


def compare_keys(curves: OperationCurves, keys: Sequence[str] = ("default", "priority"), *,
                 static_shares: Mapping[str, float] | None = None) -> KeyComparison:
    """Apply several keys to the same curves (read once) and set their results side by side.

    Use :func:`last_year_bounds` for "over the last year". Keys that need PMO files (dynamic simple, full
    dynamic) are not simulated here: they are the PMO's own choices, step by step.
    """
    out, surplus, rates = {}, {}, {}
    cons = None
    for k in keys:
        r = allocate(curves, k, static_shares=static_shares)
        out[r.key] = r.allocation.autocons.sum(axis=0)
        surplus[r.key] = float(r.allocation.surplus.sum())
        rates[r.key] = r.rates()
        cons = r.allocation.cons.sum(axis=0)
    return KeyComparison(curves.consumers, tuple(out), cons if cons is not None else np.zeros(0), out, surplus,
                         rates, curves.start, curves.end)


# ------------------------------------------------------------------------------------------- billing


def billing_config(billing: Mapping[str, Any] | None) -> BillingConfig:
    """The billing set-up from its stored JSON form.

    ``{"local_price": {"default": 0.12, "rules": [{"price": 0.10, "type": "commune"},
    {"price": 0.11, "entered_from": "2025-06-01"}]}, "turpe": "none", "accise": true, "vat": true}``;
    prices in EUR/kWh excluding VAT.
    """
    if not billing or "local_price" not in billing:
        raise AccRequestError("the operation has no billing set-up (local price): set one before invoicing")
    lp = billing["local_price"]
    rules = tuple(
        PriceRule(float(r["price"]), ParticipantType(r["type"]) if r.get("type") else None,
                  date.fromisoformat(r["entered_from"]) if r.get("entered_from") else None,
                  date.fromisoformat(r["entered_before"]) if r.get("entered_before") else None)
        for r in lp.get("rules", ())
    )
    return BillingConfig(LocalPrice(float(lp["default"]), rules), turpe=billing.get("turpe", "none"),
                         accise=bool(billing.get("accise", True)), vat=bool(billing.get("vat", True)))


def tariffs_for(config: BillingConfig, first: date, last: date, *, allow_illustrative: bool = False) -> TariffSet:
    """The tax and network parameters in force on ``first`` that the set-up needs (versioned data files)."""
    def get(kind: str) -> Any:
        return load_parameters(kind, first, allow_illustrative=allow_illustrative)

    return TariffSet(vat=get("vat") if config.vat else None, accise=get("accise") if config.accise else None,
                     turpe_acc=get("turpe_acc") if config.turpe != "none" else None)


@dataclass(frozen=True, slots=True)
class ConsumerBill:
    """A consumer's bill for the PMO's local energy, with who it is for and the energies behind it [Wh]."""

    participant: Participant
    number: str
    bill: Bill
    cons_wh: float
    autocons_wh: float
    complement_wh: float


@dataclass(frozen=True, slots=True)
class ProducerStatement:
    """What a producer injected, what was shared in the operation and what it earned from it.

    ``local_sales_eur`` is its share (pro rata of AUTOPROD) of the local energy billed to consumers,
    excluding VAT and excise, which are collected for the State, and excluding the TURPE line.
    """

    participant: Participant
    number: str
    start: date
    end: date
    prod_kwh: Decimal
    autoprod_kwh: Decimal
    surplus_kwh: Decimal
    local_sales_eur: Decimal


@dataclass(frozen=True, slots=True)
class BillingRun:
    """The bills of one period: one per consumer that counted, one statement per producer."""

    operation: Operation
    start: date
    end: date  # last local day, included
    key: str
    bills: tuple[ConsumerBill, ...]
    statements: tuple[ProducerStatement, ...]
    rates: dict[str, float | None]

    @property
    def total_excl_vat_eur(self) -> Decimal:
        return sum((b.bill.total_excl_vat_eur for b in self.bills), Decimal(0))

    @property
    def total_incl_vat_eur(self) -> Decimal:
        return sum((b.bill.total_incl_vat_eur for b in self.bills), Decimal(0))


def _kwh(wh: float) -> Decimal:
    return (Decimal(repr(float(wh))) / 1000).quantize(Decimal("0.001"))


def bill_allocation(result: OperationAllocation, config: BillingConfig, *, tariffs: TariffSet | None = None,
                    categories: Mapping[str, AcciseCategory] | None = None,
                    allow_illustrative: bool = False) -> BillingRun:
    """Bills for the period of an allocation: each consumer over the days it counted in it.

    A consumer who joined mid-period is billed from its entry day; a period across a change of the tariff
    files is split at the date, each stretch billed with the figures in force over it (one bill, dated lines).
    ``categories`` maps a PRM to its excise category (from the subscribed power); households by default.
    """
    zone, op = result.curves.zone, result.curves.operation
    first, last = _day(result.start, zone), _day(result.end - 1, zone)
    # A period across a change of tax or network figures is split at the date (issue 17): each stretch its
    # AUTOCONS and the figures in force over all of it.
    kinds = [k for k, on in (("vat", config.vat), ("accise", config.accise), ("turpe_acc", config.turpe != "none"))
             if on]  # fmt: skip
    stretches = []
    for a, b in [(first, last)] if tariffs else periods(kinds, first, last):
        part = result.window(_midnight(a, zone), _midnight(b + timedelta(days=1), zone)).participants()
        stretches.append((a, b, {f.participant.prm: f.autocons_wh for f in part if f.participant.role == Role.CONSUMER},
                          tariffs or tariffs_for(config, a, b, allow_illustrative=allow_illustrative)))
    flows = result.participants()
    bills: list[ConsumerBill] = []
    numbers = {(p.prm, p.role): i + 1 for group in (op.consumers, op.producers) for i, p in enumerate(group)}
    for f in (x for x in flows if x.participant.role == Role.CONSUMER):
        p = f.participant
        a = max(first, p.entry)
        b = min(last, p.exit - timedelta(days=1)) if p.exit else last
        cat = (categories or {}).get(p.prm, "household")
        parts = [Part(max(a, s0), min(b, s1), auto[p.prm], ts) for s0, s1, auto, ts in stretches
                 if max(a, s0) <= min(b, s1)]  # fmt: skip
        bill = bill_consumer_over(p, parts, f.complement_wh, config, cat)
        number = f"{op.id}-{first:%Y%m%d}-C{numbers[p.prm, p.role]:03d}"
        bills.append(ConsumerBill(p, number, bill, f.cons_wh, f.autocons_wh, f.complement_wh))
    energy = sum((line.amount_eur for b in bills for line in b.bill.lines[:1]), Decimal(0))
    producers = [x for x in flows if x.participant.role == Role.PRODUCER]
    total_autoprod = sum(x.autoprod_wh for x in producers)
    statements = []
    for f in producers:
        part = Decimal(repr(f.autoprod_wh / total_autoprod)) if total_autoprod > 0 else Decimal(0)
        number = f"{op.id}-{first:%Y%m%d}-P{numbers[f.participant.prm, Role.PRODUCER]:03d}"
        statements.append(ProducerStatement(
            f.participant, number, first, last, _kwh(f.prod_wh), _kwh(f.autoprod_wh), _kwh(f.surplus_wh),
            (energy * part).quantize(Decimal("0.01")),
        ))  # fmt: skip
    return BillingRun(op, first, last, result.key, tuple(bills), tuple(statements), result.rates())


def excise_categories(inventory: Inventory, consumers: Sequence[Participant]) -> dict[str, AcciseCategory]:
    """Each consumer's excise category from its delivery point's subscribed power (CIBS thresholds)."""
    kva = {d.prm: d.subscribed_kva for d in inventory.delivery_points}
    return {p.prm: accise_category(kva.get(p.prm)) for p in consumers}


def bill_month(store: Store, operation_id: str, month: str, reader: CurveReader, *, key: str | None = None,
               allow_illustrative: bool = False) -> BillingRun:
    """A stored operation's bills for one local month (``YYYY-MM``), with its stored key and prices."""
    stored = load_operation(store, operation_id)
    inventory = store.load_inventory(stored.territory_id)
    start, end = month_bounds(month, inventory.territory.zone)
    curves = load_curves(store, stored.operation, start, end, reader, stored.territory_id)
    result = allocate_in_force(curves, stored, key)
    return bill_allocation(result, billing_config(stored.billing),
                           categories=excise_categories(inventory, result.consumers),
                           allow_illustrative=allow_illustrative)


# ------------------------------------------------------------------------------------- yearly summary


@dataclass(frozen=True, slots=True)
class YearlySummary:
    """A year of an operation, month by month: flows [kWh], rates and what was billed [EUR]."""

    operation: Operation
    year: int
    key: str
    months: tuple[BillingRun, ...]
    flows: tuple[PeriodFlows, ...]  # one per month, the month's totals per participant

    def month_rows(self) -> list[dict[str, Any]]:
        """One row per month: PROD, AUTOCONS, SURPLUS, CONS [kWh], the two rates and the amounts billed."""
        rows = []
        for run, f in zip(self.months, self.flows, strict=True):
            prod, auto, cons = float(f.prod.sum()), float(f.autocons.sum()), float(f.cons.sum())
            rows.append({
                "month": f"{run.start:%Y-%m}", "prod_kwh": _kwh(prod), "autocons_kwh": _kwh(auto),
                "surplus_kwh": _kwh(prod - auto), "cons_kwh": _kwh(cons),
                "self_consumption": auto / prod if prod > 0 else None,
                "self_production": auto / cons if cons > 0 else None,
                "billed_excl_vat_eur": run.total_excl_vat_eur, "billed_incl_vat_eur": run.total_incl_vat_eur,
            })  # fmt: skip
        return rows

    def participant_rows(self) -> list[dict[str, Any]]:
        """One row per participant over the year: energies [kWh] and the total of its monthly bills."""
        acc_rows: dict[tuple[str, str], dict[str, Any]] = {}
        for run in self.months:
            for b in run.bills:
                r = acc_rows.setdefault((b.participant.prm, "consumer"), {
                    "participant": b.participant, "cons_kwh": Decimal(0), "autocons_kwh": Decimal(0),
                    "complement_kwh": Decimal(0), "billed_incl_vat_eur": Decimal(0)})  # fmt: skip
                r["cons_kwh"] += _kwh(b.cons_wh)
                r["autocons_kwh"] += _kwh(b.autocons_wh)
                r["complement_kwh"] += _kwh(b.complement_wh)
                r["billed_incl_vat_eur"] += b.bill.total_incl_vat_eur
            for s in run.statements:
                r = acc_rows.setdefault((s.participant.prm, "producer"), {
                    "participant": s.participant, "prod_kwh": Decimal(0), "autoprod_kwh": Decimal(0),
                    "surplus_kwh": Decimal(0), "local_sales_eur": Decimal(0)})  # fmt: skip
                r["prod_kwh"] += s.prod_kwh
                r["autoprod_kwh"] += s.autoprod_kwh
                r["surplus_kwh"] += s.surplus_kwh
                r["local_sales_eur"] += s.local_sales_eur
        return list(acc_rows.values())


def yearly_summary(store: Store, operation_id: str, year: int, reader: CurveReader, *, key: str | None = None,
                   allow_illustrative: bool = False) -> YearlySummary:
    """Allocate a local year once, then bill it month by month (tax rates change on the 1st of a month)."""
    stored = load_operation(store, operation_id)
    inventory = store.load_inventory(stored.territory_id)
    zone = inventory.territory.zone
    start, end = year_bounds(year, zone)
    curves = load_curves(store, stored.operation, start, end, reader, stored.territory_id)
    whole = allocate_in_force(curves, stored, key)
    config = billing_config(stored.billing)
    cats = excise_categories(inventory, whole.consumers)
    edges = period_starts(start, end - 1, "month", zone)
    runs, flows = [], []
    for a, b in itertools.pairwise(edges):
        part = _only_active(whole.window(int(a), int(b)))
        if part is None:
            continue
        runs.append(bill_allocation(part, config, categories=cats, allow_illustrative=allow_illustrative))
        flows.append(part.by_period("month"))
    return YearlySummary(stored.operation, year, whole.key, tuple(runs), tuple(flows))


def _only_active(result: OperationAllocation) -> OperationAllocation | None:
    """Drop participants that do not count in this window (they get no bill for it); None if empty."""
    c = result.curves
    if not len(c.t):
        return None
    ci, pi = np.flatnonzero(c.active.any(axis=0)), np.flatnonzero(c.producer_active.any(axis=0))
    if not len(ci) or not len(pi):
        return None
    sub = OperationCurves(c.operation, c.zone, c.t, c.step_s, tuple(c.consumers[i] for i in ci),
                          tuple(c.producers[i] for i in pi), c.consumption[:, ci], c.production[:, pi],
                          c.active[:, ci], c.producer_active[:, pi], c.missing)
    a = result.allocation
    return OperationAllocation(sub, result.key, acc.Allocation(a.key, a.cons[:, ci], a.autocons[:, ci],
                                                               a.prod[:, pi], a.autoprod[:, pi]))


def stored_operation(store: Store, operation_id: str) -> StoredOperation:
    """The stored operation (re-exported so the web layer needs only this module)."""
    return load_operation(store, operation_id)
