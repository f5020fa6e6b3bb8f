"""The grid operator's per-participant ACC curves: parsing (assumed layout), errors, and reconciliation."""

from __future__ import annotations

import io
import sys
from datetime import date
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from regie.ingest import IngestError
from regie.ingest.enedis_acc import format_acc_curves_csv, parse_acc_curves, read_acc_curves, reconcile_operation
from regie.model import Step
from regie.services import acc as service

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "services"))
from _acc_store import PRM_A, PRM_B, PRM_C, PRM_P, RecordingReader, build, operation

PARIS = ZoneInfo("Europe/Paris")
PT30M = Step(seconds=1800)


def _parse(text: str, **kw) -> object:
    return parse_acc_curves(io.StringIO(text), source="acc.csv", **kw)


def test_parses_the_documented_layout_with_end_stamps_and_units() -> None:
    text = (
        "\ufeffIdentifiant PRM;Type de donnée;Horodate;Valeur;Unité;Pas\n"
        f"{PRM_A};AUTOCONS;2025-06-01T00:30:00+02:00;7500;Wh;PT30M\n"
        f"{PRM_A};ALLOCONS;2025-06-01T00:30:00+02:00;2,5;kWh;PT30M\n"
        f"{PRM_A};AUTOCONS;2025-06-01T01:00:00+02:00;15000;W;PT30M\n"
    )
    g = _parse(text)
    t0 = service._midnight(date(2025, 6, 1), PARIS)  # the first value covers 00:00–00:30 local
    t, wh = g.values[(PRM_A, "AUTOCONS")]
    assert t.tolist() == [t0, t0 + 1800]
    assert wh.tolist() == [7500.0, 7500.0]  # 15 kW over half an hour = 7,500 Wh
    assert g.values[(PRM_A, "COMPLEMENT")][1].tolist() == [2500.0]
    np.testing.assert_array_equal(
        g.matrix("AUTOCONS", [PRM_A, PRM_B], np.array([t0, t0 + 1800, t0 + 3600])),
        [[7500, np.nan], [7500, np.nan], [np.nan, np.nan]],
    )


def test_naive_local_times_on_the_autumn_dst_night() -> None:
    # end stamps by the wall clock: 02:00 and 02:30 come twice (CEST, then CET)
    stamps = [
        "2025-10-26 02:00:00",
        "2025-10-26 02:30:00",
        "2025-10-26 02:00:00",
        "2025-10-26 02:30:00",
        "2025-10-26 03:00:00",
        "2025-10-26 03:30:00",
    ]
    text = "PRM;Type;Horodate;Valeur\n" + "".join(f"{PRM_B};AUTOCONS;{s};{i}\n" for i, s in enumerate(stamps))
    t, _ = _parse(text, step=PT30M).values[(PRM_B, "AUTOCONS")]
    assert np.all(np.diff(t) == 1800) and len(t) == 6  # the repeated hour is two distinct half-hours


@pytest.mark.parametrize(("text", "line", "why"), [
    ("PRM;Type;Horodate;Valeur\n123;AUTOCONS;2025-06-01T00:30:00+02:00;1\n", 2, "14 digits"),
    (f"PRM;Type;Horodate;Valeur\n{PRM_A};BOGUS;2025-06-01T00:30:00+02:00;1\n", 2, "unknown data type"),
    (f"PRM;Type;Horodate;Valeur\n{PRM_A};AUTOCONS;2025-06-01T00:30:00+02:00;-3\n", 2, "non-negative"),
    (f"PRM;Type;Horodate;Valeur\n{PRM_A};AUTOCONS;2025-06-01T00:30:00+02:00;abc\n", 2, "not a number"),
    (f"PRM;Type;Horodate;Valeur\n{PRM_A};AUTOCONS;2025-06-01T00:40:00+02:00;1\n", 2, "grid"),
    (f"PRM;Type;Horodate;Valeur;Pas\n{PRM_A};AUTOCONS;2025-06-01T00:30:00+02:00;1;PT15M\n", 2, "differs"),
    (f"PRM;Type;Horodate;Valeur\n{PRM_A};AUTOCONS;2025-06-01T00:30:00+02:00;1\n"
     f"{PRM_A};AUTOCONS;2025-06-01T00:30:00+02:00;2\n", 3, "two different values"),
    ("Date;Valeur\n2025-06-01;1\n", 1, "no column for prm, kind"),
])  # fmt: skip
def test_a_bad_line_fails_the_file_saying_where(text: str, line: int, why: str) -> None:
    with pytest.raises(IngestError, match=why) as info:
        _parse(text, step=PT30M)
    assert info.value.line == line and info.value.source == "acc.csv"


@pytest.fixture
def june(store_url: str):
    store = build(store_url)
    try:
        start = service._midnight(date(2025, 6, 1), PARIS)
        end = service._midnight(date(2025, 6, 4), PARIS)
        curves = service.load_curves(store, operation(), start, end, RecordingReader(store))
        yield service.allocate(curves, "priority")
    finally:
        store.close()


def test_regie_flows_round_trip_and_reconcile(june, tmp_path) -> None:
    path = tmp_path / "acc-2025-06.csv"
    path.write_text(format_acc_curves_csv(june), encoding="utf-8")
    grid = read_acc_curves(path, step=PT30M)
    assert grid.prms == {PRM_A, PRM_B, PRM_C, PRM_P}
    report = reconcile_operation(june, grid)
    assert report.passed, report.summary()
    assert "agree on every step" in report.summary()
    rows = {r.prm_masked[-4:]: r for r in report.rows}
    assert rows["0002"].regie_wh == pytest.approx(rows["0002"].grid_wh)
    assert rows["0001"].role == "producer"


def test_reconciliation_points_at_the_steps_that_differ(june) -> None:
    lines = format_acc_curves_csv(june).splitlines()
    # The grid operator gave B 500 Wh less at one step (and as much more complement), and lost one step of A.
    first_b = next(i for i, ln in enumerate(lines) if ln.startswith(f"{PRM_B};AUTOCONS"))
    prm, kind, when, value, unit, step = lines[first_b].split(";")
    lines[first_b] = ";".join((prm, kind, when, str(int(value) - 500), unit, step))
    comp = next(i for i, ln in enumerate(lines) if ln.startswith(f"{PRM_B};COMPLEMENT;{when}"))
    p2, k2, w2, v2, u2, s2 = lines[comp].split(";")
    lines[comp] = ";".join((p2, k2, w2, str(int(v2) + 500), u2, s2))
    del lines[next(i for i, ln in enumerate(lines) if ln.startswith(f"{PRM_A};AUTOCONS"))]
    lines.append(f"99999999999999;AUTOCONS;{when};1;Wh;PT30M")
    report = reconcile_operation(june, parse_acc_curves(io.StringIO("\n".join(lines)), source="enedis.csv"))
    assert not report.passed
    rows = {r.prm_masked[-4:]: r for r in report.rows}
    assert rows["0003"].steps_off == 1 and rows["0003"].max_step_diff_wh == pytest.approx(500)
    assert rows["0003"].regie_wh - rows["0003"].grid_wh == pytest.approx(500)
    assert rows["0002"].missing == 1
    assert rows["0004"].steps_off == 0 and rows["0004"].missing == 0  # C is not compared before it joins
    assert report.unknown_prms == ("**********9999",)
    assert "2 participant(s) differ" in report.summary()
    assert "**********0003" in report.to_csv() and PRM_B not in report.to_csv()
