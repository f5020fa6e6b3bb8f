"""A backup killed with SIGKILL midway leaves nothing that looks complete; the last complete one restores."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from backup_world import PASSPHRASE, T0, fill_store

from regie.model import Readings
from regie.operations import backup, restore
from regie.operations.manifest import read_manifest
from regie.store import open_store

REPO = Path(__file__).parents[2]


def test_kill_9_during_a_backup_leaves_the_last_complete_one_intact(tmp_path) -> None:
    data_dir = tmp_path / "data"
    url = f"sqlite:///{data_dir / 'regie.sqlite'}"
    fill_store(url, data_dir, points=20_000, n_series=40)
    dest = tmp_path / "backups"
    first = backup.take_backup(url, dest, data_dir, PASSPHRASE)
    promised = read_manifest(first)
    store = open_store(url)  # more data after the first backup: the killed one would have held it
    store.write([Readings("sensor-0", np.array([T0 - 10]), np.array([1.0]))])
    store.close()

    env = {**os.environ, "REGIE_BACKUP_PASSPHRASE": PASSPHRASE, "PYTHONPATH": str(REPO)}
    args = [sys.executable, "-m", "regie.cli", "backup", str(dest), "--database-url", url, "--data-dir", str(data_dir)]
    child = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    killed_while = None
    while child.poll() is None:
        partial = [p for p in dest.glob(".partial-*/data/*") if p.is_file()]
        if partial:  # midway: the table files are being written
            os.kill(child.pid, signal.SIGKILL)
            killed_while = sorted(p.name for p in partial)
            break
        time.sleep(0.001)
    child.wait()
    assert killed_while is not None, f"the backup finished before it could be killed: {child.stderr.read()!r}"
    assert child.returncode == -signal.SIGKILL

    # only the first backup looks complete; the killed one is a .partial-* folder without a manifest
    assert [b.path for b in backup.list_backups(dest)] == [first]
    leftovers = [p for p in dest.iterdir() if p != first]
    assert leftovers and all(p.name.startswith(".partial-") and not (p / "manifest.json").exists() for p in leftovers)

    target_dir = tmp_path / "restored"
    target = f"sqlite:///{target_dir / 'regie.sqlite'}"
    got = restore.restore(dest, target, target_dir, PASSPHRASE)  # the folder of backups: its newest complete one
    assert got == promised
    assert restore.verify(dest, PASSPHRASE).ok
    store = open_store(target)
    try:
        assert store.count_points() == promised.points == 40 * 20_000
    finally:
        store.close()

    # the next backup clears the killed one's folder (its process is gone) and completes
    second = backup.take_backup(url, dest, data_dir, PASSPHRASE)
    assert sorted(p.name for p in dest.iterdir()) == sorted([first.name, second.name])
    assert read_manifest(second).points == promised.points + 1
