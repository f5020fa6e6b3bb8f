"""Plain CSV with a column mapping: time formats, conventions, units, decimal commas, errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from regie.ingest import IngestError
from regie.ingest.csv_plain import parse_csv_plain, parse_mapping, read_csv_plain
from regie.ingest.importer import Importer
from regie.model import IntervalConvention, Inventory, Series, SeriesKind, Step, Territory
from regie.store import open_store

DATA = Path(__file__).parents[1] / "data"


def utc(text: str) -> int:
    return int(pd.Timestamp(text).tz_convert("UTC").timestamp())


def test_mapping_syntax():
    assert parse_mapping("a=s1, b = s2:kWh") == {"a": ("s1", None), "b": ("s2", "kWh")}
    with pytest.raises(IngestError):
        parse_mapping("just-a-column")


def test_logger_iso_local_times_units_per_column_and_a_gap():
    house, temp = read_csv_plain(
        DATA / "csv_plain_logger.csv", unit="W", columns="house_power=house,outdoor_temp=cellar:degC"
    )
    assert house.series_id == "house" and house.unit == "W" and house.step == Step(seconds=300)
    assert house.t[0] == utc("2024-05-01T00:00:00+02:00") and np.isnan(house.values[4])
    assert temp.series_id == "cellar" and temp.unit == "degC" and temp.kind is SeriesKind.TEMPERATURE
    assert temp.values[4] == pytest.approx(12.9)


def test_french_spreadsheet_hourly_kwh_end_stamped():
    (b,) = read_csv_plain(
        DATA / "csv_plain_hourly_kwh.csv",
        unit="kWh",
        time_format="%d/%m/%Y %H:%M",
        convention="end",
        step="PT1H",
        columns="Conso (kWh)=conso",
    )
    assert b.unit == "Wh" and b.values[0] == pytest.approx(400) and b.convention is IntervalConvention.END
    assert b.t[0] == utc("2024-05-01T00:00:00+02:00")  # 01:00 closes the first hour
    assert np.all(b.steps == 3600)


def test_unix_times_and_inferred_step():
    text = b"ts,p\n1714521600,10\n1714521900,11\n1714522200,12\n"
    (b,) = parse_csv_plain(text, "u.csv", time_format="unix", unit="kW", columns="p=pv-roof", kind="production")
    assert b.t.tolist() == [1714521600, 1714521900, 1714522200] and b.values[0] == 10_000
    assert b.kind is SeriesKind.PRODUCTION and b.step == Step(seconds=300)
    (ms,) = parse_csv_plain(text.replace(b"00,", b"00000,"), "ms.csv", time_format="unix_ms", unit="W")
    assert ms.t[0] == 1714521600 and ms.series_id == "p"


def test_errors_say_where():
    logger = (DATA / "csv_plain_logger.csv").read_bytes()
    with pytest.raises(IngestError, match="no unit"):
        list(parse_csv_plain(logger, "x.csv"))
    with pytest.raises(IngestError, match="no column 'nope'"):
        list(parse_csv_plain(logger, "x.csv", unit="W", columns="nope=x"))
    with pytest.raises(IngestError, match="does not match") as err:
        list(parse_csv_plain(logger, "x.csv", unit="W", time_format="%d/%m/%Y"))
    assert err.value.line == 2 and err.value.field == "time"
    with pytest.raises(IngestError, match="not a number") as err:
        list(parse_csv_plain(logger.replace(b",1221,", b",12x1,"), "x.csv", unit="W"))
    assert err.value.line == 5 and err.value.field == "house_power"
    with pytest.raises(IngestError, match="unknown unit"):
        list(parse_csv_plain(logger, "x.csv", unit="horsepower"))
    with pytest.raises(IngestError, match="future"):
        list(parse_csv_plain(logger.replace(b"2024-05-01T00:55", b"2099-05-01T00:55"), "x.csv", unit="W"))


def test_import_creates_series_or_converts_into_an_existing_one(store_url):
    store = open_store(store_url)
    store.save_inventory(
        Inventory(
            territory=Territory("prats", "Prats-de-Mollo-la-Preste"),
            series=[Series("school-load", SeriesKind.CONSUMPTION, "W", Step.parse("PT1H"))],
        )
    )
    importer = Importer(store)
    report = importer.import_path("csv", DATA / "csv_plain_logger.csv", unit="W", columns="house_power=house")
    assert report.created == ["house"] and report.points_written == 11
    # kWh per hour into an existing W series: average power = energy / duration.
    importer.import_path(
        "csv",
        DATA / "csv_plain_hourly_kwh.csv",
        unit="kWh",
        time_format="%d/%m/%Y %H:%M",
        convention="end",
        step="PT1H",
        columns="Conso (kWh)=school-load",
    )
    t, v = store.read("school-load", utc("2024-05-01T00:00:00+02:00"), utc("2024-05-02T00:00:00+02:00"))
    assert len(t) == 24 and v[0] == 400 and v[1] == 410
    store.close()
