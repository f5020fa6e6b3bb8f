"""ACC operations: participants, dates, and the perimeter criteria of the arrêté du 21 novembre 2019."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from regie.model import (
    Density,
    GridZone,
    Operation,
    Participant,
    Role,
    Step,
    activity_mask,
    check_perimeter,
    perimeter_problems,
)
from regie.model.operation import haversine_m, largest_distance

PARIS = ZoneInfo("Europe/Paris")
D0 = date(2025, 1, 1)
# Prats-de-Mollo-la-Preste church, roughly; offsets in degrees of latitude (1° ≈ 111.2 km)
LAT, LON = 42.4046, 2.4797


def prm(i: int) -> str:
    return f"3000000000{i:04d}"


def consumer(i: int, north_km: float = 0.0, density: Density | None = Density.RURAL, **kw) -> Participant:
    return Participant(prm(i), Role.CONSUMER, kw.pop("entry", D0), latitude=LAT + north_km / 111.195,
                       longitude=LON, density=density, **kw)


def producer(i: int, peak_w: float, north_km: float = 0.0, density: Density | None = Density.RURAL) -> Participant:
    return Participant(prm(i), Role.PRODUCER, D0, peak_power_w=peak_w, latitude=LAT + north_km / 111.195,
                       longitude=LON, density=density)


def op(*people: Participant, **kw) -> Operation:
    return Operation("acc-prats", "ACC Prats", "coop-prats", tuple(people), **kw)


def test_haversine_on_known_distances() -> None:
    # one degree of latitude on the mean sphere; Paris (Notre-Dame) to Marseille (Vieux-Port) ≈ 661 km
    assert haversine_m(0, 0, 1, 0) == pytest.approx(111_195, rel=1e-4)
    assert haversine_m(48.8530, 2.3499, 43.2951, 5.3745) == pytest.approx(661_000, rel=0.01)
    assert haversine_m(LAT, LON, LAT, LON) == 0


def test_largest_distance_names_the_two_farthest() -> None:
    people = [consumer(1, 0), consumer(2, 0.5), consumer(3, -1.2)]
    d, a, b = largest_distance(people)
    assert d == pytest.approx(1700, rel=1e-3)
    assert {a.prm, b.prm} == {prm(2), prm(3)}


def test_within_two_km_and_under_five_mw_passes() -> None:
    check_perimeter(op(producer(1, 250_000), consumer(2, 0.9), consumer(3, -1.0)))


def test_too_far_says_how_far_and_who_without_full_prms() -> None:
    operation = op(producer(1, 250_000), consumer(2, 1.5), consumer(3, -1.5), derogation=False)
    with pytest.raises(ValueError, match=r"3\.00 km apart, more than the 2 km") as err:
        check_perimeter(operation)
    assert prm(2) not in str(err.value) and "0002" in str(err.value)
    assert "derogation may allow" in str(err.value)


@pytest.mark.parametrize(
    ("densities", "span_km", "ok"),
    [
        ((Density.RURAL, Density.RURAL), 19.0, True),  # all rural: 20 km
        ((Density.RURAL, Density.RURAL), 21.0, False),
        ((Density.RURAL, Density.PERIURBAN), 9.5, True),  # rural or periurban: 10 km
        ((Density.RURAL, Density.PERIURBAN), 12.0, False),
        ((Density.RURAL, Density.URBAN), 3.0, False),  # one urban commune: back to 2 km
        ((Density.RURAL, None), 3.0, False),  # unknown density: no derogation assumed
    ],
)
def test_derogation_distances(densities, span_km: float, ok: bool) -> None:
    operation = op(producer(1, 250_000, 0, densities[0]), consumer(2, span_km, densities[1]), derogation=True)
    assert (perimeter_problems(operation) == []) is ok


def test_peak_power_limits_by_date_and_zone() -> None:
    big = op(producer(1, 2_000_000), producer(2, 1_500_000), consumer(3))
    assert perimeter_problems(big) == []  # 3.5 MW < 5 MW today
    assert any("below 3 MW" in p for p in perimeter_problems(big, on=date(2025, 3, 5)))  # before the arrêté
    assert perimeter_problems(big, on=date(2025, 3, 6)) == []
    too_big = op(producer(1, 5_000_000), consumer(3))
    assert any("below 5 MW in mainland France" in p for p in perimeter_problems(too_big))
    island = op(producer(1, 600_000), consumer(3), zone=GridZone.ZNI)
    assert any("0.5 MW in a non-interconnected zone" in p for p in perimeter_problems(island))


def test_missing_positions_and_roles_are_reported() -> None:
    operation = op(Participant(prm(1), Role.PRODUCER, D0, peak_power_w=9000))
    problems = perimeter_problems(operation)
    assert any("no consumer" in p for p in problems)
    assert any("no position for **********0001" in p for p in problems)


def test_perimeter_on_a_day_counts_only_who_is_in() -> None:
    far = consumer(3, 5.0, entry=date(2025, 9, 1))
    operation = op(producer(1, 100_000), consumer(2), far)
    assert perimeter_problems(operation, on=date(2025, 8, 31)) == []
    assert perimeter_problems(operation, on=date(2025, 9, 1)) != []


def test_participant_validation_messages() -> None:
    with pytest.raises(ValueError, match=r"exit .* must be after entry"):
        Participant(prm(1), Role.CONSUMER, D0, exit=D0)
    with pytest.raises(ValueError, match="peak power"):
        Participant(prm(1), Role.PRODUCER, D0)
    with pytest.raises(ValueError, match="only producers"):
        Participant(prm(1), Role.CONSUMER, D0, peak_power_w=3000)
    with pytest.raises(ValueError, match="priority levels start at 1"):
        Participant(prm(1), Role.CONSUMER, D0, priority=0)
    with pytest.raises(ValueError, match="weight"):
        Participant(prm(1), Role.CONSUMER, D0, weight=0)
    with pytest.raises(ValueError, match="14 digits"):
        Participant("123", Role.CONSUMER, D0)
    with pytest.raises(ValueError, match="both latitude and longitude"):
        Participant(prm(1), Role.CONSUMER, D0, latitude=42.0)


def test_operation_validation() -> None:
    with pytest.raises(ValueError, match="appears twice"):
        op(consumer(1), consumer(1))
    # the same PRM may inject and withdraw (a Linky meter counts both ways)
    both = op(producer(1, 9000), consumer(1))
    assert len(both.producers) == 1 and len(both.consumers) == 1
    with pytest.raises(ValueError, match="must divide a day"):
        op(consumer(1), step=Step.parse("P1D"))
    assert op(consumer(1)).step.iso == "PT30M"
    assert op(consumer(1), step=Step.parse("PT15M")).step.seconds == 900


def test_active_participants_per_day_and_priority_arrays() -> None:
    people = (producer(1, 100_000), consumer(2, priority=2, weight=3.0),
              consumer(3, entry=date(2025, 6, 15), exit=date(2025, 7, 1)))
    operation = op(*people)
    assert [p.prm for p in operation.active_on(date(2025, 6, 14), Role.CONSUMER)] == [prm(2)]
    assert len(operation.active_on(date(2025, 6, 15))) == 3
    assert len(operation.active_on(date(2025, 7, 1))) == 2  # exit day excluded
    assert operation.consumer_levels().tolist() == [2, 1]
    assert operation.consumer_weights().tolist() == [3.0, 1.0]
    assert operation.peak_power_w == 100_000


def test_activity_mask_follows_local_days_across_dst() -> None:
    # entry on the day clocks go back: local midnight is 22:00 UTC the day before
    p = Participant(prm(1), Role.CONSUMER, date(2025, 10, 26), exit=date(2025, 10, 27))
    t0 = int(datetime(2025, 10, 25, 21, 0, tzinfo=ZoneInfo("UTC")).timestamp())
    t = t0 + 1800 * np.arange(60)
    mask = activity_mask([p], t, PARIS)[:, 0]
    assert not mask[:2].any()  # 21:00 and 21:30 UTC are still 25 October locally
    assert mask[2:52].all() and mask.sum() == 50  # the 25-hour day: 50 half-hours
    assert not mask[52:].any()
