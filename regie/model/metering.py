"""Delivery points and meters.

A delivery point is identified by its Enedis PRM (*point de référence et de mesure*), a 14-digit number
(Enedis, "Guide de l'identifiant PRM"). It is personal data when its holder is a person: never print the
full PRM of someone else — use :func:`mask_prm`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date


def validate_prm(prm: str) -> str:
    """Return the PRM if it is exactly 14 digits, else raise a ValueError that says why."""
    if not isinstance(prm, str) or len(prm) != 14 or not prm.isdigit():
        raise ValueError(f"a PRM is exactly 14 digits, got {mask_prm(str(prm))!r} ({len(str(prm))} characters)")
    return prm


def mask_prm(prm: str) -> str:
    """Hide all but the last 4 digits, the way Enedis bills print it: ``**********1234``."""
    return "*" * max(len(prm) - 4, 0) + prm[-4:]


@dataclass(frozen=True, slots=True)
class DeliveryPoint:
    """An Enedis delivery point (PRM). ``segment``: C5 (≤ 36 kVA), C4, C2–C3 (HTA), P4 (producer ≤ 36 kVA)..."""

    prm: str
    site_id: str
    segment: str = "C5"
    subscribed_kva: float | None = None
    usage: str = "residential"
    #: Ended on (exclusive): a delivery point that has readings is ended, never removed.
    until: date | None = None

    def __post_init__(self) -> None:
        validate_prm(self.prm)
        if self.subscribed_kva is not None and self.subscribed_kva <= 0:
            raise ValueError(f"delivery point {mask_prm(self.prm)}: subscribed power must be positive")


@dataclass(frozen=True, slots=True)
class Meter:
    """A physical meter (Linky, an emonTx, a CT clamp) attached to a delivery point or a site."""

    id: str
    kind: str
    prm: str | None = None
    site_id: str | None = None

    def __post_init__(self) -> None:
        if self.prm is not None:
            validate_prm(self.prm)
        if self.prm is None and self.site_id is None:
            raise ValueError(f"meter {self.id}: attach it to a delivery point or a site")
