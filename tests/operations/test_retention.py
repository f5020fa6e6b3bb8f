"""The retention rule (a pure function): the newest backup of each of the last N days, weeks, months."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from regie.operations.retention import Policy, to_keep


def _daily_for(days: int, start: datetime = datetime(2025, 1, 1, 3, tzinfo=UTC)) -> list[datetime]:
    return [start + timedelta(days=i) for i in range(days)]


def test_a_year_of_nightly_backups_keeps_7_daily_4_weekly_12_monthly() -> None:
    nightly = _daily_for(400)
    kept = to_keep(nightly, Policy(daily=7, weekly=4, monthly=12))
    newest = nightly[-1]  # 2026-02-04 (a Wednesday)
    daily = set(nightly[-7:])
    # weekly: the newest of each ISO week, the current week counting as the first
    weekly = {newest, datetime(2026, 2, 1, 3, tzinfo=UTC), datetime(2026, 1, 25, 3, tzinfo=UTC),
              datetime(2026, 1, 18, 3, tzinfo=UTC)}  # fmt: skip
    # monthly: the last day of each of the last 12 months, the current month's newest first
    monthly = {newest} | {
        datetime(y, m, d, 3, tzinfo=UTC)
        for y, m, d in [(2026, 1, 31), (2025, 12, 31), (2025, 11, 30), (2025, 10, 31), (2025, 9, 30),
                        (2025, 8, 31), (2025, 7, 31), (2025, 6, 30), (2025, 5, 31), (2025, 4, 30), (2025, 3, 31)]
    }  # fmt: skip
    assert kept == daily | weekly | monthly
    assert len(kept) == 7 + 2 + 10  # 2 of the weekly and 1 of the monthly are also daily ones


def test_several_backups_a_day_keep_the_newest_of_the_day() -> None:
    day = datetime(2026, 3, 10, tzinfo=UTC)
    runs = [day + timedelta(hours=h) for h in (1, 7, 13, 19)] + [day - timedelta(hours=5)]
    assert to_keep(runs, Policy(daily=2)) == {day + timedelta(hours=19), day - timedelta(hours=5)}


def test_the_newest_backup_is_kept_by_any_policy() -> None:
    runs = _daily_for(3)
    assert to_keep(runs, Policy()) == {runs[-1]}
    assert to_keep([], Policy(daily=7)) == set()


def test_fewer_backups_than_the_policy_asks_keeps_them_all() -> None:
    runs = _daily_for(5)
    assert to_keep(runs, Policy(daily=7, weekly=4, monthly=12)) == set(runs)


@pytest.mark.parametrize(
    ("text", "policy"),
    [
        ("daily=7,weekly=4,monthly=12", Policy(7, 4, 12)),
        ("monthly=3", Policy(monthly=3)),
        (" weekly=2 , ", Policy(weekly=2)),
    ],
)
def test_policy_parses(text: str, policy: Policy) -> None:
    assert Policy.parse(text) == policy


@pytest.mark.parametrize("text", ["", "daily", "daily=-1", "hourly=3", "daily=seven"])
def test_bad_policies_say_what_is_expected(text: str) -> None:
    with pytest.raises(ValueError, match="daily=7,weekly=4,monthly=12"):
        Policy.parse(text)
