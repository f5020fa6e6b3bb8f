"""The territory as plain, validated data. No I/O here: store, ingest and web build on these types."""

from regie.model.grid import Transformer
from regie.model.inventory import Inventory
from regie.model.metering import DeliveryPoint, Meter, mask_prm, validate_prm
from regie.model.parties import Membership, Organisation, OrganisationKind, Person
from regie.model.production import Producer, Source
from regie.model.readings import Readings
from regie.model.series import IntervalConvention, Quantity, Series, SeriesKind
from regie.model.territory import Site, Territory
from regie.model.units import Step

__all__ = [
    "DeliveryPoint",
    "IntervalConvention",
    "Inventory",
    "Membership",
    "Meter",
    "Organisation",
    "OrganisationKind",
    "Person",
    "Producer",
    "Quantity",
    "Readings",
    "Series",
    "SeriesKind",
    "Site",
    "Source",
    "Step",
    "Territory",
    "Transformer",
    "mask_prm",
    "validate_prm",
]
