"""Property-based tests of the whole OpenAPI schema with schemathesis: no input makes the server fail (5xx).

Every operation of ``/openapi.json`` gets a bounded number of generated requests (``MAX_EXAMPLES``), each
sent three times: anonymously, with alice's API key (a member, read + write) and with the session cookie of
the operator ``op`` (with its CSRF header, so that state-changing routes get past the CSRF check and into
their own validation). The world is shared by the module: generated requests may change it (a random
grant id is almost never a real one), which is what a long-running server sees too.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
from governance_world import FAST, SECRET, World, build_world
from hypothesis import HealthCheck, settings

from regie.store import open_store
from regie.web.app import create_app

MAX_EXAMPLES = 20

#: The schema does not depend on the data: it is read at collection from an app whose store is set later, by
#: the ``served`` fixture (schemathesis's lazy ``from_fixture`` loader does not run under pytest 9).
APP = create_app(None)  # type: ignore[arg-type]
schema = schemathesis.openapi.from_asgi("/openapi.json", APP)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    store = open_store(f"sqlite:///{tmp_path_factory.mktemp('schemathesis') / 'world.sqlite'}")
    world = build_world(store)
    APP.state.store = store
    APP.state.secret = SECRET
    APP.state.password_hasher = FAST
    yield world
    inputs = getattr(APP.state, "inputs", None)
    if inputs is not None:
        inputs.close()
        del APP.state.inputs
    store.close()


def callers(world: World) -> dict[str, dict[str, str]]:
    return {
        "anonymous": {},
        "member key": {"Authorization": f"Bearer {world.keys['alice-key']}"},
        "operator session": {"Cookie": f"regie_session={world.sessions['op']}", "X-CSRF-Token": world.csrf("op")},
    }


@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_no_server_error(case, world: World) -> None:
    for who, headers in callers(world).items():
        merged = {**(case.headers or {}), **headers}
        response = case.call(headers=merged)
        assert response.status_code < 500, (
            f"{who}: {case.method} {case.formatted_path} -> {response.status_code}: {response.text[:300]}"
        )
