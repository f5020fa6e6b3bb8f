"""`regie backup` / `regie restore`: what a backup promises is what a restore gives back."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from backup_world import PASSPHRASE, fill_store
from typer.testing import CliRunner

from regie.cli import app
from regie.governance import audit, keys
from regie.operations import backup, restore
from regie.operations.manifest import BackupError, read_manifest
from regie.operations.secrets import SecretsError
from regie.store import open_store
from regie.store.schema import SCHEMA_VERSION


def _sqlite(path: Path) -> str:
    return f"sqlite:///{path}"


@pytest.fixture
def passphrase(monkeypatch) -> str:
    """The backup passphrase, given as a timer would: in REGIE_BACKUP_PASSPHRASE."""
    monkeypatch.setenv("REGIE_BACKUP_PASSPHRASE", PASSPHRASE)
    return PASSPHRASE


@pytest.fixture
def source(tmp_path) -> tuple[str, Path]:
    data_dir = tmp_path / "source-data"
    url = _sqlite(data_dir / "regie.sqlite")
    fill_store(url, data_dir)
    return url, data_dir


def test_backup_restores_everything_it_lists(tmp_path, source) -> None:
    url, data_dir = source
    folder = backup.take_backup(url, tmp_path / "backups", data_dir, PASSPHRASE)
    m = read_manifest(folder)
    assert m.schema_revision == SCHEMA_VERSION and m.source_backend == "sqlite"
    assert m.points == 3 * 5000 and m.tables["quarantine"] == 1 and m.tables["account"] == 1
    assert m.access_log["size"] == 6 and m.secrets == ["keys/audit-ed25519.pem", "keys/secret.key"]
    # the keys are sealed: neither key's bytes are anywhere in the backup in clear
    secret = (data_dir / "keys" / "secret.key").read_bytes()
    pem = (data_dir / "keys" / "audit-ed25519.pem").read_bytes()
    for f in folder.rglob("*"):
        if f.is_file():
            assert secret not in f.read_bytes() and pem[30:90] not in f.read_bytes(), f

    target_dir = tmp_path / "target-data"
    target = _sqlite(target_dir / "regie.sqlite")
    restore.restore(folder, target, target_dir, PASSPHRASE)
    assert (target_dir / "keys" / "secret.key").read_bytes() == secret
    assert oct((target_dir / "keys" / "secret.key").stat().st_mode & 0o777) == "0o600"
    store = open_store(target)
    try:
        public = keys.load_or_create_signing_key(target_dir).public_key()
        result = audit.verify(store, public)
        assert result.ok and result.size == 6 and result.checkpoints == 1
        assert store.count_points() == 15000
    finally:
        store.close()
    assert restore.verify(folder, PASSPHRASE).ok


def test_restore_refuses_a_store_that_holds_data(tmp_path, source) -> None:
    url, data_dir = source
    folder = backup.take_backup(url, tmp_path / "backups", data_dir, PASSPHRASE)
    with pytest.raises(BackupError, match=r"is not empty: .*chunk .*--force"):
        restore.restore(folder, url, None, PASSPHRASE)
    restore.restore(folder, url, None, PASSPHRASE, force=True)  # replaces it with the same content
    assert restore.verify(folder, PASSPHRASE).ok


def test_restore_into_a_store_made_by_regie_init(tmp_path, source) -> None:
    url, data_dir = source
    folder = backup.take_backup(url, tmp_path / "backups", data_dir, PASSPHRASE)
    target = _sqlite(tmp_path / "new.sqlite")
    open_store(target).close()  # `regie init`: empty, at the newest schema
    restore.restore(folder, target, None, None)
    store = open_store(target)
    assert store.count_points() == 15000
    store.close()


def test_a_wrong_passphrase_restores_nothing(tmp_path, source) -> None:
    url, data_dir = source
    folder = backup.take_backup(url, tmp_path / "backups", data_dir, PASSPHRASE)
    target = _sqlite(tmp_path / "t.sqlite")
    with pytest.raises(SecretsError, match="wrong backup passphrase"):
        restore.restore(folder, target, tmp_path / "t-data", "not the passphrase at all")
    assert not (tmp_path / "t.sqlite").exists() and not (tmp_path / "t-data").exists()


def test_keys_are_never_kept_without_a_passphrase(tmp_path, source) -> None:
    url, data_dir = source
    with pytest.raises(BackupError, match="REGIE_BACKUP_PASSPHRASE"):
        backup.take_backup(url, tmp_path / "backups", data_dir, None)
    assert list((tmp_path / "backups").iterdir()) == []


def test_a_damaged_backup_is_refused(tmp_path, source) -> None:
    url, data_dir = source
    folder = backup.take_backup(url, tmp_path / "backups", data_dir, PASSPHRASE)
    chunk_file = folder / "data" / "chunk.jsonl.gz"
    blob = bytearray(chunk_file.read_bytes())
    blob[len(blob) // 2] ^= 0xFF
    chunk_file.write_bytes(bytes(blob))
    with pytest.raises(BackupError, match=r"chunk\.jsonl\.gz does not match its SHA-256"):
        restore.restore(folder, _sqlite(tmp_path / "t.sqlite"), None, None)


def test_a_manifest_that_lies_fails_verify(tmp_path, source) -> None:
    """--verify checks the data against the promises, not only the files against their hashes."""
    url, data_dir = source
    folder = backup.take_backup(url, tmp_path / "backups", data_dir, PASSPHRASE)
    path = folder / "manifest.json"
    raw = json.loads(path.read_text())
    raw["series"]["sensor-1"]["sha256"] = "0" * 64
    path.write_text(json.dumps(raw))
    result = restore.verify(folder, PASSPHRASE)
    assert not result.ok and result.problems == (
        "series sensor-1: restored points differ from the manifest's checksum",
    )


def test_cli_backup_verify_restore_and_retention(tmp_path, source, passphrase, monkeypatch) -> None:
    url, data_dir = source
    runner = CliRunner()
    dest = tmp_path / "backups"
    args = ["--database-url", url, "--data-dir", str(data_dir)]
    for _ in range(2):
        r = runner.invoke(app, ["backup", str(dest), *args, "--keep", "daily=1"])
        assert r.exit_code == 0, r.output
    assert len(backup.list_backups(dest)) == 1  # two the same day: daily=1 keeps the newest
    folder = backup.list_backups(dest)[0].path
    r = runner.invoke(app, ["backup", "--verify", str(folder)])
    assert r.exit_code == 0 and "restores to what its manifest says" in r.output, r.output
    target = _sqlite(tmp_path / "t.sqlite")
    r = runner.invoke(app, ["restore", str(dest), "--database-url", target, "--data-dir", str(tmp_path / "t")])
    assert r.exit_code == 0 and "15,000 points" in r.output, r.output
    r = runner.invoke(app, ["restore", str(dest), "--database-url", target, "--data-dir", str(tmp_path / "t")])
    assert r.exit_code == 2 and "not empty" in r.output and "--force" in r.output
    monkeypatch.delenv("REGIE_BACKUP_PASSPHRASE")
    r = runner.invoke(app, ["backup", str(dest), *args])
    assert r.exit_code == 2 and "REGIE_BACKUP_PASSPHRASE" in r.output
    assert os.listdir(dest) == [folder.name]


def test_the_passphrase_comes_from_a_systemd_credential(tmp_path, source, monkeypatch) -> None:
    """deploy/systemd/regie-backup.service hands the passphrase over with LoadCredential=, not the environment."""
    url, data_dir = source
    monkeypatch.delenv("REGIE_BACKUP_PASSPHRASE", raising=False)
    credentials = tmp_path / "credentials"
    credentials.mkdir()
    (credentials / "backup-passphrase").write_text(PASSPHRASE + "\n")
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(credentials))
    r = CliRunner().invoke(app, ["backup", str(tmp_path / "b"), "--database-url", url, "--data-dir", str(data_dir)])
    assert r.exit_code == 0, r.output
    (folder,) = backup.list_backups(tmp_path / "b")
    assert restore.verify(folder.path, PASSPHRASE).ok


def test_restore_keeps_other_keys_and_the_store_untouched(tmp_path, source) -> None:
    """A data folder with another régie's keys: refused before anything is loaded (a restore is all or nothing)."""
    url, data_dir = source
    folder = backup.take_backup(url, tmp_path / "backups", data_dir, PASSPHRASE)
    other = tmp_path / "other"
    keys.load_or_create_secret(other)
    target = _sqlite(tmp_path / "t.sqlite")
    with pytest.raises(SecretsError, match=r"already holds other secrets \(keys/secret.key\).*--force"):
        restore.restore(folder, target, other, PASSPHRASE)
    assert not (tmp_path / "t.sqlite").exists()
    restore.restore(folder, target, other, PASSPHRASE, force=True)
    assert (other / "keys" / "secret.key").read_bytes() == (data_dir / "keys" / "secret.key").read_bytes()
