"""What is wrong with a workbook, said so that a secretary finds it: sheet, row, column and why."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field


def N_(message: str) -> str:  # the name gettext's extractors look for: the message is translated when shown
    return message


def translated(english: str, template: str | None, params: dict, gettext: Callable[[str], str] | None) -> str:
    """A message in the reader's language: its catalogue id translated by ``gettext``, then filled in."""
    if gettext is None or template is None:
        return english
    return gettext(template) % params


@dataclass(frozen=True, slots=True)
class Problem:
    """One mistake. ``row`` is the spreadsheet's row number (1 is the header row, the first data row is 2),
    None for the sheet as a whole; ``column`` None when the problem is the row's or the sheet's.

    ``message`` is in English; ``template`` (a catalogue id, ``%(name)s`` placeholders) and ``params`` let a
    page show it in the reader's language: :meth:`text`. Sheet and column names are identifiers, the same
    in every language.
    """

    sheet: str
    row: int | None
    column: str | None
    message: str
    template: str | None = field(default=None, compare=False)
    params: dict = field(default_factory=dict, compare=False)

    def text(self, gettext: Callable[[str], str] | None = None) -> str:
        """The message, translated by ``gettext`` (a page's catalogue) when given."""
        return translated(self.message, self.template, self.params, gettext)

    def __str__(self) -> str:
        where = self.sheet
        if self.row is not None:
            where += f", row {self.row}"
        if self.column is not None:
            where += f", column {self.column}"
        return f"{where}: {self.message}"


class InventoryProblems(ValueError):
    """Every problem found in a workbook (not only the first); nothing was changed."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = sorted(problems, key=_order)
        n = len(self.problems)
        head = "; ".join(str(p) for p in self.problems[:5])
        more = f" (and {n - 5} more)" if n > 5 else ""
        super().__init__(f"{n} problem{'s' if n != 1 else ''} in the inventory, nothing changed: {head}{more}")


def _order(p: Problem) -> tuple:
    from regie.inventory.format import SHEET_NAMES

    rank = SHEET_NAMES.index(p.sheet) if p.sheet in SHEET_NAMES else len(SHEET_NAMES)
    return (rank, p.sheet, p.row or 0, p.column or "", p.message)
