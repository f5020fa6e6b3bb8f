"""`regie serve` signs the access log at shutdown, and the admin page shows the head hash, the last checkpoint
and the signed head kept outside the database — and a log cut behind the server's back."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from governance_data import FAST, PASSWORD
from sqlalchemy import delete

from regie.cli.serve import _secure_web
from regie.config import get_settings
from regie.governance import audit, log_head
from regie.store.schema import access_log, audit_checkpoint
from regie.web.app import create_app


def served(store) -> TestClient:
    """The app as `regie serve` prepares it (keys and the notary from the data dir of the test)."""
    web = create_app(store)
    web.state.password_hasher = FAST  # the accounts' hashes were made with it
    _secure_web(web, get_settings())
    return TestClient(web)


def log_in(client: TestClient, username: str) -> None:
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text).group(1)
    r = client.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": token, "next": ""},
                    follow_redirects=False)  # fmt: skip
    assert r.status_code == 303


def test_shutdown_signs_the_log_and_the_admin_page_shows_its_head(store, people) -> None:
    with served(store) as client:  # the lifespan runs: startup, then shutdown at the end of the block
        notary = client.app.state.audit_notary
        audit.append(store, audit.AccountEvent("created", "x", "admin"))
    head = log_head.read_head(notary.head_path)
    assert head is not None and head.size == audit.log_size(store)

    with served(store) as client:
        log_in(client, "admin")
        page = client.get("/admin").text
        assert 'data-testid="audit-ok"' in page
        assert f'<code data-testid="audit-head-hash">{audit.entries(store)[-1].hash}</code>' in page

        with store.engine.begin() as conn:  # the tail cut and the checkpoint rows deleted, while serving
            conn.execute(delete(access_log).where(access_log.c.seq > 2))
            conn.execute(delete(audit_checkpoint))
        page = client.get("/admin").text
        assert 'data-testid="audit-problems"' in page and "older than the last signed head" in page


def test_a_member_sees_on_me_the_grid_read_that_summed_their_point(store, people) -> None:
    from governance_data import NOW, ts

    from regie.governance.gate import read_aggregate

    groups = {"homes": ["a-load", "b-load", "c-load"]}
    read_aggregate(store, people["admin"], groups, ts(2025, 1, 1), ts(2025, 2, 1), 1800, "dpv:ServiceMonitoring",
                   now=NOW)  # fmt: skip
    with served(store) as client:
        log_in(client, "alice")
        page = client.get("/me").text
        assert "aggregate:homes" in page
        assert "a read of 3 delivery points, yours among them" in page or "une lecture de 3 points" in page
        accesses = client.get("/api/me/accesses").json()
        assert [a["series"] for a in accesses if a["caller"] == "admin"] == ["aggregate:homes"]
