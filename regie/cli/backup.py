"""`regie backup` and `regie restore`: consistent online backups that restore, on either backend."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from regie.cli._app import DbOption, _redact, app, console, load_settings

DataDirOption = Annotated[Path | None, typer.Option(help="data folder whose keys are kept (overrides REGIE_DATA_DIR)")]


def _passphrase(*, new: bool) -> str | None:
    """From REGIE_BACKUP_PASSPHRASE, else the systemd credential ``backup-passphrase`` (``LoadCredential=``,
    deploy/systemd/regie-backup.service), else a hidden prompt when someone is there. Never from argv: ps
    shows it to every user."""
    from regie.operations.secrets import PASSPHRASE_ENV

    if os.environ.get(PASSPHRASE_ENV):
        return os.environ[PASSPHRASE_ENV]
    credential = Path(os.environ.get("CREDENTIALS_DIRECTORY", "/nonexistent")) / "backup-passphrase"
    if credential.is_file():
        return credential.read_text(encoding="utf-8").rstrip("\n")
    if sys.stdin.isatty():
        return typer.prompt("backup passphrase", hide_input=True, confirmation_prompt=new)
    return None


@app.command()
def backup(
    path: Annotated[Path, typer.Argument(help="folder of backups (DEST), or with --verify one backup (SRC)")],
    verify: Annotated[bool, typer.Option("--verify", help="restore PATH into a temporary store and compare")] = False,
    keep: Annotated[
        str | None, typer.Option(help="retention, e.g. daily=7,weekly=4,monthly=12: prune the other backups")
    ] = None,
    database_url: DbOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Back up the store and its keys (sealed with a passphrase) while regie keeps running; or verify a backup."""
    from regie.failures import ExitCode
    from regie.operations.backup import prune, take_backup
    from regie.operations.manifest import BackupError, read_manifest
    from regie.operations.restore import verify as verify_backup
    from regie.operations.retention import Policy
    from regie.operations.secrets import SecretsError

    try:
        if verify:
            result = verify_backup(path, _passphrase(new=False))
            m = result.manifest
            console.print(
                f"{path}: {len(m.tables)} tables, {len(m.series)} series, {m.points:,} points, access log of "
                f"{m.access_log['size']} entries, {result.audit_checkpoints} checkpoint(s)"
            )
            for problem in result.problems:
                console.print(f"[bold red]✘[/] {problem}")
            if not result.ok:
                raise typer.Exit(int(ExitCode.FAILED))
            console.print("[green]✔[/] the backup restores to what its manifest says")
            return
        policy = Policy.parse(keep) if keep else None
        settings = load_settings()
        url = database_url or settings.resolved_database_url
        folder = take_backup(url, path, data_dir or settings.data_dir, _passphrase(new=True))
        m = read_manifest(folder, check_files=False)
        size = sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())
        console.print(
            f"backup of [bold]{_redact(url)}[/] written to {folder}: {m.points:,} points in {len(m.series)} series, "
            f"{sum(m.tables.values()):,} rows, {len(m.secrets)} key file(s) sealed, {size / 2**20:.1f} MiB"
        )
        if policy is not None:
            for gone in prune(path, policy):
                console.print(f"pruned {gone.name}")
    except (BackupError, SecretsError) as exc:
        raise typer.BadParameter(str(exc)) from None


@app.command()
def restore(
    src: Annotated[Path, typer.Argument(help="a backup folder, or a folder of backups (the newest complete one)")],
    force: Annotated[bool, typer.Option("--force", help="replace what the store and the keys folder hold")] = False,
    database_url: DbOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Restore a backup into an empty store (SQLite or PostgreSQL, whichever it was taken from) and its keys."""
    from regie.operations.manifest import BackupError
    from regie.operations.restore import restore as restore_backup
    from regie.operations.secrets import SecretsError

    settings = load_settings()
    url = database_url or settings.resolved_database_url
    try:
        m = restore_backup(src, url, data_dir or settings.data_dir, _passphrase(new=False), force=force)
    except (BackupError, SecretsError) as exc:
        raise typer.BadParameter(str(exc)) from None
    console.print(
        f"restored {m.created_at} ({m.points:,} points, {sum(m.tables.values()):,} rows, {len(m.secrets)} key file(s)) "
        f"into [bold]{_redact(url)}[/]"
    )
