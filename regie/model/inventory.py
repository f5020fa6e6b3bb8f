"""Everything a territory is made of, as one value: what the demo builds and the store saves."""

from __future__ import annotations

from dataclasses import dataclass, field

from regie.model.grid import Transformer
from regie.model.metering import DeliveryPoint, Meter
from regie.model.parties import Membership, Organisation, Person
from regie.model.production import Producer
from regie.model.series import Series
from regie.model.territory import Site, Territory


@dataclass(slots=True)
class Inventory:
    territory: Territory
    sites: list[Site] = field(default_factory=list)
    delivery_points: list[DeliveryPoint] = field(default_factory=list)
    meters: list[Meter] = field(default_factory=list)
    producers: list[Producer] = field(default_factory=list)
    transformers: list[Transformer] = field(default_factory=list)
    organisations: list[Organisation] = field(default_factory=list)
    persons: list[Person] = field(default_factory=list)
    memberships: list[Membership] = field(default_factory=list)
    series: list[Series] = field(default_factory=list)

    def check(self) -> None:
        """Raise a ValueError naming the first dangling reference (a series on an unknown PRM, ...)."""
        sites = {s.id for s in self.sites}
        prms = {d.prm for d in self.delivery_points}
        producers = {p.id for p in self.producers}
        transformers = {t.id for t in self.transformers}
        holders = {o.id for o in self.organisations} | {p.id for p in self.persons}
        for kind, ids in (
            ("site", [s.id for s in self.sites]),
            ("delivery point", [d.prm for d in self.delivery_points]),
            ("series", [s.id for s in self.series]),
            ("producer", [p.id for p in self.producers]),
        ):
            if len(ids) != len(set(ids)):
                raise ValueError(f"duplicate {kind} id in territory {self.territory.id}")
        for d in self.delivery_points:
            if d.site_id not in sites:
                raise ValueError(f"delivery point ...{d.prm[-4:]} is on unknown site {d.site_id!r}")
        for p in self.producers:
            if p.prm is not None and p.prm not in prms:
                raise ValueError(f"producer {p.id} has unknown delivery point ...{p.prm[-4:]}")
        for t in self.transformers:
            unknown = [p for p in t.prms if p not in prms]
            if unknown:
                raise ValueError(f"transformer {t.id} feeds {len(unknown)} unknown delivery point(s)")
        for m in self.memberships:
            if (m.holder_id not in holders and not m.erased) or m.prm not in prms:
                raise ValueError(f"membership of {m.holder_id!r} refers to an unknown holder or delivery point")
        for s in self.series:
            if s.prm is not None and s.prm not in prms:
                raise ValueError(f"series {s.id} is on unknown delivery point ...{s.prm[-4:]}")
            if s.producer_id is not None and s.producer_id not in producers:
                raise ValueError(f"series {s.id} refers to unknown producer {s.producer_id!r}")
            if s.transformer_id is not None and s.transformer_id not in transformers:
                raise ValueError(f"series {s.id} refers to unknown transformer {s.transformer_id!r}")
