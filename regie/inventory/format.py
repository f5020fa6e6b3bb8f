"""The inventory workbook's format: its sheets, their columns, and what each column holds.

One documented, versioned format (``docs/inventory.md`` is written from these definitions and checked
against them by ``tests/inventory/test_format.py``). A workbook is an XLSX or ODS file, or a folder of CSV
files, one sheet (file) per kind of object; every value is read as text, as a spreadsheet shows it, and
parsed by the column's type.

``FORMAT_VERSION`` grows by one whenever a sheet or a column changes meaning or is removed; a workbook
with a higher version than this regie knows is refused (an older regie cannot know what a newer column
means), a lower one is read as it was written.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

#: The version of the format this regie writes and reads.
FORMAT_VERSION = 1


class Kind(StrEnum):
    """How a column's text is read."""

    TEXT = "text"
    ID = "id"  # a slug: letters, digits, '-', '_', '.'
    PRM = "prm"  # an Enedis delivery point: exactly 14 digits
    NUMBER = "number"
    INTEGER = "integer"
    DATE = "date"  # ISO 8601 (2024-06-01), or dd/mm/yyyy as French spreadsheets write it
    ROUGH_DATE = "rough date"  # a date, or only a year-month (2021-06) or a year (2021)
    BOOLEAN = "boolean"  # yes / no (oui / non, true / false, 1 / 0)
    ENUM = "enum"  # one of the column's values
    INSEE = "insee"  # a commune's INSEE code: 5 characters
    DURATION = "duration"  # an ISO 8601 duration: PT30M, PT15M
    EMAIL = "email"


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    kind: Kind
    required: bool
    description: str
    example: str
    label_fr: str
    values: tuple[str, ...] = ()
    #: The sheet whose key this column refers to (a reference checked on import), if any.
    refers_to: str | None = None
    #: Personal data of a person (a name, an e-mail): the access log keeps only a fingerprint of it.
    personal: bool = False


@dataclass(frozen=True, slots=True)
class Sheet:
    name: str
    label_fr: str
    description: str
    columns: tuple[Column, ...]
    #: The columns whose values, joined by ``/``, identify a row (one row per key).
    key: tuple[str, ...]
    #: The column that ends the object (``until`` / ``exit``): ending is setting it, never removing the row.
    end: str | None = None

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    def key_of(self, row: dict[str, str | None]) -> str:
        return "/".join(row.get(k) or "" for k in self.key)


#: Enedis customer segments: C1–C5 for consumption (C5: ≤ 36 kVA, C4: > 36 kVA in BT, C1–C3: HTA),
#: P1–P4 for injection (Enedis, "Guide de lecture des segments de clientèle", Enedis-NOI-CF_07E); HTA and
#: BT name a voltage level when the segment is not known.
SEGMENTS = ("C1", "C2", "C3", "C4", "C5", "P1", "P2", "P3", "P4", "HTA", "BT")
#: Allocation keys regie computes for an ACC operation (the same as ``regie.services.acc.KEYS``).
ACC_KEYS = ("default", "static", "dynamic_simple", "full_dynamic", "priority")
SOURCES = ("hydro", "pv", "biogas", "wind", "biomass", "cogeneration", "other")
ORGANISATION_KINDS = ("commune", "regie", "company", "cooperative", "association", "public_body")
ROLES = ("consumer", "producer")
PARTICIPANT_TYPES = ("household", "commune", "business", "public_body", "association", "other")
DENSITIES = ("urban", "periurban", "rural")
ZONES = ("mainland", "zni")


def _c(name, kind, required, description, example, label_fr, values=(), refers_to=None, personal=False) -> Column:
    return Column(name, kind, required, description, example, label_fr, tuple(values), refers_to, personal)


_UNTIL = _c("until", Kind.DATE, False, "ended on (excluded); blank while it lasts", "", "fin (exclue)")
_LAT = _c("latitude", Kind.NUMBER, False, "WGS 84 latitude in degrees, -90..90", "42.4019", "latitude")
_LON = _c("longitude", Kind.NUMBER, False, "WGS 84 longitude in degrees, -180..180", "2.4697", "longitude")

SHEETS: tuple[Sheet, ...] = (
    Sheet("about", "à propos", "which territory this workbook describes, in which version of the format", (
        _c("format_version", Kind.INTEGER, True, f"the format's version (this regie writes {FORMAT_VERSION})",
           str(FORMAT_VERSION), "version du format"),
        _c("territory", Kind.ID, True, "the territory's id (created at first run or by `regie territory create`)",
           "exemple", "territoire"),
        _c("name", Kind.TEXT, True, "the territory's name", "Commune exemple", "nom"),
        _c("insee", Kind.INSEE, False, "the commune's INSEE code (code officiel géographique)", "66150",
           "code INSEE"),
        _c("timezone", Kind.TEXT, True, "IANA time zone (set at creation; read only here)", "Europe/Paris",
           "fuseau horaire"),
        _LAT, _LON,
        _c("step", Kind.DURATION, False, "metering step of its load curves (set at creation; read only here); "
           "blank: PT30M", "", "pas de mesure"),
    ), key=("territory",)),
    Sheet("sites", "sites", "places: a house, a school, a plant, a substation", (
        _c("id", Kind.ID, True, "the site's id", "home-0001", "identifiant"),
        _c("name", Kind.TEXT, True, "its name", "Logement 1", "nom"),
        _LAT, _LON,
        _c("altitude_m", Kind.NUMBER, False, "altitude in metres", "750", "altitude (m)"),
        _UNTIL,
    ), key=("id",), end="until"),
    Sheet("delivery_points", "points de livraison", "Enedis delivery points (PRM) and the transformer feeding "
          "each", (
        _c("prm", Kind.PRM, True, "the PRM: exactly 14 digits (format the column as text)", "50158338171087",
           "PRM"),
        _c("site", Kind.ID, True, "the site it is on (sites.id)", "home-0001", "site", refers_to="sites"),
        _c("segment", Kind.ENUM, True, "Enedis segment", "C5", "segment", SEGMENTS),
        _c("subscribed_kva", Kind.NUMBER, False, "subscribed power in kVA", "6", "puissance souscrite (kVA)"),
        _c("usage", Kind.TEXT, True, "what it is used for: residential, professional, public, production...",
           "residential", "usage"),
        _c("transformer", Kind.ID, False, "the HTA/BT transformer feeding it (transformers.id)", "tr-01",
           "transformateur", refers_to="transformers"),
        _UNTIL,
    ), key=("prm",), end="until"),
    Sheet("producers", "producteurs", "plants whose output counts as local production", (
        _c("id", Kind.ID, True, "the producer's id", "pv-home-0001", "identifiant"),
        _c("name", Kind.TEXT, True, "its name", "Toiture PV du logement 1", "nom"),
        _c("source", Kind.ENUM, True, "energy source", "pv", "filière", SOURCES),
        _c("peak_power_w", Kind.NUMBER, True, "peak (PV, DC) or rated (AC) power in W, > 0", "9000",
           "puissance crête (W)"),
        _c("prm", Kind.PRM, False, "its injection delivery point (delivery_points.prm)", "50193676821738",
           "PRM d'injection", refers_to="delivery_points"),
        _c("site", Kind.ID, False, "its site (sites.id)", "home-0001", "site", refers_to="sites"),
        _c("commissioned", Kind.ROUGH_DATE, False, "commissioning date (a year, year-month or full date)",
           "2021-06-15", "mise en service"),
        _UNTIL,
    ), key=("id",), end="until"),
    Sheet("transformers", "transformateurs", "HTA/BT substation transformers; the delivery points each feeds "
          "are in delivery_points.transformer", (
        _c("id", Kind.ID, True, "the transformer's id", "tr-01", "identifiant"),
        _c("name", Kind.TEXT, True, "its name", "Poste Centre", "nom"),
        _c("rated_kva", Kind.NUMBER, True, "rating in kVA, > 0", "630", "puissance assignée (kVA)"),
        _c("power_factor", Kind.NUMBER, True, "power factor used for its load in kVA, in (0, 1]", "0.95",
           "facteur de puissance"),
        _c("site", Kind.ID, False, "its site (sites.id)", "", "site", refers_to="sites"),
        _UNTIL,
    ), key=("id",), end="until"),
    Sheet("organisations", "organisations", "legal persons: the commune, the régie, companies, the PMO...", (
        _c("id", Kind.ID, True, "the organisation's id", "coop-soleil", "identifiant"),
        _c("name", Kind.TEXT, True, "its name", "Soleil du Vallespir", "nom"),
        _c("kind", Kind.ENUM, True, "what it is", "cooperative", "nature", ORGANISATION_KINDS),
        _c("siren", Kind.TEXT, False, "SIREN number: 9 digits", "123456789", "SIREN"),
    ), key=("id",)),
    Sheet("persons", "personnes", "natural persons holding delivery points (personal data)", (
        _c("id", Kind.ID, True, "the person's id (never reuse an erased one)", "p0001", "identifiant"),
        _c("name", Kind.TEXT, True, "full name", "Montse Pons", "nom", personal=True),
        _c("email", Kind.EMAIL, False, "e-mail address, for invitations", "montse@example.org", "courriel",
           personal=True),
    ), key=("id",)),
    Sheet("memberships", "rattachements", "who holds which delivery point, from when until when; moving "
          "house is one membership ended and another added", (
        _c("holder", Kind.ID, True, "the person or organisation (persons.id or organisations.id)", "p0001",
           "titulaire", refers_to="holders"),
        _c("prm", Kind.PRM, True, "the delivery point (delivery_points.prm)", "50158338171087", "PRM",
           refers_to="delivery_points"),
        _c("since", Kind.DATE, True, "first day held", "2015-01-01", "depuis"),
        _UNTIL,
    ), key=("holder", "prm", "since"), end="until"),
    Sheet("acc_operations", "opérations ACC", "collective self-consumption operations (Code de l'énergie "
          "L315-2)", (
        _c("id", Kind.ID, True, "the operation's id", "acc-soleil", "identifiant"),
        _c("name", Kind.TEXT, True, "its name", "ACC Soleil du Vallespir", "nom"),
        _c("pmo", Kind.ID, True, "the organising legal person, PMO (organisations.id)", "coop-soleil", "PMO",
           refers_to="organisations"),
        _c("step", Kind.DURATION, True, "metering step of the allocation, dividing a day", "PT30M", "pas"),
        _c("zone", Kind.ENUM, True, "mainland France or a non-interconnected zone", "mainland", "zone", ZONES),
        _c("derogation", Kind.BOOLEAN, True, "the ministerial distance derogation was granted", "no",
           "dérogation"),
        _c("key", Kind.ENUM, True, "the allocation key used by default", "default", "clé de répartition",
           ACC_KEYS),
    ), key=("id",)),
    Sheet("acc_participants", "participants ACC", "delivery points in an operation, as consumer or producer", (
        _c("operation", Kind.ID, True, "the operation (acc_operations.id)", "acc-soleil", "opération",
           refers_to="acc_operations"),
        _c("prm", Kind.PRM, True, "the delivery point (delivery_points.prm)", "50158338171087", "PRM",
           refers_to="delivery_points"),
        _c("role", Kind.ENUM, True, "consumer or producer", "consumer", "rôle", ROLES),
        _c("entry", Kind.DATE, True, "first day it counts", "2024-12-01", "entrée"),
        _c("exit", Kind.DATE, False, "first day it no longer counts; blank while it stays", "", "sortie"),
        _c("type", Kind.ENUM, True, "kind of participant", "household", "type", PARTICIPANT_TYPES),
        _c("priority", Kind.INTEGER, True, "priority level for the priority key, 1 served first", "1",
           "priorité"),
        _c("weight", Kind.NUMBER, True, "share inside its priority level, > 0", "1", "poids"),
        _c("peak_power_w", Kind.NUMBER, False, "producers only: peak power in W", "", "puissance crête (W)"),
        _LAT, _LON,
        _c("density", Kind.ENUM, False, "the commune's class in the INSEE density grid", "rural", "densité",
           DENSITIES),
        _c("name", Kind.TEXT, False, "name shown to the PMO", "Logement 1", "nom", personal=True),
        _c("static_share", Kind.NUMBER, False, "consumers: fraction of production under the static key, 0..1",
           "0.06", "part statique"),
    ), key=("operation", "prm", "role"), end="exit"),
)

SHEET_NAMES: tuple[str, ...] = tuple(s.name for s in SHEETS)
_BY_NAME = {s.name: s for s in SHEETS}


def sheet(name: str) -> Sheet:
    """The sheet called ``name``; KeyError if the format has none."""
    return _BY_NAME[name]


#: Rows the template adds after each sheet's example row, so that the template is a small inventory that
#: holds together (an operation needs a producer; a producer injects at a delivery point of its own).
MORE_EXAMPLES: dict[str, list[dict[str, str]]] = {
    "delivery_points": [{"prm": "50193676821738", "site": "home-0001", "segment": "P4", "subscribed_kva": "9",
                         "usage": "production", "transformer": "tr-01"}],
    "acc_participants": [{"operation": "acc-soleil", "prm": "50193676821738", "role": "producer",
                          "entry": "2024-12-01", "type": "household", "priority": "1", "weight": "1",
                          "peak_power_w": "9000", "latitude": "42.4019", "longitude": "2.4697", "density": "rural",
                          "name": "Toiture PV du logement 1"}],
}
