"""Tariff and tax parameters from the versioned files in ``regie/data/tariffs`` (one loader, no figures here).

Each file is one version of one kind of parameter (``accise``, ``vat``, ``turpe_acc``) with its source (title,
number, date, article), the days it is in force and how its figures were checked (see
``regie/data/tariffs/README.md``). A version whose text is known but whose figures could not be confirmed is
``unrecorded``: it dates the change and names the text, and billing with it is refused. This module only
reads those packaged files; the computations that use them (``billing``) stay pure.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
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
    number: str = ""  # the text's number (loi n° 2025-127, BOI-RES-EAT-000240...), when known
    article: str = ""  # the article(s) that hold the figures or the rule

    @property
    def illustrative(self) -> bool:
        """True unless the figures were checked against the sources the file names."""
        return self.status != "official"

    @property
    def recorded(self) -> bool:
        """False for a version whose text is known but whose figures are not in the file."""
        return self.status != "unrecorded"

    def in_force(self, day: date) -> bool:
        return self.valid_from <= day and (self.valid_until is None or day <= self.valid_until)

    def cite(self) -> str:
        """A one-line citation for a bill: file, source (number, article) and status."""
        flag = " — ILLUSTRATIVE, not official" if self.illustrative else ""
        ref = ", ".join(x for x in (self.number, self.article) if x)
        return f"{self.kind} from {self.valid_from} ({self.file}): {self.source}{f' [{ref}]' if ref else ''}{flag}"


#: official: figures checked against the text named; illustrative: placeholders (refused unless asked for);
#: unrecorded: the text and its date are known, its figures are not in regie (always refused).
STATUSES = ("official", "illustrative", "unrecorded")


def _parse(name: str, raw: dict) -> Parameters:
    missing = {"kind", "valid_from", "date", "status", "unit", "source", "values"} - raw.keys()
    if missing:
        raise ValueError(f"tariff file {name}: missing {', '.join(sorted(missing))}")
    if raw["status"] not in STATUSES:
        raise ValueError(f"tariff file {name}: status is one of {', '.join(STATUSES)}, got {raw['status']!r}")
    if raw["status"] == "official" and not raw.get("checked_against"):
        raise ValueError(f"tariff file {name}: official figures say what they were checked against")
    if raw["status"] != "unrecorded" and not raw["values"]:
        raise ValueError(f"tariff file {name}: no values (a known text without figures is status 'unrecorded')")
    return Parameters(
        kind=raw["kind"], valid_from=raw["valid_from"], valid_until=raw.get("valid_until"), date=raw["date"],
        status=raw["status"], unit=raw["unit"], source=raw["source"],
        values={k: float(v) for k, v in raw["values"].items()}, file=name, url=raw.get("url"),
        checked_against=tuple(raw.get("checked_against", ())), notes=raw.get("notes", ""),
        number=raw.get("number", ""), article=raw.get("article", ""),
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
            if not p.recorded:
                raise LookupError(f"the {kind} figures in force on {on} are not recorded in regie: {p.file} names "
                                  f"the text ({p.number or p.source}) but no figure could be confirmed from a source")
            if p.illustrative and not allow_illustrative:
                raise ValueError(f"{p.file} holds illustrative {kind} figures, not official ones; "
                                 "pass allow_illustrative=True for a simulation")
            return p
    raise LookupError(f"no {kind} parameters before {known[0].valid_from} (asked for {on})")


def periods(kinds: Iterable[str], first: date, last: date) -> list[tuple[date, date]]:
    """[first, last] (local days, both included) cut wherever a version of one of ``kinds`` starts or ends:
    the stretches a bill is split into so that each uses the figures in force over all of it."""
    if last < first:
        raise ValueError(f"period ends ({last}) before it starts ({first})")
    cuts = set()
    for kind in kinds:
        for p in versions(kind):
            for day in (p.valid_from, p.valid_until + timedelta(days=1) if p.valid_until else None):
                if day is not None and first < day <= last:
                    cuts.add(day)
    starts = [first, *sorted(cuts)]
    ends = [d - timedelta(days=1) for d in starts[1:]] + [last]
    return list(zip(starts, ends, strict=True))
