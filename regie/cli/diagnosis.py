"""`regie doctor`: check an installation the way an operator would before trusting it with years of data.

Each check says what it looked at, whether it is fine, and — when it is not — what to do. Nothing is
created or changed: an absent store is reported, not made (``regie init`` makes it), and the schema is
compared with the code's migrations, not upgraded.
"""

from __future__ import annotations

import os
import shutil
import smtplib
import socket
import stat
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from regie.config import Settings
from regie.failures import ExitCode, explain
from regie.store import probes
from regie.store.engine import sqlite_file, sqlite_files_bytes
from regie.store.store import Store

#: Below this many months of free disk at the current rate, the disk check is red (yellow below a year).
MIN_MONTHS_RED = 3
MIN_MONTHS_YELLOW = 12
#: A WAL file this large means checkpoints are not keeping up (a reader held open for hours).
WAL_WARN_BYTES = 256 * 2**20


class Status(StrEnum):
    OK = "ok"
    WARN = "warn"
    FAIL = "fail"


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    status: Status
    detail: str
    todo: str = ""
    code: ExitCode = ExitCode.OK


def _fail(name: str, exc: BaseException, fallback: ExitCode = ExitCode.SOFTWARE) -> Check:
    failure = explain(exc)
    if failure is None:
        return Check(name, Status.FAIL, f"{type(exc).__name__}: {exc}", "run with --debug for details", fallback)
    return Check(name, Status.FAIL, failure.what, failure.todo, failure.code)


def _mib(n: float) -> str:
    return f"{n / 2**20:,.1f} MiB"


def check_data_dir(settings: Settings) -> Check:
    d = settings.data_dir
    if not d.exists():
        return Check("data folder", Status.WARN, f"{d} does not exist yet", "it is created by `regie init`")
    if not os.access(d, os.W_OK | os.X_OK):
        return Check("data folder", Status.FAIL, f"{d} is not writable by this user",
                     "give the user running regie write access to it", ExitCode.NO_PERMISSION)  # fmt: skip
    return Check("data folder", Status.OK, str(d))


def check_store(url: str) -> tuple[Check, object | None]:
    """Reachable, without creating anything; returns the engine for the next checks."""
    from regie.store.engine import make_engine, redacted_url

    path = sqlite_file(url)
    if path is not None and not path.exists():
        return Check("store", Status.FAIL, f"no store at {path}", "run `regie init` (or `regie demo`)",
                     ExitCode.NO_INPUT), None  # fmt: skip
    try:
        engine = make_engine(url)
        probes.ping(Store(engine))
    except Exception as exc:  # every failure is reported as a red line, not raised
        return _fail("store", exc, ExitCode.UNAVAILABLE), None
    return Check("store", Status.OK, f"{redacted_url(url)} ({engine.dialect.name}) reachable"), engine


def check_schema(engine) -> Check:
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    from regie.store.migrate import MIGRATIONS

    script = ScriptDirectory(str(MIGRATIONS))
    head = script.get_current_head()
    with engine.connect() as conn:
        current = MigrationContext.configure(conn).get_current_revision()
    known = {r.revision for r in script.walk_revisions()}
    if current == head:
        return Check("schema", Status.OK, f"revision {current}, the newest this regie knows")
    if current is None:
        return Check("schema", Status.FAIL, "the database holds no regie schema", "run `regie init`", ExitCode.DATA)
    if current not in known:
        return Check("schema", Status.FAIL, f"revision {current} is newer than this regie knows ({head})",
                     "upgrade regie to the version that wrote this store", ExitCode.DATA)  # fmt: skip
    return Check("schema", Status.WARN, f"revision {current}; this regie brings {head}",
                 "run `regie init` to migrate (it keeps everything stored)")  # fmt: skip


def data_rate(engine) -> tuple[int, float]:
    """(points stored, days of data they span): the rate at which the store grows in steady use."""
    store = Store(engine)
    points = probes.stored_points(store)
    with engine.connect() as conn:
        period = store.timeseries.data_period(conn)
    days = (period[1] - period[0]) / 86400 if period else 0.0
    return points, days


def check_disk(url: str, engine, settings: Settings) -> Check:
    path = sqlite_file(url)
    where = path if path is not None else settings.data_dir
    probe = where if where.exists() else where.parent
    free = shutil.disk_usage(probe).free
    if path is None:
        return Check("disk", Status.OK, f"{_mib(free)} free for the data folder; PostgreSQL keeps its own disk",
                     "watch the PostgreSQL server's disk with its own tools")  # fmt: skip
    size = sqlite_files_bytes(path)
    points, days = data_rate(engine)
    if days < 1 or points == 0:
        return Check("disk", Status.OK, f"{_mib(free)} free; the store takes {_mib(size)} (no data yet to project)")
    per_month = size / days * 30.44
    months = free / per_month if per_month else float("inf")
    detail = f"{_mib(free)} free; the store takes {_mib(size)}, ~{_mib(per_month)} a month: {months:,.0f} months"
    if months < MIN_MONTHS_RED:
        return Check("disk", Status.FAIL, detail, f"free at least {_mib(per_month * MIN_MONTHS_YELLOW)} (a year)",
                     ExitCode.IO)  # fmt: skip
    if months < MIN_MONTHS_YELLOW:
        return Check("disk", Status.WARN, detail, f"plan for {_mib(per_month * MIN_MONTHS_YELLOW)} (a year)")
    return Check("disk", Status.OK, detail)


def check_wal(url: str) -> Check | None:
    path = sqlite_file(url)
    if path is None or not path.exists():
        return None
    wal = path.with_name(path.name + "-wal")
    size = wal.stat().st_size if wal.exists() else 0
    if size > WAL_WARN_BYTES:
        return Check("WAL", Status.WARN, f"{wal} is {_mib(size)}",
                     "a process holds a read open for long: restart it so SQLite can checkpoint")  # fmt: skip
    return Check("WAL", Status.OK, f"{_mib(size)}")


def check_keys(settings: Settings) -> Check:
    from regie.governance import keys

    folder = keys.keys_dir(settings.data_dir)
    if not folder.exists():
        todo = "they are made by `regie serve` or `regie audit checkpoint`; back them up with the data"
        return Check("signing keys", Status.WARN, f"none yet in {folder}", todo)
    files = [p for p in folder.iterdir() if p.is_file()]
    loose = [p.name for p in files if stat.S_IMODE(p.stat().st_mode) & 0o077]
    if loose:
        return Check("signing keys", Status.FAIL, f"readable by other users: {', '.join(sorted(loose))}",
                     f"chmod 600 {folder}/*", ExitCode.NO_PERMISSION)  # fmt: skip
    audit_key = (folder / keys.AUDIT_KEY_FILE).exists()
    return Check("signing keys", Status.OK if audit_key else Status.WARN,
                 f"{len(files)} file(s) in {folder}, owner-only" + ("" if audit_key else "; no audit signing key yet"),
                 "" if audit_key else "run `regie audit checkpoint` to create it")  # fmt: skip


def check_smtp(settings: Settings) -> Check | None:
    if not settings.smtp_host:
        return None
    where = f"{settings.smtp_host}:{settings.smtp_port}"
    try:
        cls = smtplib.SMTP_SSL if str(settings.smtp_security) == "tls" else smtplib.SMTP
        with cls(settings.smtp_host, settings.smtp_port, timeout=5) as smtp:
            code, _ = smtp.ehlo()
    except (OSError, smtplib.SMTPException) as exc:
        todo = "check REGIE_SMTP_HOST / REGIE_SMTP_PORT and that the server runs"
        return Check("SMTP", Status.FAIL, f"{where} cannot be reached ({exc})", todo, ExitCode.UNAVAILABLE)
    return Check("SMTP", Status.OK if code == 250 else Status.WARN, f"{where} answers (EHLO {code})")


def check_mqtt(settings: Settings) -> list[Check]:
    found = []
    brokers = {"MQTT alerts": (settings.alert_mqtt_host, settings.alert_mqtt_port)}
    if "mqtt_host" in settings.model_fields_set:  # set on purpose: `regie serve --mqtt` will read from it
        brokers["MQTT ingest"] = (settings.mqtt_host, settings.mqtt_port)
    for name, (host, port) in brokers.items():
        if not host:
            continue
        try:
            socket.create_connection((host, int(port)), timeout=5).close()
        except OSError as exc:
            found.append(Check(name, Status.FAIL, f"{host}:{port} cannot be reached ({exc.strerror or exc})",
                               "start the broker or fix the host and port", ExitCode.UNAVAILABLE))  # fmt: skip
        else:
            found.append(Check(name, Status.OK, f"{host}:{port} accepts connections"))
    return found


def check_assets() -> Check:
    from regie.web import assets

    missing = [name for name in assets.VENDOR_FILES if not assets.vendor_available(name)]
    if missing:
        return Check("front-end assets", Status.FAIL, f"missing: {', '.join(missing)}",
                     "run scripts/setup.sh (npm ci) in the regie folder", ExitCode.NO_INPUT)  # fmt: skip
    return Check("front-end assets", Status.OK, f"{len(assets.VENDOR_FILES)} pinned file(s) installed")


def diagnose(settings_loader: Callable[[], Settings]) -> list[Check]:
    """Every check, in the order a person would fix them."""
    try:
        settings = settings_loader()
    except Exception as exc:  # a broken config is the first red line, and the others cannot run
        return [_fail("settings", exc, ExitCode.CONFIG)]
    checks = [Check("settings", Status.OK, os.environ.get("REGIE_CONFIG") or "environment and defaults")]
    checks.append(check_data_dir(settings))
    url = settings.resolved_database_url
    store, engine = check_store(url)
    checks.append(store)
    if engine is not None:
        try:
            checks.append(check_schema(engine))
            checks.append(check_disk(url, engine, settings))
        except Exception as exc:  # a store without our tables, say
            checks.append(_fail("schema", exc, ExitCode.DATA))
        finally:
            engine.dispose()
    checks.append(check_wal(url))
    checks.append(check_keys(settings))
    checks.append(check_smtp(settings))
    checks.extend(check_mqtt(settings))
    checks.append(check_assets())
    return [c for c in checks if c is not None]


def exit_code(checks: list[Check]) -> ExitCode:
    """The code of the first red line, or 0."""
    return next((c.code for c in checks if c.status is Status.FAIL), ExitCode.OK)
