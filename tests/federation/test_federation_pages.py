"""The admin page of peers and a member's grant to a peer from /me, through the real app (in process)."""

from __future__ import annotations

from datetime import date

from argon2 import PasswordHasher
from fastapi.testclient import TestClient

from regie.federation import identity, peers
from regie.governance import accounts, consent
from regie.governance.accounts import Role
from regie.model import DeliveryPoint, Inventory, Membership, Person, Series, SeriesKind, Site, Step, Territory
from regie.store import federation as rows
from regie.store import open_store
from regie.web import auth
from regie.web.app import create_app

SECRET = b"s" * 32
FAST = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
PRM = "30002000000001"


def _client(app, store, name: str) -> tuple[TestClient, str]:
    token = accounts.create_session(store, accounts.get_account(store, name))
    client = TestClient(app)
    client.cookies.set(auth.PLAIN_COOKIE, token)
    return client, accounts.csrf_token(token, SECRET)


def test_the_admin_adds_and_suspends_a_peer_and_a_member_grants_it(tmp_path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'r.sqlite'}")
    store.save_inventory(Inventory(
        Territory("t", "T"), sites=[Site("h", "h", "t")], delivery_points=[DeliveryPoint(PRM, "h")],
        persons=[Person("alice", "Alice")], memberships=[Membership("alice", PRM, date(2024, 1, 1))],
        series=[Series("c", SeriesKind.CONSUMPTION, "W", Step.parse("PT30M"), prm=PRM)],
    ))  # fmt: skip
    accounts.create_account(store, "admin", "a long enough password", Role.ADMIN, hasher=FAST)
    accounts.create_account(store, "alice", "a long enough password", Role.MEMBER, hasher=FAST, holder_id="alice")
    app = create_app(store)
    app.state.secret, app.state.password_hasher = SECRET, FAST
    app.state.federation_dir = tmp_path / "data"
    admin, csrf = _client(app, store, "admin")
    page = admin.get("/admin/peers")
    assert page.status_code == 200 and identity.load_or_create(tmp_path / "data").current.key_id in page.text
    refused = admin.post("/admin/peers", data={"csrf_token": csrf, "url": "ftp://x", "fingerprint": "00"})
    assert refused.status_code == 400 and "https://" in refused.text
    # a peer known by its document (the page fetches it over HTTP; here it is given, as the CLI test does)
    doc = identity.well_known(tmp_path / "b", "http://b.example", audit_public_pem=None)
    peers.add(store, "admin", url="http://b.example", key_fingerprint=doc["currentKey"], doc=doc, peer_id="b",
              send=("personal",))  # fmt: skip
    assert admin.post("/admin/peers/b/status", data={"csrf_token": csrf, "status": "suspended"},
                      follow_redirects=False).status_code == 303  # fmt: skip
    assert rows.peer(store, "b").status == "suspended"
    admin.post("/admin/peers/b/status", data={"csrf_token": csrf, "status": "active"})
    # alice sees the peer among the recipients of her grants form, and grants it
    member, mcsrf = _client(app, store, "alice")
    me = member.get("/me")
    assert 'value="peer:b"' in me.text
    expires = str(date.today().replace(year=date.today().year + 1))
    form = {"csrf_token": mcsrf, "recipient": "peer:b", "categories": "consumption", "prms": PRM, "granularity": "P1D",
            "purpose": "dpv:ResearchAndDevelopment", "data_from": "2025-01-01", "expires": expires}  # fmt: skip
    done = member.post("/me/grants", data=form, follow_redirects=False)
    assert done.status_code in (200, 303), done.text[:500]
    (g,) = consent.list_grants(store, subject_id="alice")
    assert g.recipient == "peer:b" and g.status is consent.Status.GIVEN
