"""`regie data read`: what an account may see, read through the gate from the shell, and logged as that account."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import numpy as np
from typer.testing import CliRunner

from regie.cli import app
from regie.governance import accounts, audit
from regie.model import (
    DeliveryPoint,
    Inventory,
    Membership,
    Person,
    Readings,
    Series,
    SeriesKind,
    Site,
    Step,
    Territory,
)
from regie.store import open_store

PARIS = ZoneInfo("Europe/Paris")
MINE, THEIRS = "30000000000001", "30000000000002"
PASSWORD = "un mot de passe assez long pour 2025"


def _store(url: str):
    store = open_store(url)
    store.save_inventory(
        Inventory(
            Territory("vallee", "Vallée-Test"),
            sites=[Site("s1", "Maison 1", "vallee"), Site("s2", "Maison 2", "vallee")],
            delivery_points=[DeliveryPoint(MINE, "s1"), DeliveryPoint(THEIRS, "s2")],
            persons=[Person("p1", "Une habitante"), Person("p2", "Un voisin")],
            memberships=[Membership("p1", MINE, datetime(2024, 1, 1).date()),
                         Membership("p2", THEIRS, datetime(2024, 1, 1).date())],
            series=[Series(f"c-{prm}", SeriesKind.CONSUMPTION, "W", Step.parse("PT30M"), prm=prm)
                    for prm in (MINE, THEIRS)],
        )
    )  # fmt: skip
    t0 = int(datetime(2024, 6, 3, tzinfo=PARIS).timestamp())
    t = t0 + 1800 * np.arange(96, dtype=np.int64)
    store.write([Readings(f"c-{MINE}", t, np.full(96, 500.0)), Readings(f"c-{THEIRS}", t, np.full(96, 800.0))])
    accounts.create_account(store, "habitante", PASSWORD, "member", holder_id="p1")
    return store


def run(url: str, *args: str):
    return CliRunner().invoke(app, ["data", "read", *args, "--database-url", url])


def test_a_member_reads_their_own_days_and_the_read_is_logged_as_them(store_url: str) -> None:
    store = _store(store_url)
    before = audit.log_size(store)
    result = run(store_url, MINE, "--as", "habitante", "--from", "2024-06-03", "--until", "2024-06-05")
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    assert lines[0] == "start,value,unit,points"
    assert lines[1:] == ["2024-06-03T00:00:00+02:00,500.000,W,48", "2024-06-04T00:00:00+02:00,500.000,W,48"]
    entries = [e.entry for e in audit.entries(store, kind="access") if e.entry.get("caller") == "habitante"]
    assert entries and entries[-1]["decision"] == "allowed" and entries[-1]["subject_id"] == "p1", entries[-1:]
    assert audit.log_size(store) > before
    store.close()


def test_a_neighbours_curve_is_refused_with_the_reason_and_logged(store_url: str) -> None:
    store = _store(store_url)
    result = run(store_url, THEIRS, "--as", "habitante", "--from", "2024-06-03", "--until", "2024-06-05")
    assert result.exit_code == 77
    assert "refused for habitante" in result.output and "800" not in result.output
    entries = [e.entry for e in audit.entries(store, kind="access") if e.entry.get("caller") == "habitante"]
    assert entries[-1]["decision"] == "refused" and entries[-1]["subject_id"] == "p2"
    store.close()


def test_an_unknown_account_or_a_bad_day_is_a_usage_error(store_url: str) -> None:
    _store(store_url).close()
    assert run(store_url, MINE, "--as", "nobody", "--from", "2024-06-03", "--until", "2024-06-05").exit_code == 2
    bad = run(store_url, MINE, "--as", "habitante", "--from", "03/06/2024", "--until", "2024-06-05")
    assert bad.exit_code == 2 and "YYYY-MM-DD" in bad.output
