"""Fixtures of the lake tests: the cut demo store (demo_lake.py), built once per run."""

from __future__ import annotations

import pytest
from demo_lake import demo_store


@pytest.fixture(scope="session")
def demo_url(demo_year, tmp_path_factory: pytest.TempPathFactory) -> str:
    return demo_store(tmp_path_factory.getbasetemp(), demo_year.data)
