"""Shared fixtures: services on loopback, and the rule that CI never skips them.

On a newcomer's machine a test needing PostgreSQL, Mosquitto or Chromium skips with a one-line reason.
``.ci/run`` sets ``REGIE_REQUIRE_SERVICES=1``: then a missing service fails the test instead, so a green
CI means every test really ran.
"""

from __future__ import annotations

import atexit
import os
import shutil
import sys
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from needs import service_missing

# tests/web/browsing.py (loopback-only browser pages) serves every page test, wherever it lives
sys.path.insert(0, str(Path(__file__).resolve().parent / "web"))

# A HOME of the test run's own (one per process: each xdist worker imports this file), set before anything imports
# regie (its default data folder is ~/.local/share/regie): neither the tests nor the `regie` subprocesses they start,
# which drop the REGIE_* variables, write to the user's folders. Removed when the process ends.
_HOME = Path(tempfile.mkdtemp(prefix="regie-test-home-"))
atexit.register(shutil.rmtree, _HOME, ignore_errors=True)
os.environ["HOME"] = str(_HOME)
for _name, _folder in (("XDG_DATA_HOME", ".local/share"), ("XDG_CONFIG_HOME", ".config"), ("XDG_CACHE_HOME", ".cache")):
    os.environ[_name] = str(_HOME / _folder)

POSTGRES_URL = os.environ.get("REGIE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def _postgres_reachable() -> str | None:
    try:
        import psycopg

        with psycopg.connect(POSTGRES_URL.replace("postgresql+psycopg", "postgresql"), connect_timeout=3):
            return None
    except Exception as exc:  # any failure means "not usable here"
        return f"PostgreSQL not reachable at {POSTGRES_URL.split('@')[-1]}: {type(exc).__name__}"


@pytest.fixture(scope="session")
def postgres_base_url() -> str:
    problem = _postgres_reachable()
    if problem:
        service_missing(problem)
    return POSTGRES_URL


@pytest.fixture
def postgres_url(postgres_base_url: str) -> Iterator[str]:
    """A fresh PostgreSQL schema per test, dropped afterwards."""
    import psycopg

    schema = f"regie_t_{uuid.uuid4().hex[:12]}"
    raw = postgres_base_url.replace("postgresql+psycopg", "postgresql")
    with psycopg.connect(raw, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    sep = "&" if "?" in postgres_base_url else "?"
    yield f"{postgres_base_url}{sep}options=-csearch_path%3D{schema}"
    with psycopg.connect(raw, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path) -> str:
    """Each contract test runs against the embedded store and against PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'regie.sqlite'}"
    return request.getfixturevalue("postgres_url")


@pytest.fixture(autouse=True)
def _own_data_dir(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test writes to the user's data folder (keys, signed heads of the access log): each gets its own,
    unless it sets ``REGIE_DATA_DIR`` itself."""
    monkeypatch.setenv("REGIE_DATA_DIR", str(tmp_path_factory.mktemp("regie-data")))


CHROMIUM = os.environ.get("REGIE_TEST_CHROMIUM", "/usr/bin/chromium")


@pytest.fixture(scope="session")
def chromium_path() -> str:
    """Debian's Chromium, for Playwright browser tests (``tests/web/conftest.py`` launches it)."""
    if not os.path.exists(CHROMIUM):
        service_missing(f"Chromium not found at {CHROMIUM} (apt-get install chromium)")
    return CHROMIUM


#: Flags of the headless browser: no sandbox (containers), and nothing that calls home.
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip


@pytest.fixture(scope="session")
def chromium(chromium_path: str) -> Iterator[object]:
    """Headless Chromium (Debian's package) driven by Playwright, for every page test; skipped locally without
    it, required in CI. One browser per session (per worker under ``-n``): each test opens its own context, so
    no cookie or page is shared."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


MQTT_HOST, MQTT_PORT = "127.0.0.1", int(os.environ.get("REGIE_TEST_MQTT_PORT", "1883"))


@pytest.fixture(scope="session")
def mqtt_broker() -> tuple[str, int]:
    """Mosquitto on loopback, for MQTT ingest tests (``.ci/run`` starts it)."""
    import socket

    try:
        socket.create_connection((MQTT_HOST, MQTT_PORT), timeout=3).close()
    except OSError as exc:
        service_missing(f"Mosquitto not reachable at {MQTT_HOST}:{MQTT_PORT}: {type(exc).__name__}")
    return MQTT_HOST, MQTT_PORT


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    """In CI (``REGIE_REQUIRE_SERVICES=1``) no test may skip, whatever the reason: a green CI means all ran."""
    outcome = yield
    report = outcome.get_result()
    if os.environ.get("REGIE_REQUIRE_SERVICES") == "1" and report.skipped and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.longrepr = f"skipped in CI, where every test must run: {reason}"


# Property-based tests explore new random cases on a developer's machine; in CI they replay a fixed,
# derandomised sequence, so that a landing never depends on the draw of the day (a failure found locally
# is kept by hypothesis's example database and becomes a regression test).
from hypothesis import settings as _hypothesis_settings  # noqa: E402

_hypothesis_settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI") == "true":
    _hypothesis_settings.load_profile("ci")


@pytest.fixture
def smtp():
    """A real SMTP server (aiosmtpd) on a free loopback port; its :class:`smtp_box.Mailbox` keeps every mail."""
    from aiosmtpd.controller import Controller
    from aiosmtpd.handlers import Message
    from smtp_box import Mailbox, free_port

    box = Mailbox(free_port())

    class Keep(Message):
        def handle_message(self, message) -> None:
            box.keep(message)

    controller = Controller(Keep(), hostname="127.0.0.1", port=box.port)
    controller.start()
    yield box
    controller.stop()


# ------------------------------------------------------------------------------------ parallel runs (xdist)
# `scripts/test.sh` runs the suite on two workers (`-n 2 --dist loadfile`): each module whole on one worker, in its
# own order (its module-scoped fixtures built once); `scripts/test.sh -p no:xdist` runs it in one process. Measured
# 2026-12-04: 3,540 tests in 1,166 s of wall time on 2 cores that other jobs shared (load average 2.5 to 8.8); the
# fresh-clone `.ci/run` of that day, 3,647 tests in 743 s (load average ~3). What a
# worker owns: its temporary folder (pytest's basetemp gets a `popen-gwN` part, so session fixtures built under
# it, like the cut demo store of tests/lake and tests/cluster, are built once per worker), a PostgreSQL schema
# per test (`postgres_url`), free ports (port 0), MQTT topics and client ids with a random part, and a HOME (with
# XDG_DATA_HOME, top of this file) for itself and the `regie` subprocesses it starts, which used to write
# `demo-*.head.json` under the real ~/.local/share/regie/audit. The demo year (`demo_year`) and the demo pages'
# server (`demo_site`) are built once per worker; each user of the year gets a copy of its store.
# Output asserted as text must not depend on where tmp_path is: that path is 10 characters longer under xdist,
# and rich folds a long path at the terminal's width (80 columns by default), which split "already holds
# data" (tests/cli/test_demo_command.py) and "line 1 column 7" (tests/cli/test_doctor.py) over two lines until
# those tests asked for a wide terminal (COLUMNS). Cutting tests/web/test_access_matrix.py in parts is not
# safe: its GET requests share one store that some of them write to (/input/post), so their order matters.


# ------------------------------------------------------------------------------------------------ the demo year
from demo_year import DemoYear  # noqa: E402 - a module of its own: test helpers import it by name


@pytest.fixture(scope="session")
def demo_year(tmp_path_factory: pytest.TempPathFactory) -> DemoYear:
    """Built once per session (about a minute) for every module that needs the whole demo year."""
    from regie.demo import build_prats
    from regie.demo.install import install
    from regie.store import open_store

    data = build_prats(seed=42)
    path = tmp_path_factory.mktemp("demo-year") / "demo.sqlite"
    store = open_store(f"sqlite:///{path}")
    try:
        install(store, data)
    finally:
        store.close()
    return DemoYear(data, path)


@pytest.fixture(scope="session")
def demo_site(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """The demo year with its accounts (``tests/web/demo_pages.py``), served on loopback once per session for every
    page module (accessibility, phone, dark charts): one copy of the store and one warm server per worker. Those
    modules only read pages (and log in)."""
    import httpx
    from demo_pages import serve_demo

    year = lambda: request.getfixturevalue("demo_year")  # noqa: E731 (built only when REGIE_TEST_DEMO_DIR has none)
    with serve_demo(tmp_path_factory.getbasetemp() / "prats-demo", year) as site:
        # The first view of the year computes its statistics (then kept by the server): here, without the browser's
        # timeout, rather than in whichever page test comes first on a loaded machine.
        httpx.get(f"{site.url}/?lang=fr", timeout=None, trust_env=False).raise_for_status()
        yield site


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The longest modules first: those that use the demo year (marked ``slow``), then the other browser modules,
    then the rest, each module whole and in its own order. `scripts/test.sh` gives the modules to its workers in this
    order (``--no-loadscope-reorder``; xdist would otherwise start with the modules of most tests, and end with a few
    long ones on one worker while the other has nothing left); every worker collects the same order."""
    rank: dict[Path, int] = {}
    for item in items:
        mine = 0 if item.get_closest_marker("slow") else 1 if item.get_closest_marker("browser") else 2
        rank[item.path] = min(rank.get(item.path, 2), mine)
    items.sort(key=lambda item: rank[item.path])  # stable: a module's tests stay together, in their order
