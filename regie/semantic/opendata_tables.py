"""The open-data tables regie publishes per territory: the public balance at three steps."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Table:
    name: str
    step: str | None  # ISO 8601 duration; None: the territory's metering step
    title: str
    description: str
    frequency: str  # EU frequency authority table: how often new rows appear


TABLES: tuple[Table, ...] = (
    Table("balance-monthly", "P1M", "Monthly energy balance",
          "Consumption, production by source, self-consumed energy, coverage, self-sufficiency and "
          "self-consumption per calendar month (local time), in Wh; a figure hidden by statistical secrecy is "
          "empty and its reason is given.", "MONTHLY"),
    Table("balance-daily", "P1D", "Daily energy balance",
          "The same figures per local day.", "DAILY"),
    Table("balance-metering-step", None, "Energy balance per metering step",
          "The same figures per metering step (30 minutes on Linky load curves): the published cells themselves.",
          "CONT"),
)  # fmt: skip
