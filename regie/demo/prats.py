"""The Prats-de-Mollo-la-Preste demo: one year of a mountain village régie at 30-minute resolution.

~600 households, a few dozen trades, the commune's buildings and lighting, a thermal spa; hydro, PV
roofs and a biogas plant meeting the energy project's annual figures (``prats.toml``); ten HTA/BT
transformers; the outdoor temperature; a collective self-consumption operation around a cooperative's
250 kWp park (:mod:`regie.demo.acc_operation`). Deterministic for a given seed: each component draws from its
own random stream, so changing one does not reshuffle the others.
"""

from __future__ import annotations

import tomllib
from dataclasses import replace
from datetime import date
from pathlib import Path

import numpy as np

from regie.demo import acc_operation, loads, production, weather
from regie.demo import grid as grid_model
from regie.demo.data import DemoData
from regie.demo.timegrid import STEP_S, year_grid
from regie.model import (
    DeliveryPoint,
    IntervalConvention,
    Inventory,
    Membership,
    Meter,
    Organisation,
    OrganisationKind,
    Person,
    Producer,
    Series,
    SeriesKind,
    Site,
    Source,
    Step,
    Territory,
    Transformer,
)

SCENARIO = Path(__file__).with_name("prats.toml")
PT30M = Step(seconds=STEP_S)
DEFAULT_YEAR = 2025

_FIRST = ["Jordi", "Montse", "Pere", "Núria", "Joan", "Marie", "Pierre", "Anna", "Josep", "Claire", "Marc",
          "Laia", "Louis", "Emma", "Pau", "Julie", "Xavier", "Sophie", "Arnau", "Camille", "Michel", "Rosa"]
_LAST = ["Vidal", "Puig", "Soler", "Sala", "Font", "Pujol", "Roca", "Ferrer", "Martin", "Bosch", "Costa",
         "Garcia", "Batlle", "Serra", "Mas", "Bonet", "Castell", "Roig", "Pons", "Riera", "Coll", "Durand"]
_TRADES = [  # (name, BDEW profile, share of the trades' energy)
    ("Boulangerie", "g5", 1.6), ("Épicerie", "g4", 1.0), ("Boucherie", "g4", 1.2), ("Pharmacie", "g4", 0.8),
    ("Café de la place", "g2", 1.0), ("Restaurant", "g2", 1.4), ("Hôtel", "g2", 2.0), ("Camping", "g2", 1.2),
    ("Garage", "g1", 0.8), ("Menuiserie", "g1", 1.3), ("Bureau de poste", "g1", 0.4), ("Coiffeur", "g4", 0.5),
    ("Ferme", "l0", 1.0), ("Fromagerie", "g3", 1.5),
]


def _children(seed: int, n: int) -> list[np.random.Generator]:
    return [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(n)]


def _prms(rng: np.random.Generator, n: int) -> list[str]:
    """Unique 14-digit PRMs (fictitious, in a range no real meter uses here)."""
    numbers = rng.choice(10**11, size=n, replace=False)
    return [f"501{x:011d}" for x in numbers]


def scenario() -> dict:
    """The village's figures (``prats.toml``) as a dict: :mod:`regie.demo.region` varies them per village."""
    return tomllib.loads(SCENARIO.read_text(encoding="utf-8"))


def build_prats(seed: int = 42, year: int = DEFAULT_YEAR, cfg: dict | None = None) -> DemoData:
    """Generate the village's inventory and its year of readings (``cfg``: another village's figures)."""
    cfg = cfg or scenario()
    tcfg, ccfg = cfg["territory"], cfg["consumption"]
    r_weather, r_sky, r_house, r_trade, r_spa, r_hydro, r_bio, r_layout, r_ids = _children(seed, 9)

    grid = year_grid(year, tcfg["timezone"])
    territory = Territory(tcfg["id"], tcfg["name"], tcfg["timezone"], tcfg["latitude"], tcfg["longitude"])
    tid = territory.id
    lat0, lon0, alt0 = tcfg["latitude"], tcfg["longitude"], tcfg["altitude_m"]

    temp = weather.temperature(grid, r_weather)
    kt = weather.clear_sky_index(grid, r_sky)
    sun = production.SolarSite(grid, lat0, lon0, alt0, kt)

    inv = Inventory(territory)
    values: dict[str, np.ndarray] = {}
    n_hh, n_trades = ccfg["households"], ccfg["trades"]
    n_pv = sum(p["plants"] for p in cfg["production"] if p["source"] == "pv")
    n_other_prod = sum(p["plants"] for p in cfg["production"] if p["source"] != "pv")
    prms = iter(_prms(r_ids, n_hh + n_trades + 4 + 1 + n_pv + n_other_prod))
    since = date(2015, 1, 1)

    commune = Organisation("commune", "Commune de Prats-de-Mollo-la-Preste", OrganisationKind.COMMUNE)
    regie = Organisation("regie", "Régie électrique de Prats-de-Mollo", OrganisationKind.REGIE)
    spa_org = Organisation("thermes", "Thermes de La Preste", OrganisationKind.COMPANY)
    inv.organisations += [commune, regie, spa_org]

    def add_point(site: Site, holder: str, usage: str, segment: str, kva: float | None, kind: SeriesKind,
                  series_id: str, name: str, curve: np.ndarray, producer_id: str | None = None) -> str:
        prm = next(prms)
        inv.sites.append(site)
        inv.delivery_points.append(DeliveryPoint(prm, site.id, segment, kva, usage))
        inv.meters.append(Meter(f"linky-{prm}", "linky", prm=prm))
        inv.memberships.append(Membership(holder, prm, since))
        inv.series.append(Series(series_id, kind, "W", PT30M, IntervalConvention.END, 1.0, name, prm=prm,
                                 producer_id=producer_id, site_id=site.id))
        values[series_id] = np.rint(curve)
        return prm

    def near(rng: np.random.Generator, spread: float) -> tuple[float, float]:
        return float(lat0 + rng.normal(0, spread)), float(lon0 + rng.normal(0, spread * 1.35))

    # ------------------------------------------------------------------ consumption
    households = loads.draw_households(n_hh, r_house)
    profiles = loads.standard_profiles(year, ("h0_dyn", "g0", "g1", "g2", "g3", "g4", "g5", "l0"))
    hh = loads.household_curves(households, grid, temp, profiles["h0_dyn"], r_house)
    hh = loads.scale_to_energy(hh, hh.sum(axis=1) / hh.sum() * ccfg["households_gwh"] * 1e9)
    hamlet_of = r_layout.choice(10, size=n_hh, p=[0.2, 0.18, 0.16, 0.12, 0.04, 0.06, 0.07, 0.06, 0.06, 0.05])
    feeds: dict[int, list[str]] = {k: [] for k in range(10)}
    for i, h in enumerate(households):
        person = Person(f"p{i + 1:04d}", f"{_FIRST[r_layout.integers(len(_FIRST))]} "
                        f"{_LAST[r_layout.integers(len(_LAST))]}")
        inv.persons.append(person)
        lat, lon = near(r_layout, 0.004 if hamlet_of[i] < 4 else 0.015)
        site = Site(f"home-{i + 1:04d}", f"Logement {i + 1}", tid, lat, lon, alt0)
        kva = 12.0 if h.heating == "electric" else 9.0 if h.heating == "heat_pump" else 6.0
        prm = add_point(site, person.id, "residential", "C5", kva, SeriesKind.CONSUMPTION,
                        f"cons-hh-{i + 1:04d}", f"Foyer {i + 1}", hh[i])
        feeds[int(hamlet_of[i])].append(prm)

    weights = np.array([t[2] for t in _TRADES] * 3)[:n_trades]
    trade_profiles = [profiles[_TRADES[i % len(_TRADES)][1]] for i in range(n_trades)]
    trades = loads.trade_curves(trade_profiles, weights / weights.sum() * ccfg["trades_gwh"] * 1e9, grid, r_trade)
    for i in range(n_trades):
        label = _TRADES[i % len(_TRADES)][0] + ("" if i < len(_TRADES) else f" {i // len(_TRADES) + 1}")
        org = Organisation(f"trade-{i + 1:02d}", label, OrganisationKind.COMPANY)
        inv.organisations.append(org)
        lat, lon = near(r_layout, 0.003)
        site = Site(f"trade-{i + 1:02d}", label, tid, lat, lon, alt0)
        prm = add_point(site, org.id, "professional", "C5" if trades[i].max() < 36000 else "C4",
                        36.0 if trades[i].max() < 36000 else 72.0, SeriesKind.CONSUMPTION,
                        f"cons-trade-{i + 1:02d}", label, trades[i])
        feeds[i % 4].append(prm)

    # The commune: town hall, school, sports hall, public lighting.
    commune_wh = ccfg["commune_gwh"] * 1e9
    lighting = loads.street_lighting_curve(sun.elevation, grid, 0.35 * commune_wh)
    buildings = loads.trade_curves([profiles["g1"], profiles["g0"], profiles["g0"]],
                                   np.array([0.30, 0.22, 0.13]) * commune_wh, grid, r_trade)
    for j, (key, label, curve) in enumerate([
        ("mairie", "Mairie", buildings[0]), ("ecole", "École", buildings[1]),
        ("gymnase", "Salle des sports", buildings[2]), ("eclairage", "Éclairage public", lighting),
    ]):
        lat, lon = near(r_layout, 0.002)
        site = Site(f"commune-{key}", label, tid, lat, lon, alt0)
        prm = add_point(site, commune.id, "public", "C5", 36.0, SeriesKind.CONSUMPTION,
                        f"cons-commune-{key}", label, curve)
        feeds[j % 4].append(prm)

    spa = loads.spa_curve(grid, ccfg["spa_gwh"] * 1e9, r_spa)
    site = Site("thermes", "Thermes de La Preste", tid, 42.421, 2.393, 1130)
    feeds[4].append(add_point(site, spa_org.id, "professional", "C4", 400.0, SeriesKind.CONSUMPTION,
                              "cons-thermes", "Thermes de La Preste", spa))

    # ------------------------------------------------------------------ production
    # The cooperative's ground-mounted park (the ACC operation, added at the end) is part of PV phase 2.
    park = acc_operation.park_curve(grid, kt, temp, lat0, lon0, alt0)
    park_wh = float(park.sum() * STEP_S / 3600)
    pv_rng = np.random.default_rng(np.random.SeedSequence(seed).spawn(10)[9])
    for line in cfg["production"]:
        target_wh = line["gwh"] * 1e9 - (park_wh if line.get("includes_acc_park") else 0.0)
        n = line["plants"]
        if line["source"] == "pv":
            tilts = pv_rng.uniform(15, 35, n)
            azimuths = pv_rng.uniform(130, 230, n)
            sizes = pv_rng.uniform(0.6, 1.4, n)
            shapes = np.stack([sun.pv_power(1000.0, tilts[k], azimuths[k], temp) for k in range(n)])
            yield_wh_per_wp = shapes.sum(axis=1) * STEP_S / 3600 / 1000
            peak = sizes / (sizes * yield_wh_per_wp).sum() * target_wh  # Wp per roof meeting the target
            curves = shapes * (peak / 1000)[:, None]
        elif line["source"] == "hydro":
            melt = {"hydro-municipal": (140, 1.0), "hydro-la-preste": (155, 1.3), "hydro-micro": (135, 0.8)}
            day, weight = melt.get(line["id"], (140, 1.0))
            shapes = np.stack([production.hydro_power(production.river_flow(grid, r_hydro, day + 5 * k, weight))
                               for k in range(n)])
            share = pv_rng.uniform(0.7, 1.3, n)
            curves = loads.scale_to_energy(shapes, share / share.sum() * target_wh)
            peak = curves.max(axis=1)
        else:
            shapes = np.stack([production.biogas_power(grid, r_bio) for _ in range(n)])
            curves = loads.scale_to_energy(shapes, np.full(n, target_wh / n))
            peak = curves.max(axis=1) / 0.98
        for k in range(n):
            pid = line["id"] if n == 1 else f"{line['id']}-{k + 1:02d}"
            name = line["name"] if n == 1 else f"{line['name']} — {k + 1}"
            if line["source"] == "pv":
                lat, lon = near(r_layout, 0.004)
                alt = alt0
            else:
                lat, lon, alt = lat0 + 0.01 * (k + 1), lon0 - 0.03 * (k + 1), alt0 + 150
            site = Site(f"site-{pid}", name, tid, lat, lon, alt)
            producer = Producer(pid, name, Source(line["source"]), float(peak[k]), site_id=site.id,
                                commissioned=None)
            segment = "P4" if peak[k] <= 36000 else "P3" if peak[k] <= 250000 else "HTA"
            holder = regie.id
            # producers are added before their delivery point exists: fill in the PRM after
            prm = add_point(site, holder, "production", segment, float(peak[k]) / 1000, SeriesKind.PRODUCTION,
                            f"prod-{pid}", name, curves[k], producer_id=pid)
            inv.producers.append(Producer(producer.id, producer.name, producer.source, producer.peak_power_w,
                                          prm=prm, site_id=site.id))
            if line["source"] == "pv" and segment != "HTA":
                feeds[k % 10].append(prm)  # rooftop PV injects below a BT substation

    # ------------------------------------------------------------------ grid
    by_prm = {s.prm: values[s.id] * (-1 if s.kind is SeriesKind.PRODUCTION else 1) for s in inv.series}
    names = ["Centre", "Église", "Foiral", "Ville haute", "La Preste", "Le Tech", "Les Espinasses",
             "Can Partere", "Sant Salvador", "Le Pla"]
    site_of = {d.prm: d.site_id for d in inv.delivery_points}
    where = {x.id: (x.latitude, x.longitude) for x in inv.sites}
    for k in range(10):
        net = np.sum([by_prm[p] for p in feeds[k]], axis=0)
        # The substation stands among the homes it feeds (their mean position): drawn on the public map.
        lat, lon = np.mean([where[site_of[p]] for p in feeds[k]], axis=0)
        post = Site(f"poste-{k + 1:02d}", f"Poste {names[k]}", tid, round(float(lat), 6), round(float(lon), 6), alt0)
        inv.sites.append(post)
        pf = 0.95
        kva = grid_model.choose_rating(float(np.abs(net).max()), pf)
        if k == 2:  # one substation a size too small: winter evenings overload it (issue #6 supervision)
            kva = max([r for r in grid_model.LOSSES_W if r < kva], default=kva)
        load = grid_model.transformer_load(net, kva, pf)
        tr = Transformer(f"tr-{k + 1:02d}", f"Poste {names[k]}", float(kva), tuple(feeds[k]), site_id=post.id,
                         power_factor=pf)
        inv.transformers.append(tr)
        inv.series.append(Series(f"load-{tr.id}", SeriesKind.TRANSFORMER_LOAD, "W", PT30M,
                                 IntervalConvention.START, 1.0, f"Charge {tr.name}", transformer_id=tr.id))
        values[f"load-{tr.id}"] = np.rint(load)

    station = Site("meteo", "Station météo du village", tid, lat0, lon0, alt0)
    inv.sites.append(station)
    inv.series.append(Series("temp-prats", SeriesKind.TEMPERATURE, "degC", PT30M, IntervalConvention.START, 0.1,
                             "Température extérieure", site_id=station.id))
    values["temp-prats"] = np.round(temp, 1)
    inv.check()
    demo, operation = acc_operation.add_acc_operation(DemoData(inventory=inv, t=grid.t, values=values), seed)
    return replace(demo, operations=(operation,))
