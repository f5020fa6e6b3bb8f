"""The grid tables' cells are kept per transformer, on the readings of the series that feed it: a plant's or a
sensor's write elsewhere recomputes nothing, a write under one transformer recomputes that one only
(regie/publication/grid.py, :data:`STATS` counts what was really computed)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta

import numpy as np
import pytest
from publication_world import DAY1, PT30M, RESOLUTION, build, grid, household_curve, inventory, prm

from regie.governance.accounts import Account, Role
from regie.model import Readings, Series, SeriesKind, Transformer
from regie.publication import grid as published_grid
from regie.services.supervision import transformer_report
from regie.store import Store, open_store

VIEWER = Account(0, "operator", Role.ADMIN)  # no stated reason: secrecy applies, the figures are frozen cells
WINDOW = (DAY1, DAY1 + timedelta(days=2))
SECOND = range(12, 24)  # the households under tr2


@pytest.fixture
def store(tmp_path) -> Iterator[Store]:
    """publication_world's village with 24 households: tr1 keeps the first 12 (with the spa and the rooftops),
    tr2 feeds the other 12 and has its own metered load; the hydro plant is under neither."""
    s = open_store(f"sqlite:///{tmp_path / 'two.sqlite'}")
    inv = inventory(24)
    second = Transformer("tr2", "Poste du haut", 160, prms=tuple(prm(i) for i in SECOND))
    tr1 = replace(inv.transformers[0], prms=tuple(p for p in inv.transformers[0].prms if p not in second.prms))
    load2 = Series("load2", SeriesKind.TRANSFORMER_LOAD, "W", PT30M, transformer_id="tr2", resolution=RESOLUTION)
    build(s, households=24, inv=replace(inv, transformers=[tr1, second], series=[*inv.series, load2]))
    t = grid()
    s.write([Readings("load2", t, np.round(sum(household_curve(i, t) for i in SECOND), 3))])
    yield s
    s.close()


def downstream(store: Store, transformer: str) -> float:
    month = transformer_report(store, transformer, *WINDOW, caller=VIEWER)["losses"]["downstream_wh"]
    assert month[0] is not None, f"{transformer}'s month is shown"
    return float(month[0])


def counts() -> tuple[int, int]:
    return published_grid.STATS.figures, published_grid.STATS.reads


def test_a_write_outside_a_transformer_recomputes_nothing_a_write_inside_recomputes_it_alone(store: Store) -> None:
    c0 = counts()
    before = {tr: downstream(store, tr) for tr in ("tr1", "tr2")}
    c1 = counts()
    assert c1[0] - c0[0] >= 4, "each transformer's downstream and its peak groups were computed"
    assert c1[1] - c0[1] == 15 + 12, "each series under a transformer read once, shared by its figures"
    assert {tr: downstream(store, tr) for tr in before} == before
    assert counts() == c1, "shown again: nothing computed"

    t = grid()
    store.write([Readings("hydro", t, np.full(len(t), 9_500.0))])  # a plant under no transformer
    store.write([Readings("load", t[-1:], np.array([12_345.0]))])  # a transformer's own meter: in no figure
    assert {tr: downstream(store, tr) for tr in before} == before
    assert counts() == c1, "writes outside the series that feed the figures recompute none of them"

    # every household under tr2 consumes 10 % more: a revision that passes the rule (12 points changed)
    store.write([Readings(f"c{i:02d}", t, np.round(household_curve(i, t) * 1.1, 3)) for i in SECOND])
    c2 = counts()
    assert downstream(store, "tr1") == before["tr1"]
    assert counts() == c2, "tr1's series did not change: its figures are served as they were"
    after = downstream(store, "tr2")
    c3 = counts()
    assert c3[1] - c2[1] == len(SECOND), "only the series that changed are read again"
    assert c3[0] - c2[0] >= 2, "tr2's downstream and its residential peaks were recomputed"
    assert after == pytest.approx(before["tr2"] * 1.1, rel=1e-6)
    expected = sum(float(np.round(household_curve(i, t) * 1.1, 3).sum()) for i in SECOND) / 2  # Wh, 30-min steps
    assert after == pytest.approx(expected, rel=1e-9)
