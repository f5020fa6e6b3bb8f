"""The gaps the publication left, now closed (docs/publication.md, "The usage table", "The grid tables over
time"): each replays the differencing attack on a figure that was not frozen (they were strict expected
failures until the usage table and the grid tables moved onto the ledger).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta

import numpy as np
import pytest
from fastapi.testclient import TestClient
from publication_world import DAY1, HOUSEHOLDS, SPA_PRM, build, grid, household_curve

from regie.governance.accounts import CLI_ADMIN, Account, Role
from regie.governance.rights import erase_member
from regie.model import Readings
from regie.services.supervision import transformer_report
from regie.store import Store, open_store
from regie.web.app import create_app


@pytest.fixture
def store(tmp_path) -> Iterator[Store]:
    s = open_store(f"sqlite:///{tmp_path / 'gaps.sqlite'}")
    build(s, households=HOUSEHOLDS + 2)  # 14: the residential column stays above 10 after one erasure
    yield s
    s.close()


def test_the_usage_table_before_and_after_an_erasure_does_not_give_the_members_month(store: Store) -> None:
    inv = store.load_inventory()  # the spa counted as residential: one column, shown (no secondary suppression)
    store.save_inventory(replace(inv, delivery_points=[replace(d, usage="residential") if d.prm == SPA_PRM else d
                                                       for d in inv.delivery_points]))  # fmt: skip
    with TestClient(create_app(store)) as client:
        before = client.get("/api/territory/consumption-by-usage").json()
        erase_member(store, CLI_ADMIN, "p03")
        after = client.get("/api/territory/consumption-by-usage").json()
    b, a = before["cells"]["residential"][0]["value_wh"], after["cells"]["residential"][0]["value_wh"]
    month_wh = float(household_curve(3, grid()).sum() / 2)
    assert b is not None and a is not None
    assert abs((b - a) - month_wh) > 1.0, "the residential month before minus after is the erased member's"


def test_a_transformers_monthly_downstream_before_and_after_a_correction_does_not_give_the_household(
    store: Store,
) -> None:
    viewer = Account(0, "operator", Role.ADMIN)  # no stated reason: secrecy applies
    window = (DAY1, DAY1 + timedelta(days=2))
    before = transformer_report(store, "tr1", *window, caller=viewer)["losses"]["downstream_wh"][0]
    t = grid()
    store.write([Readings("c05", t, household_curve(5, t) * 2)])
    after = transformer_report(store, "tr1", *window, caller=viewer)["losses"]["downstream_wh"][0]
    added = float(household_curve(5, t).sum() / 2)
    assert before is not None and after is not None
    assert not np.isclose(after - before, added, atol=1.0), "the difference is the household's two days"
