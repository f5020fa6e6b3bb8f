"""Enedis readers on sample files: portal CSV, R63 CSV, Data Connect JSON — DST days, steps, units, errors."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from regie.ingest import IngestError, get_adapter
from regie.ingest.enedis import parse_dataconnect, parse_portal, parse_r63, read_dataconnect, read_portal, read_r63
from regie.model import IntervalConvention, SeriesKind, Step

DATA = Path(__file__).parents[1] / "data"
PRM_A, PRM_B, PRM_X = "30001234567890", "30009876543210", "30005555555555"


def utc(text: str) -> int:
    return int(pd.Timestamp(text).tz_convert("UTC").timestamp())


def by_prm(batches) -> dict:
    out: dict = {}
    for b in batches:
        t, v = out.get(b.series_id, (np.zeros(0, np.int64), np.zeros(0)))
        out[b.series_id] = (np.concatenate([t, b.t]), np.concatenate([v, b.values]))
    return out


def test_adapters_are_registered():
    for name in ("enedis-portal", "enedis-r63", "enedis-dataconnect"):
        assert get_adapter(name).name == name


def test_portal_spring_day_46_half_hours():
    (b,) = read_portal(DATA / "enedis_portal_dst_spring.csv")  # UTF-8 with BOM, CRLF
    assert b.series_id == b.prm == PRM_A and b.kind is SeriesKind.CONSUMPTION
    assert b.unit == "W" and b.step == Step.parse("PT30M") and b.convention is IntervalConvention.END
    assert len(b) == 46 and np.all(b.steps == 1800)
    assert b.t[0] == utc("2024-03-31T00:00:00+01:00") and b.t[-1] == utc("2024-03-31T23:30:00+02:00")
    assert np.all(np.diff(b.t) == 1800)


def test_portal_autumn_day_50_half_hours():
    (b,) = read_portal(DATA / "enedis_portal_dst_autumn.csv")
    assert len(b) == 50 and np.all(np.diff(b.t) == 1800)
    assert b.t[-1] == utc("2024-10-27T23:30:00+01:00")


def test_portal_gaps_infer_the_step_around_a_missing_row():
    (b,) = read_portal(DATA / "enedis_portal_gaps.csv")
    assert len(b) == 47 and np.isnan(b.values).sum() == 3
    assert np.all(b.steps == 1800)  # the row after the missing one still covers 30 minutes


def test_portal_step_change_is_inferred_per_point():
    """A meter switched from 10 to 30 minutes at noon: each stamp minus its own step."""
    stamps = pd.date_range("2024-01-15 00:10", "2024-01-15 12:00", freq="10min", tz="Europe/Paris").append(
        pd.date_range("2024-01-15 12:30", "2024-01-16 00:00", freq="30min", tz="Europe/Paris")
    )
    text = (DATA / "enedis_portal_dst_spring.csv").read_text(encoding="utf-8-sig").split("Horodate;Valeur")[0]
    text += "Horodate;Valeur\n" + "".join(f"{x.isoformat()};1000\n" for x in stamps)
    (b,) = parse_portal(text.encode(), "switch.csv")
    assert b.steps[:72].tolist() == [600] * 72 and b.steps[72:].tolist() == [1800] * 24
    assert b.t[72] == utc("2024-01-15T12:00:00+01:00") and b.step == Step.parse("PT10M")


def test_r63_autumn_local_times_disambiguated_by_order():
    batches = list(read_r63(DATA / "enedis_r63_dst_autumn_local.csv"))
    got = by_prm(batches)
    assert set(got) == {PRM_A, PRM_B, PRM_X}
    for t, _ in got.values():
        assert len(t) == 50 and np.all(np.diff(t) == 1800)
        assert t[0] == utc("2024-10-27T00:00:00+02:00")
    kinds = {b.series_id: b.kind for b in batches}
    assert kinds[PRM_B] is SeriesKind.PRODUCTION and kinds[PRM_A] is SeriesKind.CONSUMPTION


def test_r63_chunks_keep_the_repeated_hour_straight_across_chunk_edges():
    whole = by_prm(read_r63(DATA / "enedis_r63_dst_autumn_local.csv"))
    for rows in (3, 4, 7):
        chunked = by_prm(read_r63(DATA / "enedis_r63_dst_autumn_local.csv", chunk_rows=rows))
        for prm, (t, v) in whole.items():
            assert np.array_equal(chunked[prm][0], t) and np.array_equal(chunked[prm][1], v)


def test_r63_spring_day_and_a_time_in_the_gap():
    (b,) = read_r63(DATA / "enedis_r63_dst_spring_local.csv")
    assert len(b) == 46 and np.all(np.diff(b.t) == 1800)
    text = (DATA / "enedis_r63_dst_spring_local.csv").read_text().replace("2024-03-31 03:00:00", "2024-03-31 02:30:00")
    with pytest.raises(IngestError, match="does not exist") as err:
        list(parse_r63(text.encode(), "gap.csv"))
    assert err.value.line == 5 and err.value.field == "Horodate"  # 03:00 is the first stamp after the jump


def test_r63_step_change_kw_decimal_comma_and_windows_1252():
    got = {b.series_id: b for b in read_r63(DATA / "enedis_r63_step_change.csv")}
    a = got[PRM_A]
    assert a.unit == "W" and a.step == Step.parse("PT10M")  # the dominant step of the file
    assert sorted(set(a.steps.tolist())) == [600, 1800]
    assert a.values[0] == 600 and a.values[-1] == 1500
    assert a.t[0] == utc("2024-01-15T00:00:00+01:00")  # 00:10 minus its 10-minute step
    assert a.t[72] == utc("2024-01-15T12:00:00+01:00")  # 12:30 minus 30 minutes
    b = got[PRM_B]
    assert b.unit == "Wh" and np.all(b.steps == 1800) and b.values[0] == 100


def test_r63_with_comma_separator_and_decimal_point():
    text = (DATA / "enedis_r63_duplicates.csv").read_text().replace(";", ",")
    (b,) = parse_r63(text.encode(), "comma.csv")
    assert len(b) == 50 and b.values[4] == 340


@pytest.mark.parametrize(
    ("name", "line", "field", "why"),
    [
        ("broken_r63_truncated.csv", 21, "Horodate", "truncated"),
        ("broken_r63_text_value.csv", 10, "Valeur", "'n/a' is not a number"),
        ("broken_r63_unknown_unit.csv", 5, "Unité", "unknown unit 'MJ'"),
        ("broken_r63_future.csv", 2, "Horodate", "in the future"),
        ("broken_r63_wrong_separator.csv", 2, None, "wrong separator"),
    ],
)
def test_r63_broken_inputs(name, line, field, why):
    with pytest.raises(IngestError, match=why) as err:
        list(read_r63(DATA / name))
    assert (err.value.source, err.value.line, err.value.field) == (name, line, field)


def test_r63_refuses_reactive_power_and_bad_prm():
    rows = (DATA / "enedis_r63_duplicates.csv").read_text().splitlines()
    reactive = "\n".join([rows[0], rows[1].replace(";PA;", ";PRI;").replace(";W;", ";VAr;")])
    with pytest.raises(IngestError) as err:
        list(parse_r63(reactive.encode(), "q.csv"))
    assert err.value.line == 2
    short = "\n".join([rows[0], rows[1].replace(PRM_A, PRM_A[:13])])
    with pytest.raises(IngestError, match="14 digits") as err:
        list(parse_r63(short.encode(), "prm.csv"))
    assert err.value.field == "Identifiant PRM"


def test_portal_broken_inputs():
    with pytest.raises(IngestError, match="wrong separator") as err:
        list(read_portal(DATA / "broken_portal_wrong_separator.csv"))
    assert err.value.line == 3
    data = (DATA / "enedis_portal_dst_spring.csv").read_bytes()
    with pytest.raises(IngestError, match="truncated") as err:
        list(parse_portal(data[:-12], "cut.csv"))  # the last row loses its value and separator
    assert err.value.line == 49
    with pytest.raises(IngestError, match="not a number") as err:
        list(parse_portal(data.replace(b";310\r", b";31O\r"), "typo.csv"))
    assert err.value.line == 5 and err.value.field == "Valeur"
    with pytest.raises(IngestError, match="not a number") as err:
        list(parse_portal(data.replace(b";310\r", b";inf\r"), "inf.csv"))
    assert err.value.line == 5
    with pytest.raises(IngestError, match="unknown unit"):
        list(parse_portal(data.replace(b";W\r", b";MJ\r"), "unit.csv"))
    with pytest.raises(IngestError, match="Identifiant PRM"):
        list(parse_portal(b"Horodate;Valeur\n2024-01-01T00:30:00+01:00;3\n", "bare.csv"))


def test_portal_daily_energy_in_kwh_is_stamped_at_the_local_day_start():
    text = (
        "Identifiant PRM;Type de donnees;Date de debut;Date de fin;Grandeur physique;Grandeur metier;"
        "Etape metier;Unite\n"
        f"{PRM_A};Energie consommée quotidienne;2024-10-26;2024-10-28;Energie active;Consommation;Comptage Brut;kWh\n"
        "Horodate;Valeur\n2024-10-26T00:00:00+02:00;8,5\n2024-10-27T00:00:00+02:00;9,25\n"
    )
    (b,) = parse_portal(text.encode(), "daily.csv")
    assert b.unit == "Wh" and b.step == Step.parse("P1D") and b.steps is None
    assert b.values.tolist() == [8500, 9250] and b.t[1] == utc("2024-10-27T00:00:00+02:00")


def test_dataconnect_load_curve_autumn_and_daily():
    (b,) = read_dataconnect(DATA / "enedis_dataconnect_load_curve.json")
    assert len(b) == 50 and np.all(np.diff(b.t) == 1800) and b.convention is IntervalConvention.END
    assert b.t[0] == utc("2024-10-27T00:00:00+02:00") and b.values[-1] == 790
    (d,) = read_dataconnect(DATA / "enedis_dataconnect_daily.json")
    assert d.step == Step.parse("P1D") and len(d) == 7 and d.t[0] == utc("2024-10-21T00:00:00+02:00")


def test_dataconnect_errors_name_the_json_path():
    doc = json.loads((DATA / "enedis_dataconnect_load_curve.json").read_text())
    doc["meter_reading"]["interval_reading"][3]["value"] = "abc"
    with pytest.raises(IngestError, match="not a number") as err:
        list(parse_dataconnect(json.dumps(doc).encode(), "clc.json"))
    assert err.value.field == "meter_reading.interval_reading[3].value"
    with pytest.raises(IngestError, match="not JSON"):
        list(parse_dataconnect(b'{"meter_reading": ', "cut.json"))
    doc["meter_reading"]["interval_reading"][3]["value"] = "1"
    doc["meter_reading"]["interval_reading"][5]["date"] = "2099-10-27 03:00:00"
    with pytest.raises(IngestError, match="future") as err:
        list(parse_dataconnect(io.BytesIO(json.dumps(doc).encode()), "future.json"))
    assert err.value.field == "meter_reading.interval_reading[5].date"


def test_dataconnect_production_from_the_file_name():
    data = (DATA / "enedis_dataconnect_load_curve.json").read_bytes()
    (b,) = parse_dataconnect(data, "production_load_curve.json")
    assert b.kind is SeriesKind.PRODUCTION
