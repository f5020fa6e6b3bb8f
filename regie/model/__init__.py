"""The territory as plain, validated data. No I/O here: store, ingest and web build on these types."""

from regie.model.grid import Transformer
from regie.model.inventory import Inventory
from regie.model.metering import DeliveryPoint, Meter, mask_prm, validate_prm
from regie.model.operation import (
    Density,
    GridZone,
    Operation,
    Participant,
    ParticipantType,
    Role,
    activity_mask,
    check_perimeter,
    perimeter_problems,
)
from regie.model.parties import Membership, Organisation, OrganisationKind, Person
from regie.model.production import Producer, Source
from regie.model.readings import Readings
from regie.model.series import IntervalConvention, Quantity, Series, SeriesKind
from regie.model.territory import Site, Territory
from regie.model.units import Step

__all__ = [
    "DeliveryPoint",
    "Density",
    "GridZone",
    "IntervalConvention",
    "Inventory",
    "Membership",
    "Meter",
    "Operation",
    "Organisation",
    "OrganisationKind",
    "Participant",
    "ParticipantType",
    "Person",
    "Producer",
    "Quantity",
    "Readings",
    "Role",
    "Series",
    "SeriesKind",
    "Site",
    "Source",
    "Step",
    "Territory",
    "Transformer",
    "activity_mask",
    "check_perimeter",
    "mask_prm",
    "perimeter_problems",
    "validate_prm",
]
