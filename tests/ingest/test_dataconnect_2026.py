"""Data Connect 2026 (``mesure_synchrone_auto/v2``) beside v5: responses built here to Enedis's Swagger
(``ReponseMesureAccesCDC``, ``ReponseMesureAccesQuotidien``; see docs/enedis-formats.md), imported, checked."""

from __future__ import annotations

import io
import json

import numpy as np
import pandas as pd
import pytest

from regie.ingest import IngestError
from regie.ingest.enedis import parse_dataconnect
from regie.ingest.importer import Importer
from regie.model import DeliveryPoint, IntervalConvention, Inventory, Series, SeriesKind, Site, Step, Territory
from regie.store import open_store

PRM = "30001234567890"
PARIS = "Europe/Paris"


def utc(text: str) -> int:
    return int(pd.Timestamp(text).tz_convert("UTC").timestamp())


def local_ends(start_utc: str, steps_s: list[int]) -> list[str]:
    """The local wall time Enedis writes (no offset) for the end of each interval from ``start_utc``."""
    ends = utc(start_utc) + np.cumsum(steps_s)
    return list(pd.to_datetime(ends, unit="s", utc=True).tz_convert(PARIS).strftime("%Y-%m-%d %H:%M:%S"))


def curve_2026(values, steps_s, start_utc, *, metier="CONS", prm=PRM, with_p=True) -> dict:
    walls = local_ends(start_utc, steps_s)
    points = [
        {"v": str(v), "d": d, **({"p": f"PT{s // 60}M"} if with_p else {}), "n": "B", "iv": "0", "ec": "0"}
        for v, d, s in zip(values, walls, steps_s, strict=True)
    ]
    return {
        "idPrm": prm,
        "etapeMetier": "BRUT",
        "periode": {"dateDebut": walls[0][:10], "dateFin": walls[-1][:10]},
        "modeCalcul": "MESURE",
        "grandeur": [{"grandeurMetier": metier, "grandeurPhysique": "PA", "unite": "W", "points": points}],
        "contexte": [],
    }


def v5_curve(values, steps_s, start_utc) -> dict:
    walls = local_ends(start_utc, steps_s)
    rows = [
        {"value": str(v), "date": d, "interval_length": f"PT{s // 60}M", "measure_type": "B"}
        for v, d, s in zip(values, walls, steps_s, strict=True)
    ]
    return {
        "meter_reading": {
            "usage_point_id": PRM,
            "reading_type": {"unit": "W", "measurement_kind": "power", "aggregate": "average"},
            "interval_reading": rows,
        }
    }


def parse(doc, name="mesure.json", **kw):
    return list(parse_dataconnect(io.BytesIO(json.dumps(doc).encode()), name, **kw))


# An autumn DST day (25 October 2026): 50 half-hours, "02:00:00" and "02:30:00" written twice.
AUTUMN_START = "2026-10-24T22:00:00Z"
AUTUMN = [100 + 7 * i for i in range(50)]


def test_load_curve_on_the_autumn_day_has_50_half_hours_stamped_at_their_start():
    doc = curve_2026(AUTUMN, [1800] * 50, AUTUMN_START)
    walls = [p["d"] for p in doc["grandeur"][0]["points"]]
    assert walls.count("2026-10-25 02:30:00") == 2  # the file really repeats the hour
    (b,) = parse(doc)
    assert b.prm == PRM and b.kind is SeriesKind.CONSUMPTION and b.unit == "W"
    assert b.convention is IntervalConvention.END and b.step == Step.parse("PT30M")
    assert len(b) == 50 and b.t[0] == utc(AUTUMN_START) and np.all(np.diff(b.t) == 1800)
    assert b.values.tolist() == AUTUMN


def test_each_point_lasts_its_own_p():
    steps = [1800] * 4 + [3600] * 3 + [1800] * 2 + [600] * 3
    (b,) = parse(curve_2026(range(len(steps)), steps, "2026-07-18T22:00:00Z"))
    assert b.steps.tolist() == steps
    assert b.t.tolist() == (utc("2026-07-18T22:00:00Z") + np.cumsum([0, *steps[:-1]])).tolist()


def test_without_p_the_step_is_inferred_from_the_stamps():
    (b,) = parse(curve_2026([5, 6, 7, 8], [1800] * 4, "2026-07-18T22:00:00Z", with_p=False))
    assert b.steps.tolist() == [1800] * 4


def test_production_curve_and_daily_energy():
    (prod,) = parse(curve_2026([0, 128, 6], [1800] * 3, "2026-09-29T05:00:00Z", metier="PROD"))
    assert prod.kind is SeriesKind.PRODUCTION
    daily = {
        "idPrm": PRM,
        "etapeMetier": "BRUT",
        "periode": {"dateDebut": "2026-09-29", "dateFin": "2026-10-01"},
        "typeValeur": "GLOBALE",
        "modeCalcul": "DIFF.INDEX",
        "pas": "P1D",
        "grandeur": [
            {
                "grandeurMetier": "CONS",
                "grandeurPhysique": "EA",
                "unite": "Wh",
                "points": [{"v": "33495", "d": "2026-09-29"}, {"v": "38022", "d": "2026-09-30"}],
            }
        ],
        "contexte": [],
    }
    (b,) = parse(daily)
    assert b.step == Step(days=1) and b.unit == "Wh" and b.convention is IntervalConvention.START
    assert b.t.tolist() == [utc("2026-09-29T00:00:00+02:00"), utc("2026-09-30T00:00:00+02:00")]
    assert b.values.tolist() == [33495.0, 38022.0]


def test_a_list_may_mix_v5_and_2026_documents_and_both_read_the_same():
    steps = [1800] * 6
    new, old = parse([curve_2026(AUTUMN[:6], steps, AUTUMN_START), v5_curve(AUTUMN[:6], steps, AUTUMN_START)])
    assert new.t.tolist() == old.t.tolist() and new.values.tolist() == old.values.tolist()
    assert new.steps.tolist() == old.steps.tolist()


@pytest.mark.parametrize(
    ("change", "field", "why"),
    [
        (lambda d: d.update(idPrm="123"), "idPrm", "14 digits"),
        (lambda d: d["grandeur"][0]["points"][3].update(p="PT7X"), "grandeur[0].points[3].p", "not a step"),
        (lambda d: d["grandeur"][0]["points"][2].update(v="1,5e"), "grandeur[0].points[2].v", "not a number"),
        (lambda d: d["grandeur"][0]["points"][1].update(d="2026-10-25 25:00:00"), "grandeur[0].points[1].d", "valid"),
        (lambda d: d["grandeur"][0].update(grandeurPhysique="PMA", unite="VA"), "grandeur[0].grandeurPhysique", "PMA"),
        (lambda d: d["grandeur"][0].update(grandeurMetier="STOCK"), "grandeur[0].grandeurMetier", "CONS or PROD"),
        (lambda d: d["grandeur"][0]["points"].append({"v": "1"}), "grandeur[0].points[6]", "'d' and 'v'"),
        (lambda d: d.update(grandeur=[], contexte=[{"etapeMetier": "BRUT"}]), "contexte", "index readings"),
    ],
)
def test_a_bad_2026_response_names_the_field_and_why(change, field, why):
    doc = curve_2026(AUTUMN[:6], [1800] * 6, AUTUMN_START)
    change(doc)
    with pytest.raises(IngestError, match=why) as err:
        parse(doc)
    assert err.value.field == field and err.value.source == "mesure.json"


def test_a_spring_gap_time_is_refused():
    doc = curve_2026([1, 2], [1800, 1800], "2026-03-29T00:00:00Z")
    doc["grandeur"][0]["points"][1]["d"] = "2026-03-29 02:30:00"
    with pytest.raises(IngestError, match="does not exist") as err:
        parse(doc)
    assert err.value.field == "grandeur[0].points[1].d"


@pytest.fixture
def store(store_url):
    s = open_store(store_url)
    s.save_inventory(
        Inventory(
            territory=Territory("prats", "Prats-de-Mollo-la-Preste"),
            sites=[Site("village", "Village", "prats")],
            delivery_points=[DeliveryPoint(PRM, "village")],
            series=[Series("cons", SeriesKind.CONSUMPTION, "W", Step.parse("PT30M"), IntervalConvention.END, prm=PRM)],
        )
    )
    yield s
    s.close()


def test_a_mixed_step_day_imports_to_the_wh(store):
    """PT30M → PT60M → PT30M on the autumn day: the stored half-hours hold the file's energy exactly."""
    steps = [1800] * 10 + [3600] * 10 + [1800] * 20  # 5 h + 10 h + 10 h = 25 h
    values = [200 + 13 * i for i in range(len(steps))]
    doc = curve_2026(values, steps, AUTUMN_START)
    report = Importer(store).import_stream("enedis-dataconnect", io.BytesIO(json.dumps(doc).encode()), "m.json")
    assert report.series == ["cons"]
    t, v = store.read("cons", utc(AUTUMN_START), utc(AUTUMN_START) + 25 * 3600)
    assert len(t) == 50 and np.all(np.diff(t) == 1800)
    file_wh = sum(w * s for w, s in zip(values, steps, strict=True)) / 3600
    assert v.sum() * 1800 / 3600 == pytest.approx(file_wh, abs=1)
