"""A sensor key bound to a site: an emonPi's inputs become that site's series, read by its holder; on SQLite
and PostgreSQL.

The posts are emonhub's own (``EmoncmsHTTPInterfacer``: ``POST /input/bulk.json?sentat=..`` with the body
``data=[[t, node, v...], ...]``, key in ``Authorization: Bearer``, no Content-Type) sent with ``http.client``
to a real uvicorn server on loopback. The régie is :mod:`governance_world`: alice holds ``house-a``'s delivery
point, bob ``house-b``'s.
"""

from __future__ import annotations

import dataclasses
import http.client
import json
from collections.abc import Iterator
from datetime import date

import pytest
from governance_world import PRM_A, World, build_world
from servers import AppServer

from regie.governance import accounts, audit, writes
from regie.governance.key_owner import owner_ref
from regie.ingest import apikeys
from regie.ingest.inputs import InputService
from regie.model import Series, SeriesKind
from regie.store import Store, open_store

NOW = 1_795_347_670  # 2026-11-21 ~ 09:41 UTC


@pytest.fixture
def world(store_url: str) -> Iterator[World]:
    store = open_store(store_url)
    yield build_world(store, now=NOW)
    store.close()


@pytest.fixture
def server(world: World) -> Iterator[int]:
    app = world.app()
    app.state.clock = lambda: NOW
    app.state.inputs = InputService(world.store, clock=lambda: NOW).start()
    with AppServer(app) as srv:
        yield srv.port
    app.state.inputs.close()


def emonhub_bulk(port: int, key: str, body: bytes, sentat: int = NOW) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.putrequest("POST", f"/input/bulk.json?sentat={sentat}", skip_accept_encoding=True)
    conn.putheader("Authorization", f"Bearer {key}")
    conn.putheader("Content-Length", str(len(body)))
    conn.endheaders(body)
    reply = conn.getresponse()
    out = reply.status, reply.read()
    conn.close()
    return out


def get_json(port: int, key: str, path: str):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("GET", path, headers={"Authorization": f"Bearer {key}"})
    r = conn.getresponse()
    assert r.status == 200, r.read()
    out = json.loads(r.read())
    conn.close()
    return out


def read_key(store: Store, who: str) -> str:
    acct = accounts.get_account(store, who)
    assert acct is not None
    return apikeys.create_key(store, f"{who}'s dashboard", ["read"], owner_id=owner_ref(acct))[1]


def test_site_key_inputs_become_the_sites_series_read_by_its_holder(world: World, server: int) -> None:
    store = world.store
    key_a = apikeys.create_key(store, "emonpi house-a", ["ingest"], site_id="house-a")[1]
    key_b = apikeys.create_key(store, "emonpi house-b", ["ingest"], site_id="house-b")[1]
    body = b'data=[[1795347644,"emonpi",{"power1":110,"t1":19.5}],[1795347654,"emonpi",{"power1":120}]]'
    assert emonhub_bulk(server, key_a, body, sentat=1795347660) == (200, b"ok")
    # the same node name from another house stays apart: one emonPi per house, both called "emonpi"
    assert emonhub_bulk(server, key_b, b'data=[[1795347650,"emonpi",{"power1":900}]]', sentat=1795347660) == (
        200,
        b"ok",
    )

    power = store.series("house-a-emonpi-power1")
    assert (power.site_id, power.prm, power.unit, power.name) == ("house-a", None, "W", "emonpi/power1")
    assert store.series("house-a-emonpi-t1").site_id == "house-a"
    assert store.series("house-b-emonpi-power1").site_id == "house-b"
    assert store.quarantine_summary() == []  # created on first sight, nothing held

    alice, bob = read_key(store, "alice"), read_key(store, "bob")
    feeds = {f"{f['tag']}/{f['name']}": f for f in get_json(server, alice, "/feed/list.json")}
    assert {k for k in feeds if k.startswith("emonpi/")} == {"emonpi/power1", "emonpi/t1"}
    assert feeds["emonpi/power1"]["series"] == "house-a-emonpi-power1"
    got = get_json(server, alice, f"/feed/data.json?id={feeds['emonpi/power1']['id']}&start={NOW - 60}&end={NOW}"
                   "&timeformat=unix")  # fmt: skip
    assert got == [[NOW - 16, 110.0], [NOW - 6, 120.0]]  # time = now - (sentat - t), as emoncms
    bob_feeds = {f["series"] for f in get_json(server, bob, "/feed/list.json")}
    assert "house-b-emonpi-power1" in bob_feeds and not bob_feeds & {"house-a-emonpi-power1", "house-a-emonpi-t1"}
    refused = get_json(server, bob, f"/feed/data.json?id={feeds['emonpi/power1']['id']}&start={NOW - 60}&end={NOW}")
    assert refused["success"] is False and refused["message"].startswith("Permission denied")

    # the write was logged as the key's, about alice's data
    events = [e.entry for e in audit.entries(store, subject_id="alice", kind="write")]
    assert any(e["action"] == "input/bulk" and e["decision"] == "allowed" for e in events), events


def test_site_key_writes_only_its_sites_series(world: World) -> None:
    store = world.store
    key, _ = apikeys.create_key(store, "emonpi house-a", ["ingest"], site_id="house-a")
    guard = writes.guard(store, writes.key_writer(accounts.PUBLIC, key.id, None, key.site_id), "input/post")
    assert not guard.allows_everything()
    with pytest.raises(writes.WriteDenied, match="only the series of site house-a"):
        guard.check(store.series("c1"))  # alice's Linky curve: Enedis's, not the sensor's
    with pytest.raises(writes.WriteDenied, match="only the series of site house-a"):
        guard.check(store.series("h"))  # the plant
    placed = guard.new_series(Series("x", SeriesKind.SENSOR, "W", prm=PRM_A))
    assert (placed.site_id, placed.prm) == ("house-a", None)
    guard.check(placed)
    with pytest.raises(writes.WriteDenied):
        guard.quarantine(PRM_A)


def test_site_key_refused_outside_its_node_and_nothing_written(world: World, server: int) -> None:
    store = world.store
    key = apikeys.create_key(store, "emonpi house-a", ["ingest"], node="emonpi", site_id="house-a")[1]
    status, body = emonhub_bulk(server, key, b'data=[[1795347644,"garage",{"power1":1}]]')
    assert status == 403 and b"node emonpi" in body
    assert not [s for s in store.load_inventory().series if s.site_id == "house-a"]


def test_site_key_creation_is_checked(world: World) -> None:
    with pytest.raises(ValueError, match="no site 'nowhere'"):
        apikeys.create_key(world.store, "emonpi", ["ingest"], site_id="nowhere")
    with pytest.raises(ValueError, match="only have the 'ingest' scope"):
        apikeys.create_key(world.store, "emonpi", ["read", "ingest"], site_id="house-a")
    inv = world.store.load_inventory()
    ended = [dataclasses.replace(x, until=date(2025, 1, 1)) if x.id == "house-c" else x for x in inv.sites]
    world.store.save_inventory(dataclasses.replace(inv, sites=ended))
    with pytest.raises(ValueError, match="site 'house-c' ended on 2025-01-01"):
        apikeys.create_key(world.store, "emonpi", ["ingest"], site_id="house-c")
    key, _ = apikeys.create_key(world.store, "emonpi", ["ingest"], site_id="house-a")
    assert [k.id for k in apikeys.list_keys(world.store, site_id="house-a")] == [key.id]
    assert not apikeys.revoke(world.store, key.id, site_id="house-b")  # another site's page cannot revoke it
    assert apikeys.revoke(world.store, key.id, site_id="house-a")
