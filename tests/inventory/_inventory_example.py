"""Helpers of the inventory tests: an empty territory as the first-run page creates it, and the template
made into a valid workbook for it."""

from __future__ import annotations

from regie.inventory import template
from regie.model import Inventory, Territory

TERRITORY = "exemple"


def new_territory(store, territory_id: str = TERRITORY) -> None:
    """A territory as the first-run page creates it: nothing in it yet."""
    store.save_inventory(Inventory(Territory(territory_id, "Commune exemple", "Europe/Paris", 42.4, 2.47)))


def template_book():
    """The template, for the test territory: a small inventory that holds together."""
    book = template()
    book["about"][0].update({"territory": TERRITORY, "name": "Commune exemple", "latitude": "42.4",
                             "longitude": "2.47", "insee": None})
    return book


CONSUMER, INJECTION = "50158338171087", "50193676821738"


def add_readings(store, prm: str = CONSUMER, territory_id: str = TERRITORY, n: int = 48) -> str:
    """A load curve of ``n`` half-hours on a delivery point, written as ingest writes it; returns its id."""
    import numpy as np

    from regie.model import Readings, Series, SeriesKind, Step

    sid = f"{prm}-load"
    with store.transaction() as tx:
        tx.add_series(territory_id, [Series(sid, SeriesKind.CONSUMPTION, "W", Step.parse("PT30M"), prm=prm)])
        t = 1_767_225_600 + 1800 * np.arange(n, dtype=np.int64)
        tx.write([Readings(sid, t, np.full(n, 500.0))])
    return sid
