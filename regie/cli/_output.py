"""What every listing command prints: a table a person reads at 80 columns, or CSV / JSON for scripts.

One helper so that all lists behave alike (``--format table|csv|json``). In a table, cells wrap (``fold``)
instead of being cut with an ellipsis, and identifiers are never broken: an id column is as wide as its
longest value, the other columns share what is left. ``csv`` is RFC 4180 (a header row, CRLF line ends,
quotes where needed); a list too wide for the terminal even so is shown one record per block, a field a
line. ``json`` is a list of objects whose keys are the columns' ``key`` — stable names for
scripts, independent of the table's headers — with numbers as numbers, times as ISO 8601 UTC strings and
empty cells as ``null``.
"""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

import typer
from rich.table import Table

from regie.cli._app import console


class Format(StrEnum):
    table = "table"
    csv = "csv"
    json = "json"


FormatOption = Annotated[
    Format, typer.Option("--format", help="table (to read), csv (RFC 4180) or json (a list of objects), for scripts")
]

Kind = Literal["text", "id", "int", "number", "time", "list"]


@dataclass(frozen=True)
class Column:
    """One column: ``key`` names it in CSV and JSON, ``header`` in the table. An ``id`` is never wrapped nor
    cut; ``ratio`` shares the room left between the other columns."""

    key: str
    header: str
    kind: Kind = "text"
    ratio: int = 1


def _iso(t: int | None) -> str | None:
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if t else None


def _cell(value: Any, kind: Kind) -> str:
    """How a person reads a value in the table."""
    if value is None or value == "":
        return ""
    if kind == "time":
        return datetime.fromtimestamp(value, UTC).strftime("%Y-%m-%d %H:%M")
    if kind == "int":
        return f"{value:,}"
    if kind == "number":
        return f"{value:g}"
    if kind == "list":
        return ", ".join(map(str, value))
    return str(value)


def _datum(value: Any, kind: Kind) -> Any:
    """How a script gets a value in JSON."""
    if value is None or (value == "" and kind != "text"):
        return None
    if kind == "time":
        return _iso(value)
    if kind == "list":
        return [str(x) for x in value]
    if kind == "int":
        return int(value)
    if kind == "number":
        return float(value)
    return str(value)


def _csv_field(value: Any, kind: Kind) -> str:
    d = _datum(value, kind)
    if d is None:
        return ""
    if kind == "list":
        return ",".join(d)
    if kind == "number":
        return f"{d:g}"
    return str(d)


#: The narrowest a text column may get in a table before the list is shown as records instead.
_NARROWEST_TEXT = 12
_FIXED = ("id", "time")  # never wrapped: an id must be copied whole, a time read at a glance


def _fixed_width(c: Column, cells: Sequence[str]) -> int:
    """An id's or a time's column: its longest value on one line (the header may wrap between words)."""
    return max([*(len(w) for w in c.header.split()), *map(len, cells)])


def _needed_width(rows: Sequence[Mapping[str, Any]], columns: Sequence[Column]) -> int:
    """The table's width when each id and time keeps its full width and each other column narrows to its
    longest word (at most :data:`_NARROWEST_TEXT`): past the terminal's width, cells would be cut to a few
    letters, so the list is shown as records instead (:func:`_records`)."""
    total = 1
    for c in columns:
        cells = [_cell(r.get(c.key), c.kind) for r in rows]
        if c.kind in _FIXED:
            need = _fixed_width(c, cells)
        else:
            words = [len(w) for text in [c.header, *cells] for w in text.split()] or [1]
            need = min(max(words), _NARROWEST_TEXT)
        total += need + 3  # one space of padding each side, one border
    return total


def _table(rows: Sequence[Mapping[str, Any]], columns: Sequence[Column], title: str) -> Table:
    table = Table(title=title, title_justify="left")
    for c in columns:
        if c.kind in _FIXED:
            width = _fixed_width(c, [_cell(r.get(c.key), c.kind) for r in rows])
            table.add_column(c.header, overflow="fold", width=width)  # a set width: rich never narrows it
        else:
            right = c.kind in ("int", "number")
            table.add_column(c.header, justify="right" if right else "left", overflow="fold", ratio=c.ratio)
    for r in rows:
        table.add_row(*(_cell(r.get(c.key), c.kind) for c in columns))
    return table


def _records(rows: Sequence[Mapping[str, Any]], columns: Sequence[Column], title: str) -> list[Table]:
    """One small block per row, a field per line (header, value): what fits a phone-sized terminal."""
    blocks = []
    for i, r in enumerate(rows):
        block = Table.grid(padding=(0, 1))
        block.add_column(style="bold", no_wrap=True)
        block.add_column(overflow="fold")
        if i == 0:
            block.title, block.title_justify = title, "left"
        for c in columns:
            block.add_row(c.header, _cell(r.get(c.key), c.kind))
        blocks.append(block)
    return blocks


def emit(
    rows: Iterable[Mapping[str, Any]], columns: Sequence[Column], fmt: Format, *, title: str, empty: str | None = None
) -> None:
    """Print ``rows`` (mappings by column key) in ``fmt``. ``empty`` is what a person reads when there is no
    row; scripts get a header alone (csv) or ``[]`` (json)."""
    rows = list(rows)
    if fmt == Format.json:
        data = [{c.key: _datum(r.get(c.key), c.kind) for c in columns} for r in rows]
        sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2) + "\n")
    elif fmt == Format.csv:
        writer = csv.writer(sys.stdout, lineterminator="\r\n")  # RFC 4180: CRLF, minimal quoting
        writer.writerow([c.key for c in columns])
        writer.writerows([_csv_field(r.get(c.key), c.kind) for c in columns] for r in rows)
    elif not rows and empty is not None:
        console.print(empty)
    elif rows and _needed_width(rows, columns) > console.width:
        for i, block in enumerate(_records(rows, columns, title)):
            if i:
                console.print()
            console.print(block)
    else:
        console.print(_table(rows, columns, title))
    sys.stdout.flush()
