"""Fixtures of the inventory tests: an empty territory, the template imported into it, the demo village."""

from __future__ import annotations

import pytest
from _inventory_example import TERRITORY, new_territory, template_book

from regie.governance.accounts import CLI_ADMIN
from regie.inventory import apply_book
from regie.store import open_store


@pytest.fixture
def example_store(tmp_path):
    """A store whose territory holds the template's small inventory (sites, points, an operation...)."""
    store = open_store(f"sqlite:///{tmp_path / 'regie.sqlite'}")
    new_territory(store)
    apply_book(store, CLI_ADMIN, TERRITORY, template_book())
    yield store
    store.close()


@pytest.fixture(scope="session")
def prats():
    """The demo village (generated once per session): its inventory and its ACC operation."""
    from regie.demo import build_prats

    return build_prats(seed=7)


@pytest.fixture
def prats_store(tmp_path, prats):
    """The demo village's inventory and operation in a new store (no readings: see test_removal)."""
    from regie.demo.acc_operation import install_acc_operation

    store = open_store(f"sqlite:///{tmp_path / 'prats.sqlite'}")
    store.save_inventory(prats.inventory)
    for op in prats.operations:
        install_acc_operation(store, op, prats.inventory.territory.id)
    yield store
    store.close()
