"""Fixtures of the people tests: the small régie of :mod:`people_world`, on SQLite and PostgreSQL, (the SMTP
server on loopback is the ``smtp`` fixture of tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from people_world import World, build_world

from regie.store import Store, open_store


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    store = open_store(store_url)
    yield store
    store.close()


@pytest.fixture
def world(store: Store) -> World:
    return build_world(store)


