"""Enedis files whose step changes, read and imported to the Wh (issue 17): the portal CSV (step inferred per
point from the stamps) and Data Connect (``interval_length`` per reading), across the autumn DST change.

The expected energy of each local day is computed here from the rows (Σ W × step), independently of regie.
"""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from regie.ingest.importer import Importer, prm_series_id
from regie.ingest.sources import infer_steps
from regie.model import DeliveryPoint, Inventory, SeriesKind, Site, Territory
from regie.store import open_store

PARIS = ZoneInfo("Europe/Paris")
PRM = "30001234567890"
#: (step [min], how many) from 2024-10-26 00:00 local: half-hours, hours across the DST night, half-hours
#: again, ten-minute values, half-hours to the end of 28 October.
PLAN = [(30, 40), (60, 30), (30, 20), (10, 30), (30, 16)]


def rows() -> list[tuple[int, int, int]]:
    """(UTC start [s], step [s], W) in order."""
    t = int(datetime(2024, 10, 26, tzinfo=PARIS).timestamp())
    out, k = [], 0
    for minutes, n in PLAN:
        for _ in range(n):
            out.append((t, minutes * 60, 200 + (37 * k) % 900))
            t += minutes * 60
            k += 1
    return out


def expected() -> dict[date, float]:
    days: dict[date, float] = defaultdict(float)
    for t, step, w in rows():
        days[datetime.fromtimestamp(t, PARIS).date()] += w * step / 3600
    return dict(days)


def _end(t: int, step: int) -> datetime:
    return datetime.fromtimestamp(t + step, UTC).astimezone(PARIS)


def portal_text() -> str:
    head = ("Identifiant PRM;Type de donnees;Date de debut;Date de fin;Grandeur physique;Grandeur metier;"
            f"Etape metier;Unite\n{PRM};Courbe de charge;2024-10-26;2024-10-29;Energie active;Consommation;"
            "Comptage Brut;W\nHorodate;Valeur\n")  # fmt: skip
    return head + "".join(f"{_end(t, s).isoformat()};{w}\n" for t, s, w in rows())


def dataconnect_doc() -> dict:
    readings = [{"value": str(w), "date": _end(t, s).strftime("%Y-%m-%d %H:%M:%S"), "interval_length": f"PT{s // 60}M",
                 "measure_type": "B"} for t, s, w in rows()]  # fmt: skip
    return {"meter_reading": {"usage_point_id": PRM, "start": "2024-10-26", "end": "2024-10-29",
                              "reading_type": {"measurement_kind": "power", "unit": "W", "aggregate": "average"},
                              "interval_reading": readings}}  # fmt: skip


@pytest.fixture
def store(store_url: str):
    s = open_store(store_url)
    s.save_inventory(Inventory(Territory("t", "T"), sites=[Site("h", "H", "t")],
                               delivery_points=[DeliveryPoint(PRM, "h")]))  # fmt: skip
    yield s
    s.close()


def _days(store) -> dict[date, float]:
    sid = prm_series_id(PRM, SeriesKind.CONSUMPTION, daily=False)
    step = store.series(sid).step.seconds
    a, b = int(datetime(2024, 10, 26, tzinfo=PARIS).timestamp()), int(datetime(2024, 10, 29, tzinfo=PARIS).timestamp())
    r = store.read_rollup(sid, "day", a, b)
    days = [datetime.fromtimestamp(int(t), PARIS).date() for t in r.t]
    return {d: float(s) * step / 3600 for d, s in zip(days, r.sum, strict=True)}


def test_the_generated_days_mix_steps_and_one_has_25_hours() -> None:
    assert sorted(expected()) == [date(2024, 10, 26), date(2024, 10, 27), date(2024, 10, 28)]
    assert rows()[-1][0] + 1800 == int(datetime(2024, 10, 29, tzinfo=PARIS).timestamp())


@pytest.mark.parametrize("fmt", ["enedis-portal", "enedis-dataconnect"])
def test_each_day_keeps_the_files_energy_to_the_wh(store, tmp_path, fmt: str) -> None:
    path = tmp_path / ("curve.csv" if fmt == "enedis-portal" else "curve.json")
    path.write_text(portal_text() if fmt == "enedis-portal" else json.dumps(dataconnect_doc()), encoding="utf-8")
    Importer(store).import_path(fmt, path)
    got, want = _days(store), expected()
    assert {d: round(v, 3) for d, v in got.items()} == {d: round(v, 3) for d, v in want.items()}


def test_the_step_of_each_portal_value_is_the_time_since_the_previous_stamp_in_a_steady_run() -> None:
    m = 60
    ends = np.cumsum([30 * m] * 4 + [60 * m] * 3 + [30 * m] * 3)
    assert (infer_steps(ends) // m).tolist() == [30] * 4 + [60] * 3 + [30] * 3  # the last hour is an hour
    one_missing = np.array([30, 60, 90, 150, 180, 210]) * m  # a half-hour without a value is a gap
    assert (infer_steps(one_missing) // m).tolist() == [30] * 6
    ends = np.cumsum([10 * m] * 3 + [30 * m] * 3)
    assert (infer_steps(ends) // m).tolist() == [10] * 3 + [30] * 3
    assert (infer_steps(np.array([0, 7 * m, 14 * m])) // m).tolist() == [30] * 3  # not a Linky step: the default
    assert infer_steps(np.array([0])).tolist() == [1800]
    assert timedelta(seconds=int(infer_steps(np.array([0, 900]))[0])) == timedelta(minutes=15)
