"""Issue 18's attacks on the public figures, replayed as written; each succeeded before the publication."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from publication_world import DAY1, LOSSES, build, grid, household_curve

from regie.governance import audit
from regie.governance.accounts import CLI_ADMIN, Account, Role
from regie.governance.rights import erase_member
from regie.model import Readings, Step
from regie.publication.balance import public_balance
from regie.services.balance import territory_balance
from regie.services.supervision import transformer_report
from regie.store import Store, open_store
from regie.web.app import create_app

REGIE = Path(__file__).parents[2] / "regie"
DAY = {"start": DAY1.date().isoformat(), "end": (DAY1 + timedelta(days=1)).date().isoformat(), "step": "PT30M"}


@pytest.fixture
def store(tmp_path) -> Iterator[Store]:
    s = open_store(f"sqlite:///{tmp_path / 'val.sqlite'}")
    build(s)
    yield s
    s.close()


def consumption(client: TestClient, **params: str) -> np.ndarray:
    p = client.get("/api/balance", params=params).json()["periods"]["consumption_wh"]
    return np.array([np.nan if x is None else x for x in p])


def test_saving_a_day_then_subtracting_after_an_erasure_gives_nothing(store: Store) -> None:
    """Item 1: save /api/balance at PT30M for a day, erase one member, save again, subtract."""
    with TestClient(create_app(store)) as client:
        before = consumption(client, **DAY)
        erase_member(store, CLI_ADMIN, "p03")
        after = consumption(client, **DAY)
    curve_wh = household_curve(3, grid(1)) / 2  # p03's 30-minute energy [Wh]
    assert np.isfinite(before).all(), "12 households and a spa: the day is published"
    diff = before - after
    assert not np.allclose(diff, curve_wh, atol=1.0), "the difference gives the erased household's curve"
    assert np.array_equal(before, after), "published cells are frozen: a one-household change is not published"


def test_an_import_or_a_correction_touching_one_household_changes_nothing_public(store: Store) -> None:
    t = grid(1)
    with TestClient(create_app(store)) as client:
        before = consumption(client, **DAY)
        hourly = consumption(client, **{**DAY, "step": "PT1H"})
        store.write([Readings("c05", t, household_curve(5, t) * 1.5)])  # a correction of one household
        after = consumption(client, **DAY)
        after_hourly = consumption(client, **{**DAY, "step": "PT1H"})
    assert np.array_equal(before, after) and np.array_equal(hourly, after_hourly)
    # two granularities agree: an hour is exactly its two published half-hours
    assert np.allclose(after.reshape(-1, 2).sum(axis=1), after_hourly)


def test_a_correction_of_every_household_is_published_as_a_new_version(store: Store) -> None:
    t = grid(1)
    with TestClient(create_app(store)) as client:
        before = consumption(client, **DAY)
        fixes = [Readings(f"c{i:02d}", t, household_curve(i, t) * 1.1) for i in range(12)]
        store.write(fixes)
        after = consumption(client, **DAY)
    assert np.isfinite(after).all() and (after > before).all(), "a change of 12 points passes the rule"


def test_the_exact_balance_is_read_through_the_gate_and_logged(store: Store) -> None:
    n = len(audit.entries(store, kind="access"))
    b = territory_balance(store, DAY1, DAY1 + timedelta(days=1), Step.parse("P1D"))
    entries = audit.entries(store, kind="access")[n:]
    assert b["totals"]["consumption_wh"] > 0
    assert any(e.entry["caller"] == "regie-publication" and (e.entry["series"] or "").startswith("aggregate:")
               for e in entries)  # fmt: skip


def test_sum_on_grid_is_called_only_by_the_gate_and_the_store() -> None:
    """Also found: services/balance summed every consumption series with store.sum_on_grid, ungated, unlogged."""
    callers = []
    for path in REGIE.rglob("*.py"):
        rel = path.relative_to(REGIE).as_posix()
        if rel.startswith(("store/", "governance/")):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Attribute) and node.attr == "sum_on_grid":
                callers.append(f"{rel}:{node.lineno}")
    assert callers == [], f"sum_on_grid outside regie/store and regie/governance: {callers}"


def test_the_public_balance_reads_households_through_the_gate_each_sees_it(store: Store) -> None:
    public_balance(store, DAY1, DAY1 + timedelta(days=1), Step.parse("P1D"))
    reads = [a for a in audit.accesses_to(store, "p04") if a.caller == "regie-publication"]
    assert reads and all(r.decision == "allowed" for r in reads)


def test_transformer_load_minus_the_residential_share_does_not_give_the_spa(store: Store) -> None:
    """Item 6: a transformer's published load minus the published residential share recovered the masked single
    professional point (the spa) within 7 %: no secondary suppression across the transformer's table."""
    viewer = Account(0, "operator", Role.ADMIN)  # an admin without a stated reason: secrecy applies
    r = transformer_report(store, "tr1", DAY1, DAY1 + timedelta(days=2), caller=viewer)
    pc = r["peak_contributions"]
    groups = pc["groups"]
    t, spa = store.read("spa", int(DAY1.timestamp()), int((DAY1 + timedelta(days=2)).timestamp()))
    assert r["peaks"], "the transformer has peaks"
    for i, peak in enumerate(r["peaks"]):
        reasons = dict(zip(groups, pc["reasons"][i], strict=True))
        assert reasons["professional"] == "fewer_than_10"
        residential = pc["values_w"][i][groups.index("residential")]
        if residential is not None:
            at = np.searchsorted(t, int(datetime.fromisoformat(peak["t"]).timestamp()))
            guess = peak["power_w"] / LOSSES - residential  # an attacker who knows the grid's losses
            assert abs(guess - spa[at]) / spa[at] > 0.07, "load − residential gives the spa back"
        else:
            assert reasons["residential"] == "secondary"
    for counts, why in zip(pc["counts"], pc["reasons"], strict=True):
        masked = sum(n for n, w in zip(counts, why, strict=True) if w)
        every = all(w for n, w in zip(counts, why, strict=True) if n)
        assert masked == 0 or masked >= 10 or every, "a row's masked groups together count fewer than 10 points"


def test_the_regies_plant_on_its_own_delivery_point_stays_published_and_rooftops_do_not(store: Store) -> None:
    """Plants held by the régie are published by its choice (even on a delivery point, which the gate governs);
    two rooftops held by persons are fewer than 10 plants."""
    b = public_balance(store, DAY1, DAY1 + timedelta(days=1), Step.parse("P1D"))
    assert b["totals"]["production_by_source_wh"]["hydro"] == pytest.approx(9_000 * 24)
    assert b["totals"]["masked"]["production:pv"] == "fewer_than_10"
