"""`regie demo`: build a demo territory (the Prats village, or a town's schools) and serve it."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from regie.cli._app import _redact, _sqlite_url, app, console
from regie.cli.serve import _serve
from regie.config import get_settings


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
    from regie.governance.log_head import notary_for_new_store

    notary = notary_for_new_store(store, get_settings().data_dir)  # the accounts below are logged, then signed
    columns = (TextColumn("writing series"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console) as progress:
        task = progress.add_task("write", total=len(demo.inventory.series))
        report = install(store, demo, progress=lambda n: progress.advance(task, n))
    t2 = time.perf_counter()
    from regie.governance.demo_accounts import create_demo_accounts

    logins = create_demo_accounts(store)  # random passwords, shown below once, only their hashes stored
    from regie.demo.acc_accounts import create_acc_demo_accounts

    logins += create_acc_demo_accounts(store)  # the ACC operation's PMO, one participant, the participants' grants
    notary.seal(store)
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
    people = Table(title="demo accounts (passwords drawn at random for this build, shown once)")
    for col in ("username", "role", "holder / operator of", "password"):
        people.add_column(col)
    for a in logins:
        people.add_row(a.username, a.role, a.holder_id or a.operator_of or "", a.password)
    console.print(people)
    console.print("membre1 has granted the commune daily access; the commune has asked membre2 for the same.")
    console.print(
        "pmo runs the collective self-consumption operation (/acc), whose participants granted it their "
        "30-minute curves; participant is one of its households."
    )


@app.command()
def demo(
    build_only: Annotated[
        Path | None, typer.Option("--build-only", help="build the demo store at this path and exit")
    ] = None,
    seed: Annotated[int, typer.Option(help="random seed: the same seed gives the same year")] = 42,
    host: Annotated[str | None, typer.Option(help="address to serve on")] = None,
    port: Annotated[int | None, typer.Option(help="port to serve on")] = None,
    scenario: Annotated[
        str, typer.Option(help="prats (a village's year at 30 min), schools (a town's schools, live feed) or "
                          "region (N villages, one store each, exported to a Parquet lake)")
    ] = "prats",
    territories: Annotated[int, typer.Option(help="region: how many villages")] = 10,
) -> None:
    """Build the demo territory (Prats-de-Mollo-la-Preste, one year at 30 min) and serve the web UI."""
    settings = get_settings()
    if scenario == "region":
        build_region_demo(build_only or settings.data_dir / "region", territories, seed)
        return
    if scenario == "schools":
        _demo_schools(settings, build_only, seed, host, port)
        return
    if scenario != "prats":
        raise typer.BadParameter(f"unknown scenario {scenario!r}: prats, schools or region")
    if build_only is not None:
        build_demo(_sqlite_url(build_only), seed)
        return
    path = settings.data_dir / "demo.sqlite"
    url = _sqlite_url(path)
    if path.exists():
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
    build_in_child(path, seed)
    _serve(url, host or settings.host, port or settings.port, setup=_replay_signal)


def build_in_child(path: Path, seed: int) -> None:
    """Build the demo store with ``regie demo --build-only`` in a process of its own, which gives all its
    memory back when it exits: the year's generation (demandlib, pvlib, scipy) and its writing peak above 700 MB,
    and a process that built then served kept most of it (glibc does not give every freed page back); the
    server started afterwards is as small as ``regie serve`` on the same store (docs/footprint.md)."""
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-m", "regie.cli", "demo", "--build-only", str(path), "--seed", str(seed)])
    if done.returncode != 0:
        raise typer.Exit(done.returncode)


def _replay_signal(web) -> None:
    """The demo's year ended long before today: its "when to consume" signal is shown as it was at noon on the
    demo's last day (docs/signal.md), where "now" would only say that the public data stopped."""
    from datetime import datetime, time

    period = web.state.store.data_period()
    if period is not None:
        zone = web.state.store.load_inventory().territory.zone
        last = period[1].astimezone(zone).date()  # the day of the last reading
        web.state.signal_at = datetime.combine(last, time(12), zone).timestamp()


def build_schools_demo(url: str, seed: int) -> tuple[object, str, str]:
    """Build the schools territory into an empty store: (data, admin password, API key of the live feed)."""
    import secrets

    from regie.demo.schools import build_schools
    from regie.demo.schools_live import install_schools
    from regie.governance import accounts
    from regie.ingest import apikeys
    from regie.store import open_store

    with console.status("generating the schools' two years (hourly) and last weeks (10 s)..."):
        data = build_schools(seed=seed)
    store = open_store(url)
    try:
        if store.count_points():
            raise typer.BadParameter(f"{_redact(url)} already holds data; choose an empty path or remove it first")
        from regie.governance.log_head import notary_for_new_store

        notary = notary_for_new_store(store, get_settings().data_dir)
        with console.status("writing the schools' series..."):
            points = install_schools(store, data)
        password = secrets.token_urlsafe(12)
        accounts.create_account(store, "admin", password, "admin")
        _, key = apikeys.create_key(store, "schools demo live feed", ["ingest"])
        notary.seal(store)
    finally:
        store.close()
    console.print(f"demo territory: [bold]{data.inventory.territory.name}[/], {points:,} points in {_redact(url)}")
    return data, password, key


def _demo_schools(settings, build_only: Path | None, seed: int, host: str | None, port: int | None) -> None:
    """``regie demo --scenario schools``: its own store, served with a live feed posting to /input/bulk."""
    from regie.demo import schools
    from regie.demo.schools_live import LiveFeed, savings_presets

    path = build_only or settings.data_dir / "demo-schools.sqlite"
    if build_only is None and path.exists():
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    url = _sqlite_url(path)
    data, password, key = build_schools_demo(url, seed)
    console.print(f"log in as [bold]admin[/] with password [bold]{password}[/] (drawn for this build, shown once)")
    if build_only is not None:
        return
    host, port = host or settings.host, port or settings.port

    def setup(web):
        web.state.savings_presets = savings_presets(data)  # type: ignore[arg-type]
        web.state.savings_day_types = {s["series"]: schools.day_types for s in web.state.savings_presets}
        feed = LiveFeed(f"http://{host}:{port}", key, data).start()  # type: ignore[arg-type]
        console.print("live feed: the three schools post every 10 s to /input/bulk — see /live")
        return feed.stop

    _serve(url, host, port, setup=setup)


def build_region_demo(folder: Path, n: int, seed: int,
                      on_village: Callable[[str, dict[str, float]], None] | None = None) -> float:  # fmt: skip
    """``regie demo --scenario region``: N villages, each in its own store ``FOLDER/village-NNN.sqlite`` (each
    régie keeps its own), all exported to one lake ``FOLDER/lake``; returns the seconds it took.
    ``on_village(territory, seconds)`` hears of each village built: seconds to generate, install and export it
    (``bench/scale.py --build-only``)."""
    from regie.demo.install import install
    from regie.demo.region import build_region
    from regie.lake.export import export_lake
    from regie.store import open_store

    if n < 1:
        raise typer.BadParameter(f"--territories {n}: a region needs at least one village")
    folder.mkdir(parents=True, exist_ok=True)
    lake = folder / "lake"
    t0 = time.perf_counter()
    points = 0
    columns = (TextColumn("villages"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console) as progress:
        task = progress.add_task("region", total=n)
        villages = build_region(n, seed)
        while True:
            t_village = time.perf_counter()
            village = next(villages, None)
            if village is None:
                break
            seconds = {"generate": time.perf_counter() - t_village}
            path = folder / f"{village.inventory.territory.id}.sqlite"
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
            store = open_store(_sqlite_url(path))
            try:
                t_phase = time.perf_counter()
                points += install(store, village).points
                seconds["install"] = time.perf_counter() - t_phase
                t_phase = time.perf_counter()
                export_lake(store, str(lake))
                seconds["export"] = time.perf_counter() - t_phase
            finally:
                store.close()
            if on_village:
                on_village(village.inventory.territory.id, seconds)
            progress.advance(task)
    seconds = time.perf_counter() - t0
    console.print(f"{n} villages, {points:,} points, in {seconds:.0f} s: stores in {folder}, lake in {lake}")
    console.print(f"next: regie cluster balance {lake} --from 2025-01-01 --until 2026-01-01 --master local[2]")
    return seconds
