"""Mixed steps, exactly (issue 17, part 1): a load curve whose step changes keeps the file's energy per day.

The file is generated with the shape of the real Enedis R63 export the issue describes: two years of one
household at ``PT30M``, about ten days of ``PT60M`` in July 2024, and a stretch of ``PT60M`` across the
October 2024 DST change (a 25-hour day). The expected energy of each local day is computed here from the
rows themselves (Σ Valeur × Pas), independently of regie, then compared to the Wh with what regie gives
through the store's day rollup, the member page's formula and ``/api/me/data`` at P1D.
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st

from regie.governance import accounts, rights
from regie.governance.accounts import Role
from regie.governance.gate import read_personal
from regie.ingest import apikeys
from regie.ingest.importer import Importer, prm_series_id
from regie.model import (
    DeliveryPoint,
    Inventory,
    Membership,
    Person,
    Readings,
    Series,
    SeriesKind,
    Site,
    Step,
    Territory,
)
from regie.store import Store, open_store
from regie.store.timeseries import onto_steps
from regie.web import account_pages
from regie.web.app import create_app
from regie.web.emoncms import feed_data

PARIS = ZoneInfo("Europe/Paris")
PRM = "30001234567890"
HEADER = (
    "Identifiant PRM;Date de début;Date de fin;Grandeur physique;Grandeur métier;Etape métier;Unité;Horodate;"
    "Valeur;Nature;Pas;Indice de vraisemblance;Etat complémentaire\n"
)
FIRST, LAST = date(2023, 9, 1), date(2025, 9, 1)  # two years, [FIRST, LAST)
#: Local [start, end) of the hourly stretches: ten days of July 2024, and three days across the autumn DST change.
HOURLY = [
    (datetime(2024, 7, 12, tzinfo=PARIS), datetime(2024, 7, 22, tzinfo=PARIS)),
    (datetime(2024, 10, 26, 6, tzinfo=PARIS), datetime(2024, 10, 28, 18, tzinfo=PARIS)),
]


def _utc(d: date) -> int:
    return int(datetime(d.year, d.month, d.day, tzinfo=PARIS).timestamp())


def r63_rows() -> list[tuple[int, int, int]]:
    """(UTC start [s], step [s], value [W]) of every row, in file order."""
    hourly = [(int(a.timestamp()), int(b.timestamp())) for a, b in HOURLY]
    rng = np.random.default_rng(17)
    rows, t, end = [], _utc(FIRST), _utc(LAST)
    while t < end:
        step = 3600 if any(a <= t < b for a, b in hourly) else 1800
        rows.append((t, step, int(rng.integers(150, 4500))))
        t += step
    return rows


def r63_text() -> str:
    """The R63 file: one row per value, stamped at the *end* of its interval, ISO 8601 with the local offset."""
    out = [HEADER]
    for t, step, w in r63_rows():
        end = datetime.fromtimestamp(t + step, UTC).astimezone(PARIS)
        day = end.date() - timedelta(days=1) if end.time() == datetime.min.time() else end.date()
        out.append(f"{PRM};{day};{day + timedelta(days=1)};PA;CONS;BRUT;W;{end.isoformat()};{w};R;"
                   f"PT{step // 60}M;0;0\n")  # fmt: skip
    return "".join(out)


def expected_wh() -> dict[date, float]:
    """Energy per local day [Wh] straight from the rows: Σ W × Pas / 3600 over the values starting that day."""
    days: dict[date, float] = defaultdict(float)
    for t, step, w in r63_rows():
        days[datetime.fromtimestamp(t, PARIS).date()] += w * step / 3600
    return dict(days)


def _empty(url: str) -> Store:
    s = open_store(url)
    s.save_inventory(
        Inventory(
            Territory("prats", "Prats"),
            sites=[Site("house", "House", "prats")],
            delivery_points=[DeliveryPoint(PRM, "house")],
            persons=[Person("anna", "Anna")],
            memberships=[Membership("anna", PRM, date(2020, 1, 1))],
        )
    )
    return s


def _import(s: Store, folder) -> None:
    path = folder / "r63.csv"
    path.write_bytes(r63_text().encode("cp1252"))  # what the SGE export and Excel write
    Importer(s).import_path("enedis-r63", path)


@pytest.fixture
def store(store_url: str, tmp_path):
    s = _empty(store_url)
    _import(s, tmp_path)
    yield s
    s.close()


def test_the_generated_file_has_the_real_ones_shape() -> None:
    rows = r63_rows()
    steps = [s for _, s, _ in rows]
    assert 34_000 < len(rows) < 35_500 and 240 < steps.count(3600) < 320
    days = expected_wh()
    assert len(days) == 731  # 2023-09-01 .. 2025-08-31
    assert datetime(2024, 10, 27, tzinfo=PARIS).date() in days


def test_every_day_keeps_the_files_energy_through_the_store_the_member_page_and_the_api(store: Store) -> None:
    sid = prm_series_id(PRM, SeriesKind.CONSUMPTION, daily=False)
    s = store.series(sid)
    assert s.step == Step.parse("PT30M") and s.unit == "W"
    want = expected_wh()
    days = sorted(want)
    a, b = _utc(days[0]), _utc(days[-1] + timedelta(days=1))

    # the store's day rollup: mean power × the time its points cover
    r = store.read_rollup(sid, "day", a, b)
    by_store = {datetime.fromtimestamp(int(t), PARIS).date(): float(m * n * 1800 / 3600)
                for t, m, n in zip(r.t, r.mean, r.count, strict=True)}  # fmt: skip
    assert len(by_store) == len(want)
    off = {d: (round(by_store[d]), round(want[d])) for d in days if round(by_store[d]) != round(want[d])}
    assert off == {}
    assert by_store[date(2024, 7, 19)] == pytest.approx(want[date(2024, 7, 19)], abs=0.01)
    assert r.count[days.index(date(2024, 10, 27))] == 50  # a 25-hour day of half-hours, hourly rows split

    # the member page: the gate's P1D values through the page's own formula
    accounts.create_account(store, "anna", "a long enough password", Role.MEMBER, holder_id="anna")
    anna = accounts.get_account(store, "anna")
    d = read_personal(store, anna, sid, a, b, "P1D", account_pages.OWN_PURPOSE)
    view = account_pages.to_view(d, s, PARIS)
    page = {date.fromisoformat(row["label"]): row["value"] for row in view.rows}
    assert view.unit == "Wh" and len(page) == min(len(want), account_pages.MAX_BARS)
    assert {k: round(v) for k, v in page.items()} == {k: round(want[k]) for k in page}

    # /api/me/data at P1D: the day's mean power and its points, energy-consistent with the file
    _, key = apikeys.create_key(store, "anna's script", ["read"], owner_id="anna")
    client = TestClient(create_app(store))
    got = client.get("/api/me/data", params={"series": sid, "start": days[0].isoformat(),
                                             "end": (days[-1] + timedelta(days=1)).isoformat(),
                                             "granularity": "P1D"},
                     headers={"Authorization": f"Bearer {key}"})  # fmt: skip
    assert got.status_code == 200, got.text
    body = got.json()
    api = {datetime.fromisoformat(t).astimezone(PARIS).date(): v * n * s.step.seconds / 3600
           for t, v, n in zip(body["start"], body["value"], body["count"], strict=True)}  # fmt: skip
    assert {k: round(v) for k, v in api.items()} == {k: round(w) for k, w in want.items()}


def test_the_emoncms_daily_feed_and_the_members_export_keep_the_files_energy(store: Store) -> None:
    sid = prm_series_id(PRM, SeriesKind.CONSUMPTION, daily=False)
    want = expected_wh()
    days = sorted(want)
    a, b = _utc(days[0]), _utc(days[-1] + timedelta(days=1))
    hours = {d: (_utc(d + timedelta(days=1)) - _utc(d)) / 3600 for d in days}  # 23, 24 or 25
    assert sorted(set(hours.values())) == [23, 24, 25]

    # /feed/data.json?interval=daily&average=1, both ways it computes: from raw points (a personal feed,
    # read through the gate) and from the stored rollups (an open feed). Every day of the file is whole.
    opts = {"start": a, "end": b, "interval": "daily", "average": True, "skipmissing": True,
            "limitinterval": True, "timeformat": "unix", "zone": PARIS}  # fmt: skip
    for rollup in (None, lambda level, x, y: store.read_rollup(sid, level, x, y)):
        rows = feed_data(lambda x, y: store.read(sid, x, y), rollup, **opts)
        feed = {datetime.fromtimestamp(t, PARIS).date(): w * hours[datetime.fromtimestamp(t, PARIS).date()]
                for t, w in rows}  # fmt: skip
        assert {k: round(v) for k, v in feed.items()} == {k: round(w) for k, w in want.items()}

    # the member's own export (GDPR art. 20): the points as CSV, the step in the profile
    accounts.create_account(store, "anna", "a long enough password", Role.MEMBER, holder_id="anna")
    blob = rights.export_member(store, accounts.get_account(store, "anna"), "anna")
    with zipfile.ZipFile(io.BytesIO(blob)) as zf:
        (name,) = [n for n in zf.namelist() if n.startswith(f"series/{sid}")]
        profile = json.loads(zf.read(next(n for n in zf.namelist() if n.endswith(".jsonld") and "profile" in n)))
        text = zf.read(name).decode()
    step = Step.parse(next(x["regie:step"] for x in profile["regie:series"] if x["regie:file"] == name)).seconds
    exported: dict[date, float] = defaultdict(float)
    for row in list(csv.DictReader(io.StringIO(text))):
        day = datetime.fromisoformat(row["start_utc"].replace("Z", "+00:00")).astimezone(PARIS).date()
        exported[day] += float(row["value"]) * step / 3600
    assert {k: round(v) for k, v in exported.items() if k in want} == {k: round(w) for k, w in want.items()}


def test_a_store_written_before_keeps_its_numbers_and_a_reimport_repairs_the_hourly_days(tmp_path) -> None:
    """What the store held before this change (each 60-minute value as one point at its start) stays as it is:
    nothing is migrated. Importing the file again writes the second half-hour of each hour: the day is right."""
    s = _empty(f"sqlite:///{tmp_path / 'before.sqlite'}")
    sid = prm_series_id(PRM, SeriesKind.CONSUMPTION, daily=False)
    with s.transaction() as tx:
        tx.add_series("prats", [Series(sid, SeriesKind.CONSUMPTION, "W", Step.parse("PT30M"), prm=PRM)])
    rows = np.array(r63_rows(), dtype=np.int64)
    s.write([Readings(sid, rows[:, 0], rows[:, 2].astype(float))])  # the old import: one point per row
    day = date(2024, 7, 19)
    a, b = _utc(day), _utc(day + timedelta(days=1))
    r = s.read_rollup(sid, "day", a, b)
    assert r.count.tolist() == [24]  # the old (half) figure, untouched
    assert float(r.sum[0]) / 2 == pytest.approx(expected_wh()[day] / 2, abs=0.01)
    _import(s, tmp_path)
    r = s.read_rollup(sid, "day", a, b)
    assert r.count.tolist() == [48] and float(r.sum[0]) / 2 == pytest.approx(expected_wh()[day], abs=0.01)
    s.close()


# ---------------------------------------------------------------------------------------- onto_steps, unit level


def test_a_longer_mean_power_is_split_keeping_its_value_and_energy_is_divided() -> None:
    t = np.array([0, 3600, 5400], np.int64)
    d = np.array([3600, 1800, 1800], np.int64)
    tt, vv = onto_steps(t, np.array([500.0, 7.0, 9.0]), d, 1800, "power", 1.0)
    assert tt.tolist() == [0, 1800, 3600, 5400] and vv.tolist() == [500, 500, 7, 9]
    tt, vv = onto_steps(t, np.array([301.0, 7.0, 9.0]), d, 1800, "energy", 1.0)
    assert tt.tolist() == [0, 1800, 3600, 5400] and vv.sum() == 317 and sorted(vv[:2].tolist()) == [150, 151]


def test_finer_values_are_merged_into_the_series_steps_energy_first() -> None:
    t = np.arange(0, 3600, 600, dtype=np.int64)  # six 10-minute values: two whole half-hours
    w = np.array([600.0, 600.0, 601.0, 900.0, 900.0, 900.0])
    tt, vv = onto_steps(t, w, np.full(6, 600), 1800, "power", 1.0)
    assert tt.tolist() == [0, 1800]
    assert vv.sum() * 1800 == pytest.approx(w.sum() * 600, abs=1800)  # energy kept to a quantum × step
    assert vv[1] == 900
    # a half-hour only one 10-minute value covers holds the energy measured, nothing invented for the rest
    tt, vv = onto_steps(np.array([0], np.int64), np.array([900.0]), np.array([600]), 1800, "power", 1.0)
    assert vv.tolist() == [300]
    # a temperature averages what covers the step
    tt, vv = onto_steps(np.array([0], np.int64), np.array([12.5]), np.array([600]), 1800, "mean", 0.1)
    assert vv.tolist() == [12.5]


def test_values_of_the_series_own_step_are_left_as_they_are() -> None:
    t = np.array([0, 900, 7200], np.int64)  # even an instant off the grid
    v = np.array([1.0, 2.0, 3.0])
    tt, vv = onto_steps(t, v, np.full(3, 1800), 1800, "power", 1.0)
    assert tt is t and vv is v


def test_a_duration_that_is_not_positive_is_refused() -> None:
    from regie.store import StoreError

    with pytest.raises(StoreError, match="duration"):
        onto_steps(np.array([0], np.int64), np.array([1.0]), np.array([0]), 1800, "power", 1.0)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(st.sampled_from([300, 600, 900, 1800, 3600, 7200]), st.integers(0, 20_000)), min_size=1,
             max_size=60),
    st.sampled_from([600, 900, 1800, 3600]),
    st.sampled_from(["power", "energy"]),
)  # fmt: skip
def test_any_mix_of_durations_keeps_the_total_energy_to_one_quantum(rows, step, spread) -> None:
    d = np.array([x for x, _ in rows], np.int64)
    v = np.array([float(w) for _, w in rows])
    t = 1_700_000_000 - 1_700_000_000 % 7200 + np.concatenate([[0], np.cumsum(d)[:-1]])  # one after the other
    tt, vv = onto_steps(t, v, d, step, spread, 1.0)
    assert np.all(tt % step == 0) or np.all(d == step)  # a mixed batch lies on the series' grid
    assert len(set(tt.tolist())) == len(tt)  # one value per step
    assert np.all(vv == np.rint(vv))  # whole quanta: what the store keeps
    stored = vv.sum() * step if spread == "power" else vv.sum()
    source = (v * d).sum() if spread == "power" else v.sum()
    assert abs(stored - source) <= 0.5 * (step if spread == "power" else 1) + 1e-6
    if spread == "power" and np.all(d % step == 0):  # only longer values: each step holds its value's mean
        assert sorted(set(vv.tolist())) == sorted(set(v.tolist()))
