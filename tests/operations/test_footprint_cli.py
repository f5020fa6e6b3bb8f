"""`regie footprint`: the table and the JSON, with the CPU read from a running server's /metrics or said missing."""

from __future__ import annotations

import json
import os
import time

import httpx
import numpy as np
from servers import AppServer
from typer.testing import CliRunner

from regie.cli import app
from regie.config import Settings
from regie.ingest import apikeys
from regie.ingest.inputs import InputService
from regie.model import Inventory, Readings, Series, SeriesKind, Step, Territory
from regie.store import open_store
from regie.web.app import create_app

DAY = 86400


def _clean_env(monkeypatch, url: str) -> None:
    for name in list(os.environ):
        if name.startswith("REGIE_") and name != "REGIE_DATA_DIR":
            monkeypatch.delenv(name)
    monkeypatch.setenv("REGIE_DATABASE_URL", url)


def _fill(url: str) -> int:
    store = open_store(url)
    store.save_inventory(
        Inventory(Territory("t", "T"), series=[Series("s", SeriesKind.SENSOR, "W", name="s", step=Step.parse("PT30M"))])
    )
    now = int(time.time())
    t = now - 10 * DAY + 1800 * np.arange(10 * 48, dtype=np.int64)
    store.write([Readings("s", t, np.full(len(t), 150.0))])
    n = store.count_points()
    store.close()
    return n


def test_without_a_server_the_cpu_is_said_missing(tmp_path, monkeypatch) -> None:
    url = f"sqlite:///{tmp_path / 'regie.sqlite'}"
    points = _fill(url)
    _clean_env(monkeypatch, url)
    monkeypatch.setenv("REGIE_FOOTPRINT_GCO2E_PER_KWH", "100")
    runner = CliRunner()
    r = runner.invoke(app, ["footprint", "--json", "--server", "http://127.0.0.1:9"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.output)
    assert out["cpu"] is None and "no regie serve answered at http://127.0.0.1:9" in out["cpu_missing"]
    assert out["store"]["points"] == points == 480
    assert out["store"]["basis"] == "window" and abs(out["store"]["points_per_day"] - 48) < 0.5
    assert out["regie"]["bytes_per_point"] == out["store"]["bytes"] / 480
    assert out["emoncms"]["bytes_now"] == 480 * 4 + 16 and out["factors"]["gco2e_per_kwh"] == 100
    r = runner.invoke(app, ["footprint", "--server", "http://127.0.0.1:9"], terminal_width=160)
    assert r.exit_code == 0, r.output
    assert "bytes per point" in r.output and "4.03" in r.output  # (480 × 4 + 16) / 480 for PHPFina
    assert "CPU not measured" in r.output and "100 gCO2e/kWh" in r.output
    r = runner.invoke(app, ["footprint", "--server", "ftp://127.0.0.1:9"])
    assert r.exit_code == 2 and "not an http(s) address" in r.output


def test_the_cpu_comes_from_the_running_server(tmp_path, monkeypatch) -> None:
    url = f"sqlite:///{tmp_path / 'regie.sqlite'}"
    _fill(url)
    store = open_store(url)
    key = apikeys.create_key(store, "emonpi", ["write"])[1]
    web = create_app(store, Settings.defaults(data_dir=tmp_path))
    web.state.inputs = InputService(store).start()
    _clean_env(monkeypatch, url)
    now = int(time.time())
    rows = [[now - 3600 + 10 * i, "emontx", i, i] for i in range(200)]
    try:
        with AppServer(web) as server:
            with httpx.Client(base_url=server.url) as http:
                assert http.post("/input/bulk.json", data={"data": json.dumps(rows), "apikey": key}).text == "ok"
                assert http.get("/login").status_code == 200
            r = CliRunner().invoke(app, ["footprint", "--json", "--server", server.url])
    finally:
        web.state.inputs.close()
        store.close()
    assert r.exit_code == 0, r.output
    out = json.loads(r.output)
    assert out["cpu_source"] == server.url and out["cpu_missing"] is None
    assert out["cpu"]["ingest_points"] == 400 and out["cpu"]["pages"] == 1
    assert out["cpu"]["cpu_s_per_mpoint_http"] > 0 and out["regie"]["cpu_s_per_year"] > 0
    assert out["regie"]["kwh_per_year"] > out["regie"]["storage_kwh_per_year"]
