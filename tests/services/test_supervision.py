"""Supervision read from a real store, on both backends: known losses, peaks at known times, alerts."""

from datetime import datetime
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from regie.analytics.grid import Thresholds
from regie.model import (
    DeliveryPoint,
    Inventory,
    Readings,
    Series,
    SeriesKind,
    Site,
    Step,
    Territory,
    Transformer,
)
from regie.services.supervision import (
    SupervisionRequestError,
    data_health,
    peak_contributors,
    supervision_report,
    transformer_report,
)
from regie.store import open_store

PARIS = ZoneInfo("Europe/Paris")
PT30M, PT10M = Step.parse("PT30M"), Step.parse("PT10M")
C1, C2, PV = "30000000000001", "30000000000002", "30000000000003"
START, END = datetime(2025, 1, 1, tzinfo=PARIS), datetime(2025, 3, 1, tzinfo=PARIS)
C2_STOPS = datetime(2025, 2, 20, tzinfo=PARIS)
NO_LOAD_W, LV_SHARE = 300, 0.02


def at(*args: int) -> int:
    return int(datetime(*args, tzinfo=PARIS).timestamp())


def local_hours(t: np.ndarray) -> np.ndarray:
    return np.array([datetime.fromtimestamp(int(x), PARIS).hour for x in t])


@pytest.fixture
def curves() -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Multiples of 50 W, so that net × 1.02 is a whole watt and the store keeps it exactly."""
    t = np.arange(int(START.timestamp()), int(END.timestamp()), 1800, dtype=np.int64)
    h = local_hours(t)
    i = np.arange(len(t))
    c1 = 20_000.0 + 50 * (i % 5)  # a live meter never repeats itself for hours
    c1[np.searchsorted(t, at(2025, 1, 15, 18, 0))] += 80_000  # a cold evening: two high half-hours
    c1[np.searchsorted(t, at(2025, 1, 15, 18, 30))] += 85_000
    c1[np.searchsorted(t, at(2025, 2, 3, 19, 0))] += 60_000
    c2 = 10_000.0 + 50 * ((i // 3) % 4)
    pv = np.where((h >= 10) & (h < 16), 5_000.0 - 50 * (i % 3), 0.0)
    net = c1 + c2 - pv
    load = net * (1 + LV_SHARE) + NO_LOAD_W
    keep_c2 = t < int(C2_STOPS.timestamp())
    t10 = np.arange(int(START.timestamp()), int(END.timestamp()), 600, dtype=np.int64)
    gap = (t10 >= at(2025, 1, 10, 12)) & (t10 < at(2025, 1, 10, 14))
    temp = np.round(6 + 4 * np.sin(np.arange(len(t10)) * 2 * np.pi / 144), 1)
    return {"c1": (t, c1), "c2": (t[keep_c2], c2[keep_c2]), "pv": (t, pv), "load-tr": (t, load),
            "temp": (t10[~gap], temp[~gap]), "net": (t, net)}


@pytest.fixture
def store(store_url: str, curves):
    inv = Inventory(
        Territory("t", "T"),
        sites=[Site("s", "S", "t")],
        delivery_points=[DeliveryPoint(C1, "s", usage="residential"), DeliveryPoint(C2, "s", usage="professional"),
                         DeliveryPoint(PV, "s", usage="production")],
        transformers=[Transformer("tr", "Poste", 100.0, (C1, C2, PV), power_factor=0.9)],
        series=[
            Series("c1", SeriesKind.CONSUMPTION, "W", PT30M, prm=C1),
            Series("c2", SeriesKind.CONSUMPTION, "W", PT30M, prm=C2),
            Series("pv", SeriesKind.PRODUCTION, "W", PT30M, prm=PV),
            Series("load-tr", SeriesKind.TRANSFORMER_LOAD, "W", PT30M, transformer_id="tr"),
            Series("temp", SeriesKind.TEMPERATURE, "degC", PT10M, resolution=0.1),
        ],
    )
    s = open_store(store_url)
    s.save_inventory(inv)
    s.write([Readings(k, *curves[k]) for k in ("c1", "c2", "pv", "load-tr", "temp")])
    yield s
    s.close()


def test_losses_by_month_are_the_known_losses(store, curves) -> None:
    r = transformer_report(store, "tr", START, END)
    t, net = curves["net"]
    feb = at(2025, 2, 1)
    jan_loss = ((LV_SHARE * net + NO_LOAD_W) * 0.5)[t < feb].sum()
    complete_feb = (t >= feb) & (t < int(C2_STOPS.timestamp()))  # after c2 stops, steps are incomplete
    feb_loss = ((LV_SHARE * net + NO_LOAD_W) * 0.5)[complete_feb].sum()
    lo = r["losses"]
    assert lo["month"] == ["2025-01-01T00:00:00+01:00", "2025-02-01T00:00:00+01:00"]
    assert lo["loss_wh"] == pytest.approx([jan_loss, feb_loss])
    assert lo["coverage"] == pytest.approx([1.0, 19 / 28])  # said, not hidden
    assert lo["ratio"][0] == pytest.approx(jan_loss / lo["through_wh"][0], rel=1e-5)


def test_peaks_at_the_right_times_with_aggregate_contributions(store, curves) -> None:
    r = transformer_report(store, "tr", START, END, n_peaks=2)
    assert [p["t"] for p in r["peaks"]] == ["2025-01-15T18:30:00+01:00", "2025-02-03T19:00:00+01:00"]
    t, load = curves["load-tr"]
    k = np.searchsorted(t, at(2025, 1, 15, 18, 30))
    assert r["peaks"][0]["power_w"] == load[k]
    assert r["peaks"][0]["loading"] == pytest.approx(load[k] / 90_000, rel=1e-5)
    pc = r["peak_contributions"]
    assert pc["groups"] == ["residential", "professional", "public", "production"]
    assert pc["values_w"][0] == [curves["c1"][1][k], curves["c2"][1][k], 0, 0]
    assert pc["counts"][0] == [1, 1, 0, 1]
    shares = peak_contributors(store, "tr", at(2025, 1, 15, 18, 30))  # by usage group, never by point
    assert set(shares) == {"residential", "professional", "production"}
    assert shares["residential"] == pytest.approx(curves["c1"][1][k] / load[k])
    assert shares["production"] == pytest.approx(-curves["pv"][1][k] / load[k])


def test_an_operator_of_the_regie_sees_masked_cells_with_their_reason(store) -> None:
    """Three points behind the transformer: below the 10-point rule for a caller without grants, so losses
    by month and peak contributions are masked with their reason; the régie's own pass (SUPERVISION) is exact."""
    from regie.governance import audit
    from regie.governance.accounts import Account, Role
    from regie.model import Organisation, OrganisationKind

    inv = store.load_inventory()
    store.save_inventory(Inventory(inv.territory, sites=inv.sites, delivery_points=inv.delivery_points,
                                   transformers=inv.transformers, series=inv.series,
                                   organisations=[Organisation("regie", "Régie", OrganisationKind.REGIE)]))  # fmt: skip
    ops = Account(-10, "ops", Role.OPERATOR, operator_of="regie")
    before = len(audit.entries(store, kind="access"))
    r = transformer_report(store, "tr", START, END, n_peaks=2, caller=ops)
    logged = [e.entry for e in audit.entries(store, kind="access")][before:]
    assert [(e["caller"], e["series"], e["points"]) for e in logged] == [
        ("ops", "aggregate:downstream", 3),
        ("ops", "aggregate:residential+professional+public+production", 3),
    ]
    lo = r["losses"]
    assert lo["masked"] == ["fewer_than_10", "fewer_than_10"]
    assert lo["loss_wh"] == [None, None] and lo["total_loss_wh"] is None and lo["total_ratio"] is None
    assert lo["transformer_wh"][0] is not None  # the transformer itself describes no one
    pc = r["peak_contributions"]
    assert pc["reasons"][0] == ["fewer_than_10", "fewer_than_10", None, "fewer_than_10"]
    assert pc["values_w"][0] == [None, None, 0.0, None]
    assert peak_contributors(store, "tr", at(2025, 1, 15, 18, 30), caller=ops)["residential"] == "fewer_than_10"
    own = transformer_report(store, "tr", START, END, n_peaks=2)
    assert own["losses"]["masked"] == [None, None] and own["losses"]["loss_wh"][0] is not None
    assert audit.entries(store, kind="access")[-1].entry["caller"] == "regie-supervision"


def test_overload_alerts_and_loading_stats(store, curves) -> None:
    r = transformer_report(store, "tr", START, END, Thresholds(loading=1.0))
    alerts = r["alerts"]
    assert [(a["kind"], a["since"], a["until"]) for a in alerts] == [
        ("overload", "2025-01-15T18:00:00+01:00", "2025-01-15T19:00:00+01:00"),
        ("overload", "2025-02-03T19:00:00+01:00", "2025-02-03T19:30:00+01:00"),
    ]
    assert alerts[0]["value"] == pytest.approx(curves["load-tr"][1].max() / 90_000, rel=1e-5)
    assert r["loading"]["hours_over_100"] == 1.5
    assert r["duration_curve"]["loading"][0] == pytest.approx(r["loading"]["max"], rel=1e-5)
    quiet = transformer_report(store, "tr", START, END, Thresholds(loading=1.5, loss_ratio=0.5))
    assert quiet["alerts"] == []
    with pytest.raises(SupervisionRequestError, match="unknown transformer"):
        transformer_report(store, "nope", START, END)
    with pytest.raises(SupervisionRequestError, match="after"):
        transformer_report(store, "tr", END, START)


def test_data_health_names_the_stopped_feed_and_the_gap(store) -> None:
    h = {x["series"]: x for x in data_health(store, START, END)}
    stale = [a for a in h["c2"]["alerts"] if a["kind"] == "stale"]
    assert len(stale) == 1 and stale[0]["since"] == "2025-02-20T00:00:00+01:00" and stale[0]["until"] is None
    gap = [a for a in h["temp"]["alerts"] if a["kind"] == "gap"]
    assert [(a["since"], a["until"]) for a in gap] == [("2025-01-10T12:00:00+01:00", "2025-01-10T14:00:00+01:00")]
    assert h["temp"]["missing_s"] == 7200
    assert h["c1"]["alerts"] == [] and h["c1"]["completeness"] == 1.0
    # household series are judged on their timestamps alone: no value of theirs was read
    assert not h["c1"]["values_checked"] and h["temp"]["values_checked"]


def test_health_reads_personal_series_as_timestamps_in_one_logged_read(store) -> None:
    from regie.governance import audit
    from regie.governance.accounts import PUBLIC
    from regie.governance.gate import AccessDenied

    before = len(audit.entries(store, kind="access"))
    data_health(store, START, END)
    logged = [e.entry for e in audit.entries(store, kind="access")][before:]
    assert len(logged) == 1
    e = logged[0]
    assert (e["series"], e["granularity"], e["purpose"], e["decision"]) == (
        "presence:3 series", "timestamps", "dpv:ServiceMonitoring", "allowed")
    assert "no values" in e["reason"] and "3 delivery points" in e["reason"]
    with pytest.raises(AccessDenied, match="public"):
        data_health(store, START, END, caller=PUBLIC)
    assert audit.entries(store, kind="access")[-1].entry["decision"] == "refused"


def test_a_stopped_feed_raises_within_one_expected_interval(store) -> None:
    last = at(2025, 2, 19, 23, 30)  # c2's last half-hour
    early = {x["series"]: x for x in data_health(store, START, datetime.fromtimestamp(last + 2700, PARIS))}
    assert not [a for a in early["c2"]["alerts"] if a["kind"] == "stale"]
    late = {x["series"]: x for x in data_health(store, START, datetime.fromtimestamp(last + 2701, PARIS))}
    assert [a["kind"] for a in late["c2"]["alerts"]] == ["stale"]


def test_supervision_report_gathers_every_alert(store) -> None:
    r = supervision_report(store, START, END)
    assert r["territory"] == "t" and [x["transformer"] for x in r["transformers"]] == ["tr"]
    kinds = sorted({(a["source"], a["kind"]) for a in r["alerts"]})
    assert kinds == [("data_health", "gap"), ("data_health", "stale"), ("grid", "overload")]
    since = [a["since_ts"] for a in r["alerts"]]
    assert since == sorted(since, reverse=True)


@pytest.mark.slow
def test_demo_year_the_undersized_substation_stands_out(demo_year, tmp_path) -> None:
    demo = demo_year.data
    s = open_store(demo_year.copy(tmp_path))
    zone = demo.inventory.territory.zone
    a, b = int(demo.t[0]), int(demo.t[-1]) + 1800
    r = supervision_report(s, datetime.fromtimestamp(a, zone), datetime.fromtimestamp(b, zone))
    s.close()
    over = {x["transformer"]: x["loading"]["hours_over_100"] for x in r["transformers"]}
    assert [k for k, v in over.items() if v > 0] == ["tr-03"]  # the one rated a size too small
    tr03 = next(x for x in r["transformers"] if x["transformer"] == "tr-03")
    assert all(datetime.fromisoformat(p["t"]).month in (1, 2, 11, 12) for p in tr03["peaks"])
    days = {datetime.fromisoformat(p["t"]).date() for p in tr03["peaks"]}
    assert len(days) == len(tr03["peaks"])  # five evenings, not one
    # The demo's losses: no-load + load losses of the transformer and 2.5 % on the LV network.
    for x in r["transformers"]:
        assert 0.025 < x["losses"]["total_ratio"] < 0.05
        assert min(x["losses"]["coverage"]) == 1.0
    assert r["health"] and not [a for a in r["alerts"] if a["source"] == "data_health"]


def test_a_series_that_starts_after_the_window_is_not_started_not_stopped(store_url: str) -> None:
    """A sensor installed next month is not a stopped feed this month (and its first reading comes from the
    chunks' metadata, no value read)."""
    s = open_store(store_url)
    inv = Inventory(Territory("t", "T"), sites=[Site("plant", "Plant", "t")],
                    series=[Series("late", SeriesKind.PRODUCTION, "W", Step.parse("PT30M"), site_id="plant")])
    s.save_inventory(inv)
    paris = PARIS
    june = int(datetime(2025, 6, 1, tzinfo=paris).timestamp())
    s.write([Readings("late", june + 1800 * np.arange(48), 100.0 + np.arange(48))])
    (row,) = data_health(s, datetime(2025, 5, 1, tzinfo=paris), datetime(2025, 6, 1, tzinfo=paris))
    assert row["status"] == "not_started" and row["alerts"] == [] and row["gaps"] == []
    (row,) = data_health(s, datetime(2025, 5, 20, tzinfo=paris), datetime(2025, 6, 2, tzinfo=paris))
    assert row["status"] == "ok" and row["gaps"] == []  # no gap before its first reading ever
    s.close()
