"""Territorial energy balance: coverage, self-sufficiency and self-consumption.

Definitions (docs/architecture.md, and the usual ones of collective self-consumption, cf. Code de l'énergie
art. L315-2 and ADEME's *autoconsommation* glossary):

- annual **coverage** = Σ production / Σ consumption — the "104 %" of a territory that produces as much
  as it uses *over the year*, whatever the hour;
- **self-sufficiency** (taux d'autoproduction) = Σ_t min(P_t, C_t) / Σ_t C_t — the share of consumption
  met by local production *at the same time step*;
- **self-consumption** (taux d'autoconsommation) = Σ_t min(P_t, C_t) / Σ_t P_t — the share of production
  used locally at the same time step.

Both rates must be computed per step: using totals only would hide that summer PV cannot heat winter.
All functions take aligned per-step arrays of average power [W] and a step length [s].
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

WH_PER_WS = 1 / 3600


def _ratio(num: float, den: float) -> float | None:
    return float(num / den) if den > 0 else None


@dataclass(frozen=True, slots=True)
class BalanceTotals:
    """Energy over a period [Wh] and the three rates (None when the denominator is zero)."""

    consumption_wh: float
    production_wh: float
    production_by_source_wh: dict[str, float]
    self_consumed_wh: float

    @property
    def coverage(self) -> float | None:
        return _ratio(self.production_wh, self.consumption_wh)

    @property
    def self_sufficiency(self) -> float | None:
        return _ratio(self.self_consumed_wh, self.consumption_wh)

    @property
    def self_consumption(self) -> float | None:
        return _ratio(self.self_consumed_wh, self.production_wh)


def step_energy(power_w: np.ndarray, step_s: float) -> np.ndarray:
    """Energy per step [Wh] from average power over the step [W]; NaN (no value) counts as 0."""
    return np.nan_to_num(np.asarray(power_w, dtype=np.float64)) * (step_s * WH_PER_WS)


def self_consumed_energy(consumption_w: np.ndarray, production_w: np.ndarray, step_s: float) -> np.ndarray:
    """Per-step locally matched energy min(P_t, C_t) [Wh]."""
    return step_energy(np.minimum(np.nan_to_num(consumption_w), np.nan_to_num(production_w)), step_s)


def totals(consumption_w: np.ndarray, production_w_by_source: Mapping[str, np.ndarray], step_s: float) -> BalanceTotals:
    """Balance of one period from per-step average powers [W] at step ``step_s`` [s]."""
    by_source = {k: float(step_energy(v, step_s).sum()) for k, v in production_w_by_source.items()}
    production = total_production(production_w_by_source, len(consumption_w))
    return BalanceTotals(
        consumption_wh=float(step_energy(consumption_w, step_s).sum()),
        production_wh=float(sum(by_source.values())),
        production_by_source_wh=by_source,
        self_consumed_wh=float(self_consumed_energy(consumption_w, production, step_s).sum()),
    )


def total_production(production_w_by_source: Mapping[str, np.ndarray], n: int) -> np.ndarray:
    """Sum of production over sources per step [W]; NaN counts as 0."""
    out = np.zeros(n)
    for v in production_w_by_source.values():
        out += np.nan_to_num(v)
    return out


def grouped(
    consumption_w: np.ndarray,
    production_w_by_source: Mapping[str, np.ndarray],
    step_s: float,
    group: np.ndarray,
    n_groups: int,
) -> dict[str, np.ndarray | dict[str, np.ndarray]]:
    """Per-group energies [Wh] (days, months...) where ``group[i]`` is the group index of step ``i``.

    The matched energy min(P, C) is taken per step *before* grouping, so a day's self-sufficiency is
    Σ over its steps, never min of the day's totals.
    """
    production = total_production(production_w_by_source, len(consumption_w))

    def by_group(x: np.ndarray) -> np.ndarray:
        return np.bincount(group, weights=x, minlength=n_groups)

    return {
        "consumption_wh": by_group(step_energy(consumption_w, step_s)),
        "production_wh": {k: by_group(step_energy(v, step_s)) for k, v in production_w_by_source.items()},
        "production_total_wh": by_group(step_energy(production, step_s)),
        "self_consumed_wh": by_group(self_consumed_energy(consumption_w, production, step_s)),
    }


def rates(consumed_wh: np.ndarray, produced_wh: np.ndarray, matched_wh: np.ndarray) -> dict[str, np.ndarray]:
    """Element-wise coverage, self-sufficiency, self-consumption; NaN where the denominator is 0."""
    with np.errstate(divide="ignore", invalid="ignore"):
        c = np.where(consumed_wh > 0, consumed_wh, np.nan)
        p = np.where(produced_wh > 0, produced_wh, np.nan)
        return {"coverage": produced_wh / c, "self_sufficiency": matched_wh / c, "self_consumption": matched_wh / p}
