"""A workbook as plain text: the rows of every sheet, as a spreadsheet holds them.

:class:`Book` is what files are read into and written from, what :func:`book_of` makes of a store, and
what :func:`regie.inventory.apply.apply_book` compares with the store. It remembers the spreadsheet row of
each row and the header as read, so that a problem names the cell a secretary must fix.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from regie.inventory.format import FORMAT_VERSION, SHEETS, sheet
from regie.inventory.values import render

Row = dict[str, str | None]


@dataclass
class Book:
    """The rows of each sheet (``book["sites"]`` is a list of ``{column: text or None}``).

    ``rows[sheet][i]`` is the spreadsheet row of ``book[sheet][i]`` (the header is row 1); ``headers[sheet]``
    the columns as read, in their order (a sheet read from a file may lack some, or have unknown ones).
    A sheet absent from ``sheets`` was not in the file: importing it leaves that kind of object as it is.
    """

    sheets: dict[str, list[Row]] = field(default_factory=dict)
    rows: dict[str, list[int]] = field(default_factory=dict)
    headers: dict[str, list[str]] = field(default_factory=dict)

    def __getitem__(self, name: str) -> list[Row]:
        return self.sheets[name]

    def __setitem__(self, name: str, rows: list[Row]) -> None:
        self.sheets[name] = rows
        self.rows.pop(name, None)

    def __contains__(self, name: object) -> bool:
        return name in self.sheets

    def __iter__(self) -> Iterator[str]:
        return iter(self.sheets)

    def items(self):
        return self.sheets.items()

    def get(self, name: str, default=None):
        return self.sheets.get(name, default)

    def row_number(self, name: str, i: int) -> int:
        numbers = self.rows.get(name)
        return numbers[i] if numbers is not None and i < len(numbers) else i + 2

    def header(self, name: str) -> list[str]:
        if name in self.headers:
            return self.headers[name]
        try:
            return list(sheet(name).column_names)
        except KeyError:
            return sorted({c for r in self.sheets.get(name, []) for c in r})

    def set_sheet(self, name: str, rows: list[Row], *, header: list[str] | None = None,
                  numbers: list[int] | None = None) -> None:
        self.sheets[name] = rows
        if header is not None:
            self.headers[name] = header
        if numbers is not None:
            self.rows[name] = numbers

    def copy(self) -> Book:
        return Book(
            {k: [dict(r) for r in v] for k, v in self.sheets.items()},
            {k: list(v) for k, v in self.rows.items()},
            {k: list(v) for k, v in self.headers.items()},
        )


def book_from_values(values: Mapping[str, list[dict]]) -> Book:
    """A book from typed values per sheet and column (dates, numbers...), each rendered as its column's text."""
    book = Book()
    for s in SHEETS:
        rows = values.get(s.name, [])
        if s.name == "about":
            rows = [{"format_version": FORMAT_VERSION} | r for r in rows]
        book.set_sheet(s.name, [{c.name: render(c, r.get(c.name)) for c in s.columns} for r in rows],
                       header=list(s.column_names))
    return book


def book_of(store, territory_id: str) -> Book:
    """The territory's inventory as a workbook (what ``regie inventory export`` writes).

    LookupError if the store has no such territory.
    """
    from regie.store.inventory import inventory_values

    with store.engine.connect() as conn:
        return book_from_values(inventory_values(conn, territory_id))
