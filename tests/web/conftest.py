"""Fixtures for the web face: a small synthetic territory whose figures are easy to compute by hand, a
TestClient over it, and for browser tests a real uvicorn server on loopback plus headless Chromium.

The synthetic territory: ten identical households drawing 100 W each all the time (1000 W together: enough
points, none dominant, for statistical secrecy to show every figure), a hydro plant giving 300 W all the time
and a PV plant giving 1400 W from 12:00 to 24:00 UTC and nothing from 00:00 to 12:00 UTC, every 30 minutes.
So per half-hour step: "morning" steps match min(P, C) = 300 W of 1000 W, "afternoon" steps match 1000 W of
1000 W (production 1700 W).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from browsing import loopback_page
from fastapi.testclient import TestClient
from servers import AppServer

from regie.model import (
    DeliveryPoint,
    Inventory,
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
from regie.store import Store, open_store
from regie.web.app import create_app

PARIS = ZoneInfo("Europe/Paris")
PT30M = Step.parse("PT30M")
#: The default period of the API tests: March and April 2025, local time (March loses an hour to DST).
START, END = datetime(2025, 3, 1, tzinfo=PARIS), datetime(2025, 5, 1, tzinfo=PARIS)


#: The households' delivery points and consumption series (c1 … c10).
HOUSEHOLDS = 10
PRMS = [f"300000000000{i:02d}" for i in range(1, HOUSEHOLDS + 1)]
CONSUMERS = [f"c{i}" for i in range(1, HOUSEHOLDS + 1)]


def synthetic_inventory() -> Inventory:
    return Inventory(
        Territory("vallee", "Vallée-Test", latitude=42.40, longitude=2.48),
        sites=[Site("s", "Site", "vallee")],
        delivery_points=[DeliveryPoint(prm, "s") for prm in PRMS],
        producers=[
            Producer("h", "Hydro", Source.HYDRO, 500_000),
            Producer("pv", "PV", Source.PV, 36_000),
        ],
        transformers=[Transformer("tr1", "Poste 1", 250, prms=tuple(PRMS))],
        series=[
            *(Series(c, SeriesKind.CONSUMPTION, "W", PT30M, prm=prm) for c, prm in zip(CONSUMERS, PRMS, strict=True)),
            Series("h", SeriesKind.PRODUCTION, "W", PT30M, producer_id="h"),
            Series("pv", SeriesKind.PRODUCTION, "W", PT30M, producer_id="pv"),
        ],
    )


def fill_synthetic(store: Store, start: datetime, end: datetime) -> None:
    """Save the synthetic inventory and its readings on [start, end) (see the module docstring)."""
    store.save_inventory(synthetic_inventory())
    t = np.arange(int(start.timestamp()), int(end.timestamp()), 1800, dtype=np.int64)
    morning = ((t // 1800) % 48) < 24
    store.write([
        *(Readings(c, t, np.full(len(t), 1000.0 / HOUSEHOLDS)) for c in CONSUMERS),
        Readings("h", t, np.full(len(t), 300.0)),
        Readings("pv", t, np.where(morning, 0.0, 1400.0)),
    ])


@pytest.fixture(name="synthetic_inventory")
def synthetic_inventory_fixture():
    """The synthetic territory's inventory, without readings (for tests of an empty store)."""
    return synthetic_inventory


@pytest.fixture
def web_store(store_url: str) -> Iterator[Store]:
    """The synthetic territory over March–April 2025, on SQLite and on PostgreSQL."""
    store = open_store(store_url)
    fill_synthetic(store, START, END)
    yield store
    store.close()


@pytest.fixture
def client(web_store: Store) -> TestClient:
    return TestClient(create_app(web_store))


# ------------------------------------------------------------------ browser


@pytest.fixture(scope="module")
def browser_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    """A year (2025) of the synthetic territory at 30 minutes, on SQLite."""
    path: Path = tmp_path_factory.mktemp("web") / "year.sqlite"
    store = open_store(f"sqlite:///{path}")
    fill_synthetic(store, datetime(2025, 1, 1, tzinfo=PARIS), datetime(2026, 1, 1, tzinfo=PARIS))
    yield store
    store.close()


@pytest.fixture(scope="module")
def live_server(browser_store: Store) -> Iterator[AppServer]:
    with AppServer(create_app(browser_store)) as server:
        yield server


@pytest.fixture(scope="module")
def small_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppServer]:
    """The synthetic territory where only three households sent data (March 2025): secrecy hides consumption."""
    store = open_store(f"sqlite:///{tmp_path_factory.mktemp('small') / 'small.sqlite'}")
    store.save_inventory(synthetic_inventory())
    t = np.arange(int(START.timestamp()), int(datetime(2025, 4, 1, tzinfo=PARIS).timestamp()), 1800, dtype=np.int64)
    houses = [Readings(c, t, np.full(len(t), 100.0)) for c in CONSUMERS[:3]]
    store.write([*houses, Readings("h", t, np.full(len(t), 300.0))])
    with AppServer(create_app(store)) as server:
        yield server
    store.close()




@pytest.fixture
def page(chromium, live_server: AppServer):
    """A fresh browser context (no cookies) in the territory's time zone, refusing any non-loopback request."""
    with loopback_page(chromium, live_server.url, viewport={"width": 1280, "height": 900}) as page:
        yield page
