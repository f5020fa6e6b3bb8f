"""Publish once, serve everywhere (issue 15, part 1): the public figures are the exact ones to the Wh, page views
during a live feed read nothing, and the figures brought up to date after each write are those a full
recomputation gives."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import numpy as np
import pytest
from fastapi.testclient import TestClient
from publication_world import DAY1, HOUSEHOLDS, grid, household_curve
from publication_world import build as build_world

from regie.governance import audit
from regie.model import Readings, Step
from regie.publication import balance
from regie.services.balance import territory_balance
from regie.store import Store, open_store
from regie.web.app import create_app


@pytest.fixture
def store(tmp_path) -> Iterator[Store]:
    s = open_store(f"sqlite:///{tmp_path / 'val.sqlite'}")
    build_world(s)
    yield s
    s.close()


def _public(client: TestClient, step: str) -> dict:
    r = client.get("/api/balance", params={"step": step})
    assert r.status_code == 200, r.text
    return r.json()


@pytest.mark.parametrize("step", ["PT30M", "P1D", "P1M"])
def test_the_public_balance_is_the_exact_balance_to_the_watt_hour_where_shown(store: Store, step: str) -> None:
    client = TestClient(create_app(store))
    public = _public(client, step)
    a, b = DAY1, DAY1 + timedelta(days=2)
    exact = territory_balance(store, a, b, Step.parse(step))
    assert public["periods"]["start"] == exact["periods"]["start"]
    pairs = [(public["periods"]["consumption_wh"], exact["periods"]["consumption_wh"])]
    pairs += [(public["periods"]["production_wh"][s], exact["periods"]["production_wh"][s]) for s in exact["sources"]]
    shown = 0
    for pub, ex in pairs:
        for p, e in zip(pub, ex, strict=True):
            if p is not None:
                assert p == pytest.approx(e, abs=1e-3)
                shown += 1
    assert shown >= len(public["periods"]["start"]) * 2  # consumption and hydro at least
    page = client.get("/")
    assert page.status_code == 200


def _feed(store: Store, k: int, t0: int) -> None:
    """One committed batch of a live feed: every household's next half-hour."""
    t = np.array([t0 + 1800 * k], dtype=np.int64)
    store.write([Readings(f"c{i:02d}", t, household_curve(i, t, seed=100 + k)) for i in range(HOUSEHOLDS)]
                + [Readings("hydro", t, np.array([8_500.0 + k]))])  # fmt: skip


def test_viewing_the_territory_page_100_times_during_a_live_feed_adds_no_access_log_entry(store: Store) -> None:
    client = TestClient(create_app(store))
    assert client.get("/").status_code == 200
    t0 = int(grid()[-1]) + 1800  # the half-hours after the stored two days
    feed_entries = 0
    for k in range(100):
        before = len(audit.entries(store, kind="access"))
        _feed(store, k % 10, t0)  # the feed writes (and the publication reads what it touched, logged)
        after_feed = len(audit.entries(store, kind="access"))
        feed_entries += after_feed - before
        assert client.get("/").status_code == 200
        assert len(audit.entries(store, kind="access")) == after_feed, f"view {k} read personal data"
    assert feed_entries > 0  # the feed's changes were read, once each, by the publication's account


def _changes(store: Store) -> None:
    t = grid()
    t0 = int(t[-1]) + 1800
    for k in range(6):  # the live edge moves on: the period grows
        _feed(store, k, t0)
    corrected = t[10:20]  # every household's past half-hours corrected (a re-delivery): a revision
    store.write([Readings(f"c{i:02d}", corrected, household_curve(i, corrected) * 1.1) for i in range(HOUSEHOLDS)])
    store.write([Readings("c03", t[30:31], np.array([5_000.0]))])  # one household's correction: never published


def test_figures_brought_up_to_date_by_writes_equal_a_full_recomputation(store: Store, tmp_path) -> None:
    client = TestClient(create_app(store))
    first = _public(client, "PT30M")["periods"]["consumption_wh"]
    _changes(store)
    incremental = {step: _public(client, step) for step in ("PT30M", "P1D")}
    balance._STATES.clear()  # a new process: everything recomputed from the store and the ledger
    assert {step: _public(client, step) for step in ("PT30M", "P1D")} == incremental
    # the same data written at once into a store that never published: the same figures, but for the cell that
    # one household's correction touched (published there for the first time; here withheld as a revision)
    fresh = open_store(f"sqlite:///{tmp_path / 'fresh.sqlite'}")
    build_world(fresh)
    _changes(fresh)
    once = _public(TestClient(create_app(fresh)), "PT30M")["periods"]["consumption_wh"]
    fresh.close()
    cons = incremental["PT30M"]["periods"]["consumption_wh"]
    assert len(cons) == len(once) == 2 * 48 + 6 and all(x is not None for x in cons[96:])
    assert [x for i, x in enumerate(cons) if i != 30] == pytest.approx([x for i, x in enumerate(once) if i != 30])
    assert cons[30] == first[30] != once[30]
    assert cons[10:20] != first[10:20]  # the village-wide correction is published as a revision
