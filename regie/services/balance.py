"""The territory's energy balance over a period, at a step, from the stored series.

Self-sufficiency and self-consumption need min(production, consumption) *per metering step*
(DESIGN.md), so the balance always sums the series at their own step (30 min for Linky load curves)
and only then groups steps into hours, local days or local months.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import numpy as np

from regie.analytics import balance as bal
from regie.model import Series, SeriesKind, Step
from regie.model.calendar import period_starts
from regie.store import Store

MAX_PERIODS = 20_000


class BalanceRequestError(ValueError):
    """The period or step asked for cannot be computed (says which and why)."""


def _base_step(series: list[Series]) -> int:
    steps = {s.step.seconds for s in series if s.step is not None and not s.step.is_calendar}
    if not steps:
        raise BalanceRequestError("no consumption or production series with a fixed step in this territory")
    return max(steps)


def _group_index(t: np.ndarray, step: Step, start: int, end: int, zone) -> tuple[np.ndarray, np.ndarray]:
    """(group index of each base step, start of each group [UTC s])."""
    if step.is_calendar:
        level = "month" if step.months else "day"
        starts = period_starts(start, end - 1, level, zone)[:-1][:: step.days or step.months]
        return np.searchsorted(starts, t, side="right") - 1, starts
    idx = (t - start) // step.seconds
    return idx, start + step.seconds * np.arange(int(idx[-1]) + 1 if len(idx) else 0)


def territory_balance(store: Store, start: datetime, end: datetime, step: Step) -> dict[str, Any]:
    """Consumption, production by source and the three rates over [start, end), per ``step`` and in total."""
    inv = store.load_inventory()
    zone = inv.territory.zone
    a, b = int(start.timestamp()), int(end.timestamp())
    if b <= a:
        raise BalanceRequestError(f"end ({end.isoformat()}) must be after start ({start.isoformat()})")
    consumers = [s for s in inv.series if s.kind is SeriesKind.CONSUMPTION and s.unit == "W"]
    producers = {p.id: p for p in inv.producers}
    production = [s for s in inv.series if s.kind is SeriesKind.PRODUCTION and s.unit == "W"]
    base = _base_step(consumers + production)
    if not step.is_calendar and (step.seconds < base or step.seconds % base):
        raise BalanceRequestError(f"step {step} is not a multiple of the metering step ({Step(seconds=base)})")
    if a % base or b % base:
        raise BalanceRequestError(f"start and end must fall on the metering step ({Step(seconds=base)})")
    n_base = (b - a) // base
    t = a + base * np.arange(n_base, dtype=np.int64)
    idx, starts = _group_index(t, step, a, b, zone)
    if len(starts) > MAX_PERIODS:
        raise BalanceRequestError(f"{len(starts)} periods asked for; at most {MAX_PERIODS} per request")

    cons_w, _ = store.sum_on_grid([s.id for s in consumers], a, b, base)
    by_source: dict[str, list[str]] = {}
    for s in production:
        source = producers[s.producer_id].source.value if s.producer_id in producers else "other"
        by_source.setdefault(source, []).append(s.id)
    prod_w = {src: store.sum_on_grid(ids, a, b, base)[0] for src, ids in sorted(by_source.items())}

    total = bal.totals(cons_w, prod_w, base)
    g = bal.grouped(cons_w, prod_w, base, idx, len(starts))
    r = bal.rates(g["consumption_wh"], g["production_total_wh"], g["self_consumed_wh"])

    def iso(x: int) -> str:
        return datetime.fromtimestamp(int(x), zone).isoformat()

    def clean(x: np.ndarray) -> list[float | None]:
        return [None if not np.isfinite(v) else round(float(v), 6) for v in x]

    return {
        "territory": inv.territory.id,
        "timezone": inv.territory.timezone,
        "start": iso(a),
        "end": iso(b),
        "step": step.iso,
        "sources": list(prod_w),
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
            "start": [iso(x) for x in starts],
            "consumption_wh": clean(g["consumption_wh"]),
            "production_wh": {k: clean(v) for k, v in g["production_wh"].items()},
            "production_total_wh": clean(g["production_total_wh"]),
            "self_consumed_wh": clean(g["self_consumed_wh"]),
            **{k: clean(v) for k, v in r.items()},
        },
    }
