"""A small synthetic ACC operation in a store, with constant curves whose flows are checked by hand.

One producer (24 kW, i.e. 12,000 Wh per half-hour) and three consumers drawing 20 kW, 10 kW and 2 kW
(10,000 / 5,000 / 1,000 Wh per half-hour) all through 2025, at PT30M. Consumer C, the commune (priority 1),
joins the operation on 2 June 2025, mid-month. With everyone in, each half-hour is the issue's vector
P = 12, C = (10, 5, 1) [kWh]; on 1 June, C is out.

:func:`build_quarter_hours` is the same operation at PT15M (ACC's step since settlement moved to 15 minutes),
its curves recorded every 15 minutes over a few weeks: each step is then P = 6, C = (5, 2.5, 0.5) [kWh].
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import numpy as np

from regie.demo.timegrid import year_grid
from regie.model import (
    DeliveryPoint,
    Density,
    IntervalConvention,
    Inventory,
    Membership,
    Operation,
    Organisation,
    OrganisationKind,
    Participant,
    ParticipantType,
    Person,
    Readings,
    Role,
    Series,
    SeriesKind,
    Site,
    Step,
    Territory,
)
from regie.store import Store, open_store
from regie.store.operations import StoredOperation, save_operation

PRM_P, PRM_A, PRM_B, PRM_C = "30000000000001", "30000000000002", "30000000000003", "30000000000004"
WATTS = {PRM_P: 24_000.0, PRM_A: 20_000.0, PRM_B: 10_000.0, PRM_C: 2_000.0}
LAT, LON = 42.40, 2.48
PT30M = Step(seconds=1800)
PT15M = Step(seconds=900)
PARIS = ZoneInfo("Europe/Paris")
BILLING = {
    "local_price": {"default": 0.15, "rules": [{"price": 0.10, "type": "commune"}]},
    "turpe": "none",
    "accise": True,
    "vat": True,
}


def inventory(step: Step = PT30M) -> Inventory:
    inv = Inventory(Territory("village", "Village", "Europe/Paris", LAT, LON))
    inv.organisations += [Organisation("coop", "Coopérative solaire", OrganisationKind.COOPERATIVE),
                          Organisation("mairie", "Commune", OrganisationKind.COMMUNE)]
    inv.persons += [Person("anna", "Anna Puig"), Person("joan", "Joan Soler")]
    for k, (prm, holder, kind, kva) in enumerate([
        (PRM_P, "coop", SeriesKind.PRODUCTION, 250.0), (PRM_A, "anna", SeriesKind.CONSUMPTION, 36.0),
        (PRM_B, "joan", SeriesKind.CONSUMPTION, 12.0), (PRM_C, "mairie", SeriesKind.CONSUMPTION, 36.0),
    ]):  # fmt: skip
        site = Site(f"site-{k}", f"Site {k}", "village", LAT + 0.001 * k, LON, 700.0)
        inv.sites.append(site)
        inv.delivery_points.append(DeliveryPoint(prm, site.id, "C5", kva, "residential"))
        inv.memberships.append(Membership(holder, prm, date(2020, 1, 1)))
        inv.series.append(Series(f"{kind.value}-{prm[-1]}", kind, "W", step, IntervalConvention.START, 1.0,
                                 prm=prm, site_id=site.id))
    return inv


def operation(step: Step = PT30M) -> Operation:
    where = {"latitude": LAT, "longitude": LON, "density": Density.RURAL}
    return Operation("acc-test", "Soleil du village", "coop", (
        Participant(PRM_P, Role.PRODUCER, date(2024, 1, 1), peak_power_w=250_000.0, name="Parc", **where),
        Participant(PRM_A, Role.CONSUMER, date(2024, 1, 1), priority=2, name="Anna", **where),
        Participant(PRM_B, Role.CONSUMER, date(2024, 1, 1), priority=2, name="Joan", **where),
        Participant(PRM_C, Role.CONSUMER, date(2025, 6, 2), type=ParticipantType.COMMUNE, priority=1,
                    name="Mairie", **where),
    ), step=step)  # fmt: skip


def build(url: str, *, gaps: slice | None = None) -> Store:
    """The store with a year of constant curves; ``gaps`` blanks part of the producer's curve (NaN)."""
    store = open_store(url)
    inv = inventory()
    store.save_inventory(inv)
    t = year_grid(2025).t
    batches = []
    for s in inv.series:
        v = np.full(len(t), WATTS[s.prm])
        if gaps is not None and s.prm == PRM_P:
            v[gaps] = np.nan
        batches.append(Readings(s.id, t, v))
    store.write(batches)
    save_operation(store, StoredOperation(operation(), "village", "default",
                                          {PRM_A: 0.5, PRM_B: 0.3, PRM_C: 0.2}, BILLING))
    return store


def build_quarter_hours(url: str, first: date, last: date) -> Store:
    """The operation at PT15M, with curves every 15 minutes over the local days [first, last)."""
    store = open_store(url)
    inv = inventory(PT15M)
    store.save_inventory(inv)
    start, end = (int(datetime(d.year, d.month, d.day, tzinfo=PARIS).timestamp()) for d in (first, last))
    t = np.arange(start, end, PT15M.seconds, dtype=np.int64)
    store.write([Readings(s.id, t, np.full(len(t), WATTS[s.prm])) for s in inv.series])
    save_operation(store, StoredOperation(operation(PT15M), "village", "default",
                                          {PRM_A: 0.5, PRM_B: 0.3, PRM_C: 0.2}, BILLING))
    return store


class RecordingReader:
    """A test reader straight on the store (tests are outside the gate's scan) that records each request."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.calls: list[tuple[str, int, int]] = []

    def __call__(self, series_id: str, start: int, end: int) -> tuple[np.ndarray, np.ndarray]:
        self.calls.append((series_id, start, end))
        return self.store.read(series_id, start, end)
