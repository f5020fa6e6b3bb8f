"""The member's dashboard (regie.services.member) on a village of 25 homes (member_world.py): the local
share checked against the public aggregates computed independently, to the Wh; the cost against the tariff
files; the comparison with similar homes only when secrecy lets it out; every personal read logged."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime

import numpy as np
import pytest
from member_world import HIDDEN_DAY, PARIS, World, build

from regie.governance import accounts, audit
from regie.model import Step
from regie.publication.balance import public_balance
from regie.services import member
from regie.store import open_store


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    store = open_store(f"sqlite:///{tmp_path_factory.mktemp('member') / 'bourg.sqlite'}")
    yield build(store)
    store.close()


def _ts(d: date) -> int:
    return int(datetime(d.year, d.month, d.day, tzinfo=PARIS).timestamp())


def test_local_share_over_the_year_equals_consumption_times_public_self_sufficiency(world: World) -> None:
    store = world.store
    alice = accounts.get_account(store, "alice")
    board = member.dashboard(store, alice, store.load_inventory(), "year", date(2025, 6, 1), "base")

    # independently: alice's readings as stored, and the published balance per half-hour (sums of published
    # cells), self-sufficiency = min(production, consumption) / consumption at each step
    a, b = _ts(date(2025, 1, 1)), _ts(date(2026, 1, 1))
    t, w = store.read("c-h01", a, b)
    mine = np.zeros((b - a) // 1800)
    mine[(np.asarray(t) - a) // 1800] = np.asarray(w) * 0.5  # W over half an hour → Wh
    pub = public_balance(store, datetime(2025, 1, 1, tzinfo=PARIS), datetime(2026, 1, 1, tzinfo=PARIS),
                         Step.parse("PT30M"))  # fmt: skip
    cons = np.array([np.nan if x is None else x for x in pub["periods"]["consumption_wh"]], dtype=float)
    prod = np.array([np.nan if x is None else x for x in pub["periods"]["production_total_wh"]], dtype=float)
    known = np.isfinite(cons) & np.isfinite(prod) & (cons > 0)
    expected_local = float(np.sum(mine[known] * np.minimum(prod[known], cons[known]) / cons[known]))

    s = board.local
    assert s is not None
    assert round(s.local_wh) == round(expected_local)  # to the Wh
    assert s.consumption_wh == pytest.approx(mine.sum())
    # the hidden day (five homes reported): consumption there is "unknown", not guessed
    day = (_ts(HIDDEN_DAY) - a) // 1800
    assert not known[day : day + 48].any() and known.sum() == len(known) - 48
    assert s.unknown_wh == pytest.approx(mine[day : day + 48].sum()) and s.unknown_steps == 48
    assert s.share == pytest.approx(expected_local / (mine.sum() - s.unknown_wh))
    assert 0.05 < s.share < 0.2  # the park covers midday only


def test_per_step_self_sufficiency_is_the_public_balances(world: World) -> None:
    """The dashboard reads the published cells directly (fast); step by step it is what /api/balance shows."""
    store = world.store
    inv = store.load_inventory()
    for lo, hi in ((date(2025, 1, 1), date(2026, 1, 1)), (date(2024, 3, 30), date(2024, 4, 2))):
        a, b = _ts(lo), _ts(hi)
        mine = member.public_self_sufficiency(store, inv, a, b, 1800)
        pub = public_balance(store, datetime.fromtimestamp(a, PARIS), datetime.fromtimestamp(b, PARIS),
                             Step.parse("PT30M"))  # fmt: skip
        theirs = np.array([np.nan if x is None else x for x in pub["periods"]["self_sufficiency"]], dtype=float)
        np.testing.assert_array_equal(np.isnan(mine), np.isnan(theirs))
        np.testing.assert_allclose(mine[~np.isnan(mine)], theirs[~np.isnan(theirs)], atol=5e-7)  # 6 decimals
    outside = member.public_self_sufficiency(store, inv, _ts(date(2026, 3, 1)), _ts(date(2026, 3, 2)), 1800)
    assert np.isnan(outside).all()  # after the data: nothing published, nothing guessed


def test_period_bars_and_last_year(world: World) -> None:
    store = world.store
    alice = accounts.get_account(store, "alice")
    inv = store.load_inventory()
    month = member.dashboard(store, alice, inv, "month", date(2025, 3, 17), "base")
    assert (month.first, month.end, month.last_year) == (date(2025, 3, 1), date(2025, 4, 1),
                                                         (date(2024, 3, 1), date(2024, 4, 1)))  # fmt: skip
    assert len(month.bars) == 31 and month.bars[0]["label"] == "2025-03-01"
    # h01 draws 175 W, and 575 W from 18:00 to 22:00 UTC: 5.8 kWh a day, the same every day and every year
    # (the night of 30 March has no 02:00–03:00 local: one hour of 175 W less)
    assert sum(b["wh"] for b in month.bars) == pytest.approx(month.consumption_wh) == pytest.approx(31 * 5800 - 175)
    assert month.last_year_wh == pytest.approx(31 * 5800 - 175)
    day = member.dashboard(store, alice, inv, "day", date(2025, 3, 30), "base")  # spring DST: 23 hours
    assert len(day.bars) == 46 and day.consumption_wh == pytest.approx(46 * 87.5 + 8 * 200)
    year = member.dashboard(store, alice, inv, "year", date(2025, 1, 1), "base")
    assert [b["label"] for b in year.bars] == [f"2025-{m:02d}" for m in range(1, 13)]
    assert year.as_dict()["bars"][1]["last_year_wh"] == pytest.approx(29 * 5800)  # February 2024: 29 days


def test_cost_by_option_from_the_tariff_files(world: World) -> None:
    store = world.store
    alice = accounts.get_account(store, "alice")
    inv = store.load_inventory()
    base = member.dashboard(store, alice, inv, "month", date(2025, 3, 1), "base").cost
    assert base is not None and base.eur == pytest.approx((31 * 5.8 - 0.175) * 0.2016)  # trv_base-2025-02-01.toml
    assert not base.illustrative and "trv_base-2025-02-01.toml" in base.sources[0]
    hphc = member.dashboard(store, alice, inv, "month", date(2025, 9, 1), "hphc").cost
    # off-peak 22:00–06:00 local, i.e. 20:00–04:00 UTC in September (UTC+2): priced step by step
    hours_local = (np.arange(48) * 0.5 + 2) % 24  # local hour of each UTC half-hour
    utc = np.arange(48) * 0.5
    wh = (175 + np.where((utc >= 18) & (utc < 22), 400, 0)) * 0.5
    off = (hours_local >= 22) | (hours_local < 6)
    per_day = float(np.sum(wh[off]) * 0.1635 + np.sum(wh[~off]) * 0.2081) / 1000
    assert hphc is not None and hphc.eur == pytest.approx(30 * per_day)
    tempo = member.dashboard(store, alice, inv, "month", date(2025, 9, 1), "tempo").cost
    assert tempo is not None and tempo.illustrative  # four of its six prices are not confirmed
    january = member.dashboard(store, alice, inv, "month", date(2025, 1, 1), "hphc").cost
    assert january is not None and january.eur is None and january.unpriced_wh == pytest.approx(31 * 5800)
    assert any("not recorded" in m for m in january.missing)  # HP/HC before February 2025 is not in regie


def test_similar_homes_only_when_secrecy_lets_them_out(world: World) -> None:
    store = world.store
    inv = store.load_inventory()
    alice, zoe = accounts.get_account(store, "alice"), accounts.get_account(store, "zoe")
    shown = member.dashboard(store, alice, inv, "month", date(2025, 9, 1), "base").similar
    assert shown is not None and shown.reason is None and shown.homes == 12
    # homes 1..12 draw 150 + 25 i W plus 400 W four hours a day, over 30 days of September
    expected = np.mean([(150 + 25 * i) * 24 * 30 + 400 * 4 * 30 for i in range(1, 13)])
    assert shown.mean_wh == pytest.approx(expected)
    hidden = member.dashboard(store, zoe, inv, "month", date(2025, 9, 1), "base").similar
    assert hidden is not None and hidden.reason == "fewer_than_10" and hidden.mean_wh is None
    year = member.dashboard(store, alice, inv, "year", date(2025, 1, 1), "base").similar
    assert year is not None and year.reason is None  # per month: March passes, a day of five homes inside it
    # a week or a day is not compared (no differencing between overlapping short periods)
    assert member.dashboard(store, alice, inv, "week", date(2025, 9, 1), "base").similar is None


def test_every_read_of_the_members_data_is_logged_as_the_member(world: World) -> None:
    store = world.store
    alice = accounts.get_account(store, "alice")
    before = len([a for a in audit.accesses_to(store, "h01") if a.caller == "alice"])
    member.dashboard(store, alice, store.load_inventory(), "week", date(2025, 5, 5), "base")
    mine = [a for a in audit.accesses_to(store, "h01") if a.caller == "alice"]
    assert len(mine) - before == 2  # this week and the same week last year
    assert {a.purpose for a in mine} == {"dpv:ServiceProvision"} and {a.decision for a in mine} == {"allowed"}


def test_bad_requests_say_what_is_wrong(world: World) -> None:
    alice = accounts.get_account(world.store, "alice")
    with pytest.raises(ValueError, match="period: 'decade'"):
        member.dashboard(world.store, alice, world.store.load_inventory(), "decade", None, "base")
    with pytest.raises(ValueError, match="tariff option: 'ejp'"):
        member.dashboard(world.store, alice, world.store.load_inventory(), "month", None, "ejp")
    with pytest.raises(ValueError, match="not YYYY-MM"):
        member.month_bounds("2025-13")
