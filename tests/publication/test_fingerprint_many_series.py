"""The fingerprint of a town's homes: more series than SQLite binds in one statement (32,766 variables since
3.32), the same summary as the whole store's, on both backends (regie/store/published.py, store/bounded.py)."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

from regie.model import Inventory, Readings, Series, SeriesKind, Step, Territory
from regie.store import Store, open_store
from regie.store import published as cells

HOMES = 33_500  # past SQLite's 32,766
PT30M = Step.parse("PT30M")
T0 = 1_741_560_000  # 2025-03-09T22:40:00Z, on the 30-minute grid


@pytest.fixture
def town(store_url: str) -> Iterator[Store]:
    """A territory of HOMES consumption series (declared in one transaction, as an inventory import does); one
    in 50 and the last have one stored reading (the limit is on the list bound, not on the chunks found)."""
    s = open_store(store_url)
    s.save_inventory(Inventory(Territory("ville", "Ville")))
    with s.transaction() as tx:
        tx.add_series("ville", [Series(f"h{i:05d}", SeriesKind.CONSUMPTION, "W", PT30M) for i in range(HOMES)])
    t = np.array([T0], dtype=np.int64)
    s.write([Readings(f"h{i:05d}", t, np.array([100.0 + i % 977])) for i in (*range(0, HOMES, 50), HOMES - 1)])
    yield s
    s.close()


def test_the_homes_fingerprint_over_more_series_than_one_statement_binds(town: Store) -> None:
    homes = [f"h{i:05d}" for i in range(HOMES)]
    every = cells.fingerprint(town, homes)
    assert every == cells.fingerprint(town), "the homes are every series of the store: the same summary"
    stored = len(range(0, HOMES, 50)) + 1
    assert every[:3] == (stored, stored, T0)
    assert cells.combine(cells.series_prints(town, homes).values()) == every
    assert cells.fingerprint(town, list(reversed(homes)) + homes[:10]) == every, "order and repeats change nothing"

    last = homes[-1]  # in the last part of the list
    others = cells.fingerprint(town, homes[:-1])
    town.write([Readings(last, np.array([T0], dtype=np.int64), np.array([5.0]))])  # a correction: same sizes
    assert cells.fingerprint(town, homes) != every
    assert cells.fingerprint(town, homes[:-1]) == others, "a home outside the list moves nothing"
