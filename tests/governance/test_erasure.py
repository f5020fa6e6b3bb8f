"""Erasure is complete: every table of the schema is classified, every object that can name the erased person
is gone or anonymous, and nothing of theirs becomes readable by anyone afterwards (issue 18, item 4).

The world: Alice holds PRM_A (load curves, a 10-second emonPi on her site fed by an emoncms input, a session,
API keys, grants given and received, a quarantined reading, an alert, a participation in an ACC operation
with Bob and the coop's plant); Carol then Dave held PRM_C. Each attack of the issue is replayed as written.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest
from fastapi.testclient import TestClient
from governance_data import FAST, NOW, PASSWORD, PRM_A, PRM_B, PRM_C, half_hours, inventory, ts
from sqlalchemy import String, Text, insert, select

from regie.demo.schools_live import bind_inputs
from regie.governance import accounts, consent, rights
from regie.governance.accounts import CLI_ADMIN, PUBLIC, Role
from regie.governance.gate import AccessDenied, read_open, read_personal
from regie.governance.key_owner import key_account, owner_ref
from regie.ingest import apikeys
from regie.model import (
    DeliveryPoint,
    Membership,
    Operation,
    Participant,
    ParticipantType,
    Person,
    Readings,
    Series,
    SeriesKind,
    Step,
)
from regie.model.operation import Role as AccRole
from regie.services import acc as service
from regie.store import Store
from regie.store.erasure import ErasedHolderError
from regie.store.operations import StoredOperation, load_operation, save_operation
from regie.store.quarantine import QuarantinedReading
from regie.store.schema import alert, metadata

PRM_P = "30001000000009"  # the coop's plant
ACC = "dpv:FulfilmentOfContractualObligation"
SENSOR_W = 4321.5  # the emonPi's last value: a figure that must appear nowhere after the erasure
JAN, FEB = ts(2025, 1, 1), ts(2025, 2, 1)
ALICE_MARKS = ("alice",)  # her holder id, username, name and e-mail all contain it (case-insensitive)


@pytest.fixture
def world(store: Store, people) -> dict:
    inv = inventory()
    inv.delivery_points.append(DeliveryPoint(PRM_P, "plant"))
    inv.memberships.append(Membership("coop", PRM_P, date(2024, 1, 1)))
    inv.series.append(Series("a-emonpi", SeriesKind.SENSOR, "W", Step.parse("PT10S"), site_id="house-a"))
    inv.series.append(Series("p-prod", SeriesKind.PRODUCTION, "W", Step.parse("PT30M"), prm=PRM_P))
    store.save_inventory(inv)
    t = half_hours(JAN, ts(2025, 5, 1))
    store.write([Readings("p-prod", t, np.full(len(t), 900.0)),
                 Readings("a-emonpi", JAN + 10 * np.arange(8640), np.full(8640, SENSOR_W))])  # fmt: skip
    bind_inputs(store, {("emonpi-a", "power1"): "a-emonpi"})
    with store.engine.execution_options(writer=True).begin() as conn:
        from regie.store.schema import input_map

        conn.execute(input_map.update().values(last_time=JAN + 86_390, last_value=SENSOR_W))
        conn.execute(insert(alert).values(key="supervision:stopped:a-emonpi:1", source="supervision", kind="stopped",
                                          subject="a-emonpi", since=JAN + 86_400, unit="W", first_seen=NOW,
                                          last_seen=NOW, message="Alice's emonPi stopped"))  # fmt: skip
    with store.transaction() as tx:
        tx.quarantine([QuarantinedReading("enedis-r63", PRM_A, JAN - 1800, 800.0, "unknown PRM"),
                       QuarantinedReading("emoncms", "emonpi-a/power1", FEB, SENSOR_W, "clock too far ahead")])
    alice = people["alice"]
    for subject, who in (("alice", alice), ("bob", people["bob"]), ("carol", CLI_ADMIN), ("coop", CLI_ADMIN)):
        consent.grant(store, who, subject_id=subject, recipient_kind="operation", recipient_id="acc-village",
                      categories=["consumption", "production", "sensor"],
                      prms=[{"alice": PRM_A, "bob": PRM_B, "carol": PRM_C, "coop": PRM_P}[subject]],
                      granularity="PT30M", data_start=ts(2024, 1, 1), data_end=None, purpose=ACC,
                      expires_at=NOW + 86400, now=NOW - 10)  # fmt: skip
    to_alice = consent.grant(store, people["bob"], subject_id="bob", recipient_kind="account", recipient_id="alice",
                             categories=["consumption"], prms=[PRM_B], granularity="P1D", data_start=JAN,
                             data_end=None, purpose=ACC, expires_at=NOW + 86400, now=NOW - 10)  # fmt: skip
    consumers = [Participant(PRM_B, AccRole.CONSUMER, date(2024, 6, 1), name="Bob Martin"),
                 Participant(PRM_C, AccRole.CONSUMER, date(2024, 6, 1), name="Carol")]
    plant = Participant(PRM_P, AccRole.PRODUCER, date(2024, 6, 1), type=ParticipantType.ASSOCIATION,
                        peak_power_w=9000.0, name="Coop plant")  # fmt: skip
    save_operation(store, StoredOperation(Operation("acc-village", "Village ACC", "coop", (*consumers, plant)),
                                          "village"))  # fmt: skip
    keys = {
        "alice": apikeys.create_key(store, "alice's script", ["read"], owner_id=owner_ref(alice))[1],
        "alice-legacy": apikeys.create_key(store, "alice's old script", ["read"], owner_id="alice")[1],
        "machine": apikeys.create_key(store, "grafana", ["read"])[1],
    }
    session = accounts.create_session(store, alice, now=NOW - 5)
    accounts.authenticate(store, "alice", "not the password", "203.0.113.9", now=NOW - 4)  # a throttle row
    return {"keys": keys, "session": session, "to_alice": to_alice, "people": people}


def _rows_naming(store: Store, marks: tuple[str, ...]) -> dict[str, list]:
    """Every row of every table (the schema as it is, introspected) with a text value containing a mark."""
    found: dict[str, list] = {}
    with store.engine.connect() as conn:
        for name, table in metadata.tables.items():
            text_cols = [c for c in table.columns if isinstance(c.type, String | Text)]
            for row in conn.execute(select(table)).mappings():
                if any(m in str(row[c.name]).lower() for c in text_cols for m in marks if row[c.name] is not None):
                    found.setdefault(name, []).append(dict(row))
    return found


def test_every_table_of_the_schema_is_classified() -> None:
    """A table added later fails here until rights.TABLES says what erasure does with it (and docs/rights.md)."""
    assert set(metadata.tables) == set(rights.TABLES)
    assert all(verdict.split(":")[0] in rights.VERDICTS for verdict in rights.TABLES.values())


def test_erasure_leaves_no_row_naming_the_person_but_the_access_log(store, world) -> None:
    before = _rows_naming(store, ALICE_MARKS)
    assert {"person", "membership", "account", "api_key", "consent", "consent_event", "series", "alert",
            "login_throttle"} <= set(before)  # fmt: skip - the scan would see them
    done = rights.erase_member(store, world["people"]["alice"], "alice", now=NOW)
    assert set(done.series_erased) == {"a-load", "a-energy", "a-prod", "a-emonpi"} and not done.series_cut
    assert done.keys == 2 and done.accounts == 1
    assert done.grants_withdrawn == 2  # the one she gave, the one made to her account
    left = _rows_naming(store, ALICE_MARKS)
    kept = {t for t, v in rights.TABLES.items() if v.startswith("kept")}
    assert set(left) <= kept == {"access_log", "audit_subject_set"}
    # Each kind of object, one by one.
    with store.engine.connect() as conn:
        from regie.store.schema import chunk, input_map, membership, quarantine, series, web_session

        ids = [r.id for r in conn.execute(select(series.c.id).where(series.c.key.in_(done.series_erased)))]
        assert conn.execute(select(chunk).where(chunk.c.series_id.in_(ids))).first() is None
        assert conn.execute(select(input_map.c.last_value).where(input_map.c.series_id.in_(ids))).scalars().all() \
            == [None]  # fmt: skip
        assert conn.execute(select(quarantine)).all() == []
        assert conn.execute(select(alert)).all() == []
        assert conn.execute(select(web_session)).all() == []
        tomb = conn.execute(select(membership.c.holder_id).where(membership.c.prm == PRM_A)).scalar_one()
        assert tomb == done.tombstone and tomb.startswith(rights.TOMBSTONE)
    assert all(g.subject_id != "alice" for g in consent.list_grants(store))
    assert consent.get_grant(store, world["to_alice"].id).status is consent.Status.WITHDRAWN


def test_nothing_of_hers_is_readable_by_anyone_afterwards(store, world) -> None:
    people, keys = world["people"], world["keys"]
    rights.erase_member(store, people["alice"], "alice", now=NOW)
    assert accounts.resolve_session(store, world["session"], now=NOW + 1) is None
    assert all(apikeys.verify(store, keys[k]) is None for k in ("alice", "alice-legacy"))
    machine = key_account(store, apikeys.verify(store, keys["machine"]))
    assert machine is PUBLIC
    for sid in ("a-load", "a-energy", "a-prod", "a-emonpi"):
        for reader in (machine, people["op"], people["bob"]):
            with pytest.raises(AccessDenied):
                read_personal(store, reader, sid, JAN, FEB, "P1D", ACC, now=NOW + 1)
        with pytest.raises(ValueError, match="describes a data subject"):
            read_open(store, sid, JAN, FEB)  # still personal: never open data
        got = read_personal(store, CLI_ADMIN, sid, JAN, FEB, "raw", ACC, reason="erasure check", now=NOW + 1)
        assert len(got.t) == 0  # and nothing left even for an admin


def test_attack_sensor_on_the_erased_members_site_is_not_kept_nor_opened(store, world) -> None:
    """Issue 18, item 4, as written: the sensor series on her site was kept, then readable by a machine key."""
    machine = key_account(store, apikeys.verify(store, world["keys"]["machine"]))
    with pytest.raises(AccessDenied):
        read_personal(store, machine, "a-emonpi", JAN, FEB, "finest", ACC, now=NOW)
    rights.erase_member(store, CLI_ADMIN, "alice", now=NOW)
    with pytest.raises(AccessDenied):
        read_personal(store, machine, "a-emonpi", JAN, FEB, "finest", ACC, now=NOW + 1)
    with pytest.raises(ValueError):
        read_open(store, "a-emonpi", JAN, FEB)
    # Her emonPi keeps posting after she left: still personal (held by someone then), never anyone's to read.
    store.write([Readings("a-emonpi", np.array([NOW + 10]), np.array([SENSOR_W]))])
    with pytest.raises(AccessDenied):
        read_personal(store, machine, "a-emonpi", NOW, NOW + 60, "finest", ACC, now=NOW + 20)


def test_attack_reused_username_does_not_inherit_the_old_keys(store, world) -> None:
    """Issue 18, item 4: re-using the username gave the new account the old keys (which read its raw curve)."""
    keys = world["keys"]
    rights.erase_member(store, CLI_ADMIN, "alice", now=NOW)
    newcomer = accounts.create_account(store, "alice", PASSWORD, Role.MEMBER, holder_id="bob", hasher=FAST,
                                       now=NOW + 60)  # fmt: skip
    assert all(apikeys.verify(store, keys[k]) is None for k in ("alice", "alice-legacy"))
    # Even a key the erasure could not have found (bound by username, made before the new account) stays dead.
    old, _ = apikeys.create_key(store, "forgotten", ["read"], owner_id="alice")
    legacy = apikeys.ApiKey(old.id, old.name, old.scopes, None, "alice", created_at=NOW + 30)
    assert key_account(store, legacy) is None
    bound = apikeys.ApiKey(old.id, old.name, old.scopes, None, owner_ref(world["people"]["alice"]), NOW + 30)
    assert key_account(store, bound) is None  # the old id is gone; ids are never reused
    assert key_account(store, apikeys.ApiKey(1, "n", old.scopes, None, owner_ref(newcomer), NOW + 90)) == newcomer


def test_attack_acc_pages_survive_a_participants_erasure(store, world) -> None:
    """Issue 18, item 4: a participant's name stayed in the operation after their erasure, and every page of
    the operation broke ("no single holder..."). Bob is the participant erased here."""
    op = world["people"]["op"]
    reader = service.gate_reader(store, op, step="PT30M", now=NOW)
    before = service.allocate_stored(store, "acc-village", JAN, FEB, reader)
    assert len(before.consumers) == 2
    done = rights.erase_member(store, CLI_ADMIN, "bob", now=NOW)
    assert done.participations == ("acc-village",)
    after = service.allocate_stored(store, "acc-village", JAN, FEB, service.gate_reader(store, op, step="PT30M",
                                                                                        now=NOW + 1))  # fmt: skip
    assert [p.prm for p in after.consumers] == [PRM_C]
    kept = load_operation(store, "acc-village").operation.participants
    assert [p.prm for p in kept] == [PRM_C, PRM_P] and "Bob" not in " ".join(p.name for p in kept)


def test_a_shared_delivery_point_loses_only_the_erased_holders_days(store, world) -> None:
    """Carol held PRM_C until March, Dave since: erasing Dave cuts his days out of c-load and keeps Carol's."""
    done = rights.erase_member(store, CLI_ADMIN, "dave", now=NOW)
    assert done.series_cut == ("c-load",) and not done.series_erased
    t, _ = store.read("c-load", JAN, ts(2025, 5, 1))
    assert len(t) and t.max() < ts(2025, 3, 1) and t.min() == JAN
    day = store.read_rollup("c-load", "day", ts(2025, 2, 28), ts(2025, 3, 2))
    assert day.t.tolist() == [ts(2025, 2, 28)]  # the rollups were rebuilt without his days


def test_erasure_over_http_leaves_nothing_to_the_old_key_nor_to_a_machine_key(store, world) -> None:
    from regie.web.app import create_app

    rights.erase_member(store, CLI_ADMIN, "alice", now=NOW)
    app = create_app(store)
    with TestClient(app) as client:
        fid = store.ref("a-emonpi").id
        for k in ("alice", "alice-legacy"):
            assert client.get("/feed/list.json", params={"apikey": world["keys"][k]}).status_code == 401
        r = client.get("/feed/data.json", params={"apikey": world["keys"]["machine"], "id": fid, "start": JAN,
                                                  "end": FEB, "interval": 3600})  # fmt: skip
        assert str(SENSOR_W) not in r.text
        for path in ("/api/live", "/"):
            page = client.get(path)
            assert page.status_code == 200 and str(SENSOR_W) not in page.text and "Alice" not in page.text


def test_the_next_occupant_of_an_erased_members_point_reads_their_own_data(store, world) -> None:
    """Her open holding ends with the erasure: a newcomer from that day is the point's holder, not the tombstone."""
    rights.erase_member(store, CLI_ADMIN, "alice", now=NOW)
    inv = store.load_inventory()
    inv.persons.append(Person("erin", "Erin"))
    inv.memberships.append(Membership("erin", PRM_A, date(2025, 6, 1)))
    store.save_inventory(inv)
    t = half_hours(NOW, NOW + 86_400)
    store.write([Readings("a-load", t, np.full(len(t), 640.0))])
    erin = accounts.create_account(store, "erin", PASSWORD, Role.MEMBER, holder_id="erin", hasher=FAST, now=NOW)
    got = read_personal(store, erin, "a-load", NOW, NOW + 86_400, "PT30M", ACC, now=NOW + 86_400)
    assert got.values.tolist() == [640.0] * 48
    with pytest.raises(AccessDenied):  # and never the erased holder's days
        read_personal(store, erin, "a-load", JAN, FEB, "P1D", ACC, now=NOW + 86_400)


def test_attack_reimporting_the_inventory_does_not_bring_the_erased_person_back(store, world) -> None:
    """Issue 18, item 4: re-importing an inventory that still lists the erased holder recreated them."""
    old = store.load_inventory()  # saved before the erasure: it still names alice
    rights.erase_member(store, CLI_ADMIN, "alice", now=NOW)
    with pytest.raises(ErasedHolderError, match=r"alice.*erased"):
        store.save_inventory(old)
    assert "alice" not in {p.id for p in store.load_inventory().persons}, "nothing was written"
    assert "person" not in _rows_naming(store, ALICE_MARKS)


def test_attack_an_account_bound_to_an_erased_holder_id_is_refused(store, world) -> None:
    """Issue 18, item 4: a recreated holder id would see the old person's access-log history."""
    rights.erase_member(store, CLI_ADMIN, "alice", now=NOW)
    with pytest.raises(accounts.AccountError, match="erased"):
        accounts.create_account(store, "alice2", PASSWORD, Role.MEMBER, holder_id="alice", hasher=FAST, now=NOW + 60)
    assert accounts.accounts_of_holder(store, "alice") == []
    # another holder, never erased, is bound as before
    assert accounts.create_account(store, "bob2", PASSWORD, Role.MEMBER, holder_id="bob", hasher=FAST,
                                   now=NOW + 60).holder_id == "bob"  # fmt: skip
