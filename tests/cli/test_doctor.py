"""`regie doctor`: green on a sound installation, and each red line says what to do, with a sysexits code."""

from __future__ import annotations

import re
import shutil
import socket
import sqlite3
from pathlib import Path

import numpy as np
import pytest
from test_failures import closed_port, regie

from regie.cli import diagnosis as doctor
from regie.config import Settings
from regie.failures import ExitCode
from regie.model import Inventory, Readings, Series, SeriesKind, Step, Territory
from regie.store import open_store


def env_for(tmp_path: Path, **extra: str) -> dict[str, str]:
    data = tmp_path / "data"
    return {"REGIE_DATA_DIR": str(data), "REGIE_DATABASE_URL": f"sqlite:///{data / 'r.sqlite'}", **extra}


def test_nothing_there_yet_says_run_init_and_creates_nothing(tmp_path: Path) -> None:
    r = regie("doctor", env=env_for(tmp_path))
    assert r.returncode == ExitCode.NO_INPUT
    assert "regie init" in r.stdout
    assert not (tmp_path / "data").exists()


def test_sound_installation_is_all_green(tmp_path: Path) -> None:
    env = env_for(tmp_path)
    assert regie("init", env=env).returncode == 0
    assert regie("audit", "checkpoint", env=env).returncode == 0  # makes the signing key
    r = regie("doctor", env=env)
    assert r.returncode == 0, r.stdout
    assert "✘" not in r.stdout
    for name in ("settings", "store", "schema", "disk", "signing keys", "front-end assets"):
        assert name in r.stdout


def test_each_red_line_says_what_to_do(tmp_path: Path) -> None:
    env = env_for(tmp_path)
    assert regie("init", env=env).returncode == 0
    assert regie("audit", "checkpoint", env=env).returncode == 0
    key = next((tmp_path / "data" / "keys").iterdir())
    key.chmod(0o644)
    r = regie("doctor", env=env)
    assert r.returncode == ExitCode.NO_PERMISSION and "chmod 600" in r.stdout
    key.chmod(0o600)

    r = regie("doctor", env={**env, "REGIE_SMTP_HOST": "127.0.0.1", "REGIE_SMTP_PORT": str(closed_port())})
    assert r.returncode == ExitCode.UNAVAILABLE and "SMTP" in r.stdout and "REGIE_SMTP_HOST" in r.stdout

    with sqlite3.connect(tmp_path / "data" / "r.sqlite") as conn:
        conn.execute("UPDATE alembic_version SET version_num = '9999'")
    r = regie("doctor", env=env)
    assert r.returncode == ExitCode.DATA and "newer than this regie" in r.stdout

    config = tmp_path / "bad.toml"
    config.write_text("[regie\n", encoding="utf-8")
    # wide enough that the long tmp path (longer still under xdist: .../popen-gw0/...) does not fold the message
    r = regie("doctor", env={**env, "REGIE_CONFIG": str(config), "COLUMNS": "400"})
    assert r.returncode == ExitCode.CONFIG and "line 1 column 7" in r.stdout


@pytest.mark.mqtt
def test_mqtt_broker_reachable_and_not(tmp_path: Path, mqtt_broker: tuple[str, int]) -> None:
    host, port = mqtt_broker
    ok = doctor.check_mqtt(Settings(data_dir=tmp_path, alert_mqtt_host=host, alert_mqtt_port=port))
    assert [c.status for c in ok] == [doctor.Status.OK]
    down = doctor.check_mqtt(Settings(data_dir=tmp_path, alert_mqtt_host="127.0.0.1", alert_mqtt_port=closed_port()))
    assert [c.code for c in down] == [ExitCode.UNAVAILABLE]


def test_smtp_server_on_loopback_is_green(tmp_path: Path) -> None:
    from aiosmtpd.controller import Controller

    class Sink:
        async def handle_DATA(self, server, session, envelope):
            return "250 OK"

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    controller = Controller(Sink(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        check = doctor.check_smtp(Settings(data_dir=tmp_path, smtp_host="127.0.0.1", smtp_port=port,
                                           smtp_security="none"))  # fmt: skip
    finally:
        controller.stop()
    assert check is not None and check.status is doctor.Status.OK


def test_disk_projection_follows_the_rate_of_data(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'r.sqlite'}"
    store = open_store(url)
    store.save_inventory(Inventory(Territory("t", "T"), series=[
        Series("s1", SeriesKind.CONSUMPTION, "W", Step.parse("PT30M"))]))  # fmt: skip
    t = 1_700_000_000 + 1800 * np.arange(48 * 60, dtype=np.int64)  # 60 days
    store.write([Readings("s1", t, np.arange(len(t), dtype=float) % 977)])
    store.close()
    from regie.store.engine import make_engine

    engine = make_engine(url)
    points, days = doctor.data_rate(engine)
    assert points == len(t) and days == pytest.approx(60, abs=0.1)
    check = doctor.check_disk(url, engine, Settings(data_dir=tmp_path))
    size = sum(p.stat().st_size for p in tmp_path.glob("r.sqlite*"))
    free = shutil.disk_usage(tmp_path).free
    engine.dispose()
    shown = float(re.search(r"([\d,]+) months", check.detail).group(1).replace(",", ""))
    assert shown == pytest.approx(free / (size / days * 30.44), rel=0.05)  # other processes share the disk
