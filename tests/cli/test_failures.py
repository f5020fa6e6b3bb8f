"""Errors a person can act on: each known failure of the `regie` command, run as a person runs it (a real
process), answers in at most a few lines with what, where and what to do, a sysexits code, and writes
nothing it should not."""

from __future__ import annotations

import os
import socket
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from regie.failures import ExitCode

REGIE = [sys.executable, "-m", "regie.cli"]


def regie(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if not k.startswith("REGIE_")}
    return subprocess.run(
        [*REGIE, *args], env={**base, "COLUMNS": "200", **(env or {})}, capture_output=True, text=True,
        timeout=300, cwd=cwd,
    )  # fmt: skip


def short(result: subprocess.CompletedProcess, most: int = 3) -> str:
    """The error output, asserted to be a few lines without a traceback."""
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert "Traceback" not in result.stderr and len(lines) <= most, result.stderr
    return result.stderr


def closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def test_unreachable_postgresql_says_where_and_masks_the_password(tmp_path: Path) -> None:
    port = closed_port()
    r = regie("init", env={"REGIE_DATABASE_URL": f"postgresql+psycopg://regie:s3cret@127.0.0.1:{port}/x",
                           "REGIE_DATA_DIR": str(tmp_path)})  # fmt: skip
    assert r.returncode == ExitCode.UNAVAILABLE
    err = short(r)
    assert f"127.0.0.1:{port}" in err and "start PostgreSQL" in err
    assert "s3cret" not in err + r.stdout


def test_debug_shows_the_traceback(tmp_path: Path) -> None:
    port = closed_port()
    env = {"REGIE_DATABASE_URL": f"postgresql+psycopg://regie@127.0.0.1:{port}/x", "REGIE_DATA_DIR": str(tmp_path)}
    r = regie("--debug", "init", env=env)
    assert r.returncode != 0 and "Traceback" in r.stderr and "OperationalError" in r.stderr
    r = regie("init", env={**env, "REGIE_DEBUG": "1"})
    assert "Traceback" in r.stderr


def test_config_with_a_typo_names_line_and_column(tmp_path: Path) -> None:
    config = tmp_path / "regie.toml"
    config.write_text("[regie\nport = 8001\n", encoding="utf-8")
    r = regie("init", env={"REGIE_CONFIG": str(config), "REGIE_DATA_DIR": str(tmp_path)})
    assert r.returncode == ExitCode.CONFIG
    err = short(r)
    assert f"{config}, line 1 column 7" in err and "[regie]" in err
    assert not list(tmp_path.glob("*.sqlite")), "a broken config must write nothing"


def test_wrong_setting_value_and_missing_config_file(tmp_path: Path) -> None:
    config = tmp_path / "regie.toml"
    config.write_text('[regie]\nport = "eight thousand"\n', encoding="utf-8")
    r = regie("init", env={"REGIE_CONFIG": str(config), "REGIE_DATA_DIR": str(tmp_path)})
    assert r.returncode == ExitCode.CONFIG and "port" in short(r)
    r = regie("init", env={"REGIE_CONFIG": str(tmp_path / "nowhere.toml"), "REGIE_DATA_DIR": str(tmp_path)})
    assert r.returncode == ExitCode.CONFIG and "nowhere.toml does not exist" in short(r)


def test_data_folder_that_cannot_be_created(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder", encoding="utf-8")
    r = regie("init", env={"REGIE_DATA_DIR": str(blocker / "data")})
    assert r.returncode == ExitCode.CANT_CREATE
    assert "a-file" in short(r)


def test_store_written_by_a_newer_regie_is_left_alone(tmp_path: Path) -> None:
    db = tmp_path / "regie.sqlite"
    env = {"REGIE_DATABASE_URL": f"sqlite:///{db}", "REGIE_DATA_DIR": str(tmp_path)}
    assert regie("init", env=env).returncode == 0
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE alembic_version SET version_num = '9999'")
        tables = conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
    r = regie("init", env=env)
    assert r.returncode == ExitCode.DATA
    assert "newer than this regie" in short(r)
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT version_num FROM alembic_version").fetchone() == ("9999",)
        assert conn.execute("SELECT count(*) FROM sqlite_master").fetchone() == tables


@pytest.mark.postgres
def test_postgresql_login_refused_and_missing_database(postgres_base_url: str, tmp_path: Path) -> None:
    host = postgres_base_url.split("@", 1)[1].split("/", 1)[0]
    r = regie("init", env={"REGIE_DATABASE_URL": f"postgresql+psycopg://no_such_role:pw@{host}/test",
                           "REGIE_DATA_DIR": str(tmp_path)})  # fmt: skip
    assert r.returncode == ExitCode.NO_PERMISSION and "refused the login" in short(r)
    r = regie("init", env={"REGIE_DATABASE_URL": f"postgresql+psycopg://postgres@{host}/no_such_database_here",
                           "REGIE_DATA_DIR": str(tmp_path)})  # fmt: skip
    assert r.returncode == ExitCode.CONFIG and "does not exist" in short(r)


# ------------------------------------------------------------------ a small disk of our own


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 6 MiB tmpfs: a real disk that fills up (needs root, as in CI; else the test says why it skips)."""
    mount = tmp_path / "disk"
    mount.mkdir()
    if os.geteuid() != 0:
        from needs import service_missing

        service_missing("a full-disk test mounts a small tmpfs, which needs root (CI runs as root)")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=6m", "tmpfs", str(mount)], capture_output=True)
    if done.returncode != 0:
        from needs import service_missing

        service_missing(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def test_demo_on_a_disk_that_fills_up_keeps_what_was_committed(small_disk: Path, tmp_path: Path) -> None:
    db = small_disk / "demo.sqlite"
    r = regie("demo", "--build-only", str(db), env={"REGIE_DATA_DIR": str(small_disk)})
    assert r.returncode == ExitCode.IO, r.stderr[-2000:]
    err = short(r)
    assert str(db) in err and "full" in err and "free at least" in err
    # The store stays sound: copy it off the full disk and check it, every committed batch readable.
    for f in small_disk.glob("demo.sqlite*"):
        (tmp_path / f.name).write_bytes(f.read_bytes())
    with sqlite3.connect(tmp_path / "demo.sqlite") as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert conn.execute("SELECT count(*) FROM territory").fetchone() == (1,)


def test_read_only_store_writes_nothing(small_disk: Path) -> None:
    db = small_disk / "regie.sqlite"
    env = {"REGIE_DATABASE_URL": f"sqlite:///{db}", "REGIE_DATA_DIR": str(small_disk)}
    assert regie("init", env=env).returncode == 0
    regie("key", "add", "first", env=env)
    before = db.read_bytes()
    subprocess.run(["mount", "-o", "remount,ro", str(small_disk)], check=True)
    r = regie("key", "add", "emonpi", env=env)
    assert r.returncode in (ExitCode.NO_PERMISSION, ExitCode.CANT_CREATE), r.stderr
    assert "read-only" in short(r) or "cannot be opened" in r.stderr
    assert db.read_bytes() == before
