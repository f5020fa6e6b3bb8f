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
