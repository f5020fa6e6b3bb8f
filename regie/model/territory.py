"""A territory and its sites."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


def _check_id(kind: str, value: str) -> None:
    if not value or not value.replace("-", "").replace("_", "").replace(".", "").isalnum():
        raise ValueError(f"{kind} id must be a non-empty slug of letters, digits, '-', '_' or '.', got {value!r}")


#: INSEE commune code: department (2 digits, or 2A / 2B for Corsica, or 97x overseas) + commune number.
_INSEE = re.compile(r"(?:\d{2}|2[AB])\d{3}")


def _check_coordinates(what: str, latitude: float | None, longitude: float | None) -> None:
    if latitude is not None and not -90 <= latitude <= 90:
        raise ValueError(f"{what}: latitude {latitude} outside [-90, 90]")
    if longitude is not None and not -180 <= longitude <= 180:
        raise ValueError(f"{what}: longitude {longitude} outside [-180, 180]")


@dataclass(frozen=True, slots=True)
class Territory:
    """A community whose data the régie keeps. Days, months and tariffs are computed in its time zone."""

    id: str
    name: str
    timezone: str = "Europe/Paris"
    latitude: float | None = None
    longitude: float | None = None
    #: The commune's INSEE code (*code officiel géographique*): 5 characters, digits except Corsica's 2A / 2B.
    insee: str | None = None
    #: The metering step its load curves are kept at (ISO 8601 duration); None means Enedis's PT30M.
    step: str | None = None

    def __post_init__(self) -> None:
        _check_id("territory", self.id)
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {self.timezone!r} for territory {self.id!r}") from exc
        if self.insee is not None and not _INSEE.fullmatch(self.insee):
            raise ValueError(f"territory {self.id}: an INSEE code is 5 characters (66150, 2A004), got {self.insee!r}")
        _check_coordinates(f"territory {self.id}", self.latitude, self.longitude)
        if self.step is not None:
            from regie.model.units import Step

            Step.parse(self.step)  # raises a ValueError naming the bad duration

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


@dataclass(frozen=True, slots=True)
class Site:
    """A place: a house, a school, a plant, a substation."""

    id: str
    name: str
    territory_id: str
    latitude: float | None = None
    longitude: float | None = None
    altitude_m: float | None = None
    #: Ended on (exclusive): a place that had data is ended, never removed.
    until: date | None = None

    def __post_init__(self) -> None:
        _check_id("site", self.id)
        _check_coordinates(f"site {self.id}", self.latitude, self.longitude)
