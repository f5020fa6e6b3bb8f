"""What importing a workbook changes: per sheet, the objects added, changed, ended, removed, and those
absent from the file but kept."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from regie.inventory.book import Book, Row
from regie.inventory.format import SHEETS, sheet
from regie.inventory.problems import translated

ACTIONS = ("added", "changed", "ended", "removed")


@dataclass(frozen=True, slots=True)
class Change:
    """One object's change: ``before`` None when added, ``after`` None when removed. ``row``: its row in the
    imported workbook (None for an object that is not in it)."""

    sheet: str
    key: str
    action: str
    before: Row | None
    after: Row | None
    row: int | None = None

    @property
    def columns(self) -> list[str]:
        """The columns whose value changes."""
        b, a = self.before or {}, self.after or {}
        return [c for c in sheet(self.sheet).column_names if b.get(c) != a.get(c)]


@dataclass(frozen=True, slots=True)
class Kept:
    """An object of the store absent from the workbook, kept, and why (it has readings, an account...).

    ``reason`` is in English; ``template`` and ``params`` give it in the reader's language: :meth:`text`."""

    sheet: str
    key: str
    reason: str
    template: str | None = field(default=None, compare=False)
    params: dict = field(default_factory=dict, compare=False)

    def text(self, gettext: Callable[[str], str] | None = None) -> str:
        return translated(self.reason, self.template, self.params, gettext)


@dataclass
class SheetChanges:
    added: list[Change] = field(default_factory=list)
    changed: list[Change] = field(default_factory=list)
    ended: list[Change] = field(default_factory=list)
    removed: list[Change] = field(default_factory=list)
    kept: list[Kept] = field(default_factory=list)

    def __iter__(self) -> Iterator[Change]:
        yield from self.added
        yield from self.changed
        yield from self.ended
        yield from self.removed

    @property
    def empty(self) -> bool:
        return not (self.added or self.changed or self.ended or self.removed)


@dataclass
class Changes:
    """Per sheet (in the format's order), what an import does. ``empty``: it changes nothing."""

    sheets: dict[str, SheetChanges] = field(default_factory=lambda: {s.name: SheetChanges() for s in SHEETS})

    def __getitem__(self, name: str) -> SheetChanges:
        return self.sheets[name]

    def __iter__(self) -> Iterator[Change]:
        for sc in self.sheets.values():
            yield from sc

    @property
    def empty(self) -> bool:
        return all(sc.empty for sc in self.sheets.values())

    @property
    def kept(self) -> list[Kept]:
        return [k for sc in self.sheets.values() for k in sc.kept]

    def counts(self) -> dict[str, dict[str, int]]:
        """``{sheet: {"added": n, "changed": n, "ended": n, "removed": n, "kept": n}}`` for sheets with any."""
        out = {}
        for name, sc in self.sheets.items():
            c = {a: len(getattr(sc, a)) for a in (*ACTIONS, "kept")}
            if any(c.values()):
                out[name] = c
        return out

    def add(self, change: Change) -> None:
        getattr(self.sheets[change.sheet], change.action).append(change)


def _action(end: str | None, before: Row, after: Row) -> str:
    if end is not None and not before.get(end) and after.get(end):
        return "ended"
    return "changed"


def diff(current: Book, wanted: Book) -> Changes:
    """Compare two books of canonical text (``regie.inventory.values.canonical``), row by row by key.

    Rows only in ``wanted`` are added; rows in both that differ are changed, or ended when their end column
    (``until``, ``exit``) goes from blank to a date; rows only in ``current`` are listed as ``removed`` — the
    caller (:func:`regie.inventory.apply.apply_book`) decides which of them are really removed and which are
    kept. A sheet absent from ``wanted`` is left as it is.
    """
    changes = Changes()
    for s in SHEETS:
        if s.name not in wanted:
            continue
        have = {s.key_of(r): r for r in current.get(s.name, [])}
        seen: set[str] = set()
        for i, row in enumerate(wanted[s.name]):
            key = s.key_of(row)
            if key in seen:
                continue
            seen.add(key)
            after = {c: row.get(c) for c in s.column_names}
            before = have.get(key)
            n = wanted.row_number(s.name, i)
            if before is None:
                changes.add(Change(s.name, key, "added", None, after, n))
            else:
                before = {c: before.get(c) for c in s.column_names}
                if before != after:
                    changes.add(Change(s.name, key, _action(s.end, before, after), before, after, n))
        for key, before in have.items():
            if key not in seen:
                changes.add(Change(s.name, key, "removed", {c: before.get(c) for c in s.column_names}, None))
    return changes
