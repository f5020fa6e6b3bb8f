"""Reports from a real store: the month's balance and transformers, the PDF, a building's savings through the gate,
and ``regie report`` on the command line."""

from __future__ import annotations

import io
from datetime import date, datetime
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from pypdf import PdfReader

from regie.governance import audit
from regie.governance.accounts import CLI_ADMIN, PUBLIC
from regie.governance.gate import AccessDenied
from regie.model import (
    DeliveryPoint,
    Inventory,
    Producer,
    Readings,
    Series,
    SeriesKind,
    Site,
    Source,
    Step,
    Territory,
    Transformer,
)
from regie.services import reports
from regie.store import open_store
from regie.web import i18n

PARIS = ZoneInfo("Europe/Paris")
PT30M, PT1H = Step.parse("PT30M"), Step.parse("PT1H")
C1, C2, SCHOOL = "33000000000001", "33000000000002", "33000000000003"
START, END = datetime(2024, 1, 1, tzinfo=PARIS), datetime(2026, 1, 1, tzinfo=PARIS)
WORKS_END = date(2025, 1, 1)
CUT = 0.25


def heating_kwh(temp: np.ndarray) -> np.ndarray:
    return 12.0 * np.maximum(0.0, 16.0 - temp)  # kWh/day per °C·day below 16 °C


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """Two homes (600 W + 400 W), hydro 300 W, PV 1400 W in the UTC afternoon; a transformer; a school whose
    heating drops by 25 % from 2025 on; an outdoor thermometer. Two years (2024-2025)."""
    inv = Inventory(
        Territory("t", "Val-Test"),
        sites=[Site("s", "Bourg", "t"), Site("ecole", "École Jules-Ferry", "t")],
        delivery_points=[DeliveryPoint(C1, "s"), DeliveryPoint(C2, "s"),
                         DeliveryPoint(SCHOOL, "ecole", "C4", usage="public")],
        producers=[Producer("h", "Hydro", Source.HYDRO, 500_000), Producer("pv", "PV", Source.PV, 36_000)],
        transformers=[Transformer("tr1", "Poste 1", 250, prms=(C1, C2))],
        series=[Series("c1", SeriesKind.CONSUMPTION, "W", PT30M, prm=C1),
                Series("c2", SeriesKind.CONSUMPTION, "W", PT30M, prm=C2),
                Series("h", SeriesKind.PRODUCTION, "W", PT30M, producer_id="h"),
                Series("pv", SeriesKind.PRODUCTION, "W", PT30M, producer_id="pv"),
                Series("load", SeriesKind.TRANSFORMER_LOAD, "W", PT30M, transformer_id="tr1"),
                Series("school", SeriesKind.SENSOR, "W", PT1H, site_id="ecole"),
                Series("temp", SeriesKind.TEMPERATURE, "degC", PT1H, resolution=0.01)],
    )  # fmt: skip
    s = open_store(f"sqlite:///{tmp_path_factory.mktemp('rep') / 'r.sqlite'}")
    s.save_inventory(inv)
    t = np.arange(int(START.timestamp()), int(END.timestamp()), 1800, dtype=np.int64)
    morning = ((t // 1800) % 48) < 24
    load = np.full(len(t), 1000.0 * 1.02 + 200)
    load[np.searchsorted(t, int(datetime(2025, 3, 12, 19, tzinfo=PARIS).timestamp()))] = 300_000
    s.write([Readings("c1", t, np.full(len(t), 600.0)), Readings("c2", t, np.full(len(t), 400.0)),
             Readings("h", t, np.full(len(t), 300.0)), Readings("pv", t, np.where(morning, 0.0, 1400.0)),
             Readings("load", t, load)])  # fmt: skip
    # the school: one temperature and one power per local day, held for each hour of the day
    th = np.arange(int(START.timestamp()), int(END.timestamp()), 3600, dtype=np.int64)
    days = np.array([datetime.fromtimestamp(int(x), PARIS).date().toordinal() for x in th])
    uniq, idx = np.unique(days, return_inverse=True)
    rng = np.random.default_rng(3)
    doy = np.array([date.fromordinal(int(d)).timetuple().tm_yday for d in uniq])
    temp_day = 11 - 7 * np.cos(2 * np.pi * (doy - 20) / 365.25) + rng.normal(0, 2.5, len(uniq))
    after = uniq >= WORKS_END.toordinal()
    kwh = 150 + heating_kwh(temp_day) * np.where(after, 1 - CUT, 1.0) + rng.normal(0, 6, len(uniq))
    s.write([Readings("temp", th, np.round(temp_day[idx], 2)),
             Readings("school", th, np.round(kwh[idx] * 1000 / 24, 1))])
    s.truth = float((heating_kwh(temp_day) * CUT)[after].sum() * 1000)  # type: ignore[attr-defined]
    yield s
    s.close()


def test_monthly_report_of_march(store) -> None:
    r = reports.monthly_report(store, "2025-03", now=datetime(2025, 6, 1, tzinfo=PARIS))
    t = r["balance"]["totals"]
    hours = 743  # March 2025 in Paris loses an hour to DST
    # The report's balance is the publication's (it is filed and sent on): two homes are fewer than 10 points,
    # so their consumption and the rates computed from it are hidden, with the reason; production is not personal.
    assert t["consumption_wh"] is None and t["masked"]["consumption"] == "fewer_than_10"
    assert t["self_sufficiency"] is None and t["masked"]["self_sufficiency"] == "fewer_than_10"
    assert t["production_by_source_wh"]["hydro"] == pytest.approx(300 * hours)
    assert len(r["balance"]["periods"]["start"]) == 31
    (tr,) = r["transformers"]
    assert tr["peak"]["t"] == "2025-03-12T19:00:00+01:00"
    assert tr["hours_over_100"] == 0.5
    # the synthetic readings hold each value for hours (a day for the school): every series reads as stuck
    assert r["health"]["series"] == 7 and r["health"]["completeness"] == 1.0
    assert {k for p in r["health"]["problems"] for k in p["kinds"]} == {"stuck"}


def test_monthly_report_pdf_in_both_languages(store) -> None:
    r = reports.monthly_report(store, "2025-03", now=datetime(2025, 6, 1, tzinfo=PARIS))
    for lang, words in (("fr", ("Rapport mensuel", "Bilan énergétique", "Transformateurs", "mars 2025")),
                        ("en", ("Monthly report", "Energy balance", "Transformers", "March 2025"))):  # fmt: skip
        pdf = reports.monthly_report_pdf(r, i18n.translations(lang).gettext, lang)
        text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)
        for w in words:
            assert w in text, (lang, w)


def test_bad_month() -> None:
    with pytest.raises(reports.ReportRequestError, match="YYYY-MM"):
        reports.parse_month("2025-13", PARIS)


def test_savings_recover_the_known_cut_within_uncertainty(store) -> None:
    r = reports.building_savings(store, CLI_ADMIN, "school", "temp", (date(2024, 1, 1), date(2025, 1, 1)),
                                 (date(2025, 1, 1), date(2026, 1, 1)))  # fmt: skip
    s = r["savings"]
    assert r["model"]["kind"] in ("hdd_only", "hdd_cdd")
    assert r["model"]["hdd_bp_c"] == pytest.approx(16.0, abs=1.0)
    assert abs(s["avoided_wh"] - store.truth) <= s["uncertainty_90_wh"]
    assert s["days"] == 365 and r["guideline14"]["cv_rmse_ok"]
    pdf = reports.savings_pdf(r, i18n.translations("en").gettext, "en")
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)
    assert "Avoided energy" in text and "CV(RMSE)" in text and "École Jules-Ferry" in text


def test_a_building_on_a_delivery_point_is_read_through_the_gate(store) -> None:
    with pytest.raises(AccessDenied, match="public"):
        reports.building_savings(store, PUBLIC, "c1", "temp", (date(2024, 1, 1), date(2025, 1, 1)),
                                 (date(2025, 1, 1), date(2026, 1, 1)))  # fmt: skip
    before = len(audit.entries(store, kind="access"))
    with pytest.raises(reports.ReportRequestError):  # a constant load: no model, but the read was logged
        reports.building_savings(store, CLI_ADMIN, "c1", "temp", (date(2024, 1, 1), date(2024, 1, 20)),
                                 (date(2025, 1, 1), date(2026, 1, 1)), reason="test")  # fmt: skip
    (entry,) = audit.entries(store, kind="access")[before:]
    assert entry.entry["series"] == "c1" and entry.entry["granularity"] == "P1D"
    assert entry.entry["purpose"] == reports.SAVINGS_PURPOSE


def test_periods_must_not_overlap(store) -> None:
    with pytest.raises(reports.ReportRequestError, match="before the reporting"):
        reports.building_savings(store, CLI_ADMIN, "school", "temp", (date(2024, 1, 1), date(2025, 2, 1)),
                                 (date(2025, 1, 1), date(2026, 1, 1)))  # fmt: skip


def test_cli_report_writes_the_pdf(store, tmp_path) -> None:
    from typer.testing import CliRunner

    from regie.cli import app

    out = tmp_path / "march.pdf"
    url = str(store.engine.url)
    result = CliRunner().invoke(app, ["report", "--month", "2025-03", "--out", str(out), "--database-url", url,
                                      "--lang", "en"])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert out.read_bytes().startswith(b"%PDF")
    assert "Val-Test 2025-03" in result.output
    bad = CliRunner().invoke(app, ["report", "--month", "March", "--database-url", url])
    assert bad.exit_code != 0
