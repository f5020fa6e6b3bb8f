"""The ``regie`` command."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from regie.config import get_settings

app = typer.Typer(help="regie — an energy-data trust for local energy communities.", no_args_is_help=True)
console = Console()


def _sqlite_url(path: Path) -> str:
    return f"sqlite:///{path.expanduser().resolve()}"


@app.command()
def init(database_url: Annotated[str | None, typer.Option(help="overrides REGIE_DATABASE_URL")] = None) -> None:
    """Create the store (or migrate it to the newest schema)."""
    from regie.store import open_store

    url = database_url or get_settings().resolved_database_url
    open_store(url).close()
    console.print(f"store ready: [bold]{_redact(url)}[/]")


def _redact(url: str) -> str:
    """Never print a database password."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def build_demo(url: str, seed: int) -> None:
    from regie.demo import build_prats
    from regie.demo.install import install
    from regie.store import open_store

    t0 = time.perf_counter()
    with console.status("generating the Prats-de-Mollo-la-Preste year (demandlib, pvlib)..."):
        demo = build_prats(seed=seed)
    t1 = time.perf_counter()
    store = open_store(url)
    if store.count_points():
        store.close()
        raise typer.BadParameter(f"{_redact(url)} already holds data; choose an empty path or remove it first")
    columns = (TextColumn("writing series"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console) as progress:
        task = progress.add_task("write", total=len(demo.inventory.series))
        report = install(store, demo, progress=lambda n: progress.advance(task, n))
    t2 = time.perf_counter()
    store.close()
    table = Table(title=f"demo territory: {demo.inventory.territory.name}")
    table.add_column("what")
    table.add_column("value", justify="right")
    table.add_row("delivery points", f"{len(demo.inventory.delivery_points):,}")
    table.add_row("series", f"{report.series:,}")
    table.add_row("points written", f"{report.points:,}")
    table.add_row("generate", f"{t1 - t0:.1f} s")
    table.add_row("write", f"{t2 - t1:.1f} s")
    table.add_row("store", _redact(url))
    console.print(table)


@app.command()
def demo(
    build_only: Annotated[
        Path | None, typer.Option("--build-only", help="build the demo store at this path and exit")
    ] = None,
    seed: Annotated[int, typer.Option(help="random seed: the same seed gives the same year")] = 42,
    host: Annotated[str | None, typer.Option(help="address to serve on")] = None,
    port: Annotated[int | None, typer.Option(help="port to serve on")] = None,
) -> None:
    """Build the demo territory (Prats-de-Mollo-la-Preste, one year at 30 min) and serve the web UI."""
    settings = get_settings()
    if build_only is not None:
        build_demo(_sqlite_url(build_only), seed)
        return
    path = settings.data_dir / "demo.sqlite"
    url = _sqlite_url(path)
    if path.exists():
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
    build_demo(url, seed)
    _serve(url, host or settings.host, port or settings.port)


@app.command()
def serve(
    database_url: Annotated[str | None, typer.Option(help="overrides REGIE_DATABASE_URL")] = None,
    host: Annotated[str | None, typer.Option(help="address to serve on")] = None,
    port: Annotated[int | None, typer.Option(help="port to serve on")] = None,
) -> None:
    """Serve the web UI and the API on a store."""
    settings = get_settings()
    _serve(database_url or settings.resolved_database_url, host or settings.host, port or settings.port)


def _serve(url: str, host: str, port: int) -> None:
    import uvicorn

    from regie.store import open_store
    from regie.web.app import create_app

    store = open_store(url)
    console.print(f"serving [bold]{_redact(url)}[/] on [link]http://{host}:{port}/[/link]  (Ctrl-C to stop)")
    uvicorn.run(create_app(store), host=host, port=port, log_level="info")


if __name__ == "__main__":
    app()
