"""What of an inventory is public: the one place that decides which resources get a URI. Pure, no I/O.

- **Organisations**: the régie, communes, public bodies, cooperatives and associations (they act in public),
  and any organisation that holds a public plant or runs an ACC operation. A company that only consumes is
  not listed (its membership and site say something of its business). A person is never a resource.
- **Producers**: a plant whose delivery point an organisation holds now (the rule of
  :func:`regie.publication.masking.production_verdicts`: a plant held by a person — a rooftop — is personal
  data and exists publicly only inside its source's aggregate). A plant on no delivery point counts as public
  when its site is.
- **Sites**: a place where no person holds a delivery point now, and that holds something public: a public
  organisation's delivery point (the town hall, the school: the public buildings), a public plant, a
  transformer. A household's site never.
- **Transformers**: their name, rating and the *number* of delivery points they feed (never which).
- **ACC operations**: name, PMO, step, participant counts by role, total peak power, and their perimeter as a
  circle (the legal distance limit around the centre of the participants), never a participant.

Nothing here carries a PRM: delivery point numbers are read only to decide.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from regie.model import Inventory, Operation, Organisation, OrganisationKind, Producer, Site, Transformer
from regie.model.operation import distance_limit_m

PUBLIC_KINDS = (OrganisationKind.REGIE, OrganisationKind.COMMUNE, OrganisationKind.PUBLIC_BODY,
                OrganisationKind.COOPERATIVE, OrganisationKind.ASSOCIATION)  # fmt: skip


@dataclass(frozen=True, slots=True)
class PublicOperation:
    """An ACC operation as the public sees it."""

    id: str
    name: str
    pmo_id: str
    step: str
    consumers: int
    producers: int
    peak_power_w: float
    producer_ids: tuple[str, ...]  # its public plants
    centre: tuple[float, float] | None  # (latitude, longitude) of the participants' centre
    radius_m: float  # half the legal distance limit between the two participants farthest apart


@dataclass(frozen=True, slots=True)
class PublicView:
    """The public resources of one territory's inventory."""

    inventory: Inventory
    organisations: tuple[Organisation, ...]
    producers: tuple[Producer, ...]
    sites: tuple[Site, ...]
    transformers: tuple[Transformer, ...]
    operations: tuple[PublicOperation, ...]
    producer_holder: dict[str, str]  # producer id → organisation id

    @property
    def regie(self) -> Organisation | None:
        """The organisation running the régie (the first of kind ``regie``), if the inventory names one."""
        return next((o for o in self.organisations if o.kind is OrganisationKind.REGIE), None)

    def site(self, site_id: str | None) -> Site | None:
        return next((s for s in self.sites if s.id == site_id), None)


def _radius(op: Operation) -> float:
    """Half the distance limit that applies (arrêté du 21 novembre 2019, art. 1 and 1 bis; see
    :mod:`regie.model.operation`): a circle of that radius around the centre holds any pair of participants
    the rule allows, and says nothing about where any one of them is."""
    return distance_limit_m(op) / 2


def _centre(
    op: Operation, plants: tuple[str, ...], producers: Sequence[Producer], sites: dict[str, Site]
) -> tuple[float, float] | None:
    """Where the perimeter circle is drawn: the centre of the operation's public plants; else, with at least
    10 located participants, their centroid rounded to 0.01° (about 1 km), so that it locates no one (the
    centroid of a plant and two households would give a household back); else nowhere."""
    located = [sites[p.site_id] for p in producers if p.id in plants and p.site_id in sites]
    located = [(s.latitude, s.longitude) for s in located if s.latitude is not None and s.longitude is not None]
    if located:
        return (sum(a for a, _ in located) / len(located), sum(b for _, b in located) / len(located))
    points = [(p.latitude, p.longitude) for p in op.participants if p.latitude is not None]
    if len(points) < 10:
        return None
    return (round(sum(a for a, _ in points) / len(points), 2), round(sum(b for _, b in points) / len(points), 2))


def public_view(inv: Inventory, operations: Sequence[Operation] = ()) -> PublicView:
    """The public part of ``inv`` and of the territory's ACC ``operations`` (see the module docstring)."""
    persons = {p.id for p in inv.persons}
    orgs = {o.id: o for o in inv.organisations}
    holder = {m.prm: m.holder_id for m in inv.memberships if m.until is None}
    personal_prms = {prm for prm, h in holder.items() if h in persons or h not in orgs}
    sites_of_persons = {d.site_id for d in inv.delivery_points if d.prm in personal_prms}
    producers_held = {p.id: holder[p.prm] for p in inv.producers if p.prm and holder.get(p.prm) in orgs}
    pmos = {op.pmo_id for op in operations}
    shown_orgs = tuple(o for o in inv.organisations
                       if o.kind in PUBLIC_KINDS or o.id in producers_held.values() or o.id in pmos)  # fmt: skip
    shown_org_ids = {o.id for o in shown_orgs}
    public_dp_sites = {d.site_id for d in inv.delivery_points if holder.get(d.prm) in shown_org_ids}
    candidate = (public_dp_sites | {t.site_id for t in inv.transformers}
                 | {p.site_id for p in inv.producers if p.id in producers_held}) - sites_of_persons  # fmt: skip
    sites = tuple(s for s in inv.sites if s.id in candidate and s.until is None)
    site_ids = {s.id for s in sites}
    producers = tuple(p for p in inv.producers if p.until is None and (
        p.id in producers_held or (p.prm is None and p.site_id in site_ids)))  # fmt: skip
    shown_producers = {p.id for p in producers}
    by_prm = {p.prm: p.id for p in producers if p.prm}
    ops = []
    site_at = {s.id: s for s in sites}
    for op in operations:
        plants = tuple(sorted(by_prm[p.prm] for p in op.producers if p.prm in by_prm))
        ops.append(
            PublicOperation(
                op.id,
                op.name,
                op.pmo_id,
                str(op.step),
                len(op.consumers),
                len(op.producers),
                op.peak_power_w,
                plants,
                _centre(op, plants, producers, site_at),
                _radius(op),
            )
        )
    return PublicView(
        inventory=inv, organisations=shown_orgs, producers=producers, sites=sites,
        transformers=tuple(t for t in inv.transformers if t.until is None), operations=tuple(ops),
        producer_holder={k: v for k, v in producers_held.items() if k in shown_producers},
    )  # fmt: skip
