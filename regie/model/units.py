"""Time steps and units.

Steps are written as ISO 8601 durations because that is how Enedis names them (`Pas` = ``PT30M`` in R63
files, ``interval_length`` = ``PT30M`` in Data Connect). Fixed steps (seconds, minutes, hours) are exact
durations; ``P1D`` and ``P1M`` are *calendar* steps, counted in the territory's local time, so a DST day
lasts 23 or 25 hours.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_ISO = re.compile(r"^P(?:(?P<months>\d+)M)?(?:(?P<days>\d+)D)?(?:T(?:(?P<h>\d+)H)?(?:(?P<m>\d+)M)?(?:(?P<s>\d+)S)?)?$")

#: Units regie stores. Power is average power over the step (a load curve), energy is an index or a sum.
UNITS = {
    "W": "power",
    "Wh": "energy",
    "degC": "temperature",
    "VA": "apparent_power",
    "%": "ratio",
    # What emoncms nodes also send (emonTx ``vrms``, ``irms``, pulse counts): RMS volts and amps, and a
    # dimensionless "" for inputs whose name says nothing of their unit (an admin re-maps them).
    "V": "voltage",
    "A": "current",
    "": "dimensionless",
}


@dataclass(frozen=True, slots=True)
class Step:
    """A time step: either a fixed number of seconds or a number of local calendar days or months."""

    seconds: int = 0
    days: int = 0
    months: int = 0

    def __post_init__(self) -> None:
        parts = [self.seconds > 0, self.days > 0, self.months > 0]
        if sum(parts) != 1 or min(self.seconds, self.days, self.months) < 0:
            raise ValueError(f"a step is a positive number of seconds, days or months, got {self!r}")

    @classmethod
    def parse(cls, text: str) -> Step:
        """Parse an ISO 8601 duration such as ``PT30M``, ``PT10S``, ``PT1H``, ``P1D`` or ``P1M``."""
        m = _ISO.match(text.strip().upper())
        if not m or text.strip().upper() in ("P", "PT"):
            raise ValueError(f"not an ISO 8601 duration: {text!r} (expected e.g. PT30M, PT1H, P1D, P1M)")
        months, days = int(m["months"] or 0), int(m["days"] or 0)
        seconds = int(m["h"] or 0) * 3600 + int(m["m"] or 0) * 60 + int(m["s"] or 0)
        if sum(x > 0 for x in (months, days, seconds)) != 1:
            raise ValueError(f"mixed or empty duration not supported: {text!r}")
        return cls(seconds=seconds, days=days, months=months)

    @property
    def is_calendar(self) -> bool:
        return self.seconds == 0

    @property
    def iso(self) -> str:
        if self.months:
            return f"P{self.months}M"
        if self.days:
            return f"P{self.days}D"
        h, rest = divmod(self.seconds, 3600)
        m, s = divmod(rest, 60)
        return "PT" + (f"{h}H" if h else "") + (f"{m}M" if m else "") + (f"{s}S" if s else "")

    def __str__(self) -> str:
        return self.iso


PT30M = Step(seconds=1800)
PT1H = Step(seconds=3600)
P1D = Step(days=1)
P1M = Step(months=1)
