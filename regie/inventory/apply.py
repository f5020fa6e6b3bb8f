"""Apply a workbook to a territory: check everything, then change it all in one transaction, or nothing.

The same function serves the CLI (a whole workbook) and the admin pages (one object: :func:`edit_row`,
:func:`end_row`), so that both keep every rule. Each changed object gets one entry in the access log, in
the same transaction, with who, when, which sheet and key, and its values before and after: the
inventory's history is as tamper-evident as the log (:func:`history` reads it back).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from regie.governance import audit
from regie.governance.accounts import Account, Role
from regie.inventory.book import Book, Row
from regie.inventory.changes import Change, Changes, Kept
from regie.inventory.format import SHEETS, sheet
from regie.inventory.problems import InventoryProblems, Problem
from regie.inventory.validate import prepare
from regie.store import Store
from regie.store import inventory as stored

_SUBJECT = {"memberships": "holder", "persons": "id", "organisations": "id"}


def _check_actor(actor: Account, territory_id: str) -> None:
    if actor.role != Role.ADMIN:
        raise PermissionError(f"only an admin may change the inventory; {actor.username} is {actor.role}")
    if actor.territory_id is not None and actor.territory_id != territory_id:
        raise PermissionError(f"{actor.username} is an admin of territory {actor.territory_id}, not {territory_id}")


def fingerprint(text: str | None) -> str | None:
    """What the log keeps of a person's name or e-mail: enough to see it changed, not what it is."""
    return None if text is None else "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def _logged(name: str, row: Row | None) -> dict | None:
    if row is None:
        return None
    s = sheet(name)
    return {c.name: fingerprint(row.get(c.name)) if c.personal else row.get(c.name) for c in s.columns}


def _event(actor: Account, territory_id: str, change: Change, via: str) -> audit.InventoryEvent:
    row = change.after or change.before or {}
    subject_col = _SUBJECT.get(change.sheet)
    subject = row.get(subject_col) if subject_col else None
    if change.sheet == "organisations":
        subject = None  # a legal person is not a data subject (GDPR recital 14)
    return audit.InventoryEvent(
        actor=actor.username, role=str(actor.role), territory_id=territory_id, sheet=change.sheet, key=change.key,
        action=change.action, before=_logged(change.sheet, change.before), after=_logged(change.sheet, change.after),
        subject_id=subject, via=via,
    )  # fmt: skip


def _run(
    store: Store,
    actor: Account,
    territory_id: str,
    make: Callable[[Book], Book],
    *,
    dry_run: bool,
    remove: bool,
    remove_data: bool,
    via: str,
    now: int | None,
) -> Changes:
    _check_actor(actor, territory_id)
    at = int(time.time()) if now is None else int(now)
    entries: list[audit.LogEntry] = []
    with store.engine.execution_options(writer=not dry_run).connect() as conn, conn.begin() as tx:
        try:
            current_values = stored.inventory_values(conn, territory_id)
        except LookupError:
            raise InventoryProblems([Problem("about", 2, "territory", (
                f"no territory {territory_id!r} in this store: create it first (the first-run page, or "
                "`regie territory create`)"))]) from None
        plan = prepare(conn, territory_id, current_values, make, remove=remove, remove_data=remove_data)
        if plan.problems:
            raise InventoryProblems(plan.problems)
        changes = plan.changes
        if dry_run or changes.empty:
            tx.rollback()
            return changes
        for name in stored.WRITE_ORDER:
            sc = changes[name]
            stored.add_rows(conn, territory_id, name, [plan.typed(name, c.after) for c in sc.added])
            stored.change_rows(conn, territory_id, name, [plan.typed(name, c.after) for c in (*sc.changed, *sc.ended)])
        for name in reversed(stored.WRITE_ORDER):
            for c in changes[name].removed:
                stored.remove_row(conn, territory_id, name, plan.typed(name, c.before), now=at)
        entries = audit.append_in(conn, [_event(actor, territory_id, c, via) for c in changes], now=at)
    audit.appended(store, entries)
    store.metadata_changed()
    return changes


def apply_book(
    store: Store,
    actor: Account,
    territory_id: str,
    wanted: Book,
    *,
    dry_run: bool = False,
    remove: bool = False,
    remove_data: bool = False,
    via: str = "",
    now: int | None = None,
) -> Changes:
    """Make the territory's inventory what ``wanted`` says, all or nothing; returns what changed (or, with
    ``dry_run``, what would change).

    Everything is checked first: :class:`InventoryProblems` lists every problem (sheet, row, column, why)
    and nothing is changed. A sheet absent from ``wanted`` is left as it is; so is a column absent from a
    sheet. Objects of the store absent from the workbook are kept and reported (``Changes.kept``), unless
    ``remove``: then those without readings are removed; those with readings only with ``remove_data``
    too (the admin asked and confirmed), together with their readings. A person or organisation that an
    account or a consent names is never removed here (erasure, ``regie member erase``, is for that).
    ``via``: the file's name or the page, for the log.
    """
    return _run(store, actor, territory_id, lambda _current: wanted, dry_run=dry_run, remove=remove,
                remove_data=remove_data, via=via, now=now)


def _find(book: Book, name: str, key: str | None) -> int | None:
    if key is None:
        return None
    s = sheet(name)
    for i, r in enumerate(book[name]):
        if s.key_of(r) == key:
            return i
    return None


def edit_row(
    store: Store, actor: Account, territory_id: str, name: str, key: str | None, values: dict[str, str | None],
    *, via: str = "page", now: int | None = None,
) -> Changes:
    """Add one object (``key`` None or unknown) or change the given columns of one; the whole inventory's
    rules apply (:class:`InventoryProblems` if it breaks one, and nothing changes)."""
    try:
        s = sheet(name)
    except KeyError:
        raise InventoryProblems([Problem(name, None, None, "unknown sheet")]) from None
    unknown = [c for c in values if c not in s.column_names]
    if unknown:
        raise InventoryProblems([Problem(name, None, c, "unknown column") for c in unknown])

    def make(current: Book) -> Book:
        book = Book({name: [dict(r) for r in current[name]]}, {name: [n for n in range(2, len(current[name]) + 2)]})
        i = _find(book, name, key)
        if i is None:
            book[name].append({c: values.get(c) for c in s.column_names})
            book.rows[name].append(len(book[name]) + 1)
        else:
            book[name][i].update({c: v for c, v in values.items()})
        return book

    return _run(store, actor, territory_id, make, dry_run=False, remove=False, remove_data=False, via=via, now=now)


def end_row(
    store: Store, actor: Account, territory_id: str, name: str, key: str, on: date,
    *, via: str = "page", now: int | None = None,
) -> Changes:
    """End one object on ``on`` (excluded): a site, delivery point, producer, transformer or membership gets
    its ``until``, an ACC participant its ``exit``. Ending keeps the object and its data."""
    s = sheet(name)
    if s.end is None:
        raise InventoryProblems([Problem(name, None, None, f"a row of {name} has no end date: it cannot be ended")])
    with store.engine.connect() as conn:
        known = any(sheet(name).key_of(r) == key for r in _rows(conn, territory_id, name))
    if not known:
        raise InventoryProblems([Problem(name, None, s.key[0], f"no {name} row {key!r} in territory {territory_id}")])
    return edit_row(store, actor, territory_id, name, key, {s.end: on.isoformat()}, via=via, now=now)


def _rows(conn, territory_id: str, name: str) -> list[Row]:
    from regie.inventory.book import book_from_values

    return book_from_values(stored.inventory_values(conn, territory_id))[name]


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    """One change of an object, as the access log keeps it."""

    seq: int
    at: int
    actor: str
    action: str
    before: dict | None
    after: dict | None
    via: str

    @property
    def columns(self) -> list[str]:
        b, a = self.before or {}, self.after or {}
        return [c for c in dict.fromkeys([*b, *a]) if b.get(c) != a.get(c)]


def history(store: Store, territory_id: str, name: str, key: str) -> list[HistoryEntry]:
    """Every logged change of one object (sheet and key), oldest first."""
    out = []
    for e in audit.entries(store, kind=audit.InventoryEvent.kind):
        d = e.entry
        if d.get("territory_id") == territory_id and d.get("sheet") == name and d.get("key") == key:
            out.append(HistoryEntry(e.seq, e.at, d["actor"], d["action"], d["before"], d["after"], d.get("via", "")))
    return out


__all__ = ["SHEETS", "Changes", "HistoryEntry", "Kept", "apply_book", "edit_row", "end_row", "history"]
