"""Régies as separate ``regie serve`` processes on loopback ports, each with its own store and data folder.

A village holds three households (alice, bob, carol: one delivery point and a 30-minute consumption curve
each over ``DAYS`` days ending at the last local midnight) and public daily cells of its publication; a hub
holds nothing of its own. The test process opens the same stores to act as each régie's admin or member
would (adding peers, granting, pushing the outbox), exactly through the functions the CLI calls.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
from argon2 import PasswordHasher
from servers import answering

from regie.federation import identity
from regie.governance import accounts
from regie.governance.accounts import Role
from regie.model import (
    DeliveryPoint,
    Inventory,
    Membership,
    Person,
    Readings,
    Series,
    SeriesKind,
    Site,
    Step,
    Territory,
)
from regie.store import Store, open_store

PARIS = ZoneInfo("Europe/Paris")
FAST = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
DAYS = 1000  # a peer killed for the length of 1,000 messages: one message per day of a daily grant
PRMS = {"alice": "30002000000001", "bob": "30002000000002", "carol": "30002000000003"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def last_midnight() -> int:
    d = datetime.now(PARIS).date()
    return int(datetime(d.year, d.month, d.day, tzinfo=PARIS).timestamp())


@dataclass
class Instance:
    name: str
    root: Path
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen | None = None
    # no courier thread: the test pushes the outbox itself, so what is delivered when is its choice
    args: tuple[str, ...] = ("--courier-every", "0")
    _store: Store | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def db(self) -> str:
        return f"sqlite:///{self.root / 'regie.sqlite'}"

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("REGIE_")}
        return env | {"REGIE_DATA_DIR": str(self.data_dir), "REGIE_DATABASE_URL": self.db,
                      "REGIE_PUBLIC_URL": self.url, "PYTHONPATH": str(Path(__file__).parents[2])}  # fmt: skip

    @property
    def store(self) -> Store:
        if self._store is None:
            self._store = open_store(self.db)
            # a régie that was set up: its admin exists (else every page but /setup redirects there)
            accounts.create_account(self._store, "admin", "a long enough password", Role.ADMIN, hasher=FAST)
        return self._store

    def ring(self) -> identity.Keyring:
        return identity.load_or_create(self.data_dir)

    def launch(self) -> None:
        """Start ``regie serve`` without waiting (several régies start side by side): see :meth:`started`. Its
        output goes to a file (a pipe nobody reads would fill up with a thousand requests' log lines)."""
        log = open(self.root / "serve.log", "a")  # noqa: SIM115 - the process writes it until it stops
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "regie.cli", "serve", "--host", "127.0.0.1", "--port", str(self.port), *self.args],
            env=self.env(), stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        log.close()

    def started(self, seconds: float = 120.0) -> None:
        """Wait until the server answers /healthz (or say what it printed if it stopped)."""
        assert self.proc is not None, f"regie serve ({self.name}) was not launched"
        answering(self.url, self.proc, seconds, lambda: f"({self.name})\n" + (self.root / "serve.log").read_text())

    def start(self) -> None:
        self.launch()
        self.started()

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.proc = None

    def cli(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "regie.cli", *args], env=self.env(), capture_output=True,
                              text=True, timeout=120)  # fmt: skip


def village(root: Path, name: str) -> Instance:
    """A village's régie: three households with DAYS days of 30-minute consumption, ending last midnight."""
    inst = Instance(name, root)
    identity.set_identity(inst.data_dir, f"Village {name}", f"Régie de {name}")
    identity.load_or_create(inst.data_dir)
    half = Step.parse("PT30M")
    since = date.today() - timedelta(days=DAYS + 30)
    inv = Inventory(
        Territory(name, f"Village {name}", latitude=42.4, longitude=2.48),
        sites=[Site(f"house-{p}", f"house {p}", name) for p in PRMS],
        delivery_points=[DeliveryPoint(prm, f"house-{p}") for p, prm in PRMS.items()],
        persons=[Person(p, p.capitalize()) for p in PRMS],
        memberships=[Membership(p, prm, since) for p, prm in PRMS.items()],
        series=[Series(f"c-{p}", SeriesKind.CONSUMPTION, "W", half, prm=prm) for p, prm in PRMS.items()],
    )
    inst.store.save_inventory(inv)
    end = last_midnight()
    t = np.arange(end - DAYS * 86400, end, 1800, dtype=np.int64)
    inst.store.write([Readings(f"c-{p}", t, np.full(len(t), 100.0 * (i + 1))) for i, p in enumerate(PRMS)])
    return inst


def hub(root: Path) -> Instance:
    inst = Instance("hub", root)
    identity.set_identity(inst.data_dir, "Hub", "Syndicat régional")
    identity.load_or_create(inst.data_dir)
    inst.store  # noqa: B018 - created and migrated before the server opens it
    return inst


def wait_for(check, seconds: float = 60.0):
    """Poll ``check`` until it returns something true (a peer's courier works in its own rhythm, slower on a
    loaded machine: the bound is generous, a passing run never waits for it)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        got = check()
        if got:
            return got
        time.sleep(0.2)
    return check()
