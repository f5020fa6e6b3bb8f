"""The one authorisation point for writes (:mod:`regie.governance.writes`), through every door.

The world (``governance_data.py``): alice holds PRM_A (``a-load``), bob PRM_B (``b-load``); carol held PRM_C
until 1 March 2025 and dave holds it since (``c-load``); ``hydro`` is the régie's plant. Each attack of issue
18 is replayed as written and must now fail, write nothing, and leave a refusal in the access log.
"""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
from fastapi.testclient import TestClient
from governance_data import NOW, PRM_A, ts

from regie.governance import audit, writes
from regie.governance.accounts import CLI_ADMIN, Account
from regie.ingest import IngestError, apikeys
from regie.ingest.importer import Importer
from regie.ingest.inputs import InputService
from regie.store import Store
from regie.web.app import create_app

JAN_10 = ts(2025, 1, 10)


def _csv(*rows: tuple[int, float]) -> bytes:
    """A CSV with each row and a second one half an hour later (so the step is inferred: PT30M)."""
    lines = ["time,power"] + [f"{t + dt},{v}" for t, v in rows for dt in (0, 1800)]
    return ("\n".join(lines) + "\n").encode()


def _post_csv(client: TestClient, secret: str, columns: str, body: bytes):
    return client.post(
        "/api/import/csv",
        files={"file": ("curve.csv", io.BytesIO(body), "text/csv")},
        data={"options": json.dumps({"columns": columns, "time_format": "unix"})},
        headers={"Authorization": f"Bearer {secret}"},
    )


def _values(store: Store, series: str, t: int) -> list[float]:
    return store.read(series, t, t + 1)[1].tolist()


def _writes_logged(store: Store) -> list[dict]:
    return [e.entry for e in audit.entries(store, kind="write")]


@pytest.fixture
def client(store: Store) -> TestClient:
    return TestClient(create_app(store))


def test_a_members_own_key_cannot_overwrite_another_members_series_by_csv_import(store, people, client) -> None:
    """Issue 18, item 3, as written: alice's own write key POSTs a CSV to /api/import/csv naming bob's series
    (``columns=power=b-load:W``). It was 200 and bob's values were overwritten, nothing logged."""
    _, secret = apikeys.create_key(store, "alice's script", ["read", "write"], owner_id="alice")
    before = _values(store, "b-load", JAN_10)
    r = _post_csv(client, secret, "power=b-load:W", _csv((JAN_10, 99999.0)))
    assert r.status_code == 403, r.text
    assert "b-load is not yours" in r.json()["detail"]["error"]
    assert _values(store, "b-load", JAN_10) == before == [700.0]  # nothing written
    logged = _writes_logged(store)
    assert len(logged) == 1
    entry = logged[0]
    assert (entry["caller"], entry["decision"], entry["action"], entry["subject_id"]) == (
        "alice", "refused", "import/csv", "bob",
    )  # fmt: skip
    assert entry["series"] == ["b-load"] and "not yours" in entry["reason"]


def test_a_member_writes_their_own_series_and_the_write_is_logged(store, people, client) -> None:
    _, secret = apikeys.create_key(store, "alice's script", ["write"], owner_id="alice")
    r = _post_csv(client, secret, "power=a-load:W", _csv((JAN_10, 1234.0)))
    assert r.status_code == 200, r.text
    assert _values(store, "a-load", JAN_10) == [1234.0]
    (entry,) = _writes_logged(store)
    assert (entry["decision"], entry["subject_id"], entry["series"], entry["points"]) == (
        "allowed", "alice", ["a-load"], 2,
    )  # fmt: skip


def test_a_new_occupant_cannot_write_over_the_previous_occupants_months(store, people) -> None:
    """dave holds PRM_C since 1 March 2025; carol held it before: January is carol's, April is dave's."""
    dave = writes.Writer(people["dave"], "session")
    for when, ok in ((ts(2025, 1, 10), False), (ts(2025, 4, 10), True)):
        guard = writes.guard(store, dave, "import/csv", "c.csv")
        src = io.BytesIO(_csv((when, 1.0)))
        options = {"columns": "power=c-load:W", "time_format": "unix"}
        if ok:
            Importer(store, guard=guard).import_stream("csv", src, "c.csv", **options)
            assert _values(store, "c-load", when) == [1.0]
        else:
            with pytest.raises(writes.WriteDenied, match="did not hold then"):
                Importer(store, guard=guard).import_stream("csv", src, "c.csv", **options)
            assert _values(store, "c-load", when) == [300.0]


def test_a_members_new_series_goes_on_their_site_and_is_theirs(store, people) -> None:
    from regie.governance.gate import personal_prms

    guard = writes.guard(store, writes.Writer(people["alice"], "session"), "import/csv", "new.csv")
    report = Importer(store, guard=guard).import_stream(
        "csv", io.BytesIO(_csv((JAN_10, 5.0))), "new.csv", columns="power=alice-heatpump:W", time_format="unix"
    )
    assert report.created == ["alice-heatpump"]
    created = store.series("alice-heatpump")
    assert created.site_id == "house-a" and personal_prms(store, created) == (PRM_A,)


@pytest.mark.parametrize("who", ["op", "public"])
def test_operators_of_a_cooperative_and_the_public_write_nothing(store, people, who) -> None:
    from regie.governance.accounts import PUBLIC

    account: Account = PUBLIC if who == "public" else people[who]
    guard = writes.guard(store, writes.Writer(account, "session"), "import/csv", "x.csv")
    with pytest.raises(writes.WriteDenied, match="write no series"):
        Importer(store, guard=guard).import_stream(
            "csv", io.BytesIO(_csv((JAN_10, 5.0))), "x.csv", columns="power=hydro:W", time_format="unix"
        )
    assert _values(store, "hydro", JAN_10) == []


def test_the_admin_and_the_regies_machine_key_write_anything(store, people, client) -> None:
    guard = writes.guard(store, writes.Writer(people["admin"], "session"), "import/csv", "x.csv")
    Importer(store, guard=guard).import_stream(
        "csv", io.BytesIO(_csv((JAN_10, 5.0))), "x.csv", columns="power=b-load:W", time_format="unix"
    )
    _, machine = apikeys.create_key(store, "importer", ["write"])
    assert _post_csv(client, machine, "power=c-load:W", _csv((JAN_10, 6.0))).status_code == 200
    assert _values(store, "b-load", JAN_10) == [5.0] and _values(store, "c-load", JAN_10) == [6.0]


def test_a_device_key_imports_no_file(store, people, client) -> None:
    _, device = apikeys.create_key(store, "emonpi", ["ingest"], node="house")
    assert _post_csv(client, device, "power=a-load:W", _csv((JAN_10, 1.0))).status_code == 401  # no write scope


def test_a_member_may_not_fill_the_quarantine_with_unknown_delivery_points(store, people) -> None:
    guard = writes.guard(store, writes.Writer(people["alice"], "session"), "import/enedis-portal", "x")
    with pytest.raises(writes.WriteDenied, match="for the régie to import"):
        guard.quarantine("30002000000099")


def test_a_members_key_posting_to_an_input_mapped_to_another_members_series_is_refused(store, people) -> None:
    """emoncms inputs: the régie maps node ``house-b``'s ``power`` to bob's series; alice's key posts to it."""
    _, alice_key = apikeys.create_key(store, "alice's emonpi", ["write"], owner_id="alice")
    with InputService(store, clock=lambda: NOW) as service:
        service.ingest({("house-b", "power"): (np.array([NOW - 60]), np.array([1.0]))}, source="t",
                       guard=writes.guard(store, writes.CLI, "input/post"))  # fmt: skip
        service.remap("house-b", "power", "b-load")
        app = create_app(store)
        app.state.clock = lambda: NOW
        app.state.inputs = service
        with TestClient(app) as c:
            r = c.post("/input/post", data={"node": "house-b", "fulljson": '{"power": 4242}', "time": NOW - 5,
                                            "apikey": alice_key})  # fmt: skip
            assert r.status_code == 403 and "not yours" in r.json()["message"]
            assert _values(store, "b-load", NOW - 5) == []
            # her own node's new input is created on her site: her data
            r = c.post("/input/post", data={"node": "alice-pi", "fulljson": '{"power": 5}', "time": NOW - 5,
                                            "apikey": alice_key})  # fmt: skip
            assert r.json() == {"success": True}
    refused = [e for e in _writes_logged(store) if e["decision"] == "refused"]
    assert [(e["action"], e["caller"], e["subject_id"]) for e in refused] == [("input/post", "alice", "bob")]
    assert store.series("emon-alice-pi-power").site_id == "house-a"


def test_a_device_key_posts_its_own_node_only_and_the_refusal_is_logged(store, people) -> None:
    _, device = apikeys.create_key(store, "esp", ["ingest"], node="esp1")
    app = create_app(store)
    app.state.clock = lambda: NOW
    with TestClient(app) as c:
        r = c.get("/input/post", params={"node": "esp2", "csv": "1", "apikey": device})
        assert r.status_code == 403 and "only post to node esp1" in r.json()["message"]
    (entry,) = _writes_logged(store)
    assert entry["decision"] == "refused" and entry["caller"].startswith("key#")


def test_a_write_key_does_not_read_feeds(store, people) -> None:
    """Issue 18, item 7: a write key also read. Scopes are now separate: write implies ingest, not read."""
    _, write_only = apikeys.create_key(store, "emonpi", ["write"])
    app = create_app(store)
    with TestClient(app) as c:
        assert c.get("/feed/list.json", params={"apikey": write_only}).status_code == 401
        assert c.get("/input/list.json", params={"apikey": write_only}).status_code == 401
    assert apikeys.ApiKey(1, "k", frozenset({"write"})).allows("ingest")


def test_the_release_of_quarantined_readings_asks_the_guard(store, people) -> None:
    from regie.ingest.admin import release
    from regie.store.quarantine import QuarantinedReading

    store.quarantine([QuarantinedReading("mqtt", "house-b/power", JAN_10, 3.0, "test")])
    guard = writes.guard(store, writes.Writer(people["alice"], "session"), "quarantine/release", "house-b/power")
    with pytest.raises(writes.WriteDenied):
        writes.run(guard, lambda: release(store, "mqtt", "house-b/power", series_id="b-load", guard=guard))
    assert _values(store, "b-load", JAN_10) == [700.0]
    assert store.quarantine_summary()[0]["readings"] == 1  # still held
    guard = writes.guard(store, writes.CLI, "quarantine/release", "house-b/power")
    writes.run(guard, lambda: release(store, "mqtt", "house-b/power", series_id="b-load", guard=guard))
    assert _values(store, "b-load", JAN_10) == [3.0]
    assert [e["decision"] for e in _writes_logged(store)] == ["refused", "allowed"]


def test_cli_import_as_a_member_is_refused_for_another_members_series(store_url, tmp_path) -> None:
    from typer.testing import CliRunner

    from regie.cli import app
    from regie.governance import accounts
    from regie.store import open_store

    s = open_store(store_url)
    from governance_data import FAST, PASSWORD, inventory

    s.save_inventory(inventory())
    accounts.create_account(s, "alice", PASSWORD, "member", holder_id="alice", hasher=FAST, actor=CLI_ADMIN)
    s.close()
    f = tmp_path / "c.csv"
    f.write_bytes(_csv((JAN_10, 1.0)))
    base = ["import", "csv", str(f), "-o", "columns=power=b-load:W", "-o", "time_format=unix"]
    refused = CliRunner().invoke(app, [*base, "--as", "alice", "--database-url", store_url])
    assert refused.exit_code == 1 and "refused" in refused.output
    ok = CliRunner().invoke(app, [*base, "--database-url", store_url])
    assert ok.exit_code == 0, ok.output
    s = open_store(store_url)
    try:
        assert [e.entry["decision"] for e in audit.entries(s, kind="write")] == ["refused", "allowed"]
    finally:
        s.close()


def test_an_ingest_error_is_not_logged_as_a_write(store, people) -> None:
    guard = writes.guard(store, writes.CLI, "import/csv", "bad.csv")
    with pytest.raises(IngestError):
        writes.run(guard, lambda: Importer(store, guard=guard).import_stream("csv", io.BytesIO(b"\xff\x00"), "b"))
    assert _writes_logged(store) == []


def test_live_posts_log_a_repeated_decision_once_an_hour_and_imports_every_time(store, people) -> None:
    _, machine = apikeys.create_key(store, "emonpi", ["write"])
    now = [NOW]
    with InputService(store, clock=lambda: now[0]) as service:
        app = create_app(store)
        app.state.clock = lambda: now[0]
        app.state.inputs = service
        with TestClient(app) as c:
            for dt in (0, 10, 20, writes.RELOG_S + 30):
                now[0] = NOW + dt
                assert c.get("/input/post", params={"node": "pi", "csv": "1", "apikey": machine}).text == "ok"
    live = [e for e in _writes_logged(store) if e["action"] == "input/post"]
    assert len(live) == 2  # the first post, then the same decision again an hour later
    for _ in range(2):
        guard = writes.guard(store, writes.CLI, "import/csv", "same.csv")
        writes.run(guard, lambda g=guard: Importer(store, guard=g).import_stream(
            "csv", io.BytesIO(_csv((JAN_10, 1.0))), "same.csv", columns="power=hydro:W", time_format="unix"))
    assert len([e for e in _writes_logged(store) if e["action"] == "import/csv"]) == 2


def test_every_write_door_outside_ingest_passes_a_guard() -> None:
    """As the gate's test scans for reads: every call that writes readings from the web, the CLI, the services
    or the demo — the importer, the input writer, a release, a re-mapping, the MQTT ingester — names its guard
    (``guard=`` / ``guards=``), so no door writes without regie.governance.writes deciding and logging it."""
    import ast
    from pathlib import Path

    import regie

    doors = {"Importer", "release", "remap_input", "MqttIngester"}
    root = Path(regie.__file__).parent
    unguarded = []
    for folder in ("web", "cli", "services", "demo", "publication"):
        for path in sorted((root / folder).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if not isinstance(node, ast.Call):
                    continue
                name = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", "")
                words = {k.arg for k in node.keywords}
                is_door = name in doors or (name in ("submit", "ingest") and "source" in words)
                if is_door and not words & {"guard", "guards"}:
                    unguarded.append(f"{path.relative_to(root)}:{node.lineno} {name}(...)")
    assert unguarded == []
