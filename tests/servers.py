"""A real uvicorn server for end-to-end and browser tests: one app, one loopback socket bound before it starts
(so the port is known at once), run in a background thread and stopped on exit. Import it by name
(``from servers import AppServer``): ``tests/`` is on the path because ``tests/conftest.py`` lives there."""

from __future__ import annotations

import socket
import threading
import time
from typing import Any


class AppServer:
    """``with AppServer(app) as server:`` serves ``app`` at ``server.url`` (``server.port``) until the block ends."""

    def __init__(self, app: Any) -> None:
        import uvicorn

        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)

    def __enter__(self) -> AppServer:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.sock.close()
