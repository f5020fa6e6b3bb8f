"""The territory's energy balance over a period, at a step, from the stored series.

Self-sufficiency and self-consumption need min(production, consumption) *per metering step*
(docs/architecture.md), so the balance always sums the series at their own step (30 min for Linky load curves)
and only then groups steps into hours, local days or local months.

The sums of personal series come through the gate (:func:`regie.governance.gate.read_aggregate`), never
from the store directly: this module gives the régie's exact figures; the public's are the publication's
(:mod:`regie.publication.balance`), which reuses :func:`balance_grid` and :func:`balance_figures`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np

from regie.analytics import balance as bal
from regie.governance import gate
from regie.governance.accounts import Account
from regie.model import Inventory, Series, SeriesKind, Step
from regie.model.calendar import period_starts
from regie.store import Store

MAX_PERIODS = 20_000
PURPOSE = "dpv:CombatClimateChange"  # territorial energy planning (consent.PURPOSES)
EXACT_REASON = "the régie's exact territory balance (its own accounts, not published)"


class BalanceRequestError(ValueError):
    """The period or step asked for cannot be computed (says which and why)."""


@dataclass(frozen=True, slots=True)
class BalanceGrid:
    """What a balance request sums: the metering step's grid over [a, b), how it groups into periods, and the
    series (consumption; production by source)."""

    inv: Inventory
    a: int
    b: int
    step: Step
    base: int
    idx: np.ndarray  # period of each metering step
    starts: np.ndarray  # start of each period [UTC s]
    consumers: list[Series]
    by_source: dict[str, list[Series]]


def base_step(series: list[Series]) -> int:
    """The metering step the balance sums at: the coarsest fixed step of the load curves [s]."""
    steps = {s.step.seconds for s in series if s.step is not None and not s.step.is_calendar}
    if not steps:
        raise BalanceRequestError("no consumption or production series with a fixed step in this territory")
    return max(steps)


def group_index(t: np.ndarray, step: Step, start: int, end: int, zone) -> tuple[np.ndarray, np.ndarray]:
    """(group index of each base step, start of each group [UTC s])."""
    if step.is_calendar:
        level = "month" if step.months else "day"
        starts = period_starts(start, end - 1, level, zone)[:-1][:: step.days or step.months]
        return np.searchsorted(starts, t, side="right") - 1, starts
    idx = (t - start) // step.seconds
    return idx, start + step.seconds * np.arange(int(idx[-1]) + 1 if len(idx) else 0)


def balance_grid(inv: Inventory, start: datetime, end: datetime, step: Step) -> BalanceGrid:
    """Check the period and the step against the metering step (says what is wrong and why)."""
    zone = inv.territory.zone
    a, b = int(start.timestamp()), int(end.timestamp())
    if b <= a:
        raise BalanceRequestError(f"end ({end.isoformat()}) must be after start ({start.isoformat()})")
    consumers = [s for s in inv.series if s.kind is SeriesKind.CONSUMPTION and s.unit == "W"]
    producers = {p.id: p for p in inv.producers}
    production = [s for s in inv.series if s.kind is SeriesKind.PRODUCTION and s.unit == "W"]
    base = base_step(consumers + production)
    if not step.is_calendar and (step.seconds < base or step.seconds % base):
        raise BalanceRequestError(f"step {step} is not a multiple of the metering step ({Step(seconds=base)})")
    if a % base or b % base:
        raise BalanceRequestError(f"start and end must fall on the metering step ({Step(seconds=base)})")
    n_base = (b - a) // base
    t = a + base * np.arange(n_base, dtype=np.int64)
    idx, starts = group_index(t, step, a, b, zone)
    if len(starts) > MAX_PERIODS:
        raise BalanceRequestError(f"{len(starts)} periods asked for; at most {MAX_PERIODS} per request")
    by_source: dict[str, list[Series]] = {}
    for s in production:
        source = producers[s.producer_id].source.value if s.producer_id in producers else "other"
        by_source.setdefault(source, []).append(s)
    return BalanceGrid(inv, a, b, step, base, idx, starts, consumers, dict(sorted(by_source.items())))


def balance_figures(g: BalanceGrid, cons_w: np.ndarray, prod_w: dict[str, np.ndarray]) -> dict[str, Any]:
    """The balance's figures (the dict :func:`territory_balance` returns) from per-metering-step powers [W]."""
    total = bal.totals(cons_w, prod_w, g.base)
    return figures_of(g, total, bal.grouped(cons_w, prod_w, g.base, g.idx, len(g.starts)))


def figures_of(g: BalanceGrid, total: bal.BalanceTotals, grouped: dict[str, Any]) -> dict[str, Any]:
    """The balance's figures from its totals and its per-period energies (:func:`regie.analytics.balance.grouped`);
    :mod:`regie.cluster` sums those over the lake's partitions and lands here too."""
    zone = g.inv.territory.zone
    r = bal.rates(grouped["consumption_wh"], grouped["production_total_wh"], grouped["self_consumed_wh"])

    def iso(x: int) -> str:
        return datetime.fromtimestamp(int(x), zone).isoformat()

    def clean(x: np.ndarray) -> list[float | None]:  # Python floats first: numpy scalars are 10× slower here
        return [round(v, 6) if math.isfinite(v) else None for v in np.asarray(x, dtype=float).tolist()]

    return {
        "territory": g.inv.territory.id,
        "timezone": g.inv.territory.timezone,
        "start": iso(g.a),
        "end": iso(g.b),
        "step": g.step.iso,
        "sources": list(grouped["production_wh"]),
        "totals": {
            "consumption_wh": total.consumption_wh,
            "production_wh": total.production_wh,
            "production_by_source_wh": total.production_by_source_wh,
            "self_consumed_wh": total.self_consumed_wh,
            "coverage": total.coverage,
            "self_sufficiency": total.self_sufficiency,
            "self_consumption": total.self_consumption,
        },
        "periods": {
            "start": [iso(x) for x in g.starts],
            "consumption_wh": clean(grouped["consumption_wh"]),
            "production_wh": {k: clean(v) for k, v in grouped["production_wh"].items()},
            "production_total_wh": clean(grouped["production_total_wh"]),
            "self_consumed_wh": clean(grouped["self_consumed_wh"]),
            **{k: clean(v) for k, v in r.items()},
        },
    }


def territory_balance(
    store: Store, start: datetime, end: datetime, step: Step, *, caller: Account = gate.PUBLICATION,
    reason: str | None = EXACT_REASON,
) -> dict[str, Any]:  # fmt: skip
    """The régie's exact balance over [start, end), per ``step`` and in total: consumption, production by
    source and the three rates. The sums come through :func:`gate.read_aggregate` (one logged read; secrecy
    applies unless the caller is entitled to every contributor). What the public sees is
    :func:`regie.publication.balance.public_balance`, frozen and versioned."""
    g = balance_grid(store.load_inventory(), start, end, step)
    groups = {"consumption": [s.id for s in g.consumers]}
    groups |= {f"production:{src}": [s.id for s in ids] for src, ids in g.by_source.items()}
    agg = gate.read_aggregate(store, caller, groups, g.a, g.b, g.base, PURPOSE, reason=reason)
    cols = {label: np.nan_to_num(agg.values[:, j]) for j, label in enumerate(agg.groups)}
    prod_w = {src: cols[f"production:{src}"] for src in g.by_source}
    return balance_figures(g, cols["consumption"], prod_w)
