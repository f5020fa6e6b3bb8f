"""`regie footprint`: bytes per point, storage per year, CPU per point and per page, kWh and gCO2e a year —
regie's store and emoncms's PHPFina side by side (docs/footprint.md)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Annotated

import typer
from rich.table import Table

from regie.cli._app import DbOption, app, command_store, console, load_settings

ServerOption = Annotated[
    str | None,
    typer.Option(help="the running `regie serve` whose /metrics hold the CPU figures (default: host and port setting)"),
]


def read_server_cpu(url: str, timeout: float = 5.0):
    """The CPU meter of the server at ``url`` (its /metrics, open to this machine), or (None, why not)."""
    from regie.operations.footprint import cpu_from_metrics

    try:
        with urllib.request.urlopen(url.rstrip("/") + "/metrics", timeout=timeout) as reply:
            figures = cpu_from_metrics(reply.read().decode())
    except (urllib.error.URLError, OSError, ValueError) as exc:
        return None, f"no regie serve answered at {url} ({getattr(exc, 'reason', exc)})"
    if figures is None:
        return None, f"{url}/metrics has no CPU meter (not regie, or an older regie)"
    return figures, None


@app.command()
def footprint(
    as_json: Annotated[bool, typer.Option("--json", help="print the figures as JSON")] = False,
    server: ServerOption = None,
    window_days: Annotated[int | None, typer.Option(help="days of data the ingest rate is measured over")] = None,
    database_url: DbOption = None,
) -> None:
    """What the data costs: storage, CPU, energy and carbon a year at the current rate, with emoncms's beside."""
    from regie.operations.footprint import Factors
    from regie.operations.footprint import footprint as measure

    settings = load_settings()
    url = server or f"http://{settings.host}:{settings.port}"
    if not url.startswith(("http://", "https://")):
        raise typer.BadParameter(f"{url!r} is not an http(s) address", param_hint="--server")
    cpu, why = read_server_cpu(url)
    with command_store(database_url) as store:
        result = measure(
            store, Factors.from_settings(settings), cpu, window_days=window_days or settings.footprint_window_days
        )
    if as_json:
        out = result.as_dict()
        out["cpu_source"] = url if cpu is not None else None
        out["cpu_missing"] = why
        typer.echo(json.dumps(out, indent=2))
        return
    console.print(table(result))
    if cpu is None:
        console.print(f"[yellow]CPU not measured:[/] {why}. Start `regie serve` and let it work, then ask again.")
    else:
        console.print(f"CPU measured by the server at {url} over {cpu.seconds / 3600:.1f} h.")
    console.print(notes(result))


def _n(x: float | None, digits: int = 0, unit: str = "") -> str:
    if x is None:
        return "—"
    return f"{x:,.{digits}f}{unit}"


def table(result) -> Table:
    s, r, e, f = result.store, result.regie, result.emoncms, result.factors
    basis = f"last {s.basis_days:.0f} days" if s.basis == "window" else f"whole history ({s.basis_days:.0f} days)"
    t = Table(title=f"footprint — {s.points:,} points in {s.series} series ({s.backend})")
    t.add_column("figure")
    t.add_column("regie", justify="right")
    t.add_column("emoncms (PHPFina)", justify="right")
    cpu = result.cpu
    rows = [
        ("stored now", _mb(r.bytes_now), _mb(e.bytes_now)),
        ("bytes per point", _n(r.bytes_per_point, 2), _n(e.bytes_per_point, 2)),
        (f"points per day ({basis})", _n(s.points_per_day), _n(s.points_per_day)),
        ("storage per year at this rate", _mb(r.bytes_per_year), _mb(e.bytes_per_year)),
        ("CPU-s per million points ingested", _n(cpu and cpu.cpu_s_per_mpoint, 1), "not measured"),
        ("CPU-ms per page served", _n(cpu and cpu.cpu_s_per_page and cpu.cpu_s_per_page * 1000, 1), "not measured"),
        ("CPU-s per year", _n(r.cpu_s_per_year, 0), "—"),
        ("kWh per year: storage", _n(r.storage_kwh_per_year, 4), _n(e.storage_kwh_per_year, 4)),
        ("kWh per year: CPU", _n(r.cpu_kwh_per_year, 4), "—"),
        ("kWh per year", _n(r.kwh_per_year, 4), _n(e.kwh_per_year, 4)),
        (f"gCO2e per year ({f.gco2e_per_kwh:g} g/kWh)", _n(r.gco2e_per_year, 2), _n(e.gco2e_per_year, 2)),
    ]
    for row in rows:
        t.add_row(*row)
    return t


def _mb(n: float) -> str:
    return f"{n / 1e6:,.2f} MB"


def notes(result) -> str:
    f = result.factors
    return (
        f"Factors: {f.cpu_watts:g} W per busy core, {f.storage_kwh_per_gb_year:g} kWh per GB a year, "
        f"{f.gco2e_per_kwh:g} gCO2e/kWh (sources: docs/footprint.md). A machine dedicated to the régie also "
        f"idles at {f.idle_watts:g} W: {result.idle_kwh_per_year:,.1f} kWh, {result.idle_gco2e_per_year:,.0f} gCO2e "
        "a year, whichever software it runs."
    )
