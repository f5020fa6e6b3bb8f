"""Write the example territory of docs/getting-started.md: an inventory workbook (a folder of CSV files, one
per sheet, in the format of docs/inventory.md) and an Enedis R63 load-curve file for its delivery points.

Run from the repository root: ``.venv/bin/python docs/examples/make_example.py``. The village is made up:
30 homes, a school with a PV roof, a small municipal hydro plant, two HTA/BT transformers, the commune, its
régie and a cooperative running one collective self-consumption operation (the school's roof shared with
ten homes). Three June days of half-hourly curves, in W, as Enedis's R63 files give them (mean power over
each interval, stamped at the interval's END, local time with its offset, per-row ``Pas``).
"""

from __future__ import annotations

import sys
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))

from regie.inventory.book import book_from_values  # noqa: E402
from regie.inventory.files import write_book  # noqa: E402

TERRITORY = "exemple"
ZONE = ZoneInfo("Europe/Paris")
CENTRE = (42.4019, 2.4697)
HOMES = 30
DAYS = [date(2025, 6, 2) + timedelta(days=i) for i in range(3)]
R63_HEADER = (
    "Identifiant PRM;Date de début;Date de fin;Grandeur physique;Grandeur métier;Etape métier;Unité;"
    "Horodate;Valeur;Nature;Pas;Indice de vraisemblance;Etat complémentaire"
)


def home_prm(i: int) -> str:
    return f"501000000{i:05d}"


SCHOOL_PRM, SCHOOL_PV_PRM, HYDRO_PRM = "50200000000001", "50200000000002", "50300000000001"


def inventory(rng: np.random.Generator) -> dict[str, list[dict]]:
    sites, points, persons, memberships, participants = [], [], [], [], []
    for i in range(1, HOMES + 1):
        lat = CENTRE[0] + rng.uniform(-0.004, 0.004)
        lon = CENTRE[1] + rng.uniform(-0.005, 0.005)
        sites.append({"id": f"home-{i:02d}", "name": f"Logement {i}", "latitude": round(lat, 5),
                      "longitude": round(lon, 5), "altitude_m": 745})
        points.append({"prm": home_prm(i), "site": f"home-{i:02d}", "segment": "C5", "subscribed_kva": 6 + 3 * (i % 3),
                       "usage": "residential", "transformer": "tr-nord" if i <= 15 else "tr-sud"})
        persons.append({"id": f"p{i:02d}", "name": f"Habitant {i}", "email": f"habitant{i}@example.org"})
        memberships.append({"holder": f"p{i:02d}", "prm": home_prm(i), "since": date(2020, 1, 1)})
        if i <= 10:
            participants.append({"operation": "acc-ecole", "prm": home_prm(i), "role": "consumer",
                                 "entry": date(2025, 1, 1), "type": "household", "priority": 1, "weight": 1,
                                 "latitude": round(lat, 5), "longitude": round(lon, 5), "density": "rural",
                                 "name": f"Logement {i}"})
    sites += [
        {"id": "ecole", "name": "École communale", "latitude": 42.4022, "longitude": 2.4701, "altitude_m": 745},
        {"id": "centrale", "name": "Centrale hydroélectrique", "latitude": 42.3991, "longitude": 2.4588,
         "altitude_m": 690},
    ]
    points += [
        {"prm": SCHOOL_PRM, "site": "ecole", "segment": "C5", "subscribed_kva": 36, "usage": "public",
         "transformer": "tr-nord"},
        {"prm": SCHOOL_PV_PRM, "site": "ecole", "segment": "P4", "subscribed_kva": 36, "usage": "production",
         "transformer": "tr-nord"},
        {"prm": HYDRO_PRM, "site": "centrale", "segment": "P1", "usage": "production"},
    ]
    memberships += [{"holder": "commune", "prm": p, "since": date(2020, 1, 1)}
                    for p in (SCHOOL_PRM, SCHOOL_PV_PRM, HYDRO_PRM)]
    participants.insert(0, {"operation": "acc-ecole", "prm": SCHOOL_PV_PRM, "role": "producer",
                            "entry": date(2025, 1, 1), "type": "commune", "priority": 1, "weight": 1,
                            "peak_power_w": 36000, "latitude": 42.4022, "longitude": 2.4701, "density": "rural",
                            "name": "Toiture PV de l'école"})
    return {
        "about": [{"territory": TERRITORY, "name": "Commune exemple", "insee": "66150", "timezone": "Europe/Paris",
                   "latitude": CENTRE[0], "longitude": CENTRE[1]}],
        "sites": sites,
        "delivery_points": points,
        "producers": [
            {"id": "pv-ecole", "name": "Toiture PV de l'école", "source": "pv", "peak_power_w": 36000,
             "prm": SCHOOL_PV_PRM, "site": "ecole", "commissioned": "2021-06"},
            {"id": "hydro", "name": "Centrale hydroélectrique communale", "source": "hydro",
             "peak_power_w": 400000, "prm": HYDRO_PRM, "site": "centrale", "commissioned": "1987"},
        ],
        "transformers": [
            {"id": "tr-nord", "name": "Poste Nord", "rated_kva": 250, "power_factor": 0.95},
            {"id": "tr-sud", "name": "Poste Sud", "rated_kva": 160, "power_factor": 0.95},
        ],
        "organisations": [
            {"id": "commune", "name": "Commune exemple", "kind": "commune", "siren": "216600000"},
            {"id": "coop-soleil", "name": "Coopérative Soleil", "kind": "cooperative"},
        ],
        "persons": persons,
        "memberships": memberships,
        "acc_operations": [{"id": "acc-ecole", "name": "ACC de l'école", "pmo": "coop-soleil", "step": "PT30M",
                            "zone": "mainland", "derogation": False, "key": "default"}],
        "acc_participants": participants,
    }


def curves(rng: np.random.Generator) -> list[str]:
    """R63 rows: one per PRM and half-hour, the value the mean power [W] over the half-hour ending then."""
    rows = [R63_HEADER]
    for day in DAYS:
        start = datetime(day.year, day.month, day.day, tzinfo=ZONE)
        ends = [start + timedelta(minutes=30 * (k + 1)) for k in range(48)]
        hours = np.array([(e - timedelta(minutes=15)).hour + (e - timedelta(minutes=15)).minute / 60 for e in ends])
        shape = 0.5 + 0.6 * np.exp(-((hours - 7.5) ** 2) / 2) + 0.9 * np.exp(-((hours - 19.5) ** 2) / 3)
        sun = np.clip(np.cos((hours - 13.5) / 7 * np.pi / 2), 0, None) ** 1.5 * (hours > 6) * (hours < 21)
        series = {home_prm(i): ("CONS", 400 * shape * rng.uniform(0.6, 1.6) + rng.normal(0, 40, 48))
                  for i in range(1, HOMES + 1)}
        series[SCHOOL_PRM] = ("CONS", 2500 + 6000 * ((hours > 8) & (hours < 17)) + rng.normal(0, 200, 48))
        series[SCHOOL_PV_PRM] = ("PROD", 36000 * 0.8 * sun * rng.uniform(0.85, 1.0, 48))
        series[HYDRO_PRM] = ("PROD", 250_000 + rng.normal(0, 5000, 48))
        for prm, (metier, values) in series.items():
            for e, v in zip(ends, np.maximum(np.round(values), 0).astype(int), strict=True):
                rows.append(f"{prm};{day};{day + timedelta(days=1)};PA;{metier};BRUT;W;{e.isoformat()};{v};R;PT30M;0;0")
    return rows


def main() -> None:
    rng = np.random.default_rng(2025)
    write_book(HERE / "village", book_from_values(inventory(rng)))
    (HERE / "village-r63.csv").write_text("\n".join(curves(rng)) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
