"""Coarse reads never cover more than the caller is entitled to (issue 18, item 6, first half).

Erin held PRM_D until 15 April 2025 (1000 W), Frank since (3000 W in the morning, 5000 W in the afternoon,
local time). A daily or monthly value must be computed only from the instants in the range the gate judged:
the holding period, the grant's period.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest
from governance_data import FAST, NOW, PASSWORD, half_hours, inventory, ts

from regie.governance import accounts, consent
from regie.governance.accounts import Role
from regie.governance.gate import read_personal
from regie.model import DeliveryPoint, Membership, Person, Readings, Series, SeriesKind, Step

PRM_D = "30001000000004"
PURPOSE = "dpv:FulfilmentOfContractualObligation"
APR, MOVE, MAY = ts(2025, 4, 1), ts(2025, 4, 15), ts(2025, 5, 1)


@pytest.fixture
def move(store, people) -> dict:
    inv = inventory()
    inv.delivery_points.append(DeliveryPoint(PRM_D, "house-c"))
    inv.persons.extend([Person("erin", "Erin"), Person("frank", "Frank")])
    inv.memberships.extend([Membership("erin", PRM_D, date(2025, 1, 1), date(2025, 4, 15)),
                            Membership("frank", PRM_D, date(2025, 4, 15))])  # fmt: skip
    for sid, unit in (("d-load", "W"), ("d-energy", "Wh")):
        inv.series.append(Series(sid, SeriesKind.CONSUMPTION, unit, Step.parse("PT30M"), prm=PRM_D))
    store.save_inventory(inv)
    t = half_hours(ts(2025, 1, 1), MAY)
    afternoon = np.array([(int(x) + 3600 * 2) % 86400 >= 12 * 3600 for x in t])  # Paris is UTC+2 in April
    power = np.where(t < MOVE, 1000.0, np.where(afternoon, 5000.0, 3000.0))
    store.write([Readings("d-load", t, power), Readings("d-energy", t, power / 2)])
    made = {n: accounts.create_account(store, n, PASSWORD, Role.MEMBER, holder_id=n, hasher=FAST, now=NOW - 86400)
            for n in ("erin", "frank")}  # fmt: skip
    return {**people, **made}


def test_attack_a_leaver_reading_their_last_month_at_p1m_gets_only_their_days(store, move) -> None:
    """As written: left on 15 April, reads April at P1M, subtracts their own daily values: the next occupant's
    mean power came out. Now the monthly value is computed from their days only; nothing is left over."""
    month = read_personal(store, move["erin"], "d-load", APR, MOVE, "P1M", PURPOSE, now=NOW)
    days = read_personal(store, move["erin"], "d-load", APR, MOVE, "P1D", PURPOSE, now=NOW)
    assert month.t.tolist() == [APR] and month.values.tolist() == [1000.0]  # was 2066.7: Frank's days in it
    # The attack's subtraction: the month minus her days leaves no instant and no energy to divide.
    assert int(month.count[0]) == int(days.count.sum()) == 14 * 48
    assert month.values[0] * month.count[0] - (days.values * days.count).sum() == 0
    energy = read_personal(store, move["erin"], "d-energy", APR, MOVE, "P1M", PURPOSE, now=NOW)
    assert energy.values.tolist() == [14 * 48 * 500.0]  # a sum over her 14 days, not the month's


def test_a_newcomers_first_month_holds_none_of_the_previous_occupants_days(store, move) -> None:
    month = read_personal(store, move["frank"], "d-load", MOVE, MAY, "P1M", PURPOSE, now=NOW)
    assert month.t.tolist() == [MOVE] and month.values.tolist() == [4000.0]  # his mornings and afternoons only


def test_a_grant_ending_mid_month_or_mid_day_clips_every_coarse_value(store, move) -> None:
    end = int(ts(2025, 4, 20, 12))  # the grant's data end: noon, local
    consent.grant(store, move["frank"], subject_id="frank", recipient_kind="operation", recipient_id="acc-village",
                  categories=["consumption"], prms=[PRM_D], granularity="P1D", data_start=MOVE, data_end=end,
                  purpose=PURPOSE, expires_at=NOW + 86400, now=NOW - 10)  # fmt: skip
    op = move["op"]
    month = read_personal(store, op, "d-load", MOVE, end, "P1M", PURPOSE, now=NOW)
    assert int(month.count[0]) == 5 * 48 + 24  # 15–19 April and the morning of the 20th, nothing after
    days = read_personal(store, op, "d-load", MOVE, end, "P1D", PURPOSE, now=NOW)
    assert days.t.tolist()[-1] == ts(2025, 4, 20) and days.values.tolist()[-1] == 3000.0  # the morning only
    assert days.values.tolist()[:-1] == [4000.0] * 5
    with pytest.raises(Exception, match="does not cover this period"):
        read_personal(store, op, "d-load", MOVE, MAY, "P1M", PURPOSE, now=NOW)


def test_whole_periods_still_come_from_the_rollups(store, move) -> None:
    jan = read_personal(store, move["erin"], "d-load", ts(2025, 1, 1), ts(2025, 3, 1), "P1M", PURPOSE, now=NOW)
    assert jan.t.tolist() == [ts(2025, 1, 1), ts(2025, 2, 1)] and jan.values.tolist() == [1000.0, 1000.0]
    assert jan.count.tolist() == [31 * 48, 28 * 48]
