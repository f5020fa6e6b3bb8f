"""`regie export parquet DEST`: the stored readings as a Parquet lake for Spark and DuckDB (docs/lake.md).

Every value leaves through the gate and each personal series read is logged: by default as the régie's own
lake account with its reason; with ``--as`` as that account, whose consent grants decide which personal
series leave (the others are withheld and listed).
"""

from __future__ import annotations

from typing import Annotated

import typer

from regie.cli._app import DbOption, app, command_store, console

export_app = typer.Typer(help="export the stored readings (a Parquet lake for Spark, DuckDB)")
app.add_typer(export_app, name="export")


@export_app.command("parquet")
def export_parquet(
    dest: Annotated[str, typer.Argument(help="a folder, or s3://bucket/prefix (credentials: AWS_* variables)")],
    territory: Annotated[list[str] | None, typer.Option(help="only this territory (repeat for several)")] = None,
    as_user: Annotated[str | None, typer.Option("--as", help="export as this account: its grants decide")] = None,
    purpose: Annotated[str, typer.Option(help="the DPV purpose of the reads")] = "dpv:CombatClimateChange",
    reason: Annotated[str | None, typer.Option(help="an admin's reason (kept in the access log)")] = None,
    s3_endpoint: Annotated[str | None, typer.Option(help="S3-compatible endpoint URL (MinIO, Garage...)")] = None,
    database_url: DbOption = None,
) -> None:
    """Write the changed partitions (territory / kind / month, zstd) and the series metadata, atomically."""
    from regie.governance.accounts import get_account
    from regie.lake.export import LAKE, LAKE_REASON, export_lake

    options = {"endpoint_url": s3_endpoint} if s3_endpoint else None
    with command_store(database_url, ValueError, LookupError) as store:
        caller, why = LAKE, reason or LAKE_REASON
        if as_user is not None:
            account = get_account(store, as_user)
            if account is None or not account.active:
                raise typer.BadParameter(f"no active account {as_user!r}", param_hint="--as")
            caller, why = account, reason
        report = export_lake(store, dest, caller=caller, reason=why, territories=territory, purpose=purpose,
                             storage_options=options)  # fmt: skip
    console.print(f"{len(report.written)} partition(s) written ({report.rows:,} rows), {report.unchanged} unchanged, "
                  f"{len(report.removed)} removed, in {report.seconds:.1f} s → {dest}")  # fmt: skip
    if report.withheld:
        names = sorted(report.withheld)
        more = " ..." if len(names) > 10 else ""
        console.print(f"{len(names)} personal series withheld (no grant for {caller.label}): "
                      f"{', '.join(names[:10])}{more}")  # fmt: skip


@app.command("archive")
def archive(
    year: Annotated[int, typer.Argument(help="the year whose readings leave the store (territory-local year)")],
    to: Annotated[str, typer.Option("--to", help="the lake: a folder, or s3://bucket/prefix")],
    s3_endpoint: Annotated[str | None, typer.Option(help="S3-compatible endpoint URL (MinIO, Garage...)")] = None,
    database_url: DbOption = None,
) -> None:
    """Move a year of readings from PostgreSQL into the Parquet lake: exported, verified, dropped (docs/lake.md)."""
    from regie.lake.archive import ArchiveError, archive_year

    options = {"endpoint_url": s3_endpoint} if s3_endpoint else None
    with command_store(database_url, ValueError, LookupError, ArchiveError) as store:
        report = archive_year(store, year, to, storage_options=options)
    if report.already:
        console.print(f"{year} was already archived to {report.dest} ({report.points:,} points)")
        return
    console.print(f"{year}: {report.points:,} points in {report.chunks:,} chunks exported to {report.dest}, verified "
                  f"(checksum {report.checksum}) and dropped from the store, in {report.seconds:.1f} s; "
                  f"{len(report.files)} archive file(s)")  # fmt: skip
