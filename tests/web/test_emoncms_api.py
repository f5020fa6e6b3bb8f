"""The emoncms-compatible routes: what emonhub sends, what emoncms answers, and the feed read side.

The clock of the app is injected (``app.state.clock``), so times are asserted exactly, never with a
tolerance. The end-to-end test talks to a real uvicorn server on loopback with ``http.client``, which,
like emonhub's ``requests.post(url, bytes)``, sends no Content-Type.
"""

from __future__ import annotations

import http.client
import json
import zlib
from collections.abc import Iterator
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from servers import AppServer

from regie.ingest import apikeys
from regie.ingest.inputs import InputService
from regie.model import Inventory, Readings, Series, SeriesKind, Territory
from regie.store import Store, open_store
from regie.web.app import create_app

NOW = 1_795_347_670  # the server's clock in these tests: 2026-11-21 ~ 09:41 UTC
PARIS = ZoneInfo("Europe/Paris")
EMONHUB_BODY = b'data=[[1795347644,"testnode",{"power1":110,"power2":210,"vrms":231}],[1795347654,99,1.5,2.5]]'


@pytest.fixture
def emon_store(tmp_path) -> Iterator[Store]:
    s = open_store(f"sqlite:///{tmp_path / 'regie.sqlite'}")
    s.save_inventory(
        Inventory(Territory("village", "Village"), series=[Series("other", SeriesKind.SENSOR, "W", name="other")])
    )
    yield s
    s.close()


@pytest.fixture
def app(emon_store: Store):
    app = create_app(emon_store)
    app.state.clock = lambda: NOW
    app.state.inputs = InputService(emon_store, clock=lambda: NOW).start()
    yield app
    app.state.inputs.close()


@pytest.fixture
def keys(emon_store: Store) -> dict[str, str]:
    return {
        "write": apikeys.create_key(emon_store, "emonpi", ["read", "write"])[1],  # an emoncms-style key
        "read": apikeys.create_key(emon_store, "grafana", ["read"])[1],
        "device": apikeys.create_key(emon_store, "esp", ["ingest"], node="esp1")[1],
    }


@pytest.fixture
def client(app) -> Iterator[TestClient]:
    with TestClient(app) as c:
        yield c


def feed_ids(client: TestClient, key: str) -> dict[str, int]:
    feeds = client.get("/feed/list.json", params={"apikey": key}).json()
    return {f"{f['tag']}/{f['name']}": f["id"] for f in feeds}


def data(client: TestClient, key: str, **params) -> list:
    r = client.get("/feed/data.json", params={"apikey": key, **params})
    assert r.status_code == 200, r.text
    return r.json()


# ------------------------------------------------------------------------------------------ end to end
@pytest.fixture
def server(app) -> Iterator[int]:
    """A real uvicorn server on an ephemeral loopback port."""
    with AppServer(app) as srv:
        yield srv.port


def test_emonhub_compressed_bulk_end_to_end(server: int, keys: dict[str, str]) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", server, timeout=30)
    body = zlib.compress(EMONHUB_BODY)
    conn.putrequest("POST", "/input/bulk.json?sentat=1795347660&cb=1", skip_accept_encoding=True)
    conn.putheader("Authorization", f"Bearer {keys['write']}")
    conn.putheader("Content-Length", str(len(body)))
    conn.endheaders(body)
    reply = conn.getresponse()
    assert (reply.status, reply.read()) == (200, b"ok")
    assert reply.getheader("content-type").startswith("text/plain")

    def get(path: str):
        conn.request("GET", path, headers={"Authorization": f"Bearer {keys['read']}"})
        r = conn.getresponse()
        assert r.status == 200
        return json.loads(r.read())

    feeds = {f"{f['tag']}/{f['name']}": f for f in get("/feed/list.json")}
    assert set(feeds) == {"testnode/power1", "testnode/power2", "testnode/vrms", "99/1", "99/2"}
    assert (feeds["testnode/power1"]["unit"], feeds["testnode/vrms"]["unit"], feeds["99/1"]["unit"]) == ("W", "V", "")
    # time = now - (sentat - t): 1795347644 was sent 16 s before sentat, so it is stamped now - 16
    expected = {
        "testnode/power1": [[NOW - 16, 110.0]],
        "testnode/power2": [[NOW - 16, 210.0]],
        "testnode/vrms": [[NOW - 16, 231.0]],
        "99/1": [[NOW - 6, 1.5]],
        "99/2": [[NOW - 6, 2.5]],
    }
    for name, points in expected.items():
        got = get(f"/feed/data.json?id={feeds[name]['id']}&start={(NOW - 60) * 1000}&end={NOW * 1000}&timeformat=unix")
        assert got == points, name
    assert get(f"/feed/data.json?id={feeds['99/1']['id']}&start={NOW - 60}&end={NOW}") == [[(NOW - 6) * 1000, 1.5]]
    assert feeds["99/2"]["time"] == NOW - 6 and feeds["99/2"]["value"] == 2.5
    conn.close()


# ------------------------------------------------------------------------------------------ replies
def test_invalid_key_gets_emoncms_401(client: TestClient, keys: dict[str, str]) -> None:
    """emoncms ``index.php`` step 3: 401, its challenge, its body, PHP's default content type."""
    for r in (
        client.post("/input/bulk.json", data={"data": "[[0,1,2]]", "apikey": "0" * 32}),
        client.get("/input/post", params={"csv": "1", "apikey": keys["read"]}),  # a read key cannot write
        client.get("/feed/list.json", headers={"Authorization": "Bearer " + "f" * 32}),
        client.get("/feed/data.json", params={"id": 1, "apikey": "x"}),
    ):
        assert r.status_code == 401
        assert r.text == "Invalid API key"
        assert r.headers["content-type"] == "text/html; charset=UTF-8"
        assert r.headers["www-authenticate"] == (
            'Bearer realm="API KEY", error="invalid_apikey", error_description="Invalid API key"'
        )
    device = client.get("/input/post", params={"csv": "1", "devicekey": "0" * 32})
    assert (device.status_code, device.text) == (401, "Invalid device key")
    assert device.headers["content-type"] == "text/html; charset=UTF-8"
    assert device.headers["www-authenticate"] == (
        'Bearer realm="Device KEY", error="invalid_devicekey", error_description="Invalid device key"'
    )


def test_missing_key_is_a_401_without_error_code(client: TestClient) -> None:
    """emoncms answers 200 with ``false`` / ``[]`` without a key; regie a 401 with RFC 6750 §3.1's bare
    challenge (no error code for a request that carried no credentials)."""
    for r in (
        client.post("/input/bulk.json", data={"data": "[[0,1,2]]"}),
        client.get("/feed/list.json"),
        client.get("/feed/data.json", params={"id": 1, "apikey": ""}),
    ):
        assert (r.status_code, r.text) == (401, "API key required")
        assert r.headers["content-type"] == "text/html; charset=UTF-8"
        assert r.headers["www-authenticate"] == 'Bearer realm="API KEY"'


def test_a_device_key_only_posts(client: TestClient, keys: dict[str, str]) -> None:
    """index.php: a valid device key may only post inputs; reading with it is emoncms's 401."""
    r = client.get("/feed/list.json", params={"devicekey": keys["device"]})
    assert r.status_code == 401
    assert r.text == "Unauthorized. Device key autentication only permits input post or bulk actions"
    assert client.get("/input/post", params={"node": "esp1", "csv": "1", "devicekey": keys["device"]}).text == "ok"


def test_post_forms_and_replies(client: TestClient, keys: dict[str, str]) -> None:
    k = keys["write"]
    r = client.get("/input/post.json", params={"node": "emontx", "csv": "100,200", "apikey": k, "time": NOW - 10})
    assert (r.text, r.headers["content-type"]) == ("ok", "text/plain; charset=utf-8")
    r = client.post("/input/post/emontx", data={"fulljson": '{"power1": 150}', "apikey": k})
    assert r.json() == {"success": True}
    r = client.post("/input/post", params={"apikey": k}, data={"node": "emontx", "json": "{temp:21.5}"})
    assert r.text == "ok"
    r = client.get("/input/post", params={"csv": "1,x", "apikey": k})
    assert r.json() == {"success": False, "message": "Format error: csv value is not numeric"}
    ids = feed_ids(client, k)
    assert data(client, k, id=ids["emontx/1"], start=NOW - 60, end=NOW, timeformat="unix") == [[NOW - 10, 100.0]]
    assert data(client, k, id=ids["emontx/power1"], start=NOW - 60, end=NOW, timeformat="unix") == [[NOW, 150.0]]
    assert data(client, k, id=ids["emontx/temp"], start=NOW - 60, end=NOW, timeformat="unix") == [[NOW, 21.5]]
    inputs = client.get("/input/list.json", params={"apikey": k}).json()
    assert {(i["nodeid"], i["name"], i["value"]) for i in inputs} >= {("emontx", "1", 100.0), ("emontx", "temp", 21.5)}


def test_bulk_format_error_writes_nothing(client: TestClient, keys: dict[str, str]) -> None:
    k = keys["write"]
    r = client.post("/input/bulk.json", data={"data": '[[0,5,1],[1,5,"oops"]]', "time": NOW, "apikey": k})
    assert r.json() == {"success": False, "message": "Format error, bulk value is not numeric (item 2)"}
    assert feed_ids(client, k) == {}


def test_hex_compressed_bulk(client: TestClient, keys: dict[str, str]) -> None:
    payload = zlib.compress(b"[[-10,7,1,2],[0,7,3,4]]").hex()
    r = client.post("/input/bulk", data={"data": payload, "c": "1", "time": NOW, "apikey": keys["write"]})
    assert r.text == "ok"
    ids = feed_ids(client, keys["write"])
    assert data(client, keys["read"], id=ids["7/2"], start=NOW - 60, end=NOW, timeformat="unix") == [
        [NOW - 10, 2.0],
        [NOW, 4.0],
    ]


def test_resent_batch_is_stored_once(client: TestClient, keys: dict[str, str], emon_store: Store) -> None:
    form = {"data": "[[0,3,1],[10,3,2]]", "time": NOW - 100, "apikey": keys["write"]}
    assert client.post("/input/bulk.json", data=form).text == "ok"
    assert client.post("/input/bulk.json", data=form).text == "ok"  # emonhub retries after a timeout
    assert emon_store.count_points() == 2


def test_device_key_is_bound_to_its_node(client: TestClient, keys: dict[str, str]) -> None:
    k = keys["device"]
    assert client.get("/input/post", params={"node": "esp1", "csv": "1", "devicekey": k}).text == "ok"
    r = client.get("/input/post", params={"node": "other", "csv": "1", "devicekey": k})
    assert r.json()["success"] is False and "esp1" in r.json()["message"]
    assert client.get("/feed/list.json", params={"apikey": k}).status_code == 401  # ingest only


def test_revoked_key_is_refused(client: TestClient, emon_store: Store) -> None:
    key, secret = apikeys.create_key(emon_store, "old", ["write"])
    assert client.get("/input/post", params={"csv": "1", "apikey": secret}).text == "ok"
    assert apikeys.revoke(emon_store, key.id)
    assert client.get("/input/post", params={"csv": "1", "apikey": secret}).status_code == 401
    assert all(not k.active for k in apikeys.list_keys(emon_store) if k.id == key.id)


def test_future_and_ancient_instants_go_to_quarantine(client: TestClient, keys: dict[str, str], emon_store: Store):
    rows = [[NOW + 30 * 86400, 4, 1], [-5, 4, 2], [NOW - 1, 4, 3]]
    r = client.post("/input/bulk.json", data={"data": json.dumps(rows), "time": 0, "apikey": keys["write"]})
    assert r.text == "ok"  # kept, not lost: emonhub must not resend forever
    held = emon_store.quarantine_summary()
    assert [(h["source"], h["key"], h["readings"]) for h in held] == [("emoncms-http", "4/1", 2)]
    assert emon_store.count_points() == 1


def test_no_territory_quarantines_everything(tmp_path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'empty.sqlite'}")
    app = create_app(store)
    app.state.clock = lambda: NOW
    secret = apikeys.create_key(store, "k", ["write"])[1]
    with TestClient(app) as c:
        assert c.get("/input/post", params={"node": "n", "csv": "5", "apikey": secret}).text == "ok"
    app.state.inputs.close()
    assert [h["readings"] for h in store.quarantine_summary()] == [1]
    store.close()


# ------------------------------------------------------------------------------------------ feed read side
def test_feed_data_intervals(client: TestClient, keys: dict[str, str], emon_store: Store) -> None:
    k = keys["write"]
    t0 = int(datetime(2026, 3, 28, tzinfo=PARIS).timestamp())  # Saturday; Sunday 29 March has 23 hours
    rows = [[t0 + i * 600, "m", i % 6] for i in range(71 * 6)]  # 10-min samples, 3 local days = 71 h
    assert client.post("/input/bulk.json", data={"data": json.dumps(rows), "time": 0, "apikey": k}).text == "ok"
    fid = feed_ids(client, k)["m/1"]
    hourly = data(client, k, id=fid, start=t0, end=t0 + 7200, interval=3600, average=1, timeformat="unix")
    assert hourly == [[t0, 2.5], [t0 + 3600, 2.5]]
    sampled = data(client, k, id=fid, start=t0 + 1, end=t0 + 3600, interval=1800, timeformat="unix")
    assert sampled == [[t0, 0.0], [t0 + 1800, 3.0]]  # start aligned down; first sample of each interval
    gaps = data(client, k, id=fid, start=t0 - 1200, end=t0 + 600, interval=600, skipmissing=0, timeformat="unix")
    assert gaps == [[t0 - 1200, None], [t0 - 600, None], [t0, 0.0]]
    days = data(client, k, id=fid, start=t0, end=t0 + 71 * 3600, interval="daily", average=1, timeformat="iso8601")
    assert [d[0] for d in days] == [
        "2026-03-28T00:00:00+01:00",
        "2026-03-29T00:00:00+01:00",
        "2026-03-30T00:00:00+02:00",
    ]
    assert days[0][1] == 2.5
    weeks = data(client, k, id=fid, start=t0, end=t0 + 71 * 3600, interval="weekly", average=1, timeformat="excel")
    assert [w[0] for w in weeks] == ["23/03/2026 00:00:00", "30/03/2026 00:00:00"]
    multi = data(client, k, ids=f"{fid},{fid}", start=t0, end=t0 + 600, timeformat="unix")
    assert multi == [{"feedid": fid, "data": [[t0, 0.0], [t0 + 600, 1.0]]}] * 2
    r = client.get("/feed/data.json", params={"apikey": k, "id": 999_999, "start": t0, "end": t0 + 10})
    assert r.json() == {"success": False, "message": "Feed does not exist"}
    r = client.get("/feed/data.json", params={"apikey": k, "id": fid, "start": 0, "end": t0, "interval": 10})
    assert r.json()["success"] is False and "limit" in r.json()["message"]


def test_series_not_fed_by_an_input_are_not_feeds(client: TestClient, keys: dict[str, str], emon_store) -> None:
    emon_store.write([Readings("other", [NOW], [1.0])])
    other = emon_store.ref("other").id
    r = client.get("/feed/data.json", params={"apikey": keys["read"], "id": other, "start": 0, "end": NOW})
    assert r.json() == {"success": False, "message": "Feed does not exist"}


def test_admin_remaps_an_input(client: TestClient, keys: dict[str, str], app, emon_store: Store) -> None:
    k = keys["write"]
    assert client.get("/input/post", params={"node": "n", "json": "power:1", "time": NOW - 5, "apikey": k}).text == "ok"
    app.state.inputs.remap("n", "power", "other")
    assert client.get("/input/post", params={"node": "n", "json": "power:2", "time": NOW, "apikey": k}).text == "ok"
    t, v = emon_store.read("other", NOW - 60, NOW + 1)
    assert t.tolist() == [NOW] and v.tolist() == [2.0]


def test_ten_second_inputs_across_the_autumn_dst_change(client: TestClient, keys: dict[str, str]) -> None:
    """Irregular input series keep hour rollups: the repeated local hour 02:00-03:00 must not break them."""
    k = keys["write"]
    day = int(datetime(2026, 10, 25, tzinfo=PARIS).timestamp())  # a 25-hour local day
    rows = [[day + 10 * i, "dst", 100] for i in range(25 * 360)]
    cut = 2 * 360 + 90  # 02:15 local, first time round: one request ends and the next starts in the repeated hour
    for part in (rows[:cut], rows[cut:]):
        assert client.post("/input/bulk.json", data={"data": json.dumps(part), "time": 0, "apikey": k}).text == "ok"
    fid = feed_ids(client, k)["dst/1"]
    daily = data(client, k, id=fid, start=day, end=day + 25 * 3600, interval="daily", average=1, timeformat="unix")
    assert daily == [[day, 100.0]]
    hourly = data(client, k, id=fid, start=day, end=day + 25 * 3600, interval=3600, average=1, timeformat="unix")
    assert len(hourly) == 25 and {v for _, v in hourly} == {100.0}


def test_keys_in_urls_are_masked_in_the_access_log() -> None:
    import logging

    from regie.web.emoncms import MaskKeysFilter

    secret = "0123456789abcdef0123456789abcdef"
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:1", "GET", f"/input/post?csv=1&apikey={secret}", "1.1", 200),
        None,
    )
    MaskKeysFilter().filter(record)
    assert secret not in record.getMessage() and "apikey=0123…" in record.getMessage()


def test_a_value_the_store_refuses_fails_the_whole_request(
    client: TestClient, keys: dict[str, str], emon_store
) -> None:
    rows = [[0, "n", 1], [10, "n", 1e300]]  # 1e300 W does not fit the series' 0.1 W resolution
    r = client.post("/input/bulk.json", data={"data": json.dumps(rows), "time": NOW - 100, "apikey": keys["write"]})
    assert r.json()["success"] is False and "too large" in r.json()["message"]
    assert emon_store.count_points() == 0


# ------------------------------------------------------------------------------------ personal feeds: the gate
PRM_ALICE = "30002000000001"
DAY0 = int(datetime(2026, 11, 18, tzinfo=PARIS).timestamp())  # three local days of 10-s data before NOW
DAY = 86_400


@pytest.fixture
def members(tmp_path) -> Iterator[tuple[TestClient, Store, dict[str, str]]]:
    """Alice's emonPi (a 10-s feed on her delivery point), the village's hydro sensor; keys of alice, bob, an
    operator with a daily grant from alice, and a key without owner."""
    from datetime import date

    import numpy as np
    from argon2 import PasswordHasher

    from regie.demo.schools_live import bind_inputs
    from regie.governance import accounts, consent
    from regie.model import DeliveryPoint, Membership, Person, Site, Step

    store = open_store(f"sqlite:///{tmp_path / 'members.sqlite'}")
    ten = Step.parse("PT10S")
    store.save_inventory(Inventory(
        Territory("village", "Village"), sites=[Site("house-a", "House A", "village"), Site("mill", "Mill", "village")],
        delivery_points=[DeliveryPoint(PRM_ALICE, "house-a")],
        persons=[Person("alice", "Alice"), Person("bob", "Bob")],
        memberships=[Membership("alice", PRM_ALICE, date(2025, 1, 1))],
        series=[Series("alice-pi", SeriesKind.SENSOR, "W", ten, prm=PRM_ALICE, name="power"),
                Series("mill-pi", SeriesKind.SENSOR, "W", ten, site_id="mill", name="power")],
    ))  # fmt: skip
    t = np.arange(DAY0, DAY0 + 3 * DAY, 10, dtype=np.int64)
    day_value = 100.0 * (1 + (t - DAY0) // DAY)  # 100 W the first day, 200 W the second, 300 W the third
    store.write([Readings("alice-pi", t, day_value), Readings("mill-pi", t, np.full(len(t), 5000.0))])
    bind_inputs(store, {("alice", "power"): "alice-pi", ("mill", "power"): "mill-pi"})
    fast = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    for name, role, kw in (("alice", "member", {"holder_id": "alice"}), ("bob", "member", {"holder_id": "bob"}),
                           ("op", "operator", {"operator_of": "coop"})):  # fmt: skip
        accounts.create_account(store, name, "a long enough password", role, hasher=fast, **kw)
    consent.grant(store, accounts.get_account(store, "alice"), subject_id="alice", recipient_kind="account",
                  recipient_id="op", categories=["sensor"], prms=[PRM_ALICE], granularity="P1D", data_start=DAY0,
                  data_end=None, purpose="dpv:ServiceProvision", expires_at=NOW + 30 * DAY, now=NOW - DAY)  # fmt: skip
    keys = {n: apikeys.create_key(store, f"{n}-key", ["read"], owner_id=n)[1] for n in ("alice", "bob", "op")}
    keys["anyone"] = apikeys.create_key(store, "grafana", ["read"])[1]
    keys["write"] = apikeys.create_key(store, "emonpi", ["read", "write"])[1]
    app = create_app(store)
    app.state.clock = lambda: NOW
    app.state.inputs = InputService(store, clock=lambda: NOW).start()
    with TestClient(app) as c:
        yield c, store, keys
    app.state.inputs.close()
    store.close()


def _accesses(store: Store) -> list[tuple[str, str, str, str]]:
    from regie.governance import audit

    return [(r.caller, r.series, r.decision, r.granularity) for r in audit.accesses_to(store, "alice")]


def test_a_member_key_reads_its_own_feed_raw_and_the_read_is_logged(members) -> None:
    client, store, keys = members
    fid = store.ref("alice-pi").id
    r = client.get("/feed/data.json", params={"apikey": keys["alice"], "id": fid, "start": DAY0, "end": DAY0 + 30,
                                              "timeformat": "unix"})  # fmt: skip
    assert r.json() == [[DAY0 + 10 * i, 100.0] for i in range(4)]  # end inclusive, as emoncms
    assert r.headers["x-regie-granularity"] == "raw"
    assert _accesses(store) == [("alice", "alice-pi", "allowed", "raw")]
    mean = data(client, keys["alice"], id=fid, start=DAY0, end=DAY0 + 2 * DAY, interval="daily", average=1,
                timeformat="unix")  # fmt: skip
    assert mean == [[DAY0, 100.0], [DAY0 + DAY, 200.0]]


def test_another_members_key_and_an_ownerless_key_are_refused_and_logged(members) -> None:
    client, store, keys = members
    fid = store.ref("alice-pi").id
    for who, why in (("bob", "no grant"), ("anyone", "the public never reads personal data")):
        r = client.get("/feed/data.json", params={"apikey": keys[who], "id": fid, "start": DAY0, "end": DAY0 + 30})
        assert r.status_code == 200  # emoncms's error style
        assert r.json() == {"success": False, "message": f"Permission denied: {why}" + (
            ": published aggregates only" if who == "anyone" else "")}
    assert _accesses(store) == [("bob", "alice-pi", "refused", "finest"), ("public", "alice-pi", "refused", "finest")]
    # the listing neither shows her feed to them nor fills her log with refusals
    for who in ("bob", "anyone"):
        assert set(feed_ids(client, keys[who])) == {"mill/power"}
        assert [i["nodeid"] for i in client.get("/input/list.json", params={"apikey": keys[who]}).json()] == ["mill"]
    assert len(_accesses(store)) == 2
    # what describes no one stays open to any read key
    mill = data(client, keys["anyone"], id=store.ref("mill-pi").id, start=DAY0, end=DAY0 + 10, timeformat="unix")
    assert mill == [[DAY0, 5000.0], [DAY0 + 10, 5000.0]]


def test_a_daily_grant_gives_daily_values_even_when_10_s_are_asked(members) -> None:
    client, store, keys = members
    fid = store.ref("alice-pi").id
    ten_s = {"apikey": keys["op"], "id": fid, "start": DAY0 + DAY, "end": DAY0 + 2 * DAY - 10, "interval": 10}
    r = client.get("/feed/data.json", params={**ten_s, "timeformat": "unix"})
    assert r.json() == [[DAY0 + DAY, 200.0]]  # one value per local day: the day's mean power [W]
    assert r.headers["x-regie-granularity"] == "P1D"
    raw = data(client, keys["op"], id=fid, start=DAY0, end=DAY0 + 3 * DAY - 1, timeformat="unix")
    assert raw == [[DAY0, 100.0], [DAY0 + DAY, 200.0], [DAY0 + 2 * DAY, 300.0]]
    both = f"{fid},{store.ref('mill-pi').id}"
    multi = client.get("/feed/data.json", params={"apikey": keys["op"], "ids": both, "start": DAY0,
                                                  "end": DAY0 + DAY - 1, "timeformat": "unix"})  # fmt: skip
    assert multi.headers["x-regie-granularity"] == f"{fid}:P1D"
    assert multi.json()[0]["data"] == [[DAY0, 100.0]]
    assert _accesses(store) == [("op", "alice-pi", "allowed", "P1D")] * 3
    other = client.get("/feed/data.json", params={"apikey": keys["op"], "id": fid, "start": DAY0, "end": DAY0 + 10,
                                                  "purpose": "dpv:ResearchAndDevelopment"})  # fmt: skip
    assert other.json()["success"] is False and "is for dpv:ServiceProvision" in other.json()["message"]


def test_feed_list_shows_a_personal_feed_to_who_may_read_it(members) -> None:
    client, store, keys = members
    post = {"node": "alice", "fulljson": '{"power": 432}', "time": NOW - 5, "apikey": keys["write"]}
    assert client.get("/input/post", params=post).json() == {"success": True}
    listed = lambda who: {f"{f['tag']}/{f['name']}": f  # noqa: E731
                          for f in client.get("/feed/list.json", params={"apikey": keys[who]}).json()}
    mine = listed("alice")
    assert (mine["alice/power"]["time"], mine["alice/power"]["value"]) == (NOW - 5, 432.0)
    assert _accesses(store)[-1] == ("alice", "alice-pi", "allowed", "raw")  # the last value came through the gate
    granted = listed("op")
    assert (granted["alice/power"]["time"], granted["alice/power"]["value"]) == (None, None)  # finer than daily
    assert granted["mill/power"]["value"] is None  # never posted through an input


# ------------------------------------------------------------------------------------------ hostile input
# Issue 18, item 7: each of these was a 500 (OverflowError, RecursionError). Now a 400 that says why.
@pytest.mark.parametrize(
    ("method", "path", "params"),
    [
        ("GET", "/feed/data.json", {"id": "FEED", "interval": "inf"}),
        ("GET", "/feed/data.json", {"id": "FEED", "start": "1e400", "end": "1e401"}),
        ("GET", "/feed/data.json", {"id": str(10**30)}),
        ("GET", "/feed/data.json", {"ids": f"1,{10**20}"}),
        ("POST", "/input/bulk", {"data": "[" * 100_000, "time": "0"}),
        ("GET", "/input/post", {"node": "n", "csv": "1", "time": "1e400"}),
        ("GET", "/input/post", {"node": "n", "fulljson": '{"time": 1e400, "a": 1}'}),
        ("GET", "/input/post", {"node": "n", "csv": "1e400"}),
        ("POST", "/input/bulk", {"data": f'[[{10**30}, "n", 1]]', "time": "0"}),
        ("POST", "/input/bulk", {"data": '[[0, "n", 1]]', "time": "1e400"}),
    ],
)
def test_overflows_and_deep_nesting_answer_400_not_500(client: TestClient, keys, method, path, params) -> None:
    client.get("/input/post", params={"node": "n", "csv": "1", "apikey": keys["write"]})
    before = client.get("/feed/list.json", params={"apikey": keys["read"]}).json()
    params = {k: str(before[0]["id"]) if v == "FEED" else v for k, v in params.items()}
    auth = {"apikey": keys["write"]}
    r = client.get(path, params={**params, **auth}) if method == "GET" else client.post(path, data=params, params=auth)
    assert r.status_code == 400, r.text
    assert r.json()["success"] is False and r.json()["message"]
    assert client.get("/feed/list.json", params={"apikey": keys["read"]}).json() == before  # nothing written


NUMBERISH = st.one_of(
    st.sampled_from(["", "0", "-1", "1", "inf", "-inf", "nan", "1e400", "9" * 30, "9" * 5000, "0x10", "1,2",
                     "2025-01-01", "2025-13-01T99:00", "daily", "weekly", "monthly", "annual", "unix", "excel",
                     "iso8601", "\x00", "[", "{}", "%"]),
    st.integers().map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.text(max_size=10),
)  # fmt: skip
FEED_PARAMS = st.dictionaries(
    st.sampled_from(["id", "ids", "start", "end", "interval", "average", "skipmissing", "limitinterval",
                     "timeformat", "purpose", "reason"]),
    NUMBERISH, max_size=7,
)  # fmt: skip
INPUT_PARAMS = st.dictionaries(
    st.sampled_from(["node", "time", "json", "fulljson", "csv", "data", "sentat", "offset", "c", "cb"]),
    st.one_of(NUMBERISH, st.builds(json.dumps, st.recursive(
        st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=5)),
        lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=5), inner, max_size=3)),
        max_leaves=12,
    ))),
    max_size=5,
)  # fmt: skip
FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))


@FUZZ
@given(path=st.sampled_from(["/feed/data.json", "/feed/list.json", "/input/list.json"]), params=FEED_PARAMS,
       method=st.sampled_from(["GET", "POST"]))  # fmt: skip
def test_fuzz_the_read_routes_never_answer_5xx(client: TestClient, keys, path, params, method) -> None:
    auth = {"apikey": keys["read"]}
    r = client.get(path, params={**params, **auth}) if method == "GET" else client.post(path, data={**params, **auth})
    assert r.status_code < 500, r.text


@FUZZ
@given(path=st.sampled_from(["/input/post", "/input/bulk", "/input/post/node7", "/input/bulk.json"]),
       params=INPUT_PARAMS, method=st.sampled_from(["GET", "POST"]), key=st.sampled_from(["write", "device"]))
@example(path="/input/bulk", params={"data": "[" * 100_000, "time": "0"}, method="POST", key="write")
@example(path="/input/bulk", params={"data": "00", "c": "1"}, method="POST", key="write")
def test_fuzz_the_write_routes_never_answer_5xx(client: TestClient, keys, path, params, method, key) -> None:
    auth = {"apikey": keys[key]}
    r = client.get(path, params={**params, **auth}) if method == "GET" else client.post(path, data={**params, **auth})
    assert r.status_code < 500, r.text


@FUZZ
@given(body=st.binary(max_size=300))
def test_fuzz_compressed_bulk_bodies_never_answer_5xx(client: TestClient, keys, body: bytes) -> None:
    for payload in (body, zlib.compress(body)):
        r = client.post("/input/bulk.json", params={"cb": "1", "apikey": keys["write"]}, content=payload)
        assert r.status_code < 500, r.text


def test_a_body_past_the_limit_is_refused_as_it_streams(client: TestClient, keys) -> None:
    """Issue 18, item 7: bodies of hundreds of MB were buffered before any key check."""
    from regie.web.emoncms import MAX_POST_BYTES

    def chunks():
        yield b"data=["
        for _ in range(MAX_POST_BYTES // (1 << 16) + 1):
            yield b"1," * (1 << 15)

    r = client.post("/input/bulk", params={"apikey": keys["write"], "time": "0"}, content=chunks())
    assert r.status_code == 413
    wrong = client.post("/input/bulk", params={"apikey": "0" * 32}, content=b"data=" + b"1" * 100)
    assert wrong.status_code == 401 and wrong.text == "Invalid API key"


# ------------------------------------------------------------------------------------------ emoncms's defaults
def test_feed_data_defaults_are_emoncms_today(client: TestClient, keys: dict[str, str]) -> None:
    """feed_controller.php ``feed_controller()``: ``skipmissing`` and ``limitinterval`` default to 0 (emoncms
    24dd442f, 2021): empty intervals come back as null, and an interval finer than the feed's is kept."""
    k = keys["write"]
    t0 = NOW - NOW % 600
    rows = [[t0, "d", 1], [t0 + 20, "d", 3]]
    assert client.post("/input/bulk.json", data={"data": json.dumps(rows), "time": 0, "apikey": k}).text == "ok"
    fid = feed_ids(client, k)["d/1"]
    got = data(client, k, id=fid, start=t0, end=t0 + 30, interval=10, timeformat="unix")
    assert got == [[t0, 1.0], [t0 + 10, None], [t0 + 20, 3.0]]
    assert data(client, k, id=fid, start=t0, end=t0 + 30, interval=10, skipmissing=1, timeformat="unix") == [
        [t0, 1.0],
        [t0 + 20, 3.0],
    ]
    fine = data(client, k, id=fid, start=t0, end=t0 + 30, interval=5, timeformat="unix")
    assert [p[0] for p in fine] == [t0 + 5 * i for i in range(6)]  # 5 s kept: limitinterval=0
    limited = data(client, k, id=fid, start=t0, end=t0 + 30, interval=5, limitinterval=1, timeformat="unix")
    assert [p[0] for p in limited] == [t0, t0 + 10, t0 + 20]  # raised to the feed's 10 s
    assert data(client, k, id=fid, start=t0, end=t0 + 30, interval=10, timeformat="notime") == [1.0, None, 3.0]


def test_feed_data_excel_times(client: TestClient, keys: dict[str, str]) -> None:
    """feed_model.php ``Feed::format_output_time``: ``excel`` is PHP ``d/m/Y H:i:s`` in the request's
    ``timezone`` (else the user's; the territory's here), and an unknown format is refused."""
    k = keys["write"]
    t0 = int(datetime(2026, 7, 14, 22, 30, tzinfo=ZoneInfo("UTC")).timestamp())
    client.post("/input/bulk.json", data={"data": json.dumps([[t0, "x", 5]]), "time": 0, "apikey": k})
    fid = feed_ids(client, k)["x/1"]
    assert data(client, k, id=fid, start=t0 - 5, end=t0 + 5, timeformat="excel") == [["15/07/2026 00:30:00", 5.0]]
    utc = data(client, k, id=fid, start=t0 - 5, end=t0 + 5, timeformat="excel", timezone="UTC")
    assert utc == [["14/07/2026 22:30:00", 5.0]]
    r = client.get("/feed/data.json", params={"apikey": k, "id": fid, "start": t0, "end": t0 + 5, "timeformat": "x"})
    assert (r.status_code, r.json()) == (200, {"success": False, "message": "Invalid time format"})
    r = client.get("/feed/data.json", params={"apikey": k, "id": fid, "start": t0, "end": t0 + 5, "timezone": "Mars/X"})
    assert r.status_code == 400 and "timezone" in r.json()["message"]
