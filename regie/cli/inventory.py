"""`regie inventory`: the territory's inventory as a workbook (XLSX, ODS or a folder of CSV files)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from regie.cli._app import DbOption, _open, app, console
from regie.failures import ExitCode

inventory_app = typer.Typer(
    help="The inventory as a workbook (docs/inventory.md): export, import (all or nothing), template.",
    no_args_is_help=True,
)
app.add_typer(inventory_app, name="inventory")

#: Lines of detail shown per sheet and action before "... and N more".
DETAIL = 20
#: Keys named per reason an absent object was kept.
KEPT_SHOWN = 3


def _territory(store, territory: str | None) -> str:
    """The territory asked for, else the store's only one (a store of several: an error naming them)."""
    if territory is not None:
        return territory
    try:
        return store.sole_territory_id()
    except LookupError as exc:
        raise typer.BadParameter(str(exc), param_hint="--territory") from None


@inventory_app.command("export")
def export_command(
    file: Annotated[Path, typer.Argument(help="FILE.xlsx, FILE.ods, or a folder for CSV files")],
    territory: Annotated[str | None, typer.Option(help="territory id (default: the store's only one)")] = None,
    database_url: DbOption = None,
) -> None:
    """Write the territory's inventory as a workbook, to edit and import again."""
    from regie.inventory import book_of, write_book

    store = _open(database_url)
    try:
        tid = _territory(store, territory)
        try:
            book = book_of(store, tid)
        except LookupError as exc:
            raise typer.BadParameter(str(exc), param_hint="--territory") from None
        write_book(file, book)
    finally:
        store.close()
    counts = ", ".join(f"{len(rows)} {name}" for name, rows in book.items() if name != "about")
    console.print(f"wrote the inventory of [bold]{tid}[/] to {escape(str(file))}: {counts}")


@inventory_app.command("template")
def template_command(
    file: Annotated[Path, typer.Argument(help="FILE.xlsx, FILE.ods, or a folder for CSV files")],
) -> None:
    """Write a blank workbook: every sheet with its columns and one example row."""
    from regie.inventory import template, write_book

    write_book(file, template())
    console.print(f"wrote a blank inventory workbook to {escape(str(file))} (docs/inventory.md describes it)")


def _value(v: str | None) -> str:
    return "∅" if v is None else v


def _print_changes(changes) -> None:
    counts = changes.counts()
    if not counts:
        console.print("nothing to change: the store already holds this inventory")
        return
    table = Table(title="inventory changes")
    for col in ("sheet", "added", "changed", "ended", "removed", "kept"):
        table.add_column(col, justify="left" if col == "sheet" else "right")
    for name, c in counts.items():
        table.add_row(name, *(str(c[a]) for a in ("added", "changed", "ended", "removed", "kept")))
    console.print(table)
    marks = {"added": "+", "changed": "~", "ended": "⏹", "removed": "-"}
    for name, sc in changes.sheets.items():
        for action in ("added", "changed", "ended", "removed"):
            items = getattr(sc, action)
            for c in items[:DETAIL]:
                if action == "changed" or action == "ended":
                    what = "; ".join(f"{col}: {_value(c.before.get(col))} → {_value(c.after.get(col))}"
                                     for col in c.columns)
                else:
                    what = ""
                line = f"  {marks[action]} {name} {escape(c.key)} {escape(what)}".rstrip()
                console.print(line, highlight=False, soft_wrap=True)
            if len(items) > DETAIL:
                console.print(f"  ... and {len(items) - DETAIL} more {action} in {name}")
        by_reason: dict[str, list[str]] = {}
        for k in sc.kept:
            by_reason.setdefault(k.reason, []).append(k.key)
        for reason, keys in by_reason.items():
            more = len(keys) - KEPT_SHOWN
            shown = ", ".join(keys[:KEPT_SHOWN]) + (f" and {more} more" if more > 0 else "")
            console.print(f"  = {len(keys)} {name} ({escape(shown)}): {escape(reason)}", highlight=False,
                          soft_wrap=True)


@inventory_app.command("import")
def import_command(
    file: Annotated[Path, typer.Argument(help="FILE.xlsx, FILE.ods, or a folder of CSV files")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="show what would change, change nothing")] = False,
    remove: Annotated[
        bool, typer.Option("--remove", help="remove what is absent from the file (only what has no readings)")
    ] = False,
    yes: Annotated[
        bool, typer.Option("--yes", help="with --remove: also remove absent objects that have readings, with them")
    ] = False,
    territory: Annotated[
        str | None, typer.Option(help="territory id (default: the workbook's about sheet)")
    ] = None,
    as_user: Annotated[str | None, typer.Option("--as", help="apply as this admin account (username)")] = None,
    database_url: DbOption = None,
) -> None:
    """Show what the workbook changes (added / changed / ended / removed, per sheet) and apply it all or
    nothing. Every problem is listed with its sheet, row and column, and then nothing changes. What is
    absent from the file is kept unless --remove; what has readings only with --remove --yes."""
    from regie.governance.accounts import CLI_ADMIN, get_account
    from regie.inventory import InventoryProblems, WorkbookError, apply_book, read_book

    try:
        book = read_book(file)
    except WorkbookError as exc:
        console.print(f"[red]error:[/] {escape(str(exc))}", soft_wrap=True)
        raise typer.Exit(int(ExitCode.NO_INPUT if not file.exists() else ExitCode.DATA)) from None
    if territory is None:
        about = book.get("about") or []
        territory = (about[0].get("territory") if about else None) or None
    if yes and not remove:
        raise typer.BadParameter("--yes confirms --remove: give both", param_hint="--yes")
    store = _open(database_url)
    try:
        tid = _territory(store, territory)
        actor = CLI_ADMIN
        if as_user is not None:
            actor = get_account(store, as_user)
            if actor is None:
                raise typer.BadParameter(f"no account {as_user!r}", param_hint="--as")
        try:
            changes = apply_book(store, actor, tid, book, dry_run=dry_run, remove=remove, remove_data=yes,
                                 via=file.name)
        except InventoryProblems as exc:
            n = len(exc.problems)
            console.print(f"[red]not imported[/] (nothing changed): {n} problem(s) in {escape(file.name)}")
            for p in exc.problems:
                console.print(f"  {escape(str(p))}", highlight=False, soft_wrap=True)
            raise typer.Exit(int(ExitCode.DATA)) from None
        except PermissionError as exc:
            console.print(f"[red]refused:[/] {escape(str(exc))}")
            raise typer.Exit(int(ExitCode.NO_PERMISSION)) from None
    finally:
        store.close()
    _print_changes(changes)
    if dry_run:
        console.print("dry run: nothing changed")
    elif not changes.empty:
        console.print(f"applied to territory [bold]{tid}[/] in one transaction; each change is in the access log")
