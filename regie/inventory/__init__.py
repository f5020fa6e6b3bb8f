"""The inventory as a document: a territory's sites, delivery points, producers, transformers,
organisations, persons, memberships and ACC operations, as one versioned workbook (XLSX, ODS or CSV) that
a secretary edits, and the one way (:func:`apply_book`) changes reach the store — from a file or from an
admin page — checked all together, applied all or nothing, and logged object by object (docs/inventory.md).
"""

from regie.inventory.apply import HistoryEntry, apply_book, edit_row, end_row, history
from regie.inventory.book import Book, book_of
from regie.inventory.changes import Change, Changes, Kept, diff
from regie.inventory.files import WorkbookError, read_book, template, write_book
from regie.inventory.format import FORMAT_VERSION, SHEETS
from regie.inventory.problems import InventoryProblems, Problem

__all__ = [
    "FORMAT_VERSION", "SHEETS", "Book", "Change", "Changes", "HistoryEntry", "InventoryProblems", "Kept",
    "Problem", "WorkbookError", "apply_book", "book_of", "diff", "edit_row", "end_row", "history", "read_book",
    "template", "write_book",
]  # fmt: skip
