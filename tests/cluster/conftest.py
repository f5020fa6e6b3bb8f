"""One SparkSession per test run (local[2], small shuffles, no UI) and the cut demo exported to a lake.

Without pyspark or Java the tests skip with a one-line reason, except under ``REGIE_REQUIRE_SERVICES=1``
(CI), where they fail: ``tests/needs.py``.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from needs import service_missing

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lake"))  # demo_lake.py, shared with tests/lake

from demo_lake import demo_store


def _spark_missing() -> str | None:
    try:
        import pyspark  # noqa: F401
    except ImportError:
        return "pyspark is not installed (pip install -e '.[test]')"
    java = shutil.which("java")
    if java is None:
        return "Java is not installed (Debian: apt-get install openjdk-17-jre-headless)"
    probe = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=30)
    return None if probe.returncode == 0 else f"java -version failed: {probe.stderr.strip()[:100]}"


@pytest.fixture(scope="session")
def spark() -> Iterator[object]:
    problem = _spark_missing()
    if problem:
        service_missing(problem)
    from regie.cluster.session import spark_session

    session = spark_session("local[2]", shuffle_partitions=4)
    yield session
    session.stop()


@pytest.fixture(scope="session")
def demo_url(demo_year, tmp_path_factory: pytest.TempPathFactory) -> str:
    return demo_store(tmp_path_factory.getbasetemp(), demo_year.data)


@pytest.fixture(scope="session")
def demo_lake(demo_url: str, tmp_path_factory: pytest.TempPathFactory) -> str:
    from regie.lake.export import export_lake
    from regie.store import open_store

    dest = str(tmp_path_factory.mktemp("lake"))
    store = open_store(demo_url)
    export_lake(store, dest)
    store.close()
    return dest
