"""Every route of the app × every kind of caller → the status it must get.

Callers (see ``governance_world.py``): the public; session callers — the admin, alice (the member whose data
the grant covers: ``member_self``), bob (another member), ``op`` (operator holding alice's grant), ``op2``
(operator without any grant); API-key callers — alice's own key (read + write), a device key that may only
post inputs, machine keys with the write or the read scope (no owner).

``test_every_route_has_an_entry`` fails as soon as a route is added (or removed) without its line here: a
new route must say who may call it. Every request that changes something runs on its own copy of the store,
with a valid CSRF token for session callers, so the status measures the authorisation alone.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from acc_world import MATRIX_OPERATION, add_matrix_operation
from fastapi import FastAPI, routing
from fastapi.testclient import TestClient
from governance_world import PRM_A, PRM_B, PURPOSE, World, build_world

from regie.store import open_store
from regie.web import assets

ROLES = (
    "public", "admin", "member_self", "member_other", "operator_granted", "operator_without",
    "key_owner", "key_ingest", "key_write", "key_read",
)  # fmt: skip
SESSION_OF = {"admin": "admin", "member_self": "alice", "member_other": "bob", "operator_granted": "op",
              "operator_without": "op2"}  # fmt: skip
KEY_OF = {"key_owner": "alice-key", "key_ingest": "ingest-key", "key_write": "write-key", "key_read": "read-key"}
USERNAME = {**SESSION_OF, "key_owner": "alice"}
MACHINES = ("key_ingest", "key_write", "key_read")
SAME = -1  # every caller gets what the public gets (a public route): checked to be neither 401/403 nor 5xx
EXPIRES = (date.today() + timedelta(days=100)).isoformat()


def expect(default: int, **overrides: int) -> dict[str, int]:
    """A row of the matrix: ``default`` for every caller, except the ones named."""
    unknown = set(overrides) - set(ROLES) - {"members", "operators", "machines", "sessions"}
    assert not unknown, unknown
    row = dict.fromkeys(ROLES, default)
    groups = {
        "members": ("member_self", "member_other"),
        "operators": ("operator_granted", "operator_without"),
        "machines": MACHINES,
        "sessions": tuple(SESSION_OF),
    }
    for name in ("sessions", "machines", "members", "operators"):
        if name in overrides:
            row.update(dict.fromkeys(groups[name], overrides[name]))
    row.update({k: v for k, v in overrides.items() if k in ROLES})
    return row


@dataclass(frozen=True)
class Case:
    url: Callable[[World], str] | str
    expected: dict[str, int]
    form: Callable[[str], dict[str, Any]] | None = None
    json: Callable[[str], dict[str, Any]] | None = None
    files: dict[str, Any] | None = None
    params: dict[str, str] = field(default_factory=dict)


PUBLIC = {role: SAME for role in ROLES}


def grant_form(role: str) -> dict[str, Any]:
    prm = PRM_B if role == "member_other" else PRM_A  # the point the member holds (others: any, refused anyway)
    return {"recipient": "organisation:coop", "categories": "consumption", "prms": prm, "granularity": "P1D",
            "purpose": PURPOSE, "data_from": "2025-01-01", "expires": EXPIRES}  # fmt: skip


def request_form(role: str) -> dict[str, Any]:
    return {"subject": "carol", "categories": "consumption", "granularity": "P1D", "purpose": PURPOSE,
            "data_from": "2025-01-01", "expires": EXPIRES}  # fmt: skip


def grant_json(role: str) -> dict[str, Any]:
    return {"recipient_kind": "organisation", "recipient_id": "coop", "categories": ["consumption"],
            "granularity": "P1D", "purpose": PURPOSE, "data_from": "2025-01-01", "expires": EXPIRES}  # fmt: skip


def request_json(role: str) -> dict[str, Any]:
    return {"subject_id": "carol", "categories": ["consumption"], "granularity": "P1D", "purpose": PURPOSE,
            "data_from": "2025-01-01", "expires": EXPIRES}  # fmt: skip


# Pages of an account: the public (and a key without an owner, which acts as the public) is sent to log in.
LOGIN = 303
# Supervision: the admin, and operators of the régie or the commune (the world's operators run a cooperative
# and another body: refused, like members); the public (and ownerless keys) log in / get 401.
SUPERVISORS_PAGE = expect(403, public=LOGIN, machines=LOGIN, admin=200)
SUPERVISORS_API = expect(403, public=401, machines=401, admin=200)
# Pages of the admin alone.
ADMIN_PAGE = expect(403, public=LOGIN, machines=LOGIN, admin=200)
# /api/me: the public and ownerless keys get 401.
MATRIX: dict[tuple[str, str], Case] = {
    # ---------------------------------------------------------------- public
    ("GET", "/openapi.json"): Case("/openapi.json", PUBLIC),
    ("GET", "/docs"): Case("/docs", PUBLIC),
    ("GET", "/docs/oauth2-redirect"): Case("/docs/oauth2-redirect", PUBLIC),
    ("GET", "/redoc"): Case("/redoc", PUBLIC),
    ("GET", "/"): Case("/", PUBLIC),
    ("GET", "/api/territory"): Case("/api/territory", PUBLIC),
    ("GET", "/api/balance"): Case("/api/balance", PUBLIC),
    ("GET", "/api/territory/consumption-by-usage"): Case("/api/territory/consumption-by-usage", PUBLIC),
    ("GET", "/api/territory/disclosure"): Case("/api/territory/disclosure", PUBLIC),
    ("GET", "/api/signal"): Case("/api/signal", PUBLIC),
    ("GET", "/api/signal.txt"): Case("/api/signal.txt", PUBLIC),
    ("GET", "/static/{name}"): Case("/static/regie.css", PUBLIC),
    ("GET", "/static/vendor/{name}"): Case("/static/vendor/echarts.min.js", PUBLIC),
    # ---------------------------------------------------------------- login
    ("GET", "/login"): Case("/login", expect(200, sessions=303)),
    ("POST", "/login"): Case("/login", expect(403), form=lambda r: {"username": "x", "password": "y"}),  # no nonce
    # the first-run setup: only on a store without an admin, served by `regie serve` (tests/setup); gone here
    ("GET", "/setup"): Case("/setup", expect(404)),
    ("POST", "/setup"): Case("/setup", expect(404), form=lambda r: {"token": "x"}),
    ("POST", "/setup/token"): Case("/setup/token", expect(404), form=lambda r: {"token": "x"}),
    ("POST", "/logout"): Case("/logout", expect(303), form=lambda r: {}),
    # ---------------------------------------------------------------- the member's pages
    ("GET", "/me"): Case("/me", expect(LOGIN, members=200, key_owner=200, admin=303, operators=303)),
    ("POST", "/me/grants"): Case(
        "/me/grants", expect(403, public=LOGIN, machines=LOGIN, members=303, key_owner=303), form=grant_form
    ),
    ("POST", "/me/grants/{consent_id}/{action}"): Case(
        lambda w: f"/me/grants/{w.grant_id}/withdraw",
        expect(403, public=LOGIN, machines=LOGIN, member_self=303, key_owner=303, member_other=404),
        form=lambda r: {},
    ),
    ("GET", "/me/grants/{consent_id}/receipt"): Case(
        lambda w: f"/me/grants/{w.grant_id}/receipt",
        expect(404, public=LOGIN, machines=LOGIN, member_self=200, key_owner=200, admin=200, operator_granted=200),
    ),
    ("POST", "/me/export"): Case(
        "/me/export", expect(403, public=LOGIN, machines=LOGIN, members=200, key_owner=200), form=lambda r: {}
    ),
    # changing one's password: every account, by its session (an API key has no password to change)
    ("GET", "/me/password"): Case("/me/password", expect(200, public=LOGIN, machines=LOGIN, key_owner=403)),
    ("POST", "/me/password"): Case(
        "/me/password",
        expect(400, public=LOGIN, machines=LOGIN, key_owner=403),
        form=lambda r: {"current": "not the password", "new": "x", "again": "x"},
    ),
    ("POST", "/me/preferences"): Case(
        "/me/preferences",
        expect(403, public=LOGIN, machines=LOGIN, members=303, key_owner=303),
        form=lambda r: {"tariff_option": "hphc", "language": "en"},
    ),
    # the digest's unsubscribe link works without logging in: its one-time token is the only credential
    ("GET", "/digest/unsubscribe/{token}"): Case("/digest/unsubscribe/not-a-token", expect(400)),
    ("POST", "/digest/unsubscribe/{token}"): Case("/digest/unsubscribe/not-a-token", expect(400), form=lambda r: {}),
    ("POST", "/me/details"): Case(
        "/me/details",
        expect(403, public=LOGIN, machines=LOGIN, members=303, key_owner=303),
        form=lambda r: {"name": "New Name", "email": "new@example.org"},
    ),
    ("POST", "/me/erase"): Case(
        "/me/erase",
        expect(403, public=LOGIN, machines=LOGIN, members=200, key_owner=200),
        form=lambda r: {"confirm": USERNAME.get(r, "")},
    ),
    # ---------------------------------------------------------------- people (people_pages): links, second factor
    # Links carry their own secret (an unknown one is a 404 for anyone); the forms before a session need the
    # pre-login nonce (403 without it); the second step of a login needs a pending login (else back to /login).
    **{
        (method, path): Case(path.replace("{token}", "A" * 43), expect(404), form=lambda r: {"new": "x", "again": "x"})
        for method in ("GET", "POST")
        for path in ("/invite/{token}", "/reset/{token}")
    },
    ("GET", "/password/forgot"): Case("/password/forgot", expect(200)),
    ("POST", "/password/forgot"): Case("/password/forgot", expect(403), form=lambda r: {"email": "x@example.org"}),
    **{
        (method, path): Case(path, expect(303), form=lambda r: {"code": "000000"})
        for method in ("GET", "POST")
        for path in ("/login/code", "/login/enrol")
    },
    ("GET", "/me/two-factor"): Case("/me/two-factor", expect(200, public=LOGIN, machines=LOGIN, key_owner=403)),
    ("GET", "/me/two-factor/enrol"): Case(
        "/me/two-factor/enrol", expect(200, public=LOGIN, machines=LOGIN, key_owner=403)
    ),
    **{
        ("POST", path): Case(
            path, expect(303, public=LOGIN, machines=LOGIN, key_owner=403), form=lambda r: {"code": "000000"}
        )
        for path in ("/me/two-factor/enrol", "/me/two-factor/codes", "/me/two-factor/off")
    },
    ("GET", "/admin/people"): Case("/admin/people", ADMIN_PAGE),
    ("POST", "/admin/people/invite"): Case(
        "/admin/people/invite",
        ADMIN_PAGE,
        form=lambda r: {"role": "operator", "operator_of": "coop", "email": "new@example.org"},
    ),
    ("POST", "/admin/people/{username}/reset-link"): Case(
        "/admin/people/bob/reset-link", ADMIN_PAGE, form=lambda r: {}
    ),
    ("POST", "/admin/people/{username}/two-factor-off"): Case(
        "/admin/people/bob/two-factor-off", expect(403, public=LOGIN, machines=LOGIN, admin=303), form=lambda r: {}
    ),
    # ---------------------------------------------------------------- the operator's pages
    ("GET", "/operator"): Case("/operator", expect(403, public=LOGIN, machines=LOGIN, operators=200)),
    ("POST", "/operator/requests"): Case(
        "/operator/requests", expect(403, public=LOGIN, machines=LOGIN, operators=303), form=request_form
    ),
    ("GET", "/operator/data"): Case(
        lambda w: f"/operator/data?grant={w.grant_id}", expect(403, public=LOGIN, machines=LOGIN, operator_granted=200)
    ),
    # ---------------------------------------------------------------- the admin's page
    ("GET", "/admin"): Case("/admin", expect(403, public=LOGIN, machines=LOGIN, admin=200)),
    # ---------------------------------------------------------------- inventory pages (inventory_pages): the admin
    # Edits answer 400 to the admin here: regie.inventory checks the whole territory on every edit, and the
    # matrix's ACC operation has a producer participant that is no producer's delivery point.
    ("GET", "/admin/inventory"): Case("/admin/inventory", ADMIN_PAGE),
    ("GET", "/admin/inventory/template.{fmt}"): Case("/admin/inventory/template.xlsx", ADMIN_PAGE),
    ("GET", "/admin/inventory/export.{fmt}"): Case("/admin/inventory/export.ods", ADMIN_PAGE),
    # ---------------------------------------------------------------- the map (public; its background, the admin's)
    ("GET", "/map"): Case("/map", PUBLIC),
    ("GET", "/carte"): Case("/carte", PUBLIC),
    ("GET", "/api/map/base.geojson"): Case("/api/map/base.geojson", PUBLIC),
    ("GET", "/admin/map"): Case("/admin/map", ADMIN_PAGE),
    ("POST", "/admin/map"): Case(
        "/admin/map",
        expect(403, public=LOGIN, machines=LOGIN, admin=303),
        form=lambda r: {"source": "test geography"},
        files={"geojson": ("b.geojson", b'{"type":"FeatureCollection","features":[{"type":"Feature","geometry":'
                           b'{"type":"Point","coordinates":[2.48,42.4]},"properties":{"layer":"place"}}]}',
                           "application/geo+json")},
    ),
    ("POST", "/admin/inventory/import"): Case(
        "/admin/inventory/import",
        expect(403, public=LOGIN, machines=LOGIN, admin=400),
        form=lambda r: {},
        files={"workbook": ("w.xlsx", b"not a workbook", "application/octet-stream")},
    ),
    ("POST", "/admin/inventory/import/apply"): Case(
        "/admin/inventory/import/apply",
        expect(403, public=LOGIN, machines=LOGIN, admin=409),
        form=lambda r: {"token": "none"},
    ),
    ("GET", "/admin/inventory/{sheet}"): Case("/admin/inventory/sites", ADMIN_PAGE),
    ("GET", "/admin/inventory/{sheet}/new"): Case("/admin/inventory/persons/new", ADMIN_PAGE),
    ("POST", "/admin/inventory/{sheet}/new"): Case(
        "/admin/inventory/sites/new",
        expect(403, public=LOGIN, machines=LOGIN, admin=400),
        form=lambda r: {"id": "shed", "name": "Shed"},
    ),
    ("GET", "/admin/inventory/{sheet}/item/{key:path}"): Case("/admin/inventory/sites/item/house-a", ADMIN_PAGE),
    ("POST", "/admin/inventory/{sheet}/item/{key:path}"): Case(
        "/admin/inventory/sites/item/house-a",
        expect(403, public=LOGIN, machines=LOGIN, admin=400),
        form=lambda r: {"id": "house-a", "name": "Maison A"},
    ),
    ("POST", "/admin/inventory/{sheet}/end/{key:path}"): Case(
        f"/admin/inventory/delivery_points/end/{PRM_B}",
        expect(403, public=LOGIN, machines=LOGIN, admin=400),
        form=lambda r: {"on": "2025-06-01"},
    ),
    ("POST", "/admin/inventory/transformers/feed/{key:path}"): Case(
        "/admin/inventory/transformers/feed/none",
        expect(403, public=LOGIN, machines=LOGIN, admin=404),
        form=lambda r: {"prm": PRM_A},
    ),
    ("POST", "/admin/inventory/memberships/move/{key:path}"): Case(
        f"/admin/inventory/memberships/move/alice/{PRM_A}/2024-01-01",
        expect(403, public=LOGIN, machines=LOGIN, admin=400),
        form=lambda r: {"on": "2025-02-01", "prm": "9" * 14},
    ),
    # ---------------------------------------------------------------- ingest pages (ingest_pages)
    # Upload: the admin and operators of a régie (the world's operators run other bodies: refused, like members).
    ("GET", "/import"): Case("/import", ADMIN_PAGE),
    ("POST", "/import"): Case(
        "/import",
        expect(403, public=LOGIN, machines=LOGIN, admin=200),
        form=lambda r: {"format": "csv", "csv_unit": "W"},
        files={"files": ("x.csv", b"time,x\n2025-01-01T00:00:00,1\n2025-01-01T01:00:00,2\n", "text/csv")},
    ),
    ("GET", "/quarantine"): Case("/quarantine", ADMIN_PAGE),
    ("POST", "/quarantine/{action}"): Case(
        "/quarantine/discard", expect(403, public=LOGIN, machines=LOGIN, admin=409), form=lambda r: {"ref": "none"}
    ),
    # "declare this PRM" (an unknown ref: 404 for the admin, after the role check) and a site's sensor keys
    ("GET", "/quarantine/declare"): Case("/quarantine/declare?ref=none", expect(403, public=LOGIN, machines=LOGIN,
                                                                                 admin=404)),
    ("POST", "/quarantine/declare"): Case(
        "/quarantine/declare", expect(403, public=LOGIN, machines=LOGIN, admin=404), form=lambda r: {"ref": "none"}
    ),
    ("GET", "/admin/sites/{site_id}/sensors"): Case("/admin/sites/house-a/sensors", ADMIN_PAGE),
    ("POST", "/admin/sites/{site_id}/sensors/keys"): Case(
        "/admin/sites/house-a/sensors/keys", expect(403, public=LOGIN, machines=LOGIN, admin=201),
        form=lambda r: {"name": "emonpi garage"},
    ),
    ("POST", "/admin/sites/{site_id}/sensors/revoke"): Case(
        "/admin/sites/house-a/sensors/revoke", expect(403, public=LOGIN, machines=LOGIN, admin=409),
        form=lambda r: {"key_id": "999"},
    ),
    ("GET", "/admin/footprint"): Case("/admin/footprint", ADMIN_PAGE),
    # ---------------------------------------------------------------- federation (federation_api, federation_pages)
    # An app built without a data folder does not federate (404 for all); with one, the signed routes answer
    # 401 to any request without a peer's RFC 9421 signature (tests/federation check both).
    ("GET", "/.well-known/regie"): Case("/.well-known/regie", expect(404)),
    ("POST", "/federation/inbox"): Case("/federation/inbox", expect(404), json=lambda r: {}),
    ("POST", "/federation/subscribe"): Case("/federation/subscribe", expect(404), json=lambda r: {}),
    ("GET", "/federation/catalogue"): Case("/federation/catalogue", expect(404)),
    ("GET", "/federation/head"): Case("/federation/head", expect(404)),
    ("GET", "/federation/consistency"): Case("/federation/consistency?from=1&to=2", expect(404)),
    ("GET", "/federation/regional"): Case("/federation/regional?figure=consumption&step=86400", expect(404)),
    ("GET", "/region"): Case("/region", expect(404)),  # no hub in this world: the empty page
    ("GET", "/admin/peers"): Case("/admin/peers", ADMIN_PAGE),
    ("POST", "/admin/peers"): Case(
        "/admin/peers", expect(403, public=LOGIN, machines=LOGIN, admin=400),
        form=lambda r: {"url": "ftp://nowhere", "fingerprint": "00"},
    ),
    ("POST", "/admin/peers/{peer_id}/status"): Case(
        "/admin/peers/nobody/status", expect(403, public=LOGIN, machines=LOGIN, admin=404),
        form=lambda r: {"status": "suspended"},
    ),
    ("GET", "/inputs"): Case("/inputs", ADMIN_PAGE),
    ("POST", "/inputs/remap"): Case(
        "/inputs/remap",
        expect(403, public=LOGIN, machines=LOGIN, admin=409),
        form=lambda r: {"node": "nowhere", "name": "power", "series": "h"},
    ),
    # ---------------------------------------------------------------- collective self-consumption (acc_pages)
    # ``op`` runs the operation's PMO (coop); alice (and her key) is a participant; the admin gives a reason.
    ("GET", "/acc"): Case("/acc", expect(200, public=LOGIN, machines=LOGIN)),
    **{
        ("GET", path): Case(
            path.replace("{operation_id}", MATRIX_OPERATION).replace("{month}", "2025-01"),
            expect(403, public=LOGIN, machines=LOGIN, admin=200, operator_granted=200),
            params={"reason": "access matrix"},
        )
        for path in (
            "/acc/{operation_id}",
            "/acc/{operation_id}/allocation",
            "/acc/{operation_id}/keys",
            "/acc/{operation_id}/invoices",
            "/acc/{operation_id}/dynamic-keys/{month}.csv",
        )
    },
    ("GET", "/acc/{operation_id}/invoices/{month}/{document}"): Case(
        f"/acc/{MATRIX_OPERATION}/invoices/2025-01/invoices.csv",
        expect(403, public=LOGIN, machines=LOGIN, admin=200, operator_granted=200),
        params={"reason": "access matrix"},
    ),
    ("GET", "/acc/{operation_id}/summary/{document}"): Case(
        f"/acc/{MATRIX_OPERATION}/summary/2025.csv",
        expect(403, public=LOGIN, machines=LOGIN, admin=200, operator_granted=200),
        params={"reason": "access matrix"},
    ),
    ("GET", "/acc/{operation_id}/me"): Case(
        f"/acc/{MATRIX_OPERATION}/me", expect(403, public=LOGIN, machines=LOGIN, member_self=200, key_owner=200)
    ),
    ("GET", "/acc/{operation_id}/me/invoices/{month}.pdf"): Case(
        f"/acc/{MATRIX_OPERATION}/me/invoices/2025-01.pdf",
        expect(403, public=LOGIN, machines=LOGIN, member_self=200, key_owner=200),
    ),
    # ---------------------------------------------------------------- setting an operation up (acc_setup_pages)
    # the PMO's operators (``op`` runs coop) and admins; ``op2`` runs no organisation of the inventory
    ("GET", "/acc/new"): Case("/acc/new", expect(403, public=LOGIN, machines=LOGIN, admin=200, operators=200)),
    ("POST", "/acc/new"): Case(
        "/acc/new",
        expect(403, public=LOGIN, machines=LOGIN, admin=303, operator_granted=303),
        form=lambda r: {"id": "acc-new", "name": "Nouvelle", "pmo": "coop", "step": "PT30M", "zone": "mainland",
                        "key": "default"},
    ),
    ("GET", "/acc/check"): Case(
        "/acc/check",
        expect(403, public=LOGIN, machines=LOGIN, admin=200, operator_granted=200),
        params={"operation": MATRIX_OPERATION},
    ),
    ("GET", "/acc/{operation_id}/setup"): Case(
        f"/acc/{MATRIX_OPERATION}/setup", expect(403, public=LOGIN, machines=LOGIN, admin=200, operator_granted=200)
    ),
    ("POST", "/acc/{operation_id}/setup/participants"): Case(
        f"/acc/{MATRIX_OPERATION}/setup/participants",
        expect(403, public=LOGIN, machines=LOGIN, admin=303, operator_granted=303),
        form=lambda r: {"prm": PRM_B, "role": "consumer", "entry": "2025-02-01"},
    ),
    ("POST", "/acc/{operation_id}/setup/exit"): Case(
        f"/acc/{MATRIX_OPERATION}/setup/exit",
        expect(403, public=LOGIN, machines=LOGIN, admin=303, operator_granted=303),
        form=lambda r: {"n": "1", "on": "2025-06-01"},
    ),
    ("POST", "/acc/{operation_id}/setup/key"): Case(
        f"/acc/{MATRIX_OPERATION}/setup/key",
        expect(403, public=LOGIN, machines=LOGIN, admin=303, operator_granted=303),
        form=lambda r: {"key": "priority", "since": "2025-06-01", "params": '{"share": "consumption"}'},
    ),
    # ---------------------------------------------------------------- /api/me
    ("GET", "/api/me"): Case("/api/me", expect(200, public=401, machines=401)),
    ("GET", "/api/me/series"): Case("/api/me/series", expect(200, public=401, machines=401)),
    ("GET", "/api/me/data"): Case(
        "/api/me/data",
        expect(403, public=401, machines=401, member_self=200, key_owner=200, operator_granted=200),
        params={"series": "c1", "start": "2025-01-01", "end": "2025-02-01", "granularity": "P1D", "purpose": PURPOSE},
    ),
    ("GET", "/api/me/dashboard"): Case(
        "/api/me/dashboard", expect(403, public=401, machines=401, members=200, key_owner=200)
    ),
    ("GET", "/api/me/grants"): Case("/api/me/grants", expect(200, public=401, machines=401)),
    ("POST", "/api/me/grants"): Case(
        "/api/me/grants", expect(403, public=401, machines=401, members=201, key_owner=201), json=grant_json
    ),
    ("POST", "/api/me/requests"): Case(
        "/api/me/requests", expect(403, public=401, machines=401, operators=201), json=request_json
    ),
    ("POST", "/api/me/grants/{consent_id}/{action}"): Case(
        lambda w: f"/api/me/grants/{w.grant_id}/withdraw",
        expect(404, public=401, machines=401, member_self=200, key_owner=200, admin=200),
        json=lambda r: {},
    ),
    ("GET", "/api/me/grants/{consent_id}/receipt"): Case(
        lambda w: f"/api/me/grants/{w.grant_id}/receipt",
        expect(404, public=401, machines=401, member_self=200, key_owner=200, admin=200, operator_granted=200),
    ),
    ("POST", "/api/me/details"): Case(
        "/api/me/details",
        expect(403, public=401, machines=401, members=200, key_owner=200),
        json=lambda r: {"email": "new@example.org"},
    ),
    ("POST", "/api/me/export"): Case(
        "/api/me/export", expect(403, public=401, machines=401, members=200, key_owner=200), json=lambda r: {}
    ),
    ("GET", "/api/me/accesses"): Case(
        "/api/me/accesses", expect(403, public=401, machines=401, members=200, key_owner=200)
    ),
    # ---------------------------------------------------------------- emoncms API (API keys only)
    **{
        (method, path): Case(
            url,
            expect(401, key_ingest=200, key_write=200, key_owner=200),
            params={"node": "house", "fulljson": '{"power": 100}'},
        )
        for method in ("GET", "POST")
        for path, url in (
            ("/input/post", "/input/post"),
            ("/input/post.json", "/input/post.json"),
            ("/input/post/{node}", "/input/post/house"),
        )
    },
    **{
        (method, path): Case(
            path,
            expect(401, key_ingest=200, key_write=200, key_owner=200),
            params={"data": '[[0, "house", 100]]', "sentat": "0"},
        )
        for method in ("GET", "POST")
        for path in ("/input/bulk", "/input/bulk.json")
    },
    # The read side answers GET and POST alike (emoncms reads ``$_GET`` then ``$_POST``). A write-only key
    # does not read (issue 18: scopes are separate); alice's key has both scopes.
    **{
        (method, path): Case(path, expect(401, key_read=200, key_owner=200), params=params)
        for method in ("GET", "POST")
        for path, params in (("/input/list.json", {}), ("/feed/list.json", {}), ("/feed/data.json", {"id": "1"}))
    },
    # ---------------------------------------------------------------- file import (an API key that may write)
    ("POST", "/api/import/{fmt}"): Case(
        "/api/import/csv", expect(401, key_write=400, key_owner=400), files={"file": ("empty.csv", b"", "text/csv")}
    ),
    # ---------------------------------------------------------------- supervision (the régie's admin and operators)
    ("GET", "/grid"): Case("/grid", SUPERVISORS_PAGE),
    ("GET", "/grid/{transformer_id}"): Case(
        "/grid/tr-none", expect(403, public=LOGIN, machines=LOGIN, admin=404)
    ),
    ("GET", "/data-health"): Case("/data-health", SUPERVISORS_PAGE),
    ("GET", "/savings"): Case("/savings", SUPERVISORS_PAGE),
    ("GET", "/savings/report.pdf"): Case(
        "/savings/report.pdf",
        expect(403, public=LOGIN, machines=LOGIN, admin=400),
        params={
            "series": "c1",
            "temperature": "no-such-thermometer",
            "baseline_start": "2025-01-01",
            "baseline_end": "2025-01-31",
            "reporting_start": "2025-02-01",
            "reporting_end": "2025-02-28",
        },
    ),
    ("GET", "/report"): Case("/report", SUPERVISORS_PAGE),
    ("GET", "/report.pdf"): Case("/report.pdf", SUPERVISORS_PAGE),
    ("GET", "/api/grid/{transformer_id}"): Case(
        "/api/grid/tr-none", expect(403, public=401, machines=401, admin=404)
    ),
    ("GET", "/api/data-health"): Case("/api/data-health", SUPERVISORS_API),
    ("GET", "/api/alerts"): Case("/api/alerts", SUPERVISORS_API),
    # ---------------------------------------------------------------- the live guest view (public, secrecy-checked)
    ("GET", "/live"): Case("/live", PUBLIC),
    ("GET", "/live/stream"): Case("/live/stream", PUBLIC, params={"once": "1"}),
    ("GET", "/api/live"): Case("/api/live", PUBLIC),
    # ---------------------------------------------------------------- probes and metrics (regie.web.health)
    ("GET", "/healthz"): Case("/healthz", PUBLIC),
    ("GET", "/readyz"): Case("/readyz", PUBLIC),
    # /metrics: loopback callers or REGIE_METRICS_TOKEN only, whoever is logged in (the test client is neither)
    ("GET", "/metrics"): Case("/metrics", expect(403)),
    # ---------------------------------------------------------------- linked open data (regie.web.semantic_pages)
    ("GET", "/id/{kind}/{rest:path}"): Case("/id/territory/vallee.ttl", PUBLIC),
    ("GET", "/catalog"): Case("/catalog", PUBLIC),
    ("GET", "/catalog.jsonld"): Case("/catalog.jsonld", PUBLIC),
    ("GET", "/catalog.ttl"): Case("/catalog.ttl", PUBLIC),
    ("GET", "/ns/context.jsonld"): Case("/ns/context.jsonld", PUBLIC),
    ("GET", "/sparql"): Case("/sparql", PUBLIC, params={"query": "ASK { ?s ?p ?o }"}),
    ("POST", "/sparql"): Case("/sparql", PUBLIC, form=lambda role: {"query": "ASK { ?s ?p ?o }"}),
    ("GET", "/opendata/{territory_id}/{name}"): Case("/opendata/vallee/datapackage.json", PUBLIC),
    ("GET", "/api/map.geojson"): Case("/api/map.geojson", PUBLIC),
    ("GET", "/api/map/regional.geojson"): Case("/api/map/regional.geojson", PUBLIC),
    ("POST", "/federation/countersignature"): Case("/federation/countersignature", expect(404), json=lambda r: {}),
}


def app_routes(app: FastAPI) -> set[tuple[str, str]]:
    """(method, path) of every route the app answers, HEAD aside (Starlette adds it to every GET)."""
    found = set()
    for ctx in routing.iter_route_contexts(app.routes):
        for method in ctx.methods or ():
            if method != "HEAD":
                found.add((method, ctx.path))
    return found


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, World]]:
    """The world built once; each test copies the file so a change never leaks into the next test."""
    path = tmp_path_factory.mktemp("matrix") / "world.sqlite"
    store = open_store(f"sqlite:///{path}")
    world = build_world(store)
    add_matrix_operation(store)
    store.close()
    yield path, world


@pytest.fixture(scope="module")
def shared(template: tuple[Path, World], tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """One copy for the requests that change nothing (reads through the gate only append to the log)."""
    path = tmp_path_factory.mktemp("shared") / "world.sqlite"
    shutil.copy(template[0], path)
    store = open_store(f"sqlite:///{path}")
    yield _rebind(template[1], store)
    store.close()


def _rebind(world: World, store) -> World:
    return World(store, world.grant_id, world.request_id, world.keys, world.sessions)


def test_every_route_has_an_entry(template: tuple[Path, World]) -> None:
    store = open_store(f"sqlite:///{template[0]}")
    try:
        routes = app_routes(_rebind(template[1], store).app())
    finally:
        store.close()
    missing = sorted(routes - set(MATRIX))
    stale = sorted(set(MATRIX) - routes)
    assert not missing, f"routes without an entry in the access matrix (say who may call them): {missing}"
    assert not stale, f"matrix entries for routes that no longer exist: {stale}"


def test_a_route_without_an_entry_is_caught(template: tuple[Path, World]) -> None:
    store = open_store(f"sqlite:///{template[0]}")
    try:
        app = _rebind(template[1], store).app()
        app.add_api_route("/api/new-thing", lambda: {}, methods=["GET"])
        assert ("GET", "/api/new-thing") in app_routes(app) - set(MATRIX)
    finally:
        store.close()


def test_the_route_listing_sees_every_router(template: tuple[Path, World]) -> None:
    store = open_store(f"sqlite:///{template[0]}")
    try:
        routes = app_routes(_rebind(template[1], store).app())
    finally:
        store.close()
    assert {("GET", "/me"), ("POST", "/login"), ("GET", "/api/me/data"), ("GET", "/feed/data.json")} <= routes


def _request(client: TestClient, world: World, role: str, method: str, case: Case):
    headers: dict[str, str] = {}
    if role in SESSION_OF:
        client.cookies.set("regie_session", world.sessions[SESSION_OF[role]])
        headers["X-CSRF-Token"] = world.csrf(SESSION_OF[role])
    elif role in KEY_OF:
        headers["Authorization"] = f"Bearer {world.keys[KEY_OF[role]]}"
    url = case.url(world) if callable(case.url) else case.url
    kwargs: dict[str, Any] = {"headers": headers, "params": case.params or None}
    if case.form is not None:
        form = case.form(role)
        if role in SESSION_OF:
            form = {**form, "csrf_token": world.csrf(SESSION_OF[role])}
        kwargs["data"] = form
    if case.json is not None:
        kwargs["content"] = json.dumps(case.json(role))
        headers["Content-Type"] = "application/json"
    if case.files is not None:
        kwargs["files"] = case.files
    return client.request(method, url, **kwargs)


@pytest.mark.parametrize(("method", "path", "role"), [(m, p, r) for (m, p) in MATRIX for r in ROLES])
def test_access(method: str, path: str, role: str, template, shared: World, tmp_path: Path) -> None:
    case = MATRIX[(method, path)]
    if method == "GET":
        world = shared
    else:
        copy = tmp_path / "world.sqlite"
        shutil.copy(template[0], copy)
        world = _rebind(template[1], open_store(f"sqlite:///{copy}"))
    app = world.app()
    try:
        with TestClient(app, follow_redirects=False) as client:
            response = _request(client, world, role, method, case)
            expected = case.expected[role]
            if expected == SAME:
                with TestClient(app, follow_redirects=False) as anonymous:
                    expected = _request(anonymous, world, "public", method, case).status_code
                assert expected not in (401, 403) and expected < 500
            assert response.status_code == expected, f"{method} {path} as {role}: {response.text[:300]}"
    finally:
        inputs = getattr(app.state, "inputs", None)
        if inputs is not None:
            inputs.close()
        if world is not shared:
            world.store.close()


def test_a_session_post_without_csrf_is_refused(shared: World, template, tmp_path: Path) -> None:
    copy = tmp_path / "world.sqlite"
    shutil.copy(template[0], copy)
    world = _rebind(template[1], open_store(f"sqlite:///{copy}"))
    try:
        with TestClient(world.app(), follow_redirects=False) as client:
            client.cookies.set("regie_session", world.sessions["alice"])
            assert client.post(f"/me/grants/{world.grant_id}/withdraw", data={}).status_code == 403
            assert (
                client.post(f"/me/grants/{world.grant_id}/withdraw", data={"csrf_token": "x" * 43}).status_code == 403
            )
            assert client.post(f"/api/me/grants/{world.grant_id}/withdraw").status_code == 403
            assert (
                client.post("/me/erase", data={"confirm": "alice", "csrf_token": world.csrf("bob")}).status_code == 403
            )
            # the grant is still in force: nothing above changed it
            r = client.get("/api/me/grants")
            assert {g["id"]: g["status"] for g in r.json()}[world.grant_id] == "given"
    finally:
        world.store.close()


def test_ownerless_key_on_a_personal_route_gets_no_data(shared: World) -> None:
    with TestClient(shared.app()) as client:
        r = client.get(
            "/api/me/data",
            params={"series": "c1", "start": "2025-01-01", "end": "2025-01-02"},
            headers={"Authorization": f"Bearer {shared.keys['write-key']}"},
        )
    assert r.status_code == 401


def test_a_read_scope_key_cannot_change_anything(shared: World) -> None:
    from regie.ingest import apikeys

    _, secret = apikeys.create_key(shared.store, "alice read-only", ["read"], owner_id="alice")
    with TestClient(shared.app()) as client:
        headers = {"Authorization": f"Bearer {secret}"}
        assert client.get("/api/me", headers=headers).status_code == 200
        r = client.post(f"/api/me/grants/{shared.grant_id}/withdraw", headers=headers)
    assert r.status_code == 403
    assert "scope" in r.json()["detail"]


def test_the_vendor_route_is_public_whether_installed_or_not(shared: World) -> None:
    with TestClient(shared.app()) as client:
        status = client.get("/static/vendor/echarts.min.js").status_code
    assert status == (200 if assets.vendor_available("echarts.min.js") else 404)
