"""Known failures, told in one or two lines a person can act on: what happened, where, what to do.

A command that meets an unreachable database, a full disk or a broken config file should not print a
traceback of hundreds of lines with the useful one in the middle. :func:`explain` recognises those
failures and :func:`run` prints them and exits with a code from the BSD ``sysexits(3)`` conventions, so
that a script or a systemd unit can tell "fix your settings" from "try again later". ``--debug`` (or
``REGIE_DEBUG=1``) shows the full traceback instead; an unknown failure always does.
"""

from __future__ import annotations

import errno
import os
import re
import shutil
import sqlite3
import tomllib
from dataclasses import dataclass
from enum import IntEnum
from pathlib import Path

from regie.store.engine import sqlite_file, sqlite_files_bytes


class ExitCode(IntEnum):
    """``sysexits(3)``: the codes `regie` exits with (see ``regie --help``)."""

    OK = 0
    FAILED = 1  # the command ran and reports a negative result (e.g. a log that does not verify)
    USAGE = 64  # EX_USAGE: a wrong option or argument (typer answers 2 for its own usage errors)
    DATA = 65  # EX_DATAERR: the input data (a file, the store's schema) is wrong
    NO_INPUT = 66  # EX_NOINPUT: an input file does not exist or cannot be read
    UNAVAILABLE = 69  # EX_UNAVAILABLE: a service (PostgreSQL, an MQTT broker, SMTP) cannot be reached
    SOFTWARE = 70  # EX_SOFTWARE: a bug in regie
    CANT_CREATE = 73  # EX_CANTCREAT: a file or folder regie must create cannot be
    IO = 74  # EX_IOERR: reading or writing failed (a full disk)
    NO_PERMISSION = 77  # EX_NOPERM: permission denied (file modes, a database login refused)
    CONFIG = 78  # EX_CONFIG: the settings (REGIE_*, the TOML file) are wrong


EXIT_CODES_HELP = (
    "Exit codes (sysexits): 0 ok, 1 a negative result (e.g. audit verify), 2 or 64 usage, 65 bad data, "
    "66 missing input, 69 service unavailable, 73 cannot create, 74 I/O error (disk full), 77 permission "
    "denied, 78 configuration error. --debug or REGIE_DEBUG=1 shows the full traceback."
)


@dataclass(frozen=True, slots=True)
class Failure:
    """What happened (with where), and what to do about it."""

    what: str
    todo: str
    code: ExitCode

    def lines(self) -> list[str]:
        return [self.what, f"→ {self.todo}"] if self.todo else [self.what]


def _mib(n: float) -> str:
    return f"{n / 2**20:,.0f} MiB" if n >= 2**20 else f"{n / 1024:,.0f} KiB"


def _database_url() -> str | None:
    from regie.store.engine import last_opened_url

    url = last_opened_url() or os.environ.get("REGIE_DATABASE_URL")
    if url:
        return url
    try:
        from regie.config import get_settings

        return get_settings().resolved_database_url
    except Exception:  # the settings themselves may be what failed
        return None


def _where_db(url: str | None) -> str:
    if not url:
        return "the database"
    from regie.store.engine import redacted_url

    return redacted_url(url)


def _disk_full(path: Path | None) -> Failure:
    """Free space where the store lives, and what the store already takes: a person can judge how much to free."""
    target = path if path is not None else Path.cwd()
    probe = target if target.exists() else target.parent
    free = shutil.disk_usage(probe).free if probe.exists() else 0
    used = sqlite_files_bytes(target) if path else 0
    where = f"the disk holding {target}" if path else "the disk"
    need = max(used // 2, 64 * 2**20)  # a rewrite of rollups can need a good part of the file again
    return Failure(
        f"{where} is full ({_mib(free)} free; the store takes {_mib(used)}). Everything committed before is kept.",
        f"free at least {_mib(need)} on that disk (or move REGIE_DATA_DIR / REGIE_DATABASE_URL elsewhere), then run "
        "the command again: what was already written is not written twice",
        ExitCode.IO,
    )


_PG_ADDRESS = re.compile(r'(?:server at|host) "?([^",]+)"?(?:\s*\([^)]*\))?, port (\d+)')


def _database_error(message: str, url: str | None) -> Failure | None:
    low = message.lower()
    where = _where_db(url)
    if "database or disk is full" in low or "no space left" in low:
        return _disk_full(sqlite_file(url))
    if "connection refused" in low or "could not connect" in low or "timeout expired" in low or (
        "connection" in low and "failed" in low and "fatal" not in low
    ):
        m = _PG_ADDRESS.search(message)
        at = f"{m.group(1)}:{m.group(2)}" if m else where
        return Failure(
            f"the database server at {at} cannot be reached ({where}).",
            "start PostgreSQL (e.g. `systemctl start postgresql`) or fix REGIE_DATABASE_URL; regie retries by "
            "itself once it is back",
            ExitCode.UNAVAILABLE,
        )
    if "password authentication failed" in low or ("role" in low and "does not exist" in low):
        return Failure(
            f"the database refused the login ({where}).",
            "check the user and password in REGIE_DATABASE_URL (or the server's pg_hba.conf)",
            ExitCode.NO_PERMISSION,
        )
    if "database" in low and "does not exist" in low:
        return Failure(
            f"the database named in {where} does not exist on that server.",
            "create it (e.g. `createdb NAME`) or fix REGIE_DATABASE_URL",
            ExitCode.CONFIG,
        )
    if "readonly database" in low or "read-only" in low:
        path = sqlite_file(url)
        return Failure(
            f"the store {path or where} is read-only: nothing was written.",
            "give the user running regie write access to the file and its folder (SQLite writes a -wal file "
            "beside it)",
            ExitCode.NO_PERMISSION,
        )
    if "unable to open database file" in low:
        path = sqlite_file(url)
        return Failure(
            f"the store {path or where} cannot be opened or created.",
            "check that its folder exists and is writable by the user running regie (REGIE_DATA_DIR)",
            ExitCode.CANT_CREATE,
        )
    if "database is locked" in low:
        return Failure(
            f"the store {where} stayed locked by another process for 30 s.",
            "wait for the other regie command to finish (or stop it), then run this one again",
            ExitCode.UNAVAILABLE,
        )
    return None


_TOML_AT = re.compile(r"\(at line (\d+), column (\d+)\)")


def _config_path() -> str:
    return os.environ.get("REGIE_CONFIG") or "the settings file"


def explain(exc: BaseException) -> Failure | None:
    """The failure a person can act on, or None when it is not a known one (then the traceback is shown)."""
    from alembic.util import CommandError
    from pydantic import ValidationError
    from sqlalchemy.exc import DBAPIError

    from regie.config import SettingsError

    url = _database_url() if isinstance(exc, DBAPIError | sqlite3.Error) else None
    if isinstance(exc, tomllib.TOMLDecodeError):
        m = _TOML_AT.search(str(exc))
        at = f", line {m.group(1)} column {m.group(2)}" if m else ""
        reason = _TOML_AT.sub("", str(exc)).strip()
        return Failure(
            f"{_config_path()}{at}: {reason}.",
            f"fix {_config_path()} at that place (TOML: settings go under a [regie] table)",
            ExitCode.CONFIG,
        )
    if isinstance(exc, SettingsError):
        return Failure(str(exc).rstrip(".") + ".", f"fix it in the environment (REGIE_*) or in {_config_path()}",
                       ExitCode.CONFIG)  # fmt: skip
    if isinstance(exc, ValidationError):
        problems = "; ".join(
            f"{'.'.join(str(x) for x in e['loc']) or 'settings'}: {e['msg']} (got {e.get('input')!r})"
            for e in exc.errors()
        )
        return Failure(
            f"a setting is wrong: {problems}.",
            f"fix it in the environment (REGIE_*) or in {_config_path()}",
            ExitCode.CONFIG,
        )
    if isinstance(exc, CommandError) and "can't locate revision" in str(exc).lower():
        return Failure(
            f"the store's schema is newer than this regie knows ({exc}).",
            "upgrade regie to the version that wrote this store (or restore a backup made for this version)",
            ExitCode.DATA,
        )
    if isinstance(exc, DBAPIError | sqlite3.Error):
        return _database_error(str(getattr(exc, "orig", None) or exc), url)
    if isinstance(exc, OSError):
        return _os_error(exc)
    return None


def _os_error(exc: OSError) -> Failure | None:
    name = exc.filename or "a file"
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return _disk_full(Path(exc.filename) if exc.filename else None)
    if isinstance(exc, NotADirectoryError | FileExistsError):
        return Failure(
            f"{name} cannot be created: something that is not a folder is in the way ({exc.strerror}).",
            "choose another folder (REGIE_DATA_DIR, REGIE_DATABASE_URL) or move that file away",
            ExitCode.CANT_CREATE,
        )
    if isinstance(exc, PermissionError) or exc.errno == errno.EROFS:
        return Failure(
            f"permission denied on {name} ({exc.strerror}).",
            "give the user running regie access to it, or choose another folder (REGIE_DATA_DIR)",
            ExitCode.NO_PERMISSION,
        )
    if isinstance(exc, FileNotFoundError):
        is_config = os.environ.get("REGIE_CONFIG") and str(exc.filename) == os.environ["REGIE_CONFIG"]
        return Failure(
            f"{name} does not exist{' (named by REGIE_CONFIG)' if is_config else ''}.",
            "fix REGIE_CONFIG or create the file" if is_config else "check the path",
            ExitCode.CONFIG if is_config else ExitCode.NO_INPUT,
        )
    return None
