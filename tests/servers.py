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
        deadline = time.monotonic() + 60  # uvicorn starts in a thread of a busy process: generous
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.sock.close()


def read_until(proc: Any, pattern: Any, seconds: float, seen: list[str]) -> Any:
    """The first line a subprocess (``regie serve``, text mode, stdout piped) prints that matches ``pattern``;
    every line read is kept in ``seen``, and the assertion shows them when the process stops or stays quiet."""
    import selectors

    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError("the command stopped:\n" + "".join(seen) + proc.stdout.read())
        if sel.select(timeout=0.2):
            line = proc.stdout.readline()
            seen.append(line)
            if found := pattern.search(line):
                return found
    raise AssertionError(f"nothing matching {pattern.pattern!r} within {seconds} s:\n" + "".join(seen))


def answering(url: str, proc: Any, seconds: float = 60.0, said: Any = None) -> None:
    """Wait until ``regie serve`` (``proc``) answers ``url``/healthz with 200. It prints its setup token before
    uvicorn binds the port, so a refused connection only means "not yet"; a stopped process fails at once, with
    what it printed (``said()``, when given)."""
    import urllib.error
    import urllib.request

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError("regie serve stopped:\n" + (said() if said else ""))
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=2) as answer:
                if answer.status == 200:
                    return
        except (OSError, urllib.error.URLError):
            pass
        time.sleep(0.2)
    raise AssertionError(f"regie serve did not answer {url}/healthz within {seconds} s")
