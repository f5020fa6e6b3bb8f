"""Two territories in one store: the quarantine, the emoncms inputs, a site's sensors and the people pages show
an admin the territory chosen for the request within the ones it runs, and an admin of one territory can
neither see nor act on the other's — not with a forged ``?territory=``, not with a form carrying the other
territory's references. The rights and the write guard refuse it too. On SQLite and PostgreSQL.

And the admin pages' one check (:data:`regie.web.deps.AdminCaller`): the public is sent to log in, an operator
gets the refusal page (403), whatever the page.

The store's first territory by id is ``mont``, its main one ``vallee`` (``two_territories``): a page that fell
back to the store's first would show ``mont`` to an admin of ``vallee``.
"""

from __future__ import annotations

import dataclasses
import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from two_territories import World, build

from regie.governance import accounts, audit, invitations, rights, territories, writes
from regie.governance.key_owner import owner_ref
from regie.ingest import apikeys
from regie.ingest.admin import key_ref
from regie.ingest.importer import Importer
from regie.ingest.inputs import InputService
from regie.model import Site
from regie.store import open_store
from regie.store.quarantine import Scope

SECRET = b"s" * 32
R63 = Path(__file__).parents[1] / "data" / "enedis_r63_duplicates.csv"
MONT_PRM, VALLEE_PRM = "30001234567890", "30019999999999"  # unknown to both territories
SHOWN = {"mont": "**********7890", "vallee": "**********9999"}


class Served:
    """The world, its app (with a running input service) and the secrets of one sensor key per territory."""

    def __init__(self, world: World, client: TestClient, keys: dict[str, tuple[int, str]]) -> None:
        self.world, self.client, self.keys = world, client, keys
        self.store = world.store

    def as_(self, who: str | None) -> TestClient:
        self.client.cookies.clear()
        if who is not None:
            self.client.cookies.set("regie_session", self.world.sessions[who])
        return self.client

    def csrf(self, who: str) -> str:
        return accounts.csrf_token(self.world.sessions[who], SECRET)


@pytest.fixture
def served(store_url: str) -> Iterator[Served]:
    store = open_store(store_url)
    world = build(store)
    # an R63 file of a PRM neither territory knows, imported into each: its readings wait in that one's quarantine
    for tid, prm in (("mont", MONT_PRM), ("vallee", VALLEE_PRM)):
        data = R63.read_bytes().replace(MONT_PRM.encode(), prm.encode())
        Importer(store, tid).import_stream("enedis-r63", io.BytesIO(data), f"r63-{tid}.csv")
    app = world.client().app
    app.state.secret = SECRET
    app.state.inputs = InputService(store).start()
    keys = {}
    with TestClient(app, follow_redirects=False) as client:
        client.headers["Accept-Language"] = "en"
        for tid, site in (("mont", "m-s"), ("vallee", "v-s")):  # an emonPi on each territory's site
            key, secret = apikeys.create_key(store, f"emonpi {tid}", ["ingest"], site_id=site)
            keys[tid] = (key.id, secret)
            got = client.get("/input/post", params={"node": "emonpi", "fulljson": '{"power1": 250}', "apikey": secret})
            assert got.json() == {"success": True}
        yield Served(world, client, keys)
    app.state.inputs.close()
    store.close()


def _refusals(s: Served) -> list[dict]:
    return [e.entry for e in audit.entries(s.store) if e.entry.get("kind") == "territory"
            and e.entry.get("action") == "refused"]  # fmt: skip


def _quarantined(s: Served, tid: str) -> int:
    return sum(r["readings"] for r in s.store.quarantine_summary(Scope(tid, unplaced=False)))


# ---------------------------------------------------------------- what each admin sees


def test_the_importer_files_quarantined_readings_under_their_territory(served: Served) -> None:
    assert [r["key"] for r in served.store.quarantine_summary(Scope("mont", unplaced=False))] == [MONT_PRM]
    assert [r["key"] for r in served.store.quarantine_summary(Scope("vallee", unplaced=False))] == [VALLEE_PRM]


@pytest.mark.parametrize(("who", "query", "own", "other"), [
    ("admin-m", "", "mont", "vallee"), ("admin-v", "", "vallee", "mont"),
    ("root", "", "vallee", "mont"),  # the main territory when nothing is chosen
    ("root", "?territory=mont", "mont", "vallee"), ("root", "?territory=vallee", "vallee", "mont"),
])  # fmt: skip
def test_quarantine_inputs_and_people_show_the_chosen_territory(served: Served, who, query, own, other) -> None:
    c = served.as_(who)
    page = c.get(f"/quarantine{query}")
    assert page.status_code == 200, page.text
    assert SHOWN[own] in page.text and SHOWN[other] not in page.text
    inputs = c.get(f"/inputs{query}")
    assert inputs.status_code == 200
    mine, theirs = ("m-s", "v-s") if own == "mont" else ("v-s", "m-s")
    assert f"{mine}-emonpi-power1" in inputs.text and f"{theirs}-emonpi-power1" not in inputs.text
    people = c.get(f"/admin/people{query}")
    assert people.status_code == 200
    assert f'value="{own[0]}-p1"' in people.text and f'value="{other[0]}-p1"' not in people.text


def test_a_scoped_admin_lists_only_the_accounts_of_its_territory(served: Served) -> None:
    page = served.as_("admin-m").get("/admin/people")
    assert "op-m" in page.text and "admin-v" not in page.text and ">root<" not in page.text
    root = served.as_("root").get("/admin/people").text
    assert "admin-v" in root and "op-m" in root


# ---------------------------------------------------------------- attacks: a forged ?territory=


@pytest.mark.parametrize("path", ["/quarantine", "/inputs", "/admin/people", "/admin/sites/m-s/sensors",
                                  "/quarantine/declare?ref=x"])  # fmt: skip
def test_a_forged_territory_is_refused_and_logged(served: Served, path: str) -> None:
    sep = "&" if "?" in path else "?"
    r = served.as_("admin-m").get(f"{path}{sep}territory=vallee")
    assert r.status_code == 403 and 'data-testid="refused"' in r.text
    assert "runs territory mont only, not vallee" in r.text
    assert (_refusals(served)[-1]["territory_id"], _refusals(served)[-1]["actor"]) == ("vallee", "admin-m")


def test_forged_territory_on_a_form_post_changes_nothing(served: Served) -> None:
    c = served.as_("admin-m")
    ref = key_ref("enedis-r63", MONT_PRM)
    r = c.post("/quarantine/discard?territory=vallee", data={"ref": ref, "csrf_token": served.csrf("admin-m")})
    assert r.status_code == 403
    assert _quarantined(served, "mont") == 48 and _quarantined(served, "vallee") == 48


# ---------------------------------------------------------------- attacks: a form carrying the other's ids


def test_the_other_territorys_quarantine_reference_is_unknown(served: Served) -> None:
    c, token = served.as_("admin-m"), served.csrf("admin-m")
    theirs = key_ref("enedis-r63", VALLEE_PRM)
    for action in ("discard", "release"):
        r = c.post(f"/quarantine/{action}", data={"ref": theirs, "csrf_token": token})
        assert r.status_code == 409 and "nothing in quarantine under reference" in r.text
    assert c.get(f"/quarantine/declare?ref={theirs}").status_code == 404
    r = c.post("/quarantine/declare", data={"ref": theirs, "site_id": "m-s", "csrf_token": token})
    assert r.status_code == 404
    assert _quarantined(served, "vallee") == 48
    assert VALLEE_PRM not in {d.prm for d in served.store.load_inventory("mont").delivery_points}


def test_its_own_readings_cannot_be_released_into_the_other_territorys_series(served: Served) -> None:
    c = served.as_("admin-m")
    mine = key_ref("enedis-r63", MONT_PRM)
    r = c.post("/quarantine/release", data={"ref": mine, "series": "v-c1", "csrf_token": served.csrf("admin-m")})
    assert r.status_code == 403 and "writes in territory mont only, not in vallee" in r.text
    assert _quarantined(served, "mont") == 48  # the refusal rolled the release back
    logged = [e.entry for e in audit.entries(served.store) if e.entry.get("kind") == "write"][-1]
    assert (logged["decision"], logged["caller"]) == ("refused", "admin-m")


def test_an_admin_of_every_territory_acts_on_the_territory_shown(served: Served) -> None:
    c, token = served.as_("root"), served.csrf("root")
    r = c.post("/quarantine/discard?territory=mont", data={"ref": key_ref("enedis-r63", MONT_PRM), "csrf_token": token})
    assert (r.status_code, r.headers["location"]) == (303, "/quarantine?territory=mont&done=discarded")
    assert _quarantined(served, "mont") == 0 and _quarantined(served, "vallee") == 48
    declared = {"ref": key_ref("enedis-r63", VALLEE_PRM), "site_id": "v-s", "segment": "C5", "usage": "residential",
                "csrf_token": token}  # fmt: skip
    r = c.post("/quarantine/declare?territory=vallee", data=declared)
    assert (r.status_code, r.headers["location"]) == (303, "/quarantine?territory=vallee&done=declared"), r.text
    assert VALLEE_PRM in {d.prm for d in served.store.load_inventory("vallee").delivery_points}
    assert VALLEE_PRM not in {d.prm for d in served.store.load_inventory("mont").delivery_points}
    assert _quarantined(served, "vallee") == 0


def test_the_other_territorys_inputs_cannot_be_remapped(served: Served) -> None:
    c, token = served.as_("admin-m"), served.csrf("admin-m")
    r = c.post("/inputs/remap", data={"node": "v-s:emonpi", "name": "power1", "series": "m-h", "csrf_token": token})
    assert r.status_code == 409 and "no emoncms input" in r.text
    r = c.post("/inputs/remap", data={"node": "m-s:emonpi", "name": "power1", "series": "v-h", "csrf_token": token})
    assert r.status_code == 403 and "not in vallee" in r.text  # its own input, into the other's series
    r = c.post("/inputs/remap", data={"node": "m-s:emonpi", "name": "power1", "series": "m-new", "create": "1",
                                      "csrf_token": token})  # fmt: skip
    assert r.status_code == 303
    assert territories.of_series(served.store, "m-new") == "mont"  # made in the input's territory, not the first
    feeds = {i["series"] for i in InputService(served.store).inputs("vallee")}
    assert feeds == {"v-s-emonpi-power1"}


def test_the_emoncms_lists_of_an_admin_key_of_one_territory_hold_its_inputs_only(served: Served) -> None:
    """A workshop's meter (a site without a delivery point: no one's data, so the gate lets anyone list it) in
    each territory: an admin key of mont lists mont's only; an admin key of every territory, both."""
    c, store = served.as_(None), served.store
    for tid, p in (("mont", "m"), ("vallee", "v")):
        inv = store.load_inventory(tid)
        store.save_inventory(dataclasses.replace(inv, sites=[*inv.sites, Site(f"{p}-shop", "Workshop", tid)]))
        _, secret = apikeys.create_key(store, f"shop {tid}", ["ingest"], site_id=f"{p}-shop")
        assert c.get("/input/post", params={"node": "meter", "fulljson": '{"power1": 5}', "apikey": secret}).json()
    listed = {}
    for who in ("admin-m", "root"):
        _, secret = apikeys.create_key(store, who, ["read"], owner_id=owner_ref(served.world.accounts[who]))
        ask = {"apikey": secret, "reason": "check"}
        listed[who] = ({(i["nodeid"], i["processList"]) for i in c.get("/input/list.json", params=ask).json()},
                       {f["series"] for f in c.get("/feed/list.json", params=ask).json()})  # fmt: skip
    assert listed["admin-m"][1] >= {"m-shop-meter-power1"} and "v-shop-meter-power1" not in listed["admin-m"][1]
    assert {"m-shop-meter-power1", "v-shop-meter-power1"} <= listed["root"][1]
    assert listed["admin-m"][0] < listed["root"][0]  # the inputs feeding vallee's series are not listed to mont's


def test_the_other_territorys_site_sensors_are_refused(served: Served) -> None:
    c, token = served.as_("admin-m"), served.csrf("admin-m")
    before = len(_refusals(served))
    assert c.get("/admin/sites/v-s/sensors").status_code == 403
    r = c.post("/admin/sites/v-s/sensors/keys", data={"name": "mine now", "csrf_token": token})
    assert r.status_code == 403
    key_id = served.keys["vallee"][0]
    r = c.post("/admin/sites/v-s/sensors/revoke", data={"key_id": str(key_id), "csrf_token": token})
    assert r.status_code == 403
    assert [k.name for k in apikeys.list_keys(served.store, site_id="v-s")] == ["emonpi vallee"]
    assert apikeys.list_keys(served.store, site_id="v-s")[0].revoked_at is None
    assert len(_refusals(served)) == before + 3
    # its own site: the page, and a key may not be given to an account of the other territory
    assert c.get("/admin/sites/m-s/sensors").status_code == 200
    r = c.post("/admin/sites/m-s/sensors/keys", data={"name": "x", "owner": "admin-v", "csrf_token": token})
    assert r.status_code == 400 and "No account" in r.text
    # an admin of every territory sees vallee's site whatever territory its pages show
    assert served.as_("root").get("/admin/sites/v-s/sensors?territory=mont").status_code == 200


def test_the_other_territorys_people_cannot_be_invited_reset_or_unlocked(served: Served) -> None:
    c, token = served.as_("admin-m"), served.csrf("admin-m")
    r = c.post("/admin/people/invite", data={"email": "x@example.org", "role": "member", "holder": "v-p1",
                                            "csrf_token": token})  # fmt: skip
    assert r.status_code == 400
    assert accounts.get_account(served.store, "x") is None
    r = c.post("/admin/people/admin-v/reset-link", data={"csrf_token": token})
    assert r.status_code == 400 and "no account" in r.text.lower()
    assert c.post("/admin/people/root/two-factor-off", data={"csrf_token": token}).status_code == 404
    assert {e["territory_id"] for e in _refusals(served)[-3:]} >= {"vallee"}
    # its own: an operator account of its régie may be given a reset link
    assert c.post("/admin/people/op-m/reset-link", data={"csrf_token": token}).status_code == 200
    invited = invitations.invite(served.store, served.world.accounts["admin-m"], email="m1@example.org",
                                 role="member", holder_id="m-p1")  # fmt: skip
    assert invited.account.territory_id == "mont"


def test_rights_and_writes_of_the_other_territory_are_refused(served: Served) -> None:
    s, admin_m = served.store, served.world.accounts["admin-m"]
    for act in (lambda: rights.export_member(s, admin_m, "v-p1"), lambda: rights.erase_member(s, admin_m, "v-p1"),
                lambda: rights.correct_details(s, admin_m, "v-p1", name="Someone else")):  # fmt: skip
        with pytest.raises(rights.RightsError, match="runs territory mont only, not vallee"):
            act()
    assert accounts.accounts_of_holder(s, "v-p1") == [] and territories.of_holder(s, "v-p1") == "vallee"
    assert rights.export_member(s, admin_m, "m-p1")[:2] == b"PK"  # its own territory's holder
    guard = writes.guard(s, writes.Writer(admin_m, "session"), "import/csv", "test")
    guard.check(s.series("m-c1"))
    with pytest.raises(writes.WriteDenied, match="not in vallee"):
        guard.check(s.series("v-c1"))
    op = writes.guard(s, writes.Writer(served.world.accounts["op-m"], "session"), "import/csv", "test")
    with pytest.raises(writes.WriteDenied, match="not in vallee"):  # the mont régie's operator, too
        op.check(s.series("v-c1"))
    root = writes.guard(s, writes.Writer(served.world.accounts["root"], "session"), "import/csv", "test")
    root.check(s.series("v-c1"))
    root.check(s.series("m-c1"))


def test_the_public_disclosure_api_answers_for_the_territory_asked(served: Served) -> None:
    c = served.as_(None)
    tables = {tid: c.get(f"/api/territory/consumption-by-usage?territory={tid}").json() for tid in ("mont", "vallee")}
    totals = {tid: t["total_wh"] for tid, t in tables.items()}
    assert totals["mont"] == pytest.approx(2.5 * totals["vallee"])  # 250 W against 100 W per household
    assert c.get("/api/territory/consumption-by-usage").json()["total_wh"] == totals["vallee"]  # the main one
    assert c.get("/api/territory/disclosure?territory=nowhere").status_code == 404
    assert served.as_("admin-m").get("/api/territory/disclosure?territory=vallee").status_code == 403


# ---------------------------------------------------------------- one admin check for every admin page


ADMIN_PAGES = ["/admin", "/admin/people", "/admin/footprint", "/quarantine", "/inputs", "/admin/sites/m-s/sensors",
               "/admin/inventory", "/admin/map", "/admin/peers"]  # fmt: skip


@pytest.mark.parametrize("path", ADMIN_PAGES)
def test_an_admin_page_sends_the_public_to_log_in_and_refuses_an_operator(served: Served, path: str) -> None:
    public = served.as_(None).get(path)
    assert public.status_code == 303 and public.headers["location"].startswith("/login")
    refused = served.as_("op-m").get(path)
    assert refused.status_code == 403 and 'data-testid="refused"' in refused.text
    assert "administrators only" in refused.text
    assert refused.headers["cache-control"] == "no-store" and refused.headers["x-frame-options"] == "DENY"
    assert served.as_("admin-m").get(path).status_code == 200


@pytest.mark.parametrize("path", ["/admin/people/invite", "/quarantine/discard", "/inputs/remap",
                                  "/admin/sites/m-s/sensors/keys", "/admin/map", "/admin/peers",
                                  "/admin/peers/nobody/status"])  # fmt: skip
def test_an_admin_form_refuses_an_operator_before_reading_it(served: Served, path: str) -> None:
    assert served.as_(None).post(path, data={}).status_code == 303
    r = served.as_("op-m").post(path, data={"csrf_token": served.csrf("op-m")})
    assert r.status_code == 403 and 'data-testid="refused"' in r.text


# ---------------------------------------------------------------- the shell: readings go where they came from


def test_the_shell_releases_a_quarantined_prm_in_the_territory_it_was_imported_into(served: Served,
                                                                                    store_url: str) -> None:
    """`regie quarantine release` (an admin of every territory, told no territory) places vallee's PRM with
    vallee's inventory, not the store's first territory's (mont)."""
    import json

    from typer.testing import CliRunner

    from regie.cli import app
    from regie.model import DeliveryPoint

    store = served.store
    inv = store.load_inventory("vallee")
    store.save_inventory(dataclasses.replace(inv, delivery_points=[*inv.delivery_points,
                                                                   DeliveryPoint(VALLEE_PRM, "v-s")]))  # fmt: skip
    runner = CliRunner()
    listed = runner.invoke(app, ["quarantine", "list", "--format", "json", "--database-url", store_url])
    assert listed.exit_code == 0, listed.output
    rows = {r["key"]: r["territory_id"] for r in json.loads(listed.output)}
    assert rows == {SHOWN["mont"]: "mont", SHOWN["vallee"]: "vallee"}
    ref = key_ref("enedis-r63", VALLEE_PRM)
    done = runner.invoke(app, ["quarantine", "release", ref, "--database-url", store_url])
    assert done.exit_code == 0, done.output
    (series,) = [s for s in store.load_inventory("vallee").series if s.prm == VALLEE_PRM] or [None]
    assert series is not None and territories.of_series(store, series.id) == "vallee"
    assert _quarantined(served, "vallee") == 0 and _quarantined(served, "mont") == 48


def test_a_holding_starts_at_midnight_in_its_own_territorys_zone(served: Served) -> None:
    """The gate's holding periods (who held a point when: what a member may read) follow the point's own
    territory's local days: on La Réunion (UTC+4) a membership from 10 March starts 3 hours before Paris's
    midnight of that day would."""
    from datetime import date, datetime
    from zoneinfo import ZoneInfo

    from regie.governance import gate
    from regie.model import DeliveryPoint, Inventory, Membership, Person, Territory

    prm = "30039999999999"
    territories.create_territory(served.store, served.world.accounts["root"],
                                 Territory("reunion", "Réunion-Test", "Indian/Reunion"))  # fmt: skip
    served.store.save_inventory(Inventory(
        Territory("reunion", "Réunion-Test", "Indian/Reunion"), sites=[Site("r-s", "Site", "reunion")],
        delivery_points=[DeliveryPoint(prm, "r-s")], persons=[Person("r-p1", "Person 1")],
        memberships=[Membership("r-p1", prm, date(2025, 3, 10))],
    ))  # fmt: skip
    (holder, start, until), = gate.holding_periods(served.store, prm)
    assert (holder, until) == ("r-p1", None)
    assert start == int(datetime(2025, 3, 10, tzinfo=ZoneInfo("Indian/Reunion")).timestamp())
