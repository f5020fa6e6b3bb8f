"""`regie demo --build-only` builds the year into a store whose balance meets the project's targets."""

from __future__ import annotations

from datetime import datetime

import pytest
from typer.testing import CliRunner

from regie.cli import app
from regie.model import Step
from regie.services.balance import territory_balance
from regie.store import open_store

pytestmark = pytest.mark.slow

TARGETS_GWH = {"hydro": 2.5 + 0.7 + 0.6, "pv": 0.4 + 1.9, "biogas": 0.6}


@pytest.fixture(scope="module")
def demo_store(tmp_path_factory: pytest.TempPathFactory):
    path = tmp_path_factory.mktemp("demo") / "demo.sqlite"
    result = CliRunner().invoke(app, ["demo", "--build-only", str(path)])
    assert result.exit_code == 0, result.output
    store = open_store(f"sqlite:///{path}")
    yield store, result.output
    store.close()


def test_build_reports_what_it_wrote(demo_store) -> None:
    store, output = demo_store
    assert "points written" in output
    assert store.count_points() == len(store.load_inventory().series) * 17520


def test_stored_year_meets_targets(demo_store) -> None:
    store, _ = demo_store
    zone = store.load_inventory().territory.zone
    r = territory_balance(store, datetime(2025, 1, 1, tzinfo=zone), datetime(2026, 1, 1, tzinfo=zone),
                          Step.parse("P1M"))
    totals = r["totals"]
    assert totals["consumption_wh"] / 1e9 == pytest.approx(6.5, rel=0.03)
    for source, gwh in TARGETS_GWH.items():
        assert totals["production_by_source_wh"][source] / 1e9 == pytest.approx(gwh, rel=0.03), source
    assert totals["coverage"] == pytest.approx(1.04, abs=0.03)
    # same-step matching is lower than annual coverage: winter evenings are not covered by summer sun
    assert 0.4 < totals["self_sufficiency"] < totals["coverage"]
    assert len(r["periods"]["start"]) == 12


def test_refuses_to_build_over_existing_data(demo_store, tmp_path) -> None:
    store, _ = demo_store
    path = store.engine.url.database
    # typer's error panel folds at COLUMNS (80 by default): the tmp path, longer under xdist, would split the phrase
    result = CliRunner().invoke(app, ["demo", "--build-only", path], env={"COLUMNS": "400"})
    assert result.exit_code != 0 and "already holds data" in result.output
