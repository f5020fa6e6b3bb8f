"""The demo's collective self-consumption operation: a citizen cooperative's PV park shared in Prats.

A 250 kWp ground-mounted PV park (fixed racks, 25° tilt, facing south) on the edge of the village, owned
by a citizen cooperative (a SCIC) that is also the operation's PMO, shared by 15 consumers: the commune's
town hall, school and sports hall (served first, the priority key's level 1), the bakery and eleven
households near the park. Two households join during the year (one in mid-March, one on 1 July) and one
leaves in mid-September, so bills and allocations show entries and exits.

The park sees the village's weather: the same clear-sky index stream as :func:`regie.demo.prats.build_prats`
(rebuilt from the same seed) and the village's temperature series, through the same pvlib chain
(:class:`regie.demo.production.SolarSite`). Everything else draws from its own random stream, so adding
the operation changes nothing of the village's own series.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime
from zoneinfo import ZoneInfo

import numpy as np

from regie.demo import production, weather
from regie.demo.data import DemoData
from regie.demo.timegrid import STEP_S, year_grid
from regie.model import (
    DeliveryPoint,
    Density,
    IntervalConvention,
    Membership,
    Meter,
    Operation,
    Organisation,
    OrganisationKind,
    Participant,
    ParticipantType,
    Producer,
    Role,
    Series,
    SeriesKind,
    Site,
    Source,
    Step,
    check_perimeter,
)
from regie.model.operation import haversine_m
from regie.store import Store
from regie.store.operations import StoredOperation, save_operation

OPERATION_ID = "acc-prats-soleil"
PMO_ID = "coop-soleil-vallespir"
PRODUCER_ID = "pv-parc-du-pla"
SERIES_ID = f"prod-{PRODUCER_ID}"
PEAK_W = 250_000.0
#: The park: ~500 m south-east of the village centre [degrees], on a meadow below the village.
PARK_OFFSET = (-0.0045, 0.0060)
HOUSEHOLDS = 11
#: Households joining (index in the draw → entry day) and leaving (index → exit day) during the year.
JOINS = {9: (3, 17), 10: (7, 1)}
LEAVES = {4: (9, 15)}
#: The PMO's local prices [EUR/kWh excluding VAT]: lower for the commune, which lent the land.
BILLING = {
    "local_price": {
        "default": 0.13,
        "rules": [{"price": 0.10, "type": "commune"}, {"price": 0.12, "type": "business"}],
    },
    "turpe": "none",
    "accise": True,
    "vat": True,
}


def _village_sky(seed: int, grid) -> np.ndarray:
    """The village's clear-sky index: :func:`build_prats` draws it from the second of nine child streams."""
    r_sky = np.random.default_rng(np.random.SeedSequence(seed).spawn(9)[1])
    return weather.clear_sky_index(grid, r_sky)


def park_curve(grid, kt: np.ndarray, temp_c: np.ndarray, lat0: float, lon0: float, alt0: float) -> np.ndarray:
    """AC power of the park [W] under the village's sky (``kt``) and temperature, on the grid's steps.

    :func:`regie.demo.prats.build_prats` calls it too: the park is part of the PV phase-2 line of the
    energy project, so the village's other phase-2 roofs are sized for what the park does not make.
    """
    park_lat, park_lon = lat0 + PARK_OFFSET[0], lon0 + PARK_OFFSET[1]
    sun = production.SolarSite(grid, park_lat, park_lon, alt0 - 30.0, kt)
    return np.rint(sun.pv_power(PEAK_W, tilt=25.0, azimuth=180.0, temp_air=temp_c))


def add_acc_operation(demo: DemoData, seed: int = 42) -> tuple[DemoData, Operation]:
    """Add the PV park (producer, delivery point, series) and return the demo with it, and the operation.

    The input is not modified. Raises ValueError if the picked participants break the perimeter rules.
    """
    inv = demo.inventory
    territory = inv.territory
    zone = territory.timezone
    year = datetime.fromtimestamp(int(demo.t[0]), ZoneInfo(zone)).year
    grid = year_grid(year, zone)
    if len(grid.t) != len(demo.t) or not np.array_equal(grid.t, demo.t) or np.diff(demo.t[:2])[0] != STEP_S:
        raise ValueError("add_acc_operation expects the Prats demo's year at 30-minute steps")
    rng = np.random.default_rng(np.random.SeedSequence([seed, 0xACC]))
    sites = {s.id: s for s in inv.sites}
    meteo = sites.get("meteo")
    lat0, lon0 = float(territory.latitude), float(territory.longitude)
    alt0 = meteo.altitude_m if meteo and meteo.altitude_m else 750.0
    park_lat, park_lon = lat0 + PARK_OFFSET[0], lon0 + PARK_OFFSET[1]

    # ---------------------------------------------------------------- the park and its curve
    temp_id = next(s.id for s in inv.series if s.kind is SeriesKind.TEMPERATURE)
    curve = park_curve(grid, _village_sky(seed, grid), demo.values[temp_id], lat0, lon0, alt0)
    taken = {d.prm for d in inv.delivery_points}
    prm = next(p for p in (f"502{x:011d}" for x in rng.choice(10**11, size=8, replace=False)) if p not in taken)
    pmo = Organisation(PMO_ID, "Soleil du Vallespir, coopérative citoyenne (SCIC)", OrganisationKind.COOPERATIVE)
    site = Site(f"site-{PRODUCER_ID}", "Parc photovoltaïque du Pla", territory.id, park_lat, park_lon, alt0 - 30.0)
    point = DeliveryPoint(prm, site.id, "P3", PEAK_W / 1000, "production")
    producer = Producer(PRODUCER_ID, site.name, Source.PV, PEAK_W, prm=prm, site_id=site.id,
                        commissioned=f"{year - 1}-12")
    series = Series(SERIES_ID, SeriesKind.PRODUCTION, "W", Step(seconds=STEP_S), IntervalConvention.END, 1.0,
                    site.name, prm=prm, producer_id=PRODUCER_ID, site_id=site.id)

    # ---------------------------------------------------------------- the participants
    by_site = {d.site_id: d for d in inv.delivery_points}
    holders = {m.prm: m.holder_id for m in inv.memberships}
    names = {p.id: p.name for p in inv.persons} | {o.id: o.name for o in inv.organisations}
    where = {"density": Density.RURAL}
    start = date(year - 1, 12, 1)  # the operation started before the demo year

    def located(s: Site) -> dict:
        return {"latitude": s.latitude, "longitude": s.longitude, **where}

    people: list[Participant] = [
        Participant(prm, Role.PRODUCER, start, peak_power_w=PEAK_W, type=ParticipantType.OTHER, name=site.name,
                    latitude=park_lat, longitude=park_lon, **where),
    ]
    for key in ("mairie", "ecole", "gymnase"):
        s = sites[f"commune-{key}"]
        people.append(Participant(by_site[s.id].prm, Role.CONSUMER, start, type=ParticipantType.COMMUNE, priority=1,
                                  name=s.name, **located(s)))
    bakery = next(s for s in inv.sites if s.name == "Boulangerie")
    people.append(Participant(by_site[bakery.id].prm, Role.CONSUMER, start, type=ParticipantType.BUSINESS,
                              priority=2, name=bakery.name, **located(bakery)))
    # Households within 700 m of the point halfway between the park and the centre: every pair of
    # participants is then well inside the 2 km of the arrêté du 21 novembre 2019.
    mid_lat, mid_lon = (lat0 + park_lat) / 2, (lon0 + park_lon) / 2
    homes = sorted((s for s in inv.sites if s.id.startswith("home-") and s.id in by_site), key=lambda s: s.id)
    near = [s for s in homes if haversine_m(s.latitude, s.longitude, mid_lat, mid_lon) < 700.0]
    if len(near) < HOUSEHOLDS:
        raise ValueError(f"only {len(near)} households near the park; the demo needs {HOUSEHOLDS}")
    chosen = [near[i] for i in sorted(rng.choice(len(near), size=HOUSEHOLDS, replace=False))]
    for i, s in enumerate(chosen):
        d = by_site[s.id]
        entry = date(year, *JOINS[i]) if i in JOINS else start
        leave = date(year, *LEAVES[i]) if i in LEAVES else None
        people.append(Participant(d.prm, Role.CONSUMER, entry, leave, ParticipantType.HOUSEHOLD, priority=2,
                                  name=names.get(holders.get(d.prm, ""), s.name), **located(s)))
    operation = Operation(OPERATION_ID, "Soleil de Prats", PMO_ID, tuple(people), Step(seconds=STEP_S))
    check_perimeter(operation)

    new = replace(
        inv,
        sites=[*inv.sites, site],
        delivery_points=[*inv.delivery_points, point],
        meters=[*inv.meters, Meter(f"linky-{prm}", "linky", prm=prm)],
        producers=[*inv.producers, producer],
        organisations=[*inv.organisations, pmo],
        memberships=[*inv.memberships, Membership(PMO_ID, prm, start)],
        series=[*inv.series, series],
    )
    new.check()
    return DemoData(inventory=new, t=demo.t, values={**demo.values, SERIES_ID: curve}), operation


def stored_operation(operation: Operation, territory_id: str) -> StoredOperation:
    """The demo operation as the PMO set it up: the priority key, static shares for simulations, prices.

    Static shares (used when a PMO compares keys): 8 % for each commune building, 10 % for the bakery, 6 %
    for each household — 100 % in all.
    """
    shares = {}
    for p in operation.consumers:
        shares[p.prm] = 0.08 if p.type == ParticipantType.COMMUNE else 0.10 if p.type == ParticipantType.BUSINESS \
            else 0.06
    return StoredOperation(operation, territory_id, "priority", shares, BILLING)


def install_acc_operation(store: Store, operation: Operation, territory_id: str) -> None:
    """Save the demo operation in a store where :func:`add_acc_operation`'s demo was installed."""
    save_operation(store, stored_operation(operation, territory_id))
