"""Tariff and tax parameters from the versioned files in ``regie/data/tariffs`` (one loader, no figures here).

Each file is one version of one kind of parameter (``accise``, ``vat``, ``turpe_acc``) with its source,
the date of that source and the days it is in force (see ``regie/data/tariffs/README.md``). This module
only reads those packaged files; the computations that use them (``billing``) stay pure.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from importlib import resources


@dataclass(frozen=True, slots=True)
class Parameters:
    """One version of one kind of parameter, with where it comes from."""

    kind: str
    valid_from: date
    valid_until: date | None
    date: date
    status: str
    unit: str
    source: str
    values: dict[str, float]
    file: str
    url: str | None = None
    checked_against: tuple[str, ...] = field(default=())
    notes: str = ""

    @property
    def illustrative(self) -> bool:
        """True unless the figures were checked against the sources the file names."""
        return self.status != "official"

    def in_force(self, day: date) -> bool:
        return self.valid_from <= day and (self.valid_until is None or day <= self.valid_until)

    def cite(self) -> str:
        """A one-line citation for a bill: file, source and status."""
        flag = " — ILLUSTRATIVE, not official" if self.illustrative else ""
        return f"{self.kind} from {self.valid_from} ({self.file}): {self.source}{flag}"


def _parse(name: str, raw: dict) -> Parameters:
    missing = {"kind", "valid_from", "date", "status", "unit", "source", "values"} - raw.keys()
    if missing:
        raise ValueError(f"tariff file {name}: missing {', '.join(sorted(missing))}")
    if raw["status"] not in ("official", "illustrative"):
        raise ValueError(f"tariff file {name}: status is 'official' or 'illustrative', got {raw['status']!r}")
    return Parameters(
        kind=raw["kind"], valid_from=raw["valid_from"], valid_until=raw.get("valid_until"), date=raw["date"],
        status=raw["status"], unit=raw["unit"], source=raw["source"],
        values={k: float(v) for k, v in raw["values"].items()}, file=name, url=raw.get("url"),
        checked_against=tuple(raw.get("checked_against", ())), notes=raw.get("notes", ""),
    )


@cache
def _all() -> tuple[Parameters, ...]:
    folder = resources.files("regie.data") / "tariffs"
    found = []
    for entry in folder.iterdir():
        if entry.name.endswith(".toml"):
            found.append(_parse(entry.name, tomllib.loads(entry.read_text(encoding="utf-8"))))
    return tuple(sorted(found, key=lambda p: (p.kind, p.valid_from)))


def versions(kind: str) -> list[Parameters]:
    """Every recorded version of a kind, oldest first."""
    return [p for p in _all() if p.kind == kind]


def load_parameters(kind: str, on: date, *, allow_illustrative: bool = False) -> Parameters:
    """The version of ``kind`` in force on a local day.

    Raises LookupError when no version covers the day (add a file rather than reuse old figures) and
    ValueError for illustrative figures unless ``allow_illustrative`` (demos, simulations).
    """
    known = versions(kind)
    if not known:
        raise LookupError(f"no tariff files of kind {kind!r} in regie/data/tariffs")
    for p in reversed(known):
        if p.valid_from <= on:
            if not p.in_force(on):
                raise LookupError(f"no {kind} parameters in force on {on}: {p.file} ended on {p.valid_until}; "
                                  f"add regie/data/tariffs/{kind}-YYYY-MM-DD.toml with its source")
            if p.illustrative and not allow_illustrative:
                raise ValueError(f"{p.file} holds illustrative {kind} figures, not official ones; "
                                 "pass allow_illustrative=True for a simulation")
            return p
    raise LookupError(f"no {kind} parameters before {known[0].valid_from} (asked for {on})")
