"""The systemd units in deploy/ pass `systemd-analyze verify` and keep an "OK" exposure score (hardened:
unprivileged user, ProtectSystem=strict, NoNewPrivileges...), with the shared hardening drop-in applied."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from needs import service_missing

DEPLOY = Path(__file__).parents[2] / "deploy" / "systemd"
UNITS = sorted(p.name for p in DEPLOY.glob("regie-*.*") if p.is_file())
SERVICES = [u for u in UNITS if u.endswith(".service")]
INSTALLED = "/opt/regie/venv/bin/regie"


@pytest.fixture(scope="module")
def units(tmp_path_factory) -> Path:
    """The units as installed, the regie command pointing at this one (verify checks ExecStart exists)."""
    if shutil.which("systemd-analyze") is None:
        service_missing("systemd-analyze not found (apt-get install systemd)")
    regie = Path(sys.executable).parent / "regie"
    folder = tmp_path_factory.mktemp("units")
    shutil.copytree(DEPLOY, folder, dirs_exist_ok=True)
    for unit in folder.glob("regie-*.*"):
        if unit.is_file():
            unit.write_text(unit.read_text().replace(INSTALLED, str(regie)))
    return folder


def _analyze(folder: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "SYSTEMD_LOG_COLOR": "0", "SYSTEMD_UNIT_PATH": f"{folder}:"}
    return subprocess.run(["systemd-analyze", *args], cwd=folder, env=env, capture_output=True, text=True, timeout=120)


def test_every_unit_verifies(units: Path) -> None:
    assert {"regie-web.service", "regie-mqtt.service", "regie-supervise.timer", "regie-backup.timer"} <= set(UNITS)
    r = _analyze(units, "verify", *(str(units / u) for u in UNITS))
    assert r.returncode == 0 and r.stderr.strip() == "", r.stderr


@pytest.mark.parametrize("service", SERVICES)
def test_every_service_is_hardened(units: Path, service: str) -> None:
    r = _analyze(units, "security", "--offline=true", "--no-pager", str(units / service))
    score = re.search(r"Overall exposure level for \S+: ([\d.]+) (\w+)", r.stdout)
    assert score, r.stdout + r.stderr
    assert float(score.group(1)) <= 2.0 and score.group(2) == "OK", r.stdout[-2000:]
    text = (units / service).read_text()
    assert "User=regie" in text and "ReadWritePaths=" in text


def test_timers_start_their_service(units: Path) -> None:
    for timer in (u for u in UNITS if u.endswith(".timer")):
        assert (units / timer.replace(".timer", ".service")).exists()
        assert "Persistent=true" in (units / timer).read_text()  # a night missed while off runs at boot


def test_the_example_settings_file_is_valid(monkeypatch) -> None:
    """deploy/regie.toml.example loads (an unknown or unsafe setting would stop regie at start-up)."""
    from regie.config import get_settings

    for name in list(os.environ):
        if name.startswith("REGIE_"):
            monkeypatch.delenv(name)
    settings = get_settings(DEPLOY.parent / "regie.toml.example")
    assert settings.public_https and settings.host == "127.0.0.1" and str(settings.backup_dir) == "/var/backups/regie"
