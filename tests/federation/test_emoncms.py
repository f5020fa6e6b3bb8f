"""emoncms in the federation: pulling a feed and pushing open series through emoncms's own API, replayed
from recorded exchanges by a loopback server that refuses any request it has not recorded."""

from __future__ import annotations

import json
import threading
import urllib.parse
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest

from regie.federation import emoncms
from regie.governance import audit, writes
from regie.model import Inventory, Series, SeriesKind, Site, Step, Territory
from regie.store import Store, open_store

RECORDED = json.loads((Path(__file__).parent / "data" / "emoncms_exchanges.json").read_text())["exchanges"]
T0 = 1_735_689_600  # 2025-01-01 00:00 UTC


class Replay(BaseHTTPRequestHandler):
    seen: ClassVar[list[dict]] = []

    def _answer(self, method: str) -> None:
        url = urllib.parse.urlsplit(self.path)
        query = dict(urllib.parse.parse_qsl(url.query))
        form = {}
        if method == "POST":
            form = dict(urllib.parse.parse_qsl(self.rfile.read(int(self.headers["content-length"])).decode()))
        assert query.pop("apikey", None) == "RECORDED", "emoncms wants its apikey"
        asked = {"method": method, "path": url.path, "query": query, **({"form": form} if form else {})}
        Replay.seen.append(asked)
        for x in RECORDED:
            if {k: v for k, v in x["request"].items()} == asked:
                body = x["response"]["body"]
                data = (body if isinstance(body, str) else json.dumps(body)).encode()
                self.send_response(x["response"]["status"])
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                return
        self.send_response(500)  # not recorded: the test fails on the client's error
        self.end_headers()

    def do_GET(self) -> None:
        self._answer("GET")

    def do_POST(self) -> None:
        self._answer("POST")

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Replay)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    Replay.seen = []
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


@pytest.fixture
def store(tmp_path) -> Store:
    s = open_store(f"sqlite:///{tmp_path / 'r.sqlite'}")
    s.save_inventory(Inventory(
        Territory("t", "T"), sites=[Site("school", "École", "t")],
        series=[Series("school-power", SeriesKind.CONSUMPTION, "W", Step.parse("PT10M"), site_id="school",
                      resolution=0.01)],
    ))  # fmt: skip
    return s


def test_pull_a_feed_then_push_it_back(server: str, store: Store) -> None:
    assert emoncms.feed_list(server, "RECORDED")[0]["unit"] == "W"
    n = emoncms.pull(store, writes.CLI, server, "RECORDED", feed_id=1, series_id="school-power", start=T0,
                     end=T0 + 3600, interval=600)  # fmt: skip
    assert n == 5  # the null is no reading
    t, v = store.read("school-power", T0, T0 + 3600)
    assert list(t) == [T0, T0 + 600, T0 + 1800, T0 + 2400, T0 + 3000] and list(v) == [512.5, 498, 505.25, 490, 480]
    (logged,) = [e.entry for e in audit.entries(store, kind="write")]
    assert logged["action"] == "federation/emoncms-pull" and logged["decision"] == "allowed"
    assert emoncms.push(store, server, "RECORDED", node="regie", series_ids=["school-power"], start=T0,
                        end=T0 + 3600) == 5  # fmt: skip
    assert Replay.seen[-1]["path"] == "/input/bulk.json"


def test_an_emoncms_error_is_said_and_writes_nothing(server: str, store: Store) -> None:
    with pytest.raises(emoncms.EmoncmsError, match="feed 99 does not exist"):
        emoncms.pull(store, writes.CLI, server, "RECORDED", feed_id=99, series_id="school-power", start=T0,
                     end=T0 + 3600, interval=600)  # fmt: skip
    assert store.read("school-power", T0, T0 + 3600)[0].size == 0
