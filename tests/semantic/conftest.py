"""The small generated territory of the publication's tests (``tests/publication/publication_world.py``):
twelve households held by persons, a spa (a company), two rooftops held by persons, the régie's hydro plant."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "publication"))

from publication_world import build

from regie.store import Store, open_store


@pytest.fixture
def world(tmp_path) -> Iterator[Store]:
    s = open_store(f"sqlite:///{tmp_path / 'val.sqlite'}")
    build(s)
    yield s
    s.close()


@pytest.fixture
def world_on_each_backend(store_url: str) -> Iterator[Store]:
    """The same territory on SQLite and on PostgreSQL (``postgres`` marker)."""
    s = open_store(store_url)
    build(s)
    yield s
    s.close()
