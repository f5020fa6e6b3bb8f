"""Governance commands: accounts, consent grants, the access log, data-subject rights."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo

import typer

from regie.cli._app import DbOption, _open, _utc, app, command_store, console
from regie.cli._output import Column, Format, FormatOption, emit
from regie.config import get_settings

# ---------------------------------------------------------------- governance: accounts, consent, audit, rights
user_app = typer.Typer(help="Accounts: admin, operator, member (the public has none).", no_args_is_help=True)


consent_app = typer.Typer(help="Consent grants: who reads whose data, how finely, why, how long.", no_args_is_help=True)


audit_app = typer.Typer(help="The tamper-evident access log.", no_args_is_help=True)


member_app = typer.Typer(help="Data-subject rights: export, erase, correct.", no_args_is_help=True)


app.add_typer(user_app, name="user")


app.add_typer(consent_app, name="consent")


app.add_typer(audit_app, name="audit")


app.add_typer(member_app, name="member")


def _new_password(from_stdin: bool) -> str:
    """Read a password from a hidden prompt or one line of stdin: never from the command line (ps shows it)."""
    import sys

    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    return typer.prompt("password", hide_input=True, confirmation_prompt=True)


@user_app.command("add")
def user_add(
    username: Annotated[str, typer.Argument(help="login name: lower-case letters, digits, '.', '_', '-'")],
    role: Annotated[str, typer.Option(help="admin, operator or member")] = "member",
    holder: Annotated[str | None, typer.Option(help="member: the person or organisation id of the inventory")] = None,
    operator_of: Annotated[str | None, typer.Option(help="operator: the organisation or operation run")] = None,
    name: Annotated[str | None, typer.Option(help="display name")] = None,
    territory: Annotated[str | None, typer.Option(help="admin/operator: the one territory it runs")] = None,
    email: Annotated[str | None, typer.Option(help="e-mail address")] = None,
    password_stdin: Annotated[bool, typer.Option(help="read the password from standard input")] = False,
    database_url: DbOption = None,
) -> None:
    """Create an account (the password is asked for, hashed with argon2id, never stored in clear)."""
    from regie.governance import accounts

    password = _new_password(password_stdin)
    with command_store(database_url, ValueError) as store:
        if territory is not None:
            from regie.governance import territories

            if territories.get_territory(store, territory) is None:
                raise ValueError(f"no territory {territory!r} in this store (see `regie territory list`)")
        a = accounts.create_account(
            store, username, password, role, holder_id=holder, operator_of=operator_of, display_name=name,
            territory_id=territory, email=email,
        )
    console.print(f"account [bold]{a.username}[/] ({a.role.value}) created")


@user_app.command("list")
def user_list(database_url: DbOption = None, fmt: FormatOption = Format.table) -> None:
    """The accounts, their roles and links (never a password hash)."""
    from regie.governance import accounts

    store = _open(database_url)
    found = accounts.list_accounts(store)
    store.close()
    columns = (Column("username", "username", "id"), Column("role", "role"), Column("holder", "holder", ratio=2),
               Column("operator_of", "operator of", ratio=2), Column("created", "created (UTC)", "time"),
               Column("disabled", "disabled (UTC)", "time"))  # fmt: skip
    rows = [{"username": a.username, "role": a.role.value, "holder": a.holder_id, "operator_of": a.operator_of,
             "created": a.created_at, "disabled": a.disabled_at} for a in found]  # fmt: skip
    emit(rows, columns, fmt, title="accounts")


@user_app.command("passwd")
def user_passwd(
    username: Annotated[str, typer.Argument()],
    password_stdin: Annotated[bool, typer.Option(help="read the password from standard input")] = False,
    database_url: DbOption = None,
) -> None:
    """Set a new password; the account's open sessions end."""
    from regie.governance import accounts

    password = _new_password(password_stdin)
    with command_store(database_url, ValueError) as store:
        accounts.set_password(store, username, password)
    console.print(f"password of [bold]{username}[/] changed")


@user_app.command("disable")
def user_disable(username: Annotated[str, typer.Argument()], database_url: DbOption = None) -> None:
    """Disable an account at once: no login, no session, the gate refuses it."""
    from regie.governance import accounts

    with command_store(database_url, ValueError) as store:
        accounts.disable_account(store, username)
    console.print(f"account [bold]{username}[/] disabled")


def _grant_zone(store, subject: str, prms: list[str]) -> ZoneInfo:
    """The zone a grant's days are read in: that of the territory of its delivery points (else of its subject;
    else the store's only territory), as the gate reads the holding periods — never the store's first territory.
    Points of territories in different zones cannot share one grant's days: refused."""
    from regie.governance import territories

    found = {territories.of_prm(store, p) for p in prms} - {None} or {territories.of_holder(store, subject)} - {None}
    if not found:
        every = territories.list_territories(store)
        if len(every) != 1:
            raise ValueError(f"{subject} is in no territory of this store: which time zone its days are in is unknown")
        return every[0].zone
    zones = {t.timezone for tid in found if (t := territories.get_territory(store, tid)) is not None}
    if len(zones) != 1:
        raise ValueError(f"these delivery points are in territories of different time zones "
                         f"({', '.join(sorted(found))}): give one grant per territory")  # fmt: skip
    return ZoneInfo(zones.pop())


def _local_instant(zone: ZoneInfo, day: str) -> int:
    """Midnight starting ``day`` (YYYY-MM-DD) in ``zone``."""
    from datetime import date, datetime

    d = date.fromisoformat(day)
    return int(datetime(d.year, d.month, d.day, tzinfo=zone).timestamp())


@consent_app.command("grant")
def consent_grant(
    subject: Annotated[str, typer.Option(help="the data subject: person or organisation id")],
    to: Annotated[str, typer.Option(
        help="recipient as KIND:ID, KIND = account, organisation or operation; for an ACC operation's allocation "
        "the recipient is its PMO (organisation:PMO_ID) or the operation itself (operation:OPERATION_ID); "
        "peer:PEER_ID a peer régie (docs/federation.md)")],
    purpose: Annotated[str, typer.Option(help="a DPV purpose, e.g. dpv:FulfilmentOfContractualObligation")],
    data_from: Annotated[str, typer.Option("--from", help="first day of data covered (YYYY-MM-DD, local)")],
    expires: Annotated[str, typer.Option(help="last day the grant is valid (YYYY-MM-DD), at most 3 years ahead")],
    category: Annotated[list[str] | None, typer.Option(help="series kind; repeat (default consumption)")] = None,
    prm: Annotated[list[str] | None, typer.Option(help="delivery point; repeat (default: all held)")] = None,
    granularity: Annotated[
        str, typer.Option(help="raw, PT10M, PT15M, PT30M, P1D or P1M: the finest step the recipient sees")
    ] = "P1D",
    data_until: Annotated[str | None, typer.Option("--until", help="day after the last day of data covered")] = None,
    database_url: DbOption = None,
) -> None:
    """Record a grant given by a data subject (on paper, or by e-mail, to an admin)."""
    from regie.governance import consent
    from regie.governance.accounts import CLI_ADMIN

    kind, _, recipient = to.partition(":")
    with command_store(database_url, ValueError) as store:
        if not prm:
            prm = sorted(consent.held_prms(store, subject))
        zone = _grant_zone(store, subject, prm)  # the points' own territory's days
        g = consent.grant(
            store, CLI_ADMIN, subject_id=subject, recipient_kind=kind, recipient_id=recipient,
            categories=category or ["consumption"], prms=prm, granularity=granularity,
            data_start=_local_instant(zone, data_from),
            data_end=_local_instant(zone, data_until) if data_until else None,
            purpose=purpose, expires_at=_local_instant(zone, expires) + 86400,
        )  # fmt: skip
    console.print(f"grant [bold]{g.id}[/] given by {subject} to {g.recipient} ({granularity}, {purpose})")


@consent_app.command("list")
def consent_list(
    subject: Annotated[str | None, typer.Option(help="only this data subject's grants")] = None,
    receipt: Annotated[str | None, typer.Option(help="print this grant's JSON-LD receipt instead")] = None,
    database_url: DbOption = None,
    fmt: FormatOption = Format.table,
) -> None:
    """The grants and their status now (PRMs masked); or one grant's JSON-LD receipt."""
    import json

    from regie.governance import consent
    from regie.model import mask_prm

    with command_store(database_url, ValueError) as store:
        if receipt:
            typer.echo(json.dumps(consent.receipt(store, receipt), ensure_ascii=False, indent=2))
            return
        grants = consent.list_grants(store, subject_id=subject)
    now = int(time.time())
    columns = (Column("id", "id", "id"), Column("subject", "subject", ratio=2),
               Column("recipient", "recipient", ratio=3), Column("categories", "categories", "list", ratio=2),
               Column("prms", "PRMs", "list", ratio=2),
               Column("granularity", "step"), Column("purpose", "purpose", ratio=2), Column("status", "status"),
               Column("expires", "expires (UTC)", "time"))  # fmt: skip
    rows = [{"id": g.id, "subject": g.subject_id, "recipient": g.recipient, "categories": sorted(g.categories),
             "prms": [mask_prm(p) for p in g.prms], "granularity": g.granularity.value, "purpose": g.purpose,
             "status": g.status_at(now).value, "expires": g.expires_at} for g in grants]  # fmt: skip
    emit(rows, columns, fmt, title="consent grants")


@consent_app.command("withdraw")
def consent_withdraw(
    consent_id: Annotated[str, typer.Argument(help="the grant id (or its first characters)")],
    database_url: DbOption = None,
) -> None:
    """Withdraw a grant on the data subject's instruction: reads under it are refused from now on."""
    from regie.governance import consent
    from regie.governance.accounts import CLI_ADMIN

    with command_store(database_url, ValueError) as store:
        found = [g.id for g in consent.list_grants(store) if g.id.startswith(consent_id)]
        if len(found) != 1:
            raise typer.BadParameter(f"{len(found)} grants match {consent_id!r}")
        consent.withdraw(store, found[0], CLI_ADMIN)
    console.print(f"grant [bold]{found[0]}[/] withdrawn")


@audit_app.command("verify")
def audit_verify(
    export: Annotated[Path | None, typer.Option(help="verify this export file instead of the database")] = None,
    public_key: Annotated[
        Path | None, typer.Option(help="the régie's public key (PEM); by default the data dir's, or the export's")
    ] = None,
    head: Annotated[Path | None, typer.Option(help="the signed head file, if not the data dir's one")] = None,
    database_url: DbOption = None,
) -> None:
    """Re-hash the access log, check it against its signed checkpoints and the signed head kept in the data
    dir; print size, head hash, last checkpoint and external head; exit 1 and name each problem if not."""
    from regie.governance import audit, audit_export, log_head

    if export is not None:
        _verify_export(export, public_key)
        return
    data_dir = get_settings().data_dir
    public = audit_export.load_public_key(public_key) if public_key else _data_dir_public_key(data_dir)
    with command_store(database_url, ValueError) as store:
        head_file = head or log_head.head_path(data_dir, str(store.engine.url))
        external = log_head.read_head(head_file)
        result = audit.verify(store, public, external, expect_signed=True)
    _print_state(result, head_file, signatures=public is not None)
    for p in result.problems:
        console.print(f"[red]entry {p.seq}: {p.what}[/] — {p.message}")
    if not result.ok:
        raise typer.Exit(1)
    console.print(f"access log intact: {result.size:,} entries, {result.checkpoints} signed checkpoint(s)")


def _data_dir_public_key(data_dir: Path):
    from regie.governance import keys

    if not (keys.keys_dir(data_dir) / keys.AUDIT_KEY_FILE).exists():
        return None
    return keys.load_or_create_signing_key(data_dir).public_key()


def _print_state(result, head_file: Path | None, *, signatures: bool) -> None:
    cp, h = result.last_checkpoint, result.external_head
    where = f" ({head_file})" if head_file is not None else ""
    lines = [
        f"entries: {result.size:,}",
        f"head hash: {result.head_hash}",
        f"last checkpoint: entry {cp.size}, {_utc(cp.at)} UTC, key {cp.key_id}" if cp else "last checkpoint: none",
        f"signed head outside the database: entry {h.size}, {_utc(h.at)} UTC{where}"
        if h
        else f"signed head outside the database: none{where}",
        f"entries not signed yet: {result.unsigned:,}",
    ]
    for line in lines:
        console.print(line, soft_wrap=True, highlight=False)
    if not signatures:
        console.print("[yellow]no public key: signatures not checked (pass --public-key)[/]")


def _verify_export(path: Path, public_key: Path | None) -> None:
    from regie.governance import audit_export

    try:
        check = audit_export.verify_export(path, audit_export.load_public_key(public_key) if public_key else None)
    except (OSError, ValueError) as exc:
        raise typer.BadParameter(str(exc)) from None
    _print_state(check.verification, None, signatures=True)
    if check.key_from_file:
        console.print(
            f"[yellow]checked with the key inside the export (id {check.key_id}): compare this id with the one "
            "the régie publishes, or pass --public-key[/]"
        )
    for p in check.problems:
        console.print(f"[red]entry {p.seq}: {p.what}[/] — {p.message}")
    if not check.ok:
        raise typer.Exit(1)
    console.print(f"export intact: {check.verification.size:,} entries, all signed by key {check.key_id}")


@audit_app.command("checkpoint")
def audit_checkpoint(database_url: DbOption = None) -> None:
    """Sign the log's current size and head with the régie's Ed25519 key (created in the data dir if needed)
    and write it to the signed head file; refused if the log no longer extends the last signed head."""
    from regie.governance import audit, keys, log_head

    data_dir = get_settings().data_dir
    key = keys.load_or_create_signing_key(data_dir)
    with command_store(database_url, audit.LogTampered, ValueError) as store:
        cp = log_head.checkpoint_and_publish(store, key, log_head.head_path(data_dir, str(store.engine.url)))
    console.print(f"checkpoint at entry {cp.size}: head {cp.head_hash[:16]}…, key {cp.key_id}")


@audit_app.command("export")
def audit_export_command(
    output: Annotated[Path, typer.Argument(help="file to write (JSON Lines)")],
    database_url: DbOption = None,
) -> None:
    """Sign the log, then write its entries, checkpoints, signed head and public key in one file that anyone
    can check with `regie audit verify --export FILE --public-key KEY` (format in docs/audit.md)."""
    from regie.governance import audit, audit_export, keys, log_head

    data_dir = get_settings().data_dir
    key = keys.load_or_create_signing_key(data_dir)
    with command_store(database_url, audit.LogTampered, ValueError) as store, open(output, "w", encoding="utf-8") as fh:
        n = audit_export.export(store, key, log_head.head_path(data_dir, str(store.engine.url)), fh)
    console.print(f"{n:,} entries written to {output}, signed by key {keys.key_id(key)}")


@audit_app.command("key")
def audit_key() -> None:
    """Print the régie's public key (PEM; its id on stderr): what to publish so anyone can check the log."""
    from regie.governance import keys

    key = keys.load_or_create_signing_key(get_settings().data_dir)
    typer.echo(keys.public_key_pem(key), nl=False)  # `regie audit key > regie.pub` gives a PEM file
    typer.echo(f"key id {keys.key_id(key)}", err=True)


@member_app.command("export")
def member_export(
    holder: Annotated[str, typer.Argument(help="person or organisation id")],
    output: Annotated[Path, typer.Option(help="zip file to write")],
    database_url: DbOption = None,
) -> None:
    """Everything regie holds about a member in one zip: series as CSV, the rest as JSON-LD (logged)."""
    from regie.governance import rights
    from regie.governance.accounts import CLI_ADMIN

    with command_store(database_url, ValueError, LookupError, PermissionError) as store:
        blob = rights.export_member(store, CLI_ADMIN, holder)
    output.write_bytes(blob)
    console.print(f"export of [bold]{holder}[/] written to {output} ({len(blob):,} bytes)")


@member_app.command("erase")
def member_erase(
    holder: Annotated[str, typer.Argument(help="person or organisation id")],
    yes: Annotated[bool, typer.Option("--yes", help="confirm: this cannot be undone")] = False,
    database_url: DbOption = None,
) -> None:
    """Erase a member's personal series, memberships and accounts; withdraw their grants (logged)."""
    from regie.governance import rights
    from regie.governance.accounts import CLI_ADMIN

    if not yes:
        raise typer.BadParameter("erasure cannot be undone: add --yes")
    from regie.store.archives import ArchiveUnreachable

    store = _open(database_url)
    try:
        r = rights.erase_member(store, CLI_ADMIN, holder)
    except ArchiveUnreachable as exc:  # an archived year's lake: nothing was erased, run it again once reachable
        console.print(f"[red]{exc}[/]")
        raise typer.Exit(75) from None  # EX_TEMPFAIL
    finally:
        store.close()
    console.print(
        f"erased {holder}: {len(r.series_erased)} series, {r.memberships} membership(s), {r.accounts} account(s), "
        f"{r.keys} API key(s), {r.grants_withdrawn} grant(s) withdrawn"
    )
    if r.archive.files:
        console.print(f"{r.archive.rows:,} point(s) taken out of {len(r.archive.files)} file(s) in the lake where "
                      "years were archived")  # fmt: skip
    for note in r.notes:
        console.print(f"[yellow]{note}[/]")


@member_app.command("correct")
def member_correct(
    holder: Annotated[str, typer.Argument(help="person or organisation id")],
    name: Annotated[str | None, typer.Option(help="corrected name")] = None,
    email: Annotated[str | None, typer.Option(help="corrected e-mail address")] = None,
    database_url: DbOption = None,
) -> None:
    """Correct a member's name or e-mail address (logged, without the values)."""
    from regie.governance import rights
    from regie.governance.accounts import CLI_ADMIN

    with command_store(database_url, ValueError, LookupError) as store:
        changed = rights.correct_details(store, CLI_ADMIN, holder, name=name, email=email)
    console.print(f"corrected {', '.join(changed) or 'nothing'} for {holder}")
