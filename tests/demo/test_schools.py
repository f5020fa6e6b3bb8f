"""The schools demo in a store and its live feed: installed with inputs bound to the live twins, a feed that posts
to a real regie server's emoncms API, the IPMVP project preset, and ``regie demo --scenario schools``."""

from __future__ import annotations

import time
from datetime import date, timedelta

import httpx
import numpy as np
import pytest
from servers import AppServer
from sqlalchemy import select

from regie.demo.schools import FAST_STEP_S, WORKS, build_schools
from regie.demo.schools_live import LiveFeed, install_schools, node_of, savings_presets
from regie.ingest import apikeys
from regie.store import open_store
from regie.store.schema import input_map, series


@pytest.fixture(scope="module")
def data():
    return build_schools(seed=7, fast_weeks=1)


@pytest.fixture(scope="module")
def store(data, tmp_path_factory):
    s = open_store(f"sqlite:///{tmp_path_factory.mktemp('schools') / 's.sqlite'}")
    install_schools(s, data)
    yield s
    s.close()


def test_nodes_are_named_after_the_schools() -> None:
    assert node_of("live-cons-ecole-merville") == "merville"
    assert node_of("live-prod-pv-ecole-bois-du-chateau") == "pv-bois-du-chateau"


def test_install_writes_everything_and_binds_the_live_inputs(store, data) -> None:
    expected = len(data.hourly.t) * len(data.hourly.values) + len(data.fast_t) * len(data.fast)
    assert store.count_points() == expected
    with store.engine.connect() as conn:
        rows = conn.execute(select(input_map.c.node, input_map.c.name, series.c.key)
                            .join(series, series.c.id == input_map.c.series_id)).all()  # fmt: skip
    assert sorted((r.node, r.key) for r in rows) == sorted((node_of(sid), sid) for sid in data.fast)
    assert {r.name for r in rows} == {"power"}


def test_the_feed_replays_the_recorded_weeks(data) -> None:
    feed = LiveFeed("http://127.0.0.1:9", "k", data)
    t = int(data.fast_t[0]) + 1234 * FAST_STEP_S
    frames = feed.readings(t)
    assert {f[1] for f in frames} == {node_of(sid) for sid in data.fast}
    assert frames == [[t, *f[1:]] for f in feed.readings(t)]
    later = feed.readings(t + len(data.fast_t) * FAST_STEP_S)  # one loop later: the same values
    assert [f[2] for f in later] == [f[2] for f in frames]
    sid = next(iter(data.fast))
    assert frames[0][2]["power"] == data.fast[sid][1234]


def test_the_savings_preset_brackets_the_works(data) -> None:
    (p,) = savings_presets(data)
    assert date.fromisoformat(p["baseline_end"]) == WORKS[0] - timedelta(days=1)
    assert date.fromisoformat(p["reporting_start"]) == WORKS[1]
    assert p["baseline_start"] == "2024-11-01" and p["series"] == "cons-ecole-merville"


def test_the_live_feed_posts_to_the_emoncms_api_of_a_running_server(store, data) -> None:
    from regie.web.app import create_app

    _, key = apikeys.create_key(store, "feed", ["ingest"])
    web = create_app(store)
    try:
        with AppServer(web) as server:
            base = server.url
            feed = LiveFeed(base, key, data)
            now = int(time.time())
            feed.post(now)
            feed.post(now + FAST_STEP_S)
            assert feed.posted == 2
            with httpx.Client(trust_env=False) as client:
                live = client.get(f"{base}/api/live").json()
            expected = dict(zip([f[1] for f in feed.readings(now + FAST_STEP_S)],
                                [f[2]["power"] for f in feed.readings(now + FAST_STEP_S)], strict=True))  # fmt: skip
            assert [(p["id"], p["power_w"]) for p in live["producers"]] == [
                ("pv-ecole-bois-du-chateau", expected["pv-bois-du-chateau"])
            ]
            assert {b["id"]: b["power_w"] for b in live["buildings"]} == {
                "cons-ecole-merville": expected["merville"], "cons-ecole-bois-du-chateau": expected["bois-du-chateau"],
                "cons-ecole-kerentrech": expected["kerentrech"],
            }  # fmt: skip
            assert live["consumption_w"] == pytest.approx(sum(v for k, v in expected.items() if not k.startswith("pv")))
            t, v = store.read("live-cons-ecole-merville", now - 100, now + 100)
            assert t.tolist() == [now, now + FAST_STEP_S] and np.isfinite(v).all()
    finally:
        inputs = getattr(web.state, "inputs", None)
        if inputs is not None:
            inputs.close()


def test_demo_command_builds_the_schools_store(tmp_path) -> None:
    from typer.testing import CliRunner

    from regie.cli import app

    path = tmp_path / "schools.sqlite"
    result = CliRunner().invoke(app, ["demo", "--scenario", "schools", "--build-only", str(path), "--seed", "7"])
    assert result.exit_code == 0, result.output
    assert "admin" in result.output
    s = open_store(f"sqlite:///{path}")
    try:
        assert s.load_inventory().territory.id == "lorient-ecoles"
        assert [k.name for k in apikeys.list_keys(s)] == ["schools demo live feed"]
    finally:
        s.close()
    bad = CliRunner().invoke(app, ["demo", "--scenario", "atlantis", "--build-only", str(tmp_path / "x.sqlite")])
    assert bad.exit_code != 0


def test_day_types_follow_the_generators_calendar() -> None:
    from regie.demo import schools

    start, end = date(2024, 11, 1), date(2026, 11, 1)
    types = schools.day_types(start, end)
    assert len(types) == (end - start).days and set(types) == set(schools.DAY_TYPES)
    grid = schools._grid(start, end, 1800)
    _, school_day, _ = schools._calendar(grid)
    day = np.asarray((grid.local.tz_localize(None).normalize() - np.datetime64(start)).days)
    assert np.array_equal(types[day] == "school", school_day)  # every step of every day, DST days included
    weekday = grid.weekday
    holiday = ~school_day & (weekday < 5) & (weekday != 2)  # where the generator sets 12 °C
    assert np.array_equal(types[day] == "holiday", holiday)
    assert np.array_equal(types[day] == "wednesday", weekday == 2)
    # known days: Christmas Eve 2025 is a Wednesday, Christmas a Thursday of the holidays
    assert schools.day_types(date(2025, 12, 24), date(2025, 12, 28)).tolist() == [
        "wednesday", "holiday", "holiday", "weekend"]
    assert schools.day_types(date(2026, 3, 2), date(2026, 3, 4)).tolist() == ["school", "school"]
    assert schools.day_types(date(2026, 3, 2), date(2026, 3, 2)).tolist() == []
    assert schools.day_types(date(2026, 5, 14), date(2026, 5, 15)).tolist() == ["holiday"]  # Ascension


def test_the_renovated_school_savings_report_meets_guideline_14_with_its_calendar(store, data) -> None:
    """The savings page's computation on the installed demo: with the schools' day types the baseline passes
    ASHRAE Guideline 14 and recovers the cut within its uncertainty."""
    from regie.demo import schools
    from regie.governance.accounts import CLI_ADMIN
    from regie.services import reports

    (p,) = savings_presets(data)
    one = timedelta(days=1)
    base = (date.fromisoformat(p["baseline_start"]), date.fromisoformat(p["baseline_end"]) + one)
    rep = (date.fromisoformat(p["reporting_start"]), date.fromisoformat(p["reporting_end"]) + one)
    r = reports.building_savings(store, CLI_ADMIN, p["series"], p["temperature"], base, rep,
                                 reason="test", day_type=schools.day_types)  # fmt: skip
    assert r["model"]["day_types"] and r["guideline14"]["cv_rmse_ok"]
    plain = reports.building_savings(store, CLI_ADMIN, p["series"], p["temperature"], base, rep, reason="test")
    assert r["model"]["cv_rmse"] < plain["model"]["cv_rmse"]
    assert r["savings"]["avoided_wh"] > 0
