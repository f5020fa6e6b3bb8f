"""Benchmark the live ingest paths, end to end, on loopback.

1. **HTTP bulk** — emonhub-shaped requests (``POST /input/bulk.json?sentat=...&cb=1``, zlib body,
   ``Authorization: Bearer``, 1000 rows of ``[t, node, {power1, power2, power3, power4, vrms}]`` each)
   from several concurrent senders (one emonhub each, its own node, consecutive 10-s frames) to a real
   uvicorn server in another process. Points/s = points stored / wall time from the first request to
   the last ``ok``; then every point is counted in the store (none lost, none doubled).
2. **MQTT** — QoS 1 messages ``emon/<node>`` with a JSON object (3 inputs + ``time``) published by
   separate processes through Mosquitto on 127.0.0.1:1883 to ``regie``'s MQTT ingester in another
   process. Messages/s = messages stored / wall time from the first publish to the last commit; the
   stored points are counted (none lost).
3. **Files** — ``run()`` of ``bench/ingest_files.py`` when that module exists (another bench).

Prints a table and writes ``bench/results/ingest.json``.
Run: ``.venv/bin/python bench/ingest.py [--senders 4 --requests 25 --messages 100000 --publishers 2]``.
"""

from __future__ import annotations

import argparse
import http.client
import importlib.util
import json
import multiprocessing as mp
import os
import platform
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
import zlib
from pathlib import Path

RESULTS = Path(__file__).parent / "results" / "ingest.json"
INPUTS = ("power1", "power2", "power3", "power4", "vrms")
STEP = 10


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _store_url(tmp: Path, name: str) -> str:
    return f"sqlite:///{tmp / name}"


def _prepare_store(url: str) -> None:
    from regie.model import Inventory, Territory
    from regie.store import open_store

    store = open_store(url)
    store.save_inventory(Inventory(Territory("bench", "Bench")))
    store.close()


# ---------------------------------------------------------------------------------------------- HTTP
def _serve(url: str, port: int, ready) -> None:
    import uvicorn

    from regie.store import open_store
    from regie.web.app import create_app

    app = create_app(open_store(url))
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)
    server = uvicorn.Server(config)
    threading.Thread(target=lambda: (_wait_started(server), ready.set()), daemon=True).start()
    server.run()


def _wait_started(server) -> None:
    while not server.started:
        time.sleep(0.01)


def _bodies(sender: int, requests: int, rows: int, t_start: int) -> list[bytes]:
    node = f"emontx{sender}"
    out = []
    for r in range(requests):
        frames = []
        for i in range(rows):
            k = r * rows + i
            t = t_start + STEP * k
            values = {name: round(100 + (k * (j + 1)) % 2000 + 0.1 * j, 1) for j, name in enumerate(INPUTS)}
            values["vrms"] = round(230 + (k % 70) / 10, 2)
            frames.append([t, node, values])
        out.append(zlib.compress(json.dumps(frames, separators=(",", ":")).encode()))
    return out


def _sender(port: int, key: str, bodies: list[bytes], errors: list[str]) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    for body in bodies:
        # emonhub: sentat is its clock when sending; here the frames are a replayed buffer, so the
        # server maps each t to (its now) - (sentat - t), i.e. to t itself on one machine.
        sentat = int(time.time())
        conn.putrequest("POST", f"/input/bulk.json?sentat={sentat}&cb=1", skip_accept_encoding=True)
        conn.putheader("Authorization", f"Bearer {key}")
        conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body)
        reply = conn.getresponse()
        text = reply.read()
        if reply.status != 200 or text != b"ok":
            errors.append(f"{reply.status} {text[:200]!r}")
    conn.close()


def bench_http(tmp: Path, senders: int, requests: int, rows: int) -> dict:
    from regie.ingest import apikeys
    from regie.store import open_store

    url = _store_url(tmp, "http.sqlite")
    _prepare_store(url)
    store = open_store(url)
    key = apikeys.create_key(store, "bench", ["write"])[1]
    store.close()
    now = int(time.time())
    t_start = now - 40 * 86400
    bodies = [_bodies(s, requests, rows, t_start) for s in range(senders)]
    port = _free_port()
    ctx = mp.get_context("spawn")
    ready = ctx.Event()
    server = ctx.Process(target=_serve, args=(url, port, ready), daemon=True)
    server.start()
    if not ready.wait(60):
        raise RuntimeError("uvicorn did not start")
    errors: list[str] = []
    threads = [threading.Thread(target=_sender, args=(port, key, bodies[s], errors)) for s in range(senders)]
    t0 = time.perf_counter()
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    elapsed = time.perf_counter() - t0
    server.terminate()
    server.join()
    store = open_store(url)
    stored = store.count_points()
    store.close()
    sent = senders * requests * rows * len(INPUTS)
    return {
        "senders": senders,
        "requests": senders * requests,
        "rows_per_request": rows,
        "inputs_per_row": len(INPUTS),
        "points_sent": sent,
        "points_stored": stored,
        "errors": errors[:5],
        "seconds": round(elapsed, 3),
        "points_per_s": round(stored / elapsed),
        "requests_per_s": round(senders * requests / elapsed, 1),
    }


# ---------------------------------------------------------------------------------------------- MQTT
def _ingest_mqtt(url: str, base: str, client_id: str, expected: int, ready, done, out) -> None:
    from regie.ingest.inputs import InputService
    from regie.ingest.mqtt import MqttIngester
    from regie.store import open_store

    store = open_store(url)
    service = InputService(store).start()
    ing = MqttIngester(service, base=base, client_id=client_id).start()
    ing.subscribed.wait(30)
    ready.set()
    first = None
    while ing.stored < expected:
        if first is None and ing.received:
            first = time.time()
        time.sleep(0.005)
    last = time.time()
    ing.stop()
    ing.forget_session()  # leave no persistent session behind on the broker
    service.close()
    cpu = resource.getrusage(resource.RUSAGE_SELF)
    out.put(
        {
            "received": ing.received,
            "stored": ing.stored,
            "commits": service.commits,
            "first": first,
            "last": last,
            "cpu_s": cpu.ru_utime + cpu.ru_stime,
        }
    )
    store.close()
    done.set()


def _payloads(n: int, t_start: int) -> list[str]:
    return [
        json.dumps({"power": 100 + i % 900, "energy": i, "temp": 20 + (i % 50) / 10, "time": t_start + STEP * i})
        for i in range(n)
    ]


def _feed(stdin, payloads: list[str], rate: float, t0: float) -> None:
    """Write one line per message to mosquitto_pub at ``rate`` messages/s (0: as fast as it takes them)."""
    tick = 0.02
    per_tick = max(1, int(rate * tick)) if rate else len(payloads)
    for i in range(0, len(payloads), per_tick):
        stdin.write(("\n".join(payloads[i : i + per_tick]) + "\n").encode())
        stdin.flush()
        if rate:
            delay = t0 + (i + per_tick) / rate - time.time()
            if delay > 0:
                time.sleep(delay)
    stdin.close()


def _publish_paho(base: str, node: str, n: int, t_start: int, start_event, out) -> None:
    """A Python publisher (emonhub's own MQTT interfacer uses paho): used when mosquitto_pub is absent."""
    import paho.mqtt.client as mqtt

    payloads = _payloads(n, t_start)
    pub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"{base}-{node}", protocol=mqtt.MQTTv5)
    pub.max_inflight_messages_set(1000)
    pub.max_queued_messages_set(0)
    pub.connect("127.0.0.1", 1883)
    pub.loop_start()
    start_event.wait()
    t0 = time.time()
    infos = [pub.publish(f"{base}/{node}", p, qos=1) for p in payloads]
    for info in infos:
        info.wait_for_publish(600)
    cpu = resource.getrusage(resource.RUSAGE_SELF)
    out.put(
        {
            "node": node,
            "published": sum(i.is_published() for i in infos),
            "t0": t0,
            "t1": time.time(),
            "cpu_s": cpu.ru_utime + cpu.ru_stime,
        }
    )
    pub.disconnect()
    pub.loop_stop()


def bench_mqtt(tmp: Path, messages: int, publishers: int, rate: float = 0) -> dict:
    from regie.store import open_store

    try:
        socket.create_connection(("127.0.0.1", 1883), timeout=3).close()
    except OSError as exc:
        return {"skipped": f"Mosquitto not reachable on 127.0.0.1:1883 ({exc})"}
    url = _store_url(tmp, "mqtt.sqlite")
    _prepare_store(url)
    tag = uuid.uuid4().hex[:8]
    base, client_id = f"regie-bench-{tag}", f"regie-bench-ingest-{tag}"
    ctx = mp.get_context("spawn")
    ready, done, go = ctx.Event(), ctx.Event(), ctx.Event()
    results = ctx.Queue()
    per = messages // publishers
    ingester = ctx.Process(target=_ingest_mqtt, args=(url, base, client_id, per * publishers, ready, done, results))
    ingester.start()
    if not ready.wait(60):
        raise RuntimeError("the MQTT ingester did not subscribe")
    t_start = int(time.time()) - 40 * 86400
    tool = shutil.which("mosquitto_pub")
    if tool:  # the C client: a publisher that costs little CPU leaves the two cores to broker and regie
        lines = [(_payloads(per, t_start + i)) for i in range(publishers)]
        procs = [
            subprocess.Popen(
                [tool, "-h", "127.0.0.1", "-p", "1883", "-V", "mqttv5", "-q", "1", "-t", f"{base}/node{i}", "-l"],
                stdin=subprocess.PIPE,
            )
            for i in range(publishers)
        ]
        time.sleep(1)  # connected
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.time()
        feeders = [
            threading.Thread(target=_feed, args=(p.stdin, payloads, rate / publishers, t0))
            for p, payloads in zip(procs, lines, strict=True)
        ]
        for f in feeders:
            f.start()
        for f in feeders:
            f.join()
        codes = [p.wait() for p in procs]
        t1 = time.time()
        pub_cpu = resource.getrusage(resource.RUSAGE_CHILDREN)
        published = [
            {
                "node": f"node{i}",
                "published": per if c == 0 else 0,
                "t0": t0,
                "t1": t1,
                "cpu_s": (pub_cpu.ru_utime + pub_cpu.ru_stime - before.ru_utime - before.ru_stime) / publishers,
            }
            for i, c in enumerate(codes)
        ]
    else:
        pubs = [
            ctx.Process(target=_publish_paho, args=(base, f"node{i}", per, t_start + i, go, results))
            for i in range(publishers)
        ]
        for p in pubs:
            p.start()
        time.sleep(2)  # let the publishers build their payloads and connect
        go.set()
        t0 = time.time()
    if not done.wait(120 + 2 * messages / max(rate, 1000)):
        ingester.terminate()
        ingester.join()
        return {"failed": "the ingester did not receive every message (the broker dropped some?)", "rate": rate}
    reports = [results.get() for _ in range(1 if tool else publishers + 1)]
    if tool:
        reports += published
    else:
        for p in pubs:
            p.join()
    ingester.join()
    ing = next(r for r in reports if "stored" in r)
    pub = [r for r in reports if "node" in r]
    store = open_store(url)
    points = store.count_points()
    store.close()
    elapsed = ing["last"] - t0
    publish_s = max(r["t1"] for r in pub) - min(r["t0"] for r in pub)
    return {
        "publishers": publishers,
        "messages_published": sum(r["published"] for r in pub),
        "messages_stored": ing["stored"],
        "points_stored": points,
        "points_expected": per * publishers * 3,
        "transactions": ing["commits"],
        "seconds": round(elapsed, 3),
        "messages_per_s": round(ing["stored"] / elapsed),
        "publisher": "mosquitto_pub -l (C)" if tool else "paho-mqtt (Python)",
        "offered_rate_per_s": rate or "as fast as the publishers go",
        "publish_only_messages_per_s": round(per * publishers / publish_s),
        "cpu_s": {"ingester": round(ing["cpu_s"], 2), "publishers": round(sum(r["cpu_s"] for r in pub), 2)},
    }


# ---------------------------------------------------------------------------------------------- files
def bench_files() -> dict | None:
    path = Path(__file__).parent / "ingest_files.py"
    if not path.exists():
        return None
    spec = importlib.util.spec_from_file_location("bench_ingest_files", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.run()


def main() -> None:
    from rich.console import Console
    from rich.table import Table

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--senders", type=int, default=4, help="concurrent emonhubs (HTTP)")
    parser.add_argument("--requests", type=int, default=25, help="bulk requests per sender")
    parser.add_argument("--rows", type=int, default=1000, help="rows per bulk request")
    parser.add_argument("--messages", type=int, default=100_000, help="MQTT messages in all")
    parser.add_argument("--publishers", type=int, default=2, help="MQTT publisher processes")
    parser.add_argument("--rate", type=float, default=12_000, help="MQTT messages/s offered in all (0: flat out)")
    parser.add_argument("--skip-files", action="store_true")
    args = parser.parse_args()
    console = Console()
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        with console.status("HTTP bulk through uvicorn..."):
            http_r = bench_http(tmp, args.senders, args.requests, args.rows)
        with console.status("MQTT through Mosquitto..."):
            mqtt_r = bench_mqtt(tmp, args.messages, args.publishers, args.rate)
    files_r = None if args.skip_files else bench_files()

    table = Table(title="regie live ingest (loopback)")
    table.add_column("path")
    table.add_column("throughput", justify="right")
    table.add_column("goal", justify="right")
    table.add_column("detail")
    ok_http = http_r["points_stored"] == http_r["points_sent"] and not http_r["errors"]
    table.add_row(
        "HTTP /input/bulk (cb=1)",
        f"{http_r['points_per_s']:,} points/s",
        "≥ 100,000",
        f"{http_r['requests']} requests × {args.rows} rows × {len(INPUTS)} inputs in {http_r['seconds']} s; "
        f"stored {http_r['points_stored']:,}/{http_r['points_sent']:,}" + ("" if ok_http else " MISMATCH"),
    )
    if "skipped" in mqtt_r:
        table.add_row("MQTT QoS 1", "skipped", "≥ 10,000", mqtt_r["skipped"])
    else:
        lost = mqtt_r["messages_published"] - mqtt_r["messages_stored"]
        table.add_row(
            "MQTT QoS 1 (emon/<node> JSON)",
            f"{mqtt_r['messages_per_s']:,} messages/s",
            "≥ 10,000",
            f"{mqtt_r['messages_stored']:,} stored, {lost} lost, {mqtt_r['transactions']} transactions; "
            f"publishers alone {mqtt_r['publish_only_messages_per_s']:,}/s",
        )
    rows = files_r.values() if isinstance(files_r, dict) else files_r or []
    for r in rows:  # bench/ingest_files.py run(): one dict per format and backend
        if isinstance(r, dict):
            pps = r.get("points_per_s")
            table.add_row(
                f"file import: {r.get('name', '?')}",
                f"{pps:,} points/s" if isinstance(pps, int | float) else str(pps),
                "≥ 1,000,000",
                f"{r.get('points_stored', r.get('points', '?')):,} points" if r.get("points") else "",
            )
    console.print(table)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            {
                "machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "platform": sys.platform},
                "http_bulk": http_r,
                "mqtt": mqtt_r,
                "files": files_r,
            },
            indent=2,
        )
        + "\n"
    )
    console.print(f"figures written to {RESULTS}")


if __name__ == "__main__":
    main()
