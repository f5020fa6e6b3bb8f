"""`regie cluster ...`: the balance, ACC allocations and transformer loading computed by Spark over a lake.

The lake comes from `regie export parquet`; ``--master`` is Spark's (``local[2]``, ``spark://host:7077``,
``yarn``...). Results are the embedded store's figures (tests/cluster); docs/scale.md says when to use it.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Annotated
from zoneinfo import ZoneInfo

import typer

from regie.cli._app import app, console, parse_day

cluster_app = typer.Typer(help="compute over a Parquet lake with Apache Spark (needs pyspark and Java)")
app.add_typer(cluster_app, name="cluster")

LakeArg = Annotated[str, typer.Argument(help="the lake (a folder written by `regie export parquet`)")]
MasterOption = Annotated[str, typer.Option(help="Spark master: local[2], spark://host:7077, yarn...")]
FromOption = Annotated[str, typer.Option("--from", help="first local day (YYYY-MM-DD)")]
UntilOption = Annotated[str, typer.Option("--until", help="day after the last local day (YYYY-MM-DD)")]
TerritoryOption = Annotated[list[str] | None, typer.Option(help="only this territory (repeat for several)")]
ZoneOption = Annotated[str, typer.Option(help="time zone of --from and --until")]


def _bounds(first: str, until: str, zone: str) -> tuple[datetime, datetime]:
    tz = ZoneInfo(zone)
    a, b = parse_day(first, "--from"), parse_day(until, "--until")
    if b <= a:
        raise typer.BadParameter(f"--until {b} must be after --from {a}")

    def at(d: date) -> datetime:
        return datetime(d.year, d.month, d.day, tzinfo=tz)

    return at(a), at(b)


def _session(master: str):
    """The SparkSession, or two lines and exit 69 (EX_UNAVAILABLE) when Spark cannot start here."""
    import shutil

    if shutil.which("java") is None:  # the driver is a JVM on this machine, whatever the master
        console.print("[bold red]error:[/] Spark needs Java 17 on this machine and `java` is not on the PATH\n"
                      "  install it (Debian: apt-get install openjdk-17-jre-headless)", highlight=False)  # fmt: skip
        raise typer.Exit(69)
    from regie.cluster.session import spark_session

    return spark_session(master)


@cluster_app.command("balance")
def balance(lake: LakeArg, first: FromOption, until: UntilOption, step: str = "P1D", master: MasterOption = "local[2]",
            territory: TerritoryOption = None, zone: ZoneOption = "Europe/Paris",
            as_json: Annotated[bool, typer.Option("--json", help="every period as JSON")] = False) -> None:  # fmt: skip
    """Each territory's balance (totals and rates; every period with --json) over the lake."""
    from regie.cluster.balance import cluster_balance
    from regie.model import Step

    a, b = _bounds(first, until, zone)
    result = cluster_balance(_session(master), lake, a, b, Step.parse(step), territory)
    if as_json:
        print(json.dumps(result, ensure_ascii=False))
        return
    for tid, fig in result.items():
        t = fig["totals"]
        rates = ", ".join(f"{k.replace('_', '-')} {t[k] or 0:.1%}"
                          for k in ("coverage", "self_sufficiency", "self_consumption"))  # fmt: skip
        console.print(f"{tid}: consumption {t['consumption_wh'] / 1e6:,.1f} MWh, production "
                      f"{t['production_wh'] / 1e6:,.1f} MWh, {rates}")  # fmt: skip


@cluster_app.command("acc")
def acc(lake: LakeArg, first: FromOption, until: UntilOption, master: MasterOption = "local[2]",
        territory: TerritoryOption = None, zone: ZoneOption = "Europe/Paris") -> None:  # fmt: skip
    """Every ACC operation of the lake allocated under the keys in force: totals per operation."""
    from regie.cluster.acc import cluster_allocations

    a, b = _bounds(first, until, zone)
    flows = cluster_allocations(_session(master), lake, int(a.timestamp()), int(b.timestamp()), territory)
    for (tid, op), g in flows.groupby(["territory", "operation"]):
        cons, auto = g["cons_wh"].sum(), g["autocons_wh"].sum()
        console.print(f"{tid} / {op}: {len(g)} participants, consumed {cons / 1e6:,.2f} MWh, of which "
                      f"{auto / 1e6:,.2f} MWh allocated ({auto / cons if cons else 0:.1%})")  # fmt: skip


@cluster_app.command("transformers")
def transformers(lake: LakeArg, first: FromOption, until: UntilOption, master: MasterOption = "local[2]",
                 territory: TerritoryOption = None, zone: ZoneOption = "Europe/Paris") -> None:  # fmt: skip
    """Loading (max, p95, hours over 100 %) and losses of every transformer of the lake, as JSON lines."""
    from regie.cluster.grid import cluster_transformers

    a, b = _bounds(first, until, zone)
    rows = cluster_transformers(_session(master), lake, int(a.timestamp()), int(b.timestamp()), territory)
    for r in rows.to_dict("records"):
        print(json.dumps({"territory": r["territory"], "transformer": r["transformer"], "max": r["max"],
                          "p95": r["p95"], "hours_over_100": r["hours_over_100"],
                          "loss_wh": float(sum(r["loss_wh"]))}))  # fmt: skip


@cluster_app.command("health")
def health(lake: LakeArg, first: FromOption, until: UntilOption, master: MasterOption = "local[2]",
           territory: TerritoryOption = None, zone: ZoneOption = "Europe/Paris") -> None:  # fmt: skip
    """Data health of every series of the lake (received, expected, gaps, status): a count per status."""
    from regie.cluster.health import cluster_health

    a, b = _bounds(first, until, zone)
    rows = cluster_health(_session(master), lake, int(a.timestamp()), int(b.timestamp()), territories=territory)
    for (tid, status), g in rows.groupby(["territory", "status"]):
        share = g["received"].sum() / max(1, g["expected"].sum())
        console.print(f"{tid}: {len(g)} series {status}, completeness {share:.1%}")
