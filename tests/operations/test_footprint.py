"""The footprint's arithmetic on figures worked out by hand, the store's measurement on real stores, and the CPU
meter on a clock the test turns (docs/footprint.md)."""

from __future__ import annotations

import json
import time

import httpx
import numpy as np
import pytest
from servers import AppServer

from regie.config import Settings
from regie.ingest import apikeys
from regie.ingest.inputs import InputService
from regie.model import Inventory, Readings, Series, SeriesKind, Step, Territory
from regie.operations.footprint import (
    CpuFigures,
    CpuMeter,
    Factors,
    StoreFigures,
    cpu_from_metrics,
    estimate,
    measure_store,
    phpfina_slots,
    request_kind,
    store_bytes,
)
from regie.store import open_store
from regie.store.engine import sqlite_files_bytes
from regie.web.app import create_app

DAY = 86400
NOW = 1_767_225_600  # 2026-01-01 00:00 UTC


def test_the_year_ahead_worked_out_by_hand() -> None:
    store = StoreFigures("sqlite", bytes=1_600_000, points=1_000_000, series=2, points_per_day=10_000,
                         basis_days=30, basis="window", phpfina_points=1_200_000)  # fmt: skip
    cpu = CpuFigures(seconds=DAY, process_cpu_s=9.0, page_cpu_s=2.0, pages=100, ingest_cpu_s=5.0, ingest_requests=10,
                     ingest_points=1_000_000, writer_cpu_s=3.0, writer_points=1_000_000)  # fmt: skip
    factors = Factors(cpu_watts=1.0, idle_watts=2.0, storage_kwh_per_gb_year=0.01, gco2e_per_kwh=50.0)
    f = estimate(store, cpu, factors)

    assert cpu.cpu_s_per_page == pytest.approx(0.02)
    assert cpu.cpu_s_per_mpoint_http == pytest.approx(5.0)
    assert cpu.cpu_s_per_mpoint_writer == pytest.approx(3.0)
    assert cpu.pages_per_day == pytest.approx(100)
    r = f.regie
    assert r.bytes_per_point == pytest.approx(1.6)
    assert r.bytes_per_year == pytest.approx(1.6 * 10_000 * 365.25)  # 5 844 000 B
    # mean size over the year: 1.6 MB now + half of 5.844 MB, at 0.01 kWh per GB
    assert r.storage_kwh_per_year == pytest.approx((1.6e6 + 2.922e6) / 1e9 * 0.01)
    # 10 000 points a day × 365.25 × 5 CPU-s per million + 100 pages a day × 365.25 × 0.02 CPU-s
    assert r.cpu_s_per_year == pytest.approx(18.2625 + 730.5)
    assert r.cpu_kwh_per_year == pytest.approx(748.7625 / 3.6e6)
    assert r.kwh_per_year == pytest.approx(4.522e-5 + 748.7625 / 3.6e6)
    assert r.gco2e_per_year == pytest.approx(50 * (4.522e-5 + 748.7625 / 3.6e6))

    e = f.emoncms
    assert e.bytes_now == 1_200_000 * 4 + 2 * 16  # a float32 per interval and a 16-byte .meta per feed
    assert e.bytes_per_year == pytest.approx(4 * 1.2 * 10_000 * 365.25)  # gaps ahead in the same ratio
    assert e.storage_kwh_per_year == pytest.approx((4_800_032 + 8_766_000) / 1e9 * 0.01)
    assert e.cpu_s_per_year is None and e.kwh_per_year == e.storage_kwh_per_year
    assert f.idle_kwh_per_year == pytest.approx(2.0 * 8766 / 1000)
    assert f.idle_gco2e_per_year == pytest.approx(876.6)
    assert json.loads(json.dumps(f.as_dict()))["cpu"]["cpu_s_per_page"] == pytest.approx(0.02)


def test_without_a_measured_cpu_only_storage_counts() -> None:
    store = StoreFigures("sqlite", 400, 100, 1, 10.0, 30, "window", 100)
    f = estimate(store, None, Factors(storage_kwh_per_gb_year=1.0, gco2e_per_kwh=100.0))
    assert f.regie.cpu_s_per_year is None and f.regie.cpu_kwh_per_year is None
    assert f.regie.kwh_per_year == pytest.approx((400 + 4 * 10 * 365.25 / 2) / 1e9)
    empty = estimate(StoreFigures("sqlite", 0, 0, 0, 0.0, 0.0, "history", 0), None, Factors())
    assert empty.regie.bytes_per_point is None and empty.emoncms.bytes_per_point is None


def test_the_default_factors_are_the_settings_defaults() -> None:
    assert Factors.from_settings(Settings.defaults()) == Factors()
    mine = Settings.defaults(footprint_gco2e_per_kwh=79.0, footprint_cpu_watts=15.0)
    assert Factors.from_settings(mine).gco2e_per_kwh == 79.0 and Factors.from_settings(mine).cpu_watts == 15.0
    with pytest.raises(ValueError, match="footprint_cpu_watts"):
        Settings.defaults(footprint_cpu_watts=0)


def test_phpfina_keeps_an_interval_per_step_gaps_included() -> None:
    assert phpfina_slots(5, 0, 100, "PT10S") == 11  # 5 points over 100 s at 10 s: 11 float32 slots
    assert phpfina_slots(11, 0, 100, "PT10S") == 11
    assert phpfina_slots(5, 0, 100, None) == 5  # no fixed step: as many as the points
    assert phpfina_slots(5, 0, 100 * DAY, "P1D") == 5
    assert phpfina_slots(5, 0, 100, "not a step") == 5


def _store_with(url: str, series: dict[str, tuple[str | None, np.ndarray]]):
    store = open_store(url)
    store.save_inventory(
        Inventory(
            Territory("t", "T"),
            series=[
                Series(key, SeriesKind.SENSOR, "W", name=key, resolution=0.1, step=Step.parse(step) if step else None)
                for key, (step, _) in series.items()
            ],
        )
    )
    store.write([Readings(key, t, np.ones(len(t))) for key, (_, t) in series.items()])
    return store


def test_a_store_begun_two_days_ago_ingests_at_its_own_rate(tmp_path) -> None:
    t = NOW - 2 * DAY + 10 * np.arange(2 * 8640, dtype=np.int64)  # two days at 10 s up to now
    url = f"sqlite:///{tmp_path / 'new.sqlite'}"
    store = _store_with(url, {"a": ("PT10S", t), "b": ("PT10S", t[::2])})
    figures = measure_store(store, now=NOW, window_days=30)
    on_disk = sqlite_files_bytes(tmp_path / "new.sqlite")  # the file, its WAL and shared memory, while open
    store.close()
    assert figures.points == 17280 + 8640 and figures.series == 2
    assert figures.basis == "window"
    assert figures.basis_days == pytest.approx(2, rel=1e-3)
    assert figures.points_per_day == pytest.approx((17280 + 8640) / 2, rel=1e-3)
    assert figures.phpfina_points == 17280 + 17279  # b has a gap every other slot: PHPFina still keeps them
    assert figures.bytes == on_disk > (tmp_path / "new.sqlite").stat().st_size


def test_only_the_window_counts_when_the_store_is_older(tmp_path) -> None:
    t = NOW - 90 * DAY + 1800 * np.arange(90 * 48, dtype=np.int64)  # 90 days at 30 min, up to now
    store = _store_with(f"sqlite:///{tmp_path / 'old.sqlite'}", {"c": ("PT30M", t)})
    figures = measure_store(store, now=NOW, window_days=30)
    store.close()
    assert figures.basis == "window" and figures.basis_days == pytest.approx(30, rel=1e-3)
    # 48 points a day, give or take the share of the chunk straddling the window's start
    assert figures.points_per_day == pytest.approx(48, rel=0.02)


def test_an_archive_falls_back_to_its_whole_history(tmp_path) -> None:
    t = NOW - 400 * DAY + 1800 * np.arange(10 * 48, dtype=np.int64)  # ten days, more than a year ago
    store = _store_with(f"sqlite:///{tmp_path / 'archive.sqlite'}", {"d": ("PT30M", t)})
    figures = measure_store(store, now=NOW, window_days=30)
    store.close()
    assert figures.basis == "history"
    assert figures.basis_days == pytest.approx(10, rel=0.01)
    assert figures.points_per_day == pytest.approx(48, rel=0.01)


@pytest.mark.postgres
def test_postgresql_size_is_its_relations(postgres_url) -> None:
    t = NOW - DAY + 10 * np.arange(8640, dtype=np.int64)
    store = _store_with(postgres_url, {"e": ("PT10S", t)})
    size = store_bytes(store)
    figures = measure_store(store, now=NOW)
    store.close()
    assert size > 8640  # at least the chunk's bytes, indexes and the other tables too
    assert figures.backend == "postgresql" and figures.bytes == size and figures.points == 8640


def test_the_meter_splits_cpu_among_the_requests_in_flight() -> None:
    clock = [0.0]
    meter = CpuMeter(clock=lambda: clock[0])
    page = meter.begin("page")
    clock[0] = 1.0
    ingest = meter.begin("ingest")  # from 1 s both are open: each gets half of what follows
    clock[0] = 3.0
    meter.end(page)
    clock[0] = 4.0
    meter.end(ingest)
    clock[0] = 10.0  # nothing in flight: charged to nobody
    meter.ingested(1000)
    f = meter.snapshot()
    assert (f.page_cpu_s, f.pages) == (2.0, 1)
    assert (f.ingest_cpu_s, f.ingest_requests, f.ingest_points) == (2.0, 1, 1000)
    assert f.cpu_s_per_mpoint_http == pytest.approx(2000.0)


def test_request_kinds() -> None:
    assert request_kind("POST", "/input/bulk.json") == "ingest"
    assert request_kind("GET", "/input/post") == "ingest"
    assert request_kind("GET", "/admin") == "page"
    assert request_kind("GET", "/static/app.css") == "other"
    assert request_kind("GET", "/api/balance") == "other"
    assert request_kind("POST", "/login") == "other"


def test_a_serving_app_measures_its_own_cpu(tmp_path) -> None:
    """Through a real server: emoncms bulk posts and pages are metered, and /metrics carries the meter."""
    store = _store_with(f"sqlite:///{tmp_path / 'served.sqlite'}", {})
    key = apikeys.create_key(store, "emonpi", ["write"])[1]
    app = create_app(store, Settings.defaults(data_dir=tmp_path))
    app.state.inputs = InputService(store).start()
    now = int(time.time())
    rows = [[now - 600 + 10 * i, "emontx", i, 2 * i, 3 * i] for i in range(50)]
    try:
        with AppServer(app) as server, httpx.Client(base_url=server.url) as http:
            for _ in range(3):
                r = http.post("/input/bulk.json", data={"data": json.dumps(rows), "time": 0, "apikey": key})
                assert r.text == "ok"
            for _ in range(4):
                assert http.get("/login").status_code == 200
            text = http.get("/metrics").text
    finally:
        app.state.inputs.close()
        store.close()
    cpu = cpu_from_metrics(text)
    assert cpu is not None
    assert cpu.ingest_requests == 3 and cpu.ingest_points == 450  # 50 rows × 3 inputs, handed to the store thrice
    assert cpu.writer_points == 450 and cpu.writer_cpu_s > 0
    assert cpu.pages == 4 and cpu.page_cpu_s > 0 and cpu.ingest_cpu_s > 0
    assert cpu.process_cpu_s > cpu.page_cpu_s + cpu.ingest_cpu_s
    assert cpu_from_metrics("# nothing here\n") is None


def test_the_server_gives_freed_memory_back_on_glibc() -> None:
    """`regie serve` fixes glibc's mmap threshold and arena count (docs/footprint.md); elsewhere nothing is set."""
    import platform

    from regie.operations.footprint import bound_heap

    applied = bound_heap()
    assert applied == (platform.system() == "Linux" and platform.libc_ver()[0] == "glibc")
