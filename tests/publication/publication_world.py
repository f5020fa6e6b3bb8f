"""A small generated territory for the publication's attacks (fast enough for CI).

Twelve households (persons ``p00`` … ``p11``, each holding one delivery point, consumption series ``c00`` …),
a spa (a company's professional delivery point, ``spa``), two rooftop PV plants held by persons (``pv0``,
``pv1``, on the households' transformer), the régie's hydro plant (``hydro``), and one transformer feeding the
households, the spa and the rooftops, whose load (``load``) is metered: Σ consumption − Σ injection, plus 3 %
of losses. Two days at 30 minutes from :data:`DAY1`, random but seeded. The households' evening peak makes the
transformer's top peaks fall when the rooftops produce nothing.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np

from regie.model import (
    DeliveryPoint,
    Inventory,
    Membership,
    Organisation,
    OrganisationKind,
    Person,
    Producer,
    Readings,
    Series,
    SeriesKind,
    Site,
    Source,
    Step,
    Territory,
    Transformer,
)
from regie.store import Store

PARIS = ZoneInfo("Europe/Paris")
PT30M = Step.parse("PT30M")
DAY1 = datetime(2025, 3, 10, tzinfo=PARIS)
DAYS = 2
HOUSEHOLDS = 12
SPA_PRM = "40000000000099"
LOSSES = 1.03
#: Loads stored to the milliwatt: with whole watts, one household's half-hour would often equal some difference
#: by chance, and the attacker's "one point's value" test would cry wolf.
RESOLUTION = 0.001


def prm(i: int) -> str:
    return f"400000000000{i:02d}"


def household(i: int) -> tuple[DeliveryPoint, Person, Membership, Series]:
    return (DeliveryPoint(prm(i), "bourg"), Person(f"p{i:02d}", f"Foyer {i}"),
            Membership(f"p{i:02d}", prm(i), date(2020, 1, 1)),
            Series(f"c{i:02d}", SeriesKind.CONSUMPTION, "W", PT30M, prm=prm(i), resolution=RESOLUTION))  # fmt: skip


def inventory(households: int = HOUSEHOLDS) -> Inventory:
    homes = [household(i) for i in range(households)]
    pv_prms = [prm(50 + k) for k in range(2)]
    hydro_prm = prm(70)
    return Inventory(
        Territory("val", "Val-Secret"),
        sites=[Site("bourg", "Bourg", "val")],
        delivery_points=[h[0] for h in homes] + [DeliveryPoint(SPA_PRM, "bourg", "C4", usage="professional")]
        + [DeliveryPoint(p, "bourg", usage="production") for p in [*pv_prms, hydro_prm]],
        organisations=[Organisation("regie", "Régie", OrganisationKind.REGIE),
                       Organisation("thermes", "Les Thermes", OrganisationKind.COMPANY)],
        persons=[h[1] for h in homes] + [Person(f"pv-owner-{k}", "PV") for k in range(2)],
        memberships=[h[2] for h in homes] + [Membership("thermes", SPA_PRM, date(2020, 1, 1)),
                                             Membership("regie", hydro_prm, date(2020, 1, 1))]
        + [Membership(f"pv-owner-{k}", p, date(2020, 1, 1)) for k, p in enumerate(pv_prms)],
        producers=[Producer("hydro", "Hydro", Source.HYDRO, 400_000, prm=hydro_prm)]
        + [Producer(f"pv{k}", f"Toit {k}", Source.PV, 6_000, prm=p) for k, p in enumerate(pv_prms)],
        transformers=[Transformer("tr1", "Poste du bourg", 250, prms=(*[h[0].prm for h in homes], SPA_PRM, *pv_prms))],
        series=[h[3] for h in homes]
        + [Series("spa", SeriesKind.CONSUMPTION, "W", PT30M, prm=SPA_PRM, resolution=RESOLUTION),
           Series("hydro", SeriesKind.PRODUCTION, "W", PT30M, producer_id="hydro", prm=hydro_prm),
           Series("load", SeriesKind.TRANSFORMER_LOAD, "W", PT30M, transformer_id="tr1")]
        + [Series(f"pv{k}", SeriesKind.PRODUCTION, "W", PT30M, producer_id=f"pv{k}", prm=p)
           for k, p in enumerate(pv_prms)],
    )  # fmt: skip


def grid(days: int = DAYS, start: datetime = DAY1) -> np.ndarray:
    a = int(start.timestamp())
    return np.arange(a, a + days * 86_400, 1800, dtype=np.int64)


def household_curve(i: int, t: np.ndarray, seed: int = 7) -> np.ndarray:
    """A household's mean power [W]: a base, a morning and a strong evening peak, noise; never zero."""
    rng = np.random.default_rng(seed * 1000 + i)
    hour = np.array([datetime.fromtimestamp(int(x), PARIS).hour + datetime.fromtimestamp(int(x), PARIS).minute / 60
                     for x in t])  # fmt: skip
    shape = 300 + 500 * np.exp(-((hour - 7.5) ** 2) / 2) + 1600 * np.exp(-((hour - 19.5) ** 2) / 3)
    return np.round(shape * rng.uniform(0.6, 1.4) * rng.lognormal(0, 0.15, len(t)), 3)


def spa_curve(t: np.ndarray) -> np.ndarray:
    hour = (t // 1800) % 48 / 2
    return np.round(4_000 + 1_500 * np.sin(hour / 24 * 2 * np.pi) ** 2 + 10 * np.sin(t / 977.0), 3)


def pv_curve(k: int, t: np.ndarray) -> np.ndarray:
    hour = np.array([datetime.fromtimestamp(int(x), PARIS).hour for x in t])
    return np.where((hour >= 9) & (hour < 17), 2_500.0 + 300 * k, 0.0)


def build(store: Store, households: int = HOUSEHOLDS, inv: Inventory | None = None) -> None:
    """Save the inventory (``inv``: one derived from :func:`inventory`) and write every series over the two days
    (see the module docstring)."""
    store.save_inventory(inv or inventory(households))
    t = grid()
    cons = {f"c{i:02d}": household_curve(i, t) for i in range(households)} | {"spa": spa_curve(t)}
    pv = {f"pv{k}": pv_curve(k, t) for k in range(2)}
    load = LOSSES * (sum(cons.values()) - sum(pv.values()))
    store.write([Readings(k, t, v) for k, v in (cons | pv).items()]
                + [Readings("hydro", t, np.full(len(t), 9_000.0)), Readings("load", t, np.round(load, 1))])  # fmt: skip


def add_household(store: Store, i: int, t: np.ndarray) -> None:
    """A new household (person, delivery point, series) and its readings on ``t``."""
    inv = store.load_inventory()
    dp, person, member, series = household(i)
    store.save_inventory(replace(inv, delivery_points=[*inv.delivery_points, dp], persons=[*inv.persons, person],
                                 memberships=[*inv.memberships, member], series=[*inv.series, series]))  # fmt: skip
    store.write([Readings(series.id, t, household_curve(i, t))])


def end_of(days: int = DAYS) -> datetime:
    return DAY1 + timedelta(days=days)
