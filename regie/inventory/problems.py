"""What is wrong with a workbook, said so that a secretary finds it: sheet, row, column and why."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Problem:
    """One mistake. ``row`` is the spreadsheet's row number (1 is the header row, the first data row is 2),
    None for the sheet as a whole; ``column`` None when the problem is the row's or the sheet's."""

    sheet: str
    row: int | None
    column: str | None
    message: str

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
