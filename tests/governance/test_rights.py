"""Data-subject rights: export everything in one zip (series through the gate), erase, correct; all logged."""

from __future__ import annotations

import csv
import io
import json
import zipfile

import numpy as np
import pytest
from governance_data import NOW, PRM_A, PRM_C, ts
from sqlalchemy import select

from regie.governance import accounts, audit, consent, rights
from regie.governance.accounts import CLI_ADMIN
from regie.governance.gate import AccessDenied, read_personal
from regie.store.schema import chunk, person, series


def test_export_holds_series_as_csv_and_the_rest_as_json_ld(store, people) -> None:
    g = consent.grant(
        store, people["alice"], subject_id="alice", recipient_kind="operation", recipient_id="acc-village",
        categories=["consumption"], prms=[PRM_A], granularity="P1D", data_start=ts(2025, 1, 1), data_end=None,
        purpose="dpv:FulfilmentOfContractualObligation", expires_at=NOW + 86400, now=NOW,
    )  # fmt: skip
    read_personal(store, people["op"], "a-load", ts(2025, 1, 1), ts(2025, 2, 1), "P1D", g.purpose, now=NOW + 1)
    blob = rights.export_member(store, people["alice"], "alice", now=NOW + 2)
    zf = zipfile.ZipFile(io.BytesIO(blob))
    names = set(zf.namelist())
    assert {"profile.jsonld", "consents.jsonld", "access_log.jsonld"} <= names
    assert {"series/a-load_20240101.csv", "series/a-energy_20240101.csv", "series/a-prod_20240101.csv"} <= names
    assert not any(n.startswith(("series/b-", "series/c-")) for n in names)
    rows = list(csv.DictReader(io.StringIO(zf.read("series/a-load_20240101.csv").decode())))
    assert rows[0] == {"start_utc": "2024-12-31T23:00:00Z", "value": "1000.0", "unit": "W"}
    assert len(rows) == (ts(2025, 5, 1) - ts(2025, 1, 1)) // 1800
    profile = json.loads(zf.read("profile.jsonld"))
    assert profile["@context"]["foaf"] and profile["foaf:name"] == "Alice"
    assert profile["regie:membership"][0]["regie:deliveryPoint"] == PRM_A
    consents = json.loads(zf.read("consents.jsonld"))
    assert consents["@graph"][0]["dct:identifier"] == g.id
    log = json.loads(zf.read("access_log.jsonld"))["@graph"]
    assert [(a["regie:caller"], a["regie:decision"]) for a in log][:1] == [("op", "allowed")]
    # The export's own reads went through the gate and the export itself is logged.
    assert [e.entry["action"] for e in audit.entries(store, kind="rights")] == ["export"]
    assert sum(1 for r in audit.accesses_to(store, "alice") if r.caller == "alice") == 3


def test_only_the_subject_or_an_admin_exports(store, people) -> None:
    with pytest.raises(rights.RightsError):
        rights.export_member(store, people["bob"], "alice", now=NOW)
    blob = rights.export_member(store, CLI_ADMIN, "alice", now=NOW)
    assert zipfile.ZipFile(io.BytesIO(blob)).namelist()
    assert all(r.reason.startswith("admin: data-subject export") for r in audit.accesses_to(store, "alice"))


def test_erase_removes_series_accounts_memberships_and_withdraws_grants(store, people) -> None:
    g = consent.grant(
        store, people["alice"], subject_id="alice", recipient_kind="operation", recipient_id="acc-village",
        categories=["consumption"], prms=[PRM_A], granularity="P1D", data_start=ts(2025, 1, 1), data_end=None,
        purpose="dpv:FulfilmentOfContractualObligation", expires_at=NOW + 86400, now=NOW,
    )  # fmt: skip
    done = rights.erase_member(store, people["alice"], "alice", now=NOW + 1)
    assert set(done.series_erased) == {"a-load", "a-energy", "a-prod"} and done.accounts == 1
    assert done.grants_withdrawn == 1 and consent.get_grant(store, g.id).status is consent.Status.WITHDRAWN
    with store.engine.connect() as conn:
        ids = select(series.c.id).where(series.c.prm == PRM_A)
        assert conn.execute(select(chunk.c.series_id).where(chunk.c.series_id.in_(ids))).first() is None
        assert conn.execute(select(person).where(person.c.id == "alice")).first() is None
    assert accounts.get_account(store, "alice") is None
    with pytest.raises(AccessDenied):
        read_personal(store, people["op"], "a-load", ts(2025, 1, 1), ts(2025, 2, 1), "P1D", g.purpose, now=NOW + 2)
    # Others' data is untouched; the log still verifies and records the erasure.
    b = read_personal(store, people["bob"], "b-load", ts(2025, 1, 1), ts(2025, 1, 2), "PT30M", g.purpose, now=NOW)
    assert len(b.t) == 48
    assert audit.verify(store).ok
    assert audit.entries(store, kind="rights")[-1].entry["action"] == "erase"


def test_erase_keeps_a_series_shared_with_another_occupant(store, people) -> None:
    done = rights.erase_member(store, CLI_ADMIN, "dave", now=NOW)
    assert done.series_cut == ("c-load",) and not done.series_erased and done.notes
    assert PRM_C not in " ".join(done.notes)


def test_correct_details(store, people) -> None:
    assert rights.correct_details(store, people["alice"], "alice", email="alice@new.example", now=NOW) == ["email"]
    assert store.load_inventory().persons[0].email == "alice@new.example"
    with pytest.raises(rights.RightsError):
        rights.correct_details(store, people["bob"], "alice", name="Mallory")
    e = audit.entries(store, kind="rights")[-1].entry
    assert e["detail"] == {"fields": ["email"]} and "alice@new.example" not in json.dumps(e)


def test_a_sensor_on_a_members_site_is_theirs_to_export() -> None:
    """A household's emonPi is on its site, not on its PRM: it is still that household's data."""
    from governance_data import inventory

    from regie.governance.gate import personal_series
    from regie.model import Series, SeriesKind, Step
    from regie.store import open_store

    inv = inventory()
    inv.series.append(Series("a-emonpi", SeriesKind.CONSUMPTION, "W", Step.parse("PT30M"), site_id="house-a"))
    s = open_store("sqlite://")
    s.save_inventory(inv)
    assert "a-emonpi" in {x.id for x in personal_series(s, "alice")}
    assert "a-emonpi" not in {x.id for x in personal_series(s, "bob")}
    s.close()


def test_export_gives_a_members_own_sensor_at_its_own_step(store, people) -> None:
    """A 10-second sensor on Alice's site is exported raw: it is her data, not a half-hour average."""
    from governance_data import inventory

    from regie.model import Readings, Series, SeriesKind, Step

    inv = inventory()
    inv.series.append(Series("a-emonpi", SeriesKind.CONSUMPTION, "W", Step.parse("PT10S"), site_id="house-a"))
    store.save_inventory(inv)
    t = ts(2025, 2, 1) + 10 * np.arange(360)
    store.write([Readings("a-emonpi", t, 500.0 + np.arange(360))])
    zf = zipfile.ZipFile(io.BytesIO(rights.export_member(store, people["alice"], "alice", now=NOW)))
    (name,) = [n for n in zf.namelist() if n.startswith("series/a-emonpi")]
    rows = list(csv.DictReader(io.StringIO(zf.read(name).decode())))
    assert len(rows) == 360 and rows[1]["value"] == "501.0"
