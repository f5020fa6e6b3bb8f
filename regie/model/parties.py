"""People and organisations, and who holds which delivery point (membership)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from regie.model.metering import validate_prm
from regie.model.territory import _check_id


class OrganisationKind(StrEnum):
    COMMUNE = "commune"
    REGIE = "regie"
    COMPANY = "company"
    COOPERATIVE = "cooperative"
    ASSOCIATION = "association"
    PUBLIC_BODY = "public_body"


@dataclass(frozen=True, slots=True)
class Organisation:
    id: str
    name: str
    kind: OrganisationKind
    siren: str | None = None

    def __post_init__(self) -> None:
        _check_id("organisation", self.id)
        if self.siren is not None and (len(self.siren) != 9 or not self.siren.isdigit()):
            raise ValueError(f"organisation {self.id}: a SIREN is 9 digits")


@dataclass(frozen=True, slots=True)
class Person:
    id: str
    name: str
    email: str | None = None

    def __post_init__(self) -> None:
        _check_id("person", self.id)
        if self.email is not None and "@" not in self.email:
            raise ValueError(f"person {self.id}: {self.email!r} is not an e-mail address")


#: Prefix of the opaque holder that replaces an erased person in their memberships
#: (:func:`regie.governance.rights.erase_member`): it names no one and no account may hold it.
ERASED_HOLDER = "erased:"


@dataclass(frozen=True, slots=True)
class Membership:
    """A person or an organisation holds a delivery point from ``since`` until ``until`` (exclusive)."""

    holder_id: str
    prm: str
    since: date
    until: date | None = None

    @property
    def erased(self) -> bool:
        """Held by someone who was erased: the holding stays (its series stay personal), the person does not."""
        return self.holder_id.startswith(ERASED_HOLDER)

    def __post_init__(self) -> None:
        validate_prm(self.prm)
        if self.until is not None and self.until <= self.since:
            raise ValueError(f"membership of {self.holder_id}: ends ({self.until}) before it starts ({self.since})")

    def active_on(self, day: date) -> bool:
        return self.since <= day and (self.until is None or day < self.until)
