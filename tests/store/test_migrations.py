"""Alembic migrations build exactly the schema that ``regie.store.schema`` declares, on both backends."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from regie.store import open_store
from regie.store.partitions import partition_names
from regie.store.schema import metadata


def test_migrated_database_matches_declared_schema(store_url: str) -> None:
    store = open_store(store_url)
    try:
        with store.engine.connect() as conn:
            parts = partition_names(conn)  # PostgreSQL's chunk partitions: their rows are chunk's
            assert bool(parts) == (conn.dialect.name == "postgresql")
            only_declared = {"include_name": lambda name, kind, _parent: kind != "table" or name not in parts}
            diff = compare_metadata(MigrationContext.configure(conn, opts=only_declared), metadata)
        assert diff == [], f"schema.py and the migrations disagree: {diff}"
    finally:
        store.close()


def test_reopening_a_store_is_a_no_op(store_url: str) -> None:
    open_store(store_url).close()
    store = open_store(store_url)
    with store.engine.connect() as conn:
        version = conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()
    store.close()
    from regie.store.schema import SCHEMA_VERSION

    assert version == SCHEMA_VERSION


def test_the_newest_revision_by_file_name_is_alembics_head() -> None:
    """A store at the newest revision opens without Alembic (regie.store.migrate.upgrade's fast path), which
    reads the newest revision from the scripts' file names: they must say what Alembic says."""
    from regie.store import migrate
    from regie.store.schema import SCHEMA_VERSION

    assert migrate.newest_revision() == migrate.revisions()[-1] == SCHEMA_VERSION
    for path in (migrate.MIGRATIONS / "versions").glob("[0-9][0-9][0-9][0-9]_*.py"):
        assert f'revision = "{path.name[:4]}"' in path.read_text(encoding="utf-8"), path.name
