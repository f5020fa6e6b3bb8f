"""The schools demo in a store and its live feed: installed with inputs bound to the live twins, a feed that posts
to a real regie server's emoncms API, the IPMVP project preset, and ``regie demo --scenario schools``."""

from __future__ import annotations

import socket
import threading
import time
from datetime import date, timedelta

import httpx
import numpy as np
import pytest
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
    import uvicorn

    from regie.web.app import create_app

    _, key = apikeys.create_key(store, "feed", ["ingest"])
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    base = f"http://127.0.0.1:{sock.getsockname()[1]}"
    web = create_app(store)
    server = uvicorn.Server(uvicorn.Config(web, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    feed = LiveFeed(base, key, data)
    try:
        while not server.started:
            assert thread.is_alive()
            time.sleep(0.02)
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
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
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
