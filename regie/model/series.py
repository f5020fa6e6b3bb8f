"""What a series measures, in which unit, at which step, and how its source stamps time.

Enedis stamps a 30-minute load-curve value at the *end* of its interval (Enedis, "Courbe de charge —
description des flux R63"; Data Connect ``interval_reading.date``); emoncms stamps inputs at the instant
they were sent. regie stores every interval value stamped at the *start* of its interval, in UTC; the
series keeps the source's convention so that ingest converts it once.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from regie.model.metering import validate_prm
from regie.model.territory import _check_id
from regie.model.units import UNITS, Step


class SeriesKind(StrEnum):
    CONSUMPTION = "consumption"
    PRODUCTION = "production"
    GRID_EXCHANGE = "grid_exchange"
    TRANSFORMER_LOAD = "transformer_load"
    TEMPERATURE = "temperature"
    # A raw sensor input whose role nobody has declared yet (an emoncms input seen for the first time):
    # kept and shown, but never counted in a balance until an admin re-maps it.
    SENSOR = "sensor"


class Quantity(StrEnum):
    """How values combine over time: power and temperature average, energy adds up."""

    POWER = "power"
    ENERGY = "energy"
    TEMPERATURE = "temperature"
    APPARENT_POWER = "apparent_power"
    RATIO = "ratio"
    VOLTAGE = "voltage"
    CURRENT = "current"
    DIMENSIONLESS = "dimensionless"


class IntervalConvention(StrEnum):
    START = "start"  # value covers [t, t + step)
    END = "end"  # value covers (t - step, t] — Enedis load curves
    INSTANT = "instant"  # a sample taken at t — emoncms inputs, thermometers


@dataclass(frozen=True, slots=True)
class Series:
    """One measured quantity over time. ``resolution`` is the quantum values are stored at (1 W, 0.1 °C)."""

    id: str
    kind: SeriesKind
    unit: str
    step: Step | None = None
    convention: IntervalConvention = IntervalConvention.START
    resolution: float = 1.0
    name: str = ""
    prm: str | None = None
    producer_id: str | None = None
    transformer_id: str | None = None
    site_id: str | None = None

    def __post_init__(self) -> None:
        _check_id("series", self.id)
        if self.unit not in UNITS:
            raise ValueError(f"series {self.id}: unknown unit {self.unit!r}, expected one of {sorted(UNITS)}")
        if not self.resolution > 0:
            raise ValueError(f"series {self.id}: resolution must be positive, got {self.resolution}")
        if self.prm is not None:
            validate_prm(self.prm)
        if self.step is not None and self.step.is_calendar and self.quantity is Quantity.POWER:
            raise ValueError(f"series {self.id}: a power series needs a fixed step, not {self.step}")

    @property
    def quantity(self) -> Quantity:
        return Quantity(UNITS[self.unit])

    @property
    def is_additive(self) -> bool:
        """Energy adds up over time; power, temperature and ratios average."""
        return self.quantity is Quantity.ENERGY
