"""A territory and its sites."""

from __future__ import annotations

from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


def _check_id(kind: str, value: str) -> None:
    if not value or not value.replace("-", "").replace("_", "").replace(".", "").isalnum():
        raise ValueError(f"{kind} id must be a non-empty slug of letters, digits, '-', '_' or '.', got {value!r}")


@dataclass(frozen=True, slots=True)
class Territory:
    """A community whose data the régie keeps. Days, months and tariffs are computed in its time zone."""

    id: str
    name: str
    timezone: str = "Europe/Paris"
    latitude: float | None = None
    longitude: float | None = None

    def __post_init__(self) -> None:
        _check_id("territory", self.id)
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {self.timezone!r} for territory {self.id!r}") from exc

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

    def __post_init__(self) -> None:
        _check_id("site", self.id)
        if self.latitude is not None and not -90 <= self.latitude <= 90:
            raise ValueError(f"site {self.id}: latitude {self.latitude} outside [-90, 90]")
        if self.longitude is not None and not -180 <= self.longitude <= 180:
            raise ValueError(f"site {self.id}: longitude {self.longitude} outside [-180, 180]")
