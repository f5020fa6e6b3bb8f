"""Record regie's exchanges with a real emoncms into tests/federation/data/emoncms_exchanges.json.

Run against a running emoncms (docs/federation.md, "emoncms in the federation", says how it was run): a loopback
proxy forwards each request of regie.federation.emoncms to it and keeps the request and the answer, the API keys
replaced by ``RECORDED``. The account must hold feed 1 (``school_power``, PHPFINA, 600 s, W) with the values the
test expects (512.5, 498, none, 505.25, 490, 480 from 2025-01-01 00:00 UTC).

    EMONCMS_URL=http://127.0.0.1:PORT EMONCMS_READ=... EMONCMS_WRITE=... python scripts/record_emoncms_exchanges.py
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import threading
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from regie.federation import emoncms
from regie.governance import writes
from regie.model import Inventory, Series, SeriesKind, Site, Step, Territory
from regie.store import open_store

TARGET = os.environ["EMONCMS_URL"].rstrip("/")
OUT = Path(__file__).resolve().parents[1] / "tests" / "federation" / "data" / "emoncms_exchanges.json"
T0 = 1_735_689_600
exchanges: list[dict] = []


class Recorder(BaseHTTPRequestHandler):
    def _forward(self, method: str) -> None:
        url = urllib.parse.urlsplit(self.path)
        raw = self.rfile.read(int(self.headers.get("content-length") or 0)) if method == "POST" else None
        req = urllib.request.Request(TARGET + self.path, data=raw, method=method,
                                     headers={"content-type": self.headers.get("content-type", "")})  # fmt: skip
        with urllib.request.urlopen(req, timeout=60) as resp:
            status, body = resp.status, resp.read()
        query = {k: v for k, v in urllib.parse.parse_qsl(url.query) if k != "apikey"}
        request = {"method": method, "path": url.path, "query": query}
        if raw:
            request["form"] = dict(urllib.parse.parse_qsl(raw.decode()))
        text = body.decode()
        try:
            answer: object = json.loads(text)
        except ValueError:
            answer = text
        exchanges.append({"request": request, "response": {"status": status, "body": answer}})
        self.send_response(status)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        self._forward("GET")

    def do_POST(self) -> None:
        self._forward("POST")

    def log_message(self, *args) -> None:
        pass


def main() -> int:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    proxy = f"http://127.0.0.1:{httpd.server_address[1]}"
    read, write = os.environ["EMONCMS_READ"], os.environ["EMONCMS_WRITE"]
    with tempfile.TemporaryDirectory() as tmp:
        store = open_store(f"sqlite:///{tmp}/r.sqlite")
        store.save_inventory(Inventory(Territory("t", "T"), sites=[Site("school", "École", "t")], series=[
            Series("school-power", SeriesKind.CONSUMPTION, "W", Step.parse("PT10M"), site_id="school",
                   resolution=0.01)]))  # fmt: skip
        print(emoncms.feed_list(proxy, read))
        print(emoncms.pull(store, writes.CLI, proxy, read, feed_id=1, series_id="school-power", start=T0,
                           end=T0 + 3600, interval=600))  # fmt: skip
        try:
            emoncms.pull(store, writes.CLI, proxy, read, feed_id=99, series_id="school-power", start=T0,
                         end=T0 + 3600, interval=600)  # fmt: skip
        except emoncms.EmoncmsError as exc:
            print("refused as expected:", exc)
        print(emoncms.push(store, proxy, write, node="regie", series_ids=["school-power"], start=T0, end=T0 + 3600))
        store.close()
    httpd.shutdown()
    doc = json.loads(OUT.read_text())
    doc["exchanges"] = exchanges
    OUT.write_text(json.dumps(doc, indent=1, ensure_ascii=False) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
