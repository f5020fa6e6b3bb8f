"""Producers: the plants whose output a territory counts as local production."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from regie.model.metering import validate_prm
from regie.model.territory import _check_id


class Source(StrEnum):
    HYDRO = "hydro"
    PV = "pv"
    BIOGAS = "biogas"
    WIND = "wind"
    BIOMASS = "biomass"
    COGENERATION = "cogeneration"
    OTHER = "other"


@dataclass(frozen=True, slots=True)
class Producer:
    """A plant. ``peak_power_w`` is the rated (AC) power for hydro and biogas, the peak (DC) power for PV."""

    id: str
    name: str
    source: Source
    peak_power_w: float
    prm: str | None = None
    site_id: str | None = None
    commissioned: str | None = None
    #: Decommissioned on (exclusive).
    until: date | None = None

    def __post_init__(self) -> None:
        _check_id("producer", self.id)
        if not self.peak_power_w > 0:
            raise ValueError(f"producer {self.id}: peak power must be positive, got {self.peak_power_w}")
        if self.prm is not None:
            validate_prm(self.prm)
