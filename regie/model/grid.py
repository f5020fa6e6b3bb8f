"""The distribution grid as the régie sees it: HTA/BT substations and what they feed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from regie.model.metering import validate_prm
from regie.model.territory import _check_id


@dataclass(frozen=True, slots=True)
class Transformer:
    """An HTA/BT (20 kV / 400 V) substation transformer, rated in kVA, feeding a set of delivery points."""

    id: str
    name: str
    rated_kva: float
    prms: tuple[str, ...] = ()
    site_id: str | None = None
    power_factor: float = 0.95
    #: Taken out of service on (exclusive).
    until: date | None = None

    def __post_init__(self) -> None:
        _check_id("transformer", self.id)
        if not self.rated_kva > 0:
            raise ValueError(f"transformer {self.id}: rated power must be positive, got {self.rated_kva} kVA")
        if not 0 < self.power_factor <= 1:
            raise ValueError(f"transformer {self.id}: power factor must be in (0, 1], got {self.power_factor}")
        for prm in self.prms:
            validate_prm(prm)
        if len(set(self.prms)) != len(self.prms):
            raise ValueError(f"transformer {self.id}: a delivery point is listed twice")
