"""Upgrades: a store made by each earlier schema migrates to the newest with nothing lost, after a backup of
itself; a migration that fails leaves the store as it was."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from regie.operations import backup, restore, snapshot
from regie.operations.manifest import read_manifest
from regie.store import migrate, open_store
from regie.store.engine import make_engine
from regie.store.schema import metadata

STORES = Path(__file__).parents[1] / "data" / "stores"
FIXTURES = sorted(STORES.glob("regie-*.sqlite"))


def _state(url: str) -> tuple[str | None, dict, dict]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            md = snapshot.reflect(conn)
            return migrate.current_revision(engine), snapshot.row_counts(conn, md), snapshot.series_digests(conn)
    finally:
        engine.dispose()


def test_every_schema_revision_has_a_fixture_store() -> None:
    have = {p.stem.removeprefix("regie-") for p in FIXTURES}
    missing = [r for r in migrate.revisions() if r not in have]
    assert missing == [], f"no fixture store for {missing}: run python tests/data/stores/make_stores.py"


@pytest.mark.parametrize("fixture", FIXTURES, ids=lambda p: p.stem)
def test_a_store_of_each_revision_upgrades_with_nothing_lost(tmp_path, fixture: Path) -> None:
    shutil.copy(fixture, tmp_path / "regie.sqlite")
    url = f"sqlite:///{tmp_path / 'regie.sqlite'}"
    revision, counts, digests = _state(url)
    assert digests["sensor-0"].points == 2000

    store = open_store(url)  # `regie init` and every command: migrate, after a backup
    try:
        with store.engine.connect() as conn:
            assert compare_metadata(MigrationContext.configure(conn), metadata) == []
    finally:
        store.close()
    now, new_counts, new_digests = _state(url)
    assert now == migrate.revisions()[-1]
    assert new_digests == digests
    assert {k: v for k, v in new_counts.items() if k in counts} == counts

    taken = backup.list_backups(tmp_path / "backups")
    if revision == now:
        assert taken == []  # nothing to migrate: no backup
        return
    assert len(taken) == 1
    m = read_manifest(taken[0].path)
    assert (m.schema_revision, m.tables) == (revision, counts)
    # the backup of the old schema restores into this release (migrated on the way) and verifies
    assert restore.verify(taken[0].path, None).ok


def test_a_failing_migration_leaves_the_store_as_it_was(tmp_path, monkeypatch) -> None:
    scripts = tmp_path / "migrations"
    shutil.copytree(migrate.MIGRATIONS, scripts, ignore=shutil.ignore_patterns("__pycache__"))
    head = migrate.revisions()[-1]
    (scripts / "versions" / "9999_fails.py").write_text(
        f'''"""A migration that fails halfway, after changing the schema and the data."""
import sqlalchemy as sa
from alembic import op

revision = "9999"
down_revision = "{head}"


def upgrade() -> None:
    op.add_column("series", sa.Column("extra", sa.Integer()))
    op.create_table("extra", sa.Column("id", sa.Integer(), primary_key=True))
    op.execute("DELETE FROM chunk")
    raise RuntimeError("this migration fails halfway")


def downgrade() -> None:
    pass
'''
    )
    shutil.copy(STORES / f"regie-{head}.sqlite", tmp_path / "regie.sqlite")
    url = f"sqlite:///{tmp_path / 'regie.sqlite'}"
    before = _state(url)
    monkeypatch.setattr(migrate, "MIGRATIONS", scripts)
    with pytest.raises(RuntimeError, match="fails halfway"):
        open_store(url)
    assert _state(url) == before
    engine = make_engine(url)
    with engine.connect() as conn:
        tables = snapshot.reflect(conn).tables
    engine.dispose()
    assert "extra" not in tables and "extra" not in tables["series"].columns
    # and the backup taken before it holds the store as it was
    (taken,) = backup.list_backups(tmp_path / "backups")
    assert read_manifest(taken.path).tables == before[1]
