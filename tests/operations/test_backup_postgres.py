"""A village moving to a bigger server and back: SQLite → backup → PostgreSQL → backup → SQLite."""

from __future__ import annotations

import pytest
from backup_world import PASSPHRASE, fill_store

from regie.governance import audit, keys
from regie.operations import backup, restore
from regie.operations.manifest import read_manifest
from regie.store import open_store

pytestmark = pytest.mark.postgres


def test_sqlite_to_postgresql_and_back_keeps_every_checksum(tmp_path, postgres_url: str) -> None:
    data_dir = tmp_path / "village"
    sqlite_url = f"sqlite:///{data_dir / 'regie.sqlite'}"
    fill_store(sqlite_url, data_dir)
    first = read_manifest(backup.take_backup(sqlite_url, tmp_path / "b1", data_dir, PASSPHRASE))

    restore.restore(tmp_path / "b1", postgres_url, tmp_path / "server", PASSPHRASE)
    second_folder = backup.take_backup(postgres_url, tmp_path / "b2", tmp_path / "server", PASSPHRASE)
    second = read_manifest(second_folder)
    assert second.source_backend == "postgresql"

    back_dir = tmp_path / "back"
    back_url = f"sqlite:///{back_dir / 'regie.sqlite'}"
    restore.restore(second_folder, back_url, back_dir, PASSPHRASE)
    third = read_manifest(backup.take_backup(back_url, tmp_path / "b3", back_dir, PASSPHRASE))

    for m in (second, third):
        assert (m.series, m.tables, m.access_log, m.schema_revision) == (
            first.series,
            first.tables,
            first.access_log,
            first.schema_revision,
        )
    # the table files themselves are byte-identical: the format does not depend on the backend
    data = {k: v for k, v in first.files.items() if k.startswith("data/")}
    assert {k: v for k, v in third.files.items() if k.startswith("data/")} == data
    assert {k: v for k, v in second.files.items() if k.startswith("data/")} == data

    store = open_store(postgres_url)
    try:
        assert audit.verify(store, keys.load_or_create_signing_key(tmp_path / "server").public_key()).ok
        # ids were restored as they were: PostgreSQL's sequences go on after the largest
        from regie.ingest import apikeys

        key, _ = apikeys.create_key(store, "after-the-move", ["read"])
        assert key.id == 2
    finally:
        store.close()
