"""``Cache-Control: no-store`` on every personal response (issue 18: "personal JSON responses lack
Cache-Control: no-store"; RFC 9111 §5.2.2.5).

Every GET route of the app (the access matrix's concrete URLs, so a new route is covered as soon as it
has its line there) is called as a logged-in member, an operator, the admin and with API keys; every 200
must say ``no-store``, except the static assets, which declare themselves ``public``.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from governance_world import World
from test_access_matrix import MATRIX, _request, shared, template  # noqa: F401 (fixtures)

CALLERS = ("member_self", "operator_granted", "admin", "key_owner", "key_read")
PUBLIC_ASSETS = {"/static/{name}", "/static/vendor/{name}"}


@pytest.mark.parametrize("role", CALLERS)
def test_every_answer_to_an_authenticated_caller_is_no_store(role: str, shared: World) -> None:  # noqa: F811
    app = shared.app()
    seen = 0
    try:
        with TestClient(app, follow_redirects=False) as client:
            for (method, path), case in MATRIX.items():
                if method != "GET":
                    continue
                r = _request(client, shared, role, method, case)
                if r.status_code != 200:
                    continue
                cache = r.headers.get("cache-control", "")
                if path in PUBLIC_ASSETS:
                    assert "public" in cache, path
                    continue
                seen += 1
                assert cache == "no-store", f"GET {path} as {role}: Cache-Control {cache!r}"
    finally:
        if getattr(app.state, "inputs", None) is not None:
            app.state.inputs.close()
    assert seen >= 10  # the member, the operator, the admin and the keys each reach many routes


@pytest.mark.parametrize("path", ["/feed/list.json", "/api/me/grants", "/me", "/operator", "/acc"])
def test_a_personal_path_is_no_store_for_anyone(path: str, shared: World) -> None:  # noqa: F811
    with TestClient(shared.app(), follow_redirects=False) as client:
        r = client.get(path)
    assert r.headers["cache-control"] == "no-store"


def test_a_public_page_for_the_public_keeps_its_caching(shared: World, tmp_path: Path) -> None:  # noqa: F811
    with TestClient(shared.app(), follow_redirects=False) as client:
        assert "no-store" not in client.get("/api/territory").headers.get("cache-control", "")
        assert client.get("/static/regie.css").headers["cache-control"].startswith("public")
