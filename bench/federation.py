"""Benchmark the federation: RFC 9421 signatures per second, and messages per second pushed from one régie's
outbox to another's inbox over loopback HTTP (signed requests and answers, in order, exactly once), with one
message per request and with :data:`regie.federation.courier.PER_REQUEST` per request.

Prints a table and writes ``bench/results/federation.json``.
Run: ``.venv/bin/python bench/federation.py [--messages 1000]``.
"""

from __future__ import annotations

import argparse
import json
import platform
import socket
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path

import uvicorn
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from rich.console import Console
from rich.table import Table

from regie.federation import courier, identity, peers
from regie.federation import signatures as sig
from regie.governance.keys import key_id
from regie.store import federation as rows
from regie.store import open_store
from regie.web.app import create_app

RESULTS = Path(__file__).parent / "results" / "federation.json"


def signatures_per_second(n: int = 2000) -> dict:
    key = Ed25519PrivateKey.generate()
    kid, body = key_id(key), b'{"x": 1}' * 50
    url = "https://regie.example/federation/inbox"
    t0 = time.perf_counter()
    signed = [sig.sign(sig.Message({}, body, "POST", url), key, kid) for _ in range(n)]
    t1 = time.perf_counter()
    for h in signed:
        sig.verify(sig.Message(h, body, "POST", url), lambda k, _c: key.public_key())
    t2 = time.perf_counter()
    return {"sign_per_s": round(n / (t1 - t0)), "verify_per_s": round(n / (t2 - t1))}


def _serve(app) -> tuple[uvicorn.Server, str]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True).start()
    while not server.started:
        time.sleep(0.02)
    return server, f"http://127.0.0.1:{sock.getsockname()[1]}"


def delivery(tmp: Path, n: int, per_request: int) -> dict:
    a, b = (
        open_store(f"sqlite:///{tmp / f'a{per_request}.sqlite'}"),
        open_store(f"sqlite:///{tmp / f'b{per_request}.sqlite'}"),
    )
    app = create_app(b)
    app.state.federation_dir = tmp / f"b{per_request}"
    server, url = _serve(app)
    try:
        doc_b = identity.well_known(tmp / f"b{per_request}", url, audit_public_pem=None)
        doc_a = identity.well_known(tmp / f"a{per_request}", "http://a.example", audit_public_pem=None)
        peers.add(a, "bench", url=url, key_fingerprint=doc_b["currentKey"], doc=doc_b, peer_id="b")
        peers.add(b, "bench", url="http://a.example", key_fingerprint=doc_a["currentKey"], doc=doc_a, peer_id="a",
                  receive=("public",))  # fmt: skip
        body = json.dumps({"figure": "consumption", "step": 86400, "value": 1234.5, "points": 12})
        rows.enqueue(a, "b", [(f"k{i}", "data", "public:consumption:86400", None, body) for i in range(n)], 0)
        courier.PER_REQUEST, saved = per_request, courier.PER_REQUEST
        t0 = time.perf_counter()
        done = courier.deliver(a, identity.load_or_create(tmp / f"a{per_request}"), "http://a.example", force=True)
        elapsed = time.perf_counter() - t0
        courier.PER_REQUEST = saved
        assert done == {"b": n} and len(rows.received(b, "a")) == n
        return {"messages": n, "per_request": per_request, "seconds": round(elapsed, 2),
                "messages_per_s": round(n / elapsed)}  # fmt: skip
    finally:
        server.should_exit = True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=1000)
    args = parser.parse_args()
    results: dict = {"when": datetime.now().isoformat(timespec="seconds"), "machine": platform.platform()}
    results["signatures"] = signatures_per_second()
    with tempfile.TemporaryDirectory() as d:
        results["delivery"] = [delivery(Path(d), args.messages, k) for k in (1, courier.PER_REQUEST)]
    table = Table(title="federation")
    table.add_column("measure")
    table.add_column("value", justify="right")
    for k, v in results["signatures"].items():
        table.add_row(k, str(v))
    for r in results["delivery"]:
        table.add_row(
            f"{r['messages']} messages, {r['per_request']} per request [messages/s]", str(r["messages_per_s"])
        )
    Console().print(table)
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
