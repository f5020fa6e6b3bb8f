"""The web server while PostgreSQL is away: a 503 that says so (a page in the visitor's language, RFC 9457
problem details for machines) with Retry-After, and service again by itself once the database is back.

The database "goes away" for real: the app reaches PostgreSQL through a TCP relay on loopback that the
test closes (every connection cut, new ones refused) and opens again on the same port.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator

import httpx
import pytest
from browsing import loopback_page
from playwright.sync_api import expect
from servers import AppServer

from regie.ingest.apikeys import KEY_CHARS
from regie.store import open_store
from regie.web.app import create_app

UNKNOWN_KEY = "0" * KEY_CHARS  # well-formed, so that checking it needs the database


class Relay:
    """A TCP relay 127.0.0.1:<port> → PostgreSQL that can be cut and restored on the same port."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        probe = socket.socket()
        probe.bind(("127.0.0.1", 0))
        self.port = probe.getsockname()[1]
        probe.close()
        self.listener: socket.socket | None = None
        self.conns: list[socket.socket] = []
        self.lock = threading.Lock()

    def start(self) -> None:
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", self.port))
        s.listen(16)
        self.listener = s
        threading.Thread(target=self._accept, args=(s,), daemon=True).start()

    def _accept(self, s: socket.socket) -> None:
        while True:
            try:
                client, _ = s.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            with self.lock:
                self.conns += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        for s in (src, dst):
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)

    def cut(self) -> None:
        assert self.listener is not None
        with contextlib.suppress(OSError):
            self.listener.shutdown(socket.SHUT_RDWR)  # wakes the accept() blocked in its thread (Linux)
        self.listener.close()
        with self.lock:
            for c in self.conns:
                with contextlib.suppress(OSError):
                    c.shutdown(socket.SHUT_RDWR)
                c.close()
            self.conns.clear()


@pytest.fixture
def relayed_url(postgres_url: str) -> Iterator[tuple[str, Relay]]:
    hostport = postgres_url.split("@", 1)[1].split("/", 1)[0]
    host, _, port = hostport.partition(":")
    relay = Relay((host, int(port or 5432)))
    relay.start()
    yield postgres_url.replace(f"@{hostport}/", f"@127.0.0.1:{relay.port}/"), relay
    relay.cut()


@pytest.mark.postgres
@pytest.mark.browser
def test_database_down_then_back(relayed_url: tuple[str, Relay], chromium) -> None:
    url, relay = relayed_url
    store = open_store(url)
    app = create_app(store)
    app.state.secret = b"x" * 32
    try:
        with AppServer(app) as server, httpx.Client(base_url=server.url, timeout=30) as http:
            ok = http.get("/feed/list.json", params={"apikey": UNKNOWN_KEY})
            assert ok.status_code < 500

            relay.cut()
            down = http.get("/feed/list.json", params={"apikey": UNKNOWN_KEY})
            assert down.status_code == 503, down.text
            assert down.headers["content-type"].startswith("application/problem+json")
            assert int(down.headers["retry-after"]) > 0
            problem = down.json()
            assert problem["status"] == 503 and problem["type"].endswith("database-unavailable")
            assert "Traceback" not in down.text

            page = http.get("/login", params={"next": "/admin"})  # a page that needs no database still works
            assert page.status_code == 200
            with httpx.Client(base_url=server.url, timeout=30, cookies={"regie_session": "whatever"}) as signed_in:
                admin = signed_in.get("/admin", headers={"accept": "text/html", "accept-language": "fr"})
            assert admin.status_code == 503 and "indisponible" in admin.text
            assert admin.headers["retry-after"]
            with loopback_page(chromium, server.url) as page:  # what a person sees: the page, in French
                page.context.add_cookies([{"name": "regie_session", "value": "whatever", "url": server.url}])
                response = page.goto(server.url + "/admin")
                assert response is not None and response.status == 503
                heading = page.get_by_test_id("unavailable").locator("h1")
                expect(heading).to_have_text("La base de données est indisponible")

            relay.start()
            back = http.get("/feed/list.json", params={"apikey": UNKNOWN_KEY})
            assert back.status_code == ok.status_code, back.text
    finally:
        store.close()
