"""What a demo scenario produces: a territory's inventory and one aligned year of readings per series."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from regie.model import Inventory, Operation


@dataclass(frozen=True, slots=True)
class DemoData:
    """``t``: UTC unix seconds at the *start* of each step; ``values[series_id]``: one value per step,
    in the series' unit (W for load curves, °C for temperature); NaN marks a missing reading."""

    inventory: Inventory
    t: np.ndarray
    values: dict[str, np.ndarray]
    operations: tuple[Operation, ...] = ()  # collective self-consumption operations of the scenario

    def energy_wh(self, series_id: str) -> float:
        """Energy of a power series over the year [Wh] (power × step)."""
        step = float(np.diff(self.t[:2])[0]) if len(self.t) > 1 else 0.0
        return float(np.nansum(self.values[series_id]) * step / 3600)
