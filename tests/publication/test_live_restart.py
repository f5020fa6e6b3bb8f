"""The live groups survive a restart (issue 18, "secrecy over time"; ``docs/live.md``).

A process kept its groups in memory: a restarted app formed a new group after a gap, whose first frame could
differ from the last frame before the restart by one household's change. The groups and their frames' point
ids and instants are now stored (``live_frame``), never a value; a restarted app rebuilds the last frame from
the stored readings and goes on from it.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from test_live_secrecy import BINDINGS, T0, Feed, hidden_part, prm, village

from regie.demo.schools_live import bind_inputs
from regie.governance.accounts import CLI_ADMIN
from regie.governance.rights import erase_member
from regie.ingest import apikeys
from regie.publication import live as publication
from regie.store import Store, live_frames, open_store
from regie.web.app import create_app

HOUSES = 12
KETTLE_W = 1234.5


def _run(store: Store, key: str, clock: list[int], steps) -> list[tuple[int, dict]]:
    """One app process: ``steps(feed)`` drives it; returns the frames it served."""
    app = create_app(store)
    app.state.clock = lambda: clock[0]
    try:
        with TestClient(app) as client:
            feed = Feed(client, key, clock)
            steps(feed)
            return feed.frames
    finally:
        inputs = getattr(app.state, "inputs", None)
        if inputs is not None:
            inputs.close()


def _power(i: int) -> float:
    return 300.0 + 37.3 * i


@pytest.mark.parametrize("change", ["kettle", "erasure"])
def test_a_restarted_app_does_not_publish_a_frame_one_household_away_from_the_last(tmp_path: Path,
                                                                                   change: str) -> None:  # fmt: skip
    """One household switches its kettle on, or one member is erased (their readings gone), and the app
    restarts: no frame it serves differs from the last one before by that household."""
    store = open_store(f"sqlite:///{tmp_path / 'live.sqlite'}")
    store.save_inventory(village())
    bind_inputs(store, BINDINGS)
    key = apikeys.create_key(store, "emonhub", ["ingest"])[1]
    clock = [T0]
    kettle = {"on": False, "erased": False}

    def post(feed: Feed) -> None:
        feed.post({(f"h{i}", "power"): _power(i) + (KETTLE_W if i == 0 and kettle["on"] else 0.0)
                   for i in range(HOUSES) if not (i == 1 and kettle["erased"])})  # fmt: skip

    def before(feed: Feed) -> None:
        for _ in range(8):  # past the first gap: a group of 12 households publishes its frame
            post(feed)
            feed.advance(publication.FRAME_S)
            feed.look()

    def after(feed: Feed) -> None:
        for _ in range(12):  # twelve minutes: past any gap, and the frame's refresh
            post(feed)
            feed.advance(publication.FRAME_S)
            feed.look()

    try:
        first = _run(store, key, clock, before)
        last = [hidden_part(f, "consumption") for _, f in first if hidden_part(f, "consumption") is not None]
        assert last, "a frame was published before the restart"
        stored = live_frames.load(store, "consumption")
        assert stored is not None and len(stored.members) == HOUSES and stored.basis is not None
        if change == "kettle":
            kettle["on"] = True  # one household switches its kettle on; the app restarts
        else:
            erase_member(store, CLI_ADMIN, "p1", now=clock[0])
            kettle["erased"] = True
            assert prm(1) not in live_frames.load(store, "consumption").members
        second = _run(store, key, clock, after)
        served = [hidden_part(f, "consumption") for _, f in second]
        moved = [x for x in served if x is not None and x != last[-1]]
        assert not moved, f"after the restart the total moved by one household ({change}): {last[-1]} → {moved[0]}"
        assert any(x == last[-1] for x in served), "the restarted app goes on serving the last frame"
    finally:
        store.close()
