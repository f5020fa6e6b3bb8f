"""A backup taken while four emoncms clients post to a real server holds every point acknowledged before it
started, and restores to a store whose access log verifies."""

from __future__ import annotations

import json
import threading
import time

import httpx
from backup_world import PASSPHRASE, fill_store
from servers import AppServer

from regie.governance import audit, keys
from regie.ingest import apikeys
from regie.ingest.inputs import InputService
from regie.operations import backup, restore
from regie.store import open_store
from regie.web.app import create_app

CLIENTS, ROWS = 4, 20
POSTS_BEFORE, POSTS_AFTER = 15, 15  # each client's acknowledged posts before the backup, and after it started


def test_backup_during_a_four_client_http_ingest(tmp_path, store_url: str) -> None:
    """On SQLite (the online backup API) and on PostgreSQL (one REPEATABLE READ read-only transaction)."""
    data_dir = tmp_path / "data"
    url = store_url
    fill_store(url, data_dir, points=100)
    store = open_store(url)
    key = apikeys.create_key(store, "emonpi", ["write"])[1]
    app = create_app(store)
    app.state.inputs = InputService(store).start()
    base = int(time.time()) - 86400
    started = threading.Event()  # set just before the backup begins
    acked: list[list[tuple[int, bool]]] = [[] for _ in range(CLIENTS)]  # (post number, acked before the backup)
    failures: list[str] = []

    def client(c: int, server_url: str) -> None:
        with httpx.Client(base_url=server_url, timeout=30) as http:
            i = 0
            while sum(1 for _, before in acked[c] if not before) < POSTS_AFTER and i < 10_000:
                rows = [[base + 10 * (i * ROWS + j), f"c{c}", i * ROWS + j] for j in range(ROWS)]
                r = http.post("/input/bulk.json", data={"data": json.dumps(rows), "time": 0, "apikey": key})
                if (r.status_code, r.text) != (200, "ok"):
                    failures.append(f"client {c} post {i}: {r.status_code} {r.text}")
                    return
                acked[c].append((i, not started.is_set()))  # checked after the reply: acked before the start
                i += 1

    try:
        with AppServer(app) as server:
            threads = [threading.Thread(target=client, args=(c, server.url)) for c in range(CLIENTS)]
            for t in threads:
                t.start()
            while not failures and min(len(a) for a in acked) < POSTS_BEFORE and any(t.is_alive() for t in threads):
                time.sleep(0.01)
            started.set()
            folder = backup.take_backup(url, tmp_path / "backups", data_dir, PASSPHRASE)
            for t in threads:
                t.join(timeout=300)  # each post waits 30 s at most: a client still alive after that is stuck
            assert not any(t.is_alive() for t in threads), "a client is stuck"
    finally:
        app.state.inputs.close()
        store.close()
    assert failures == []

    target_dir = tmp_path / "restored"
    target = f"sqlite:///{target_dir / 'regie.sqlite'}"
    restore.restore(folder, target, target_dir, PASSPHRASE)
    restored = open_store(target)
    try:
        assert audit.verify(restored, keys.load_or_create_signing_key(target_dir).public_key()).ok
        for c in range(CLIENTS):
            before = [i for i, was_before in acked[c] if was_before]
            assert len(before) >= POSTS_BEFORE
            t, v = restored.read(f"emon-c{c}-1", base, base + 10 * ROWS * 10_000)
            held = dict(zip(t.tolist(), v.tolist(), strict=True))
            for i in before:
                for j in range(ROWS):
                    assert held.get(base + 10 * (i * ROWS + j)) == i * ROWS + j, (c, i, j)
    finally:
        restored.close()
    assert restore.verify(folder, PASSPHRASE).ok
