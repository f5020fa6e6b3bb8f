"""Admin pages of the inventory: list, add, edit and end every kind of object, see each one's history, move a
member from one delivery point to another, and the workbook's template, export and import.

Every rule lives in :mod:`regie.inventory`: a form is one row of the workbook's sheet (its columns are the
format's, :data:`regie.inventory.format.SHEETS`), saved with :func:`~regie.inventory.apply.edit_row` or
:func:`~regie.inventory.apply.end_row`, which run the very checks of ``regie inventory import`` and append the
change to the tamper-evident access log. Nothing is validated here: a refused form comes back with each
:class:`~regie.inventory.problems.Problem` written next to the field its ``column`` names (or above the
form, for a problem of the row or of another sheet), and nothing is stored.

Who: the régie's administrators only (:data:`regie.web.deps.AdminCaller`), on the territory chosen for the
request (:func:`regie.web.territory_choice.choose`): an admin of one territory works on that one only (another
asked for is refused and logged), an admin of every territory picks one in the header's chooser. Every link,
form and redirect carries that territory (``?territory=`` when the admin may see several), so a form acts on
the territory its page showed whatever another tab chose meanwhile. Every form carries the session's CSRF token.

Import is in two steps: the uploaded workbook is compared with the store (``apply_book(dry_run=True)``) and
the difference shown; it is applied only when the admin confirms, and only if the inventory has not changed
in between (else the admin is asked to upload it again). The previewed workbook waits in the app's memory
(:data:`PREVIEW_TTL_S`, at most :data:`MAX_PREVIEWS`), bound to the admin who uploaded it.
"""

from __future__ import annotations

import secrets
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from babel.dates import format_datetime
from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import UploadFile

from regie.governance.accounts import Account
from regie.inventory import apply as inventory
from regie.inventory import files
from regie.inventory.book import Book, Row, book_of
from regie.inventory.changes import ACTIONS, Change, Changes
from regie.inventory.format import SHEETS, Column, Kind, Sheet
from regie.inventory.problems import InventoryProblems, Problem
from regie.store import Store
from regie.web import auth, i18n, territory_choice
from regie.web.account_pages import render as render_page
from regie.web.auth import Caller
from regie.web.deps import AdminCaller
from regie.web.i18n import N_
from regie.web.ingest_pages import UploadTooLarge, read_upload
from regie.web.territory_choice import Choice

router = APIRouter(prefix="/admin/inventory", include_in_schema=False)

#: The kinds of object these pages edit, in the workbook's order (ACC operations have their own pages: /acc).
KINDS: tuple[str, ...] = (
    "sites", "delivery_points", "producers", "transformers", "organisations", "persons", "memberships",
)  # fmt: skip
SHEET = {s.name: s for s in SHEETS}
#: Workbook formats offered for download (``regie.inventory.files`` also reads a folder of CSV files).
DOWNLOADS: dict[str, str] = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "ods": "application/vnd.oasis.opendocument.spreadsheet",
}
#: Largest workbook accepted by the import form: the app's default request limit (regie/web/limits.py),
#: about 20 000 rows of XLSX.
MAX_WORKBOOK_BYTES = 1 << 20
PREVIEW_TTL_S = 1800
MAX_PREVIEWS = 20

#: Messages after a successful POST (post/redirect/get), by the ``done`` code of the redirect.
DONE_MESSAGES: dict[str, str] = {
    "added": N_("Added to the inventory."),
    "saved": N_("Saved in the inventory."),
    "unchanged": N_("Nothing to change: the values are the ones already stored."),
    "ended": N_("Ended on the date given."),
    "moved": N_("Moved: the old membership ends, the new one starts the same day."),
    "imported": N_("The workbook is imported."),
}


# ---------------------------------------------------------------- who, where


def _store(request: Request) -> Store:
    return request.app.state.store


def _refused(request: Request, message: str, status_code: int = 403) -> HTMLResponse:
    return render_page(request, "refused.html", {"active": "account", "message": message}, status_code=status_code)


class Refused(Exception):
    """This caller may not use the inventory's pages: answered with the refusal page (:func:`refused_page`)."""

    def __init__(self, message: str, status_code: int = 403) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code


def refused_page(request: Request, exc: Exception) -> HTMLResponse:
    """The exception handler for :class:`Refused` (registered by :func:`regie.web.app.create_app`)."""
    assert isinstance(exc, Refused)
    return _refused(request, exc.message, exc.status_code)


@dataclass(frozen=True, slots=True)
class Desk:
    """An admin at work: who, on which territory (and which they may pick), in which language."""

    caller: Caller
    store: Store
    choice: Choice
    territory_name: str
    locale: str

    @property
    def account(self) -> Account:
        return self.caller.account

    @property
    def territory_id(self) -> str:
        assert self.choice.id is not None  # admin_desk refuses a store without territory
        return self.choice.id

    def url(self, path: str) -> str:
        """``path`` on this desk's territory: ``territory=`` added when the admin may see several."""
        query = territory_choice.query(self.choice)
        return f"{path}{'&' if '?' in path else '?'}{query[1:]}" if query else path


def admin_desk(request: Request, caller: AdminCaller) -> Desk:
    """FastAPI dependency: the admin's desk (:data:`AdminCaller`: the public logs in, others are refused) on the
    territory chosen for the request (a territory the admin does not run: refused and logged), or
    :class:`Refused` for an empty store."""
    store = _store(request)
    choice = territory_choice.choose(request, caller)
    if choice.id is None:
        raise Refused("no territory yet: create one first (regie territory add, or the first-run page)", 404)
    name = store.load_inventory(choice.id).territory.name
    return Desk(caller, store, choice, name, i18n.negotiate_locale(request))


def render(request: Request, template: str, context: dict[str, Any], status_code: int = 200) -> HTMLResponse:
    """A page of the inventory, the territory it shows remembered for the next pages (a chosen one)."""
    response = render_page(request, template, context, status_code=status_code)
    choice = context.get("territory_choice")
    if isinstance(choice, Choice):
        territory_choice.remember(request, response, choice)
    return response


DeskDep = Annotated[Desk, Depends(admin_desk)]


def _kind(name: str) -> Sheet:
    if name not in KINDS:
        raise HTTPException(404, f"no such kind of object; known: {', '.join(KINDS)}")
    return SHEET[name]


def kind_label(s: Sheet, locale: str) -> str:
    """A sheet's title: the format's French label, else its English name (``delivery_points``: Delivery points)."""
    return (s.label_fr if locale == "fr" else s.name.replace("_", " ")).capitalize()


def column_label(c: Column, locale: str) -> str:
    """A column's label in the visitor's language: the format's French label, else the workbook's header."""
    return c.label_fr if locale == "fr" else c.name.replace("_", " ")


def _base(request: Request, d: Desk) -> dict[str, Any]:
    done = request.query_params.get("done", "")
    return {
        **territory_choice.context(d.choice),
        "at": d.url,
        "active": "account",
        "account": d.account,
        "csrf": auth.csrf_for(request, d.caller),
        "done": DONE_MESSAGES.get(done),
        "territory_id": d.territory_id,
        "territory_name": d.territory_name,
        "kinds": [(k, kind_label(SHEET[k], d.locale)) for k in KINDS],
        "kind_label": lambda s: kind_label(s, d.locale),
        "column_label": lambda c: column_label(c, d.locale),
        "item_url": lambda sheet, key: d.url(item_url(sheet, key)),
        "say": lambda problem: problem.text(i18n.translations(d.locale).gettext),  # a Problem's or Kept's text
    }


def item_url(sheet: str, key: str) -> str:
    return f"/admin/inventory/{sheet}/item/{quote(key, safe='/')}"


async def _form(request: Request, caller: Caller) -> dict[str, str]:
    form = await auth.form_with_csrf(request, caller)
    return {k: v.strip() for k, v in form.items() if isinstance(v, str)}


# ---------------------------------------------------------------- rows as pages show them


def _day(text: str | None) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


def ended(s: Sheet, row: Row, today: date) -> bool:
    """Whether the object is over on ``today`` (its end date, excluded, has come)."""
    if s.end is None or not row.get(s.end):
        return False
    end = _day(row.get(s.end))
    return end is None or end <= today


def _rows(d: Desk, book: Book, sheet: str) -> list[Row]:
    return list(book.get(sheet) or [])


def _references(book: Book) -> dict[str, list[str]]:
    """The keys a reference column may take, per referred sheet (``holders``: persons and organisations)."""
    keys = {s.name: [s.key_of(r) for r in book.get(s.name) or []] for s in SHEETS}
    keys["holders"] = keys.get("persons", []) + keys.get("organisations", [])
    return keys


@dataclass(frozen=True, slots=True)
class Field:
    """One input of a form: its column, the value shown, the problems written next to it."""

    column: Column
    value: str
    problems: tuple[str, ...]
    readonly: bool = False

    @property
    def input_type(self) -> str:
        return "date" if self.column.kind is Kind.DATE else "text"

    @property
    def choices(self) -> tuple[str, ...]:
        if self.column.kind is Kind.BOOLEAN:
            return ("yes", "no")
        return self.column.values


def fields(s: Sheet, values: Row, problems: list[Problem], *, editing: bool, locale: str = "en") -> list[Field]:
    """The form's fields, each with its problems in the reader's language; on an edit, the key columns cannot
    change (ending and adding another does)."""
    gettext = i18n.translations(locale).gettext
    by_column: dict[str, list[str]] = {}
    for p in problems:
        if p.sheet == s.name and p.column in s.column_names:
            by_column.setdefault(p.column, []).append(p.text(gettext))
    out = []
    for c in s.columns:
        if editing and c.name == s.end:
            continue  # ending has its own form
        out.append(Field(c, values.get(c.name) or "", tuple(by_column.get(c.name, ())), editing and c.name in s.key))
    return out


def general_problems(s: Sheet, problems: list[Problem], shown: set[str]) -> list[Problem]:
    """The problems not written next to a field: of the row, of another sheet, of a column not in the form."""
    return [p for p in problems if not (p.sheet == s.name and p.column in shown)]


# ---------------------------------------------------------------- the index: kinds, workbook, import


@router.get("", name="inventory_index", response_class=HTMLResponse)
def inventory_index(request: Request, d: DeskDep) -> Response:
    """Counts per kind, the workbook (template, export) and the import form."""
    book = book_of(d.store, d.territory_id)
    today = date.today()
    counts = []
    for k in KINDS:
        s = SHEET[k]
        rows = _rows(d, book, k)
        counts.append((k, kind_label(s, d.locale), sum(not ended(s, r, today) for r in rows), len(rows)))
    context = {**_base(request, d), "counts": counts, "downloads": list(DOWNLOADS),
               "max_mib": MAX_WORKBOOK_BYTES // (1 << 20)}  # fmt: skip
    return render(request, "inventory.html", context)


def _download(book: Book, fmt: str, name: str) -> Response:
    if fmt not in DOWNLOADS:
        raise HTTPException(404, f"no such workbook format; known: {', '.join(DOWNLOADS)}")
    with tempfile.TemporaryDirectory(prefix="regie-inventory-") as tmp:
        path = Path(tmp) / f"{name}.{fmt}"
        files.write_book(path, book)
        content = path.read_bytes()
    return Response(
        content, media_type=DOWNLOADS[fmt],
        headers={"Content-Disposition": f'attachment; filename="{name}.{fmt}"', "Cache-Control": "no-store"},
    )  # fmt: skip


@router.get("/template.{fmt}", name="inventory_template")
def inventory_template(request: Request, d: DeskDep, fmt: str) -> Response:
    """The blank workbook, one example row per sheet."""
    return _download(files.template(), fmt, "regie-inventory-template")


@router.get("/export.{fmt}", name="inventory_export")
def inventory_export(request: Request, d: DeskDep, fmt: str) -> Response:
    """The territory's inventory as a workbook (what ``regie inventory export`` writes)."""
    return _download(book_of(d.store, d.territory_id), fmt, f"regie-inventory-{d.territory_id}-{date.today()}")


@dataclass(frozen=True, slots=True)
class Preview:
    """A workbook uploaded and compared, waiting for the admin's confirmation."""

    account_id: int
    territory_id: str
    name: str
    wanted: Book
    remove: bool
    remove_data: bool
    current: dict[str, list[Row]]  # the store's inventory when it was compared
    at: float


_PREVIEW_LOCK = threading.RLock()


def _previews(request: Request) -> dict[str, Preview]:
    state = request.app.state
    with _PREVIEW_LOCK:
        if not hasattr(state, "inventory_previews"):
            state.inventory_previews = {}
        return state.inventory_previews


def _keep_preview(request: Request, preview: Preview) -> str:
    previews = _previews(request)
    token = secrets.token_urlsafe(24)
    with _PREVIEW_LOCK:
        for t in [t for t, p in previews.items() if p.at < time.time() - PREVIEW_TTL_S]:
            del previews[t]
        while len(previews) >= MAX_PREVIEWS:
            del previews[min(previews, key=lambda t: previews[t].at)]
        previews[token] = preview
    return token


def _read_workbook(upload: UploadFile) -> Book:
    """The uploaded workbook, read by :mod:`regie.inventory.files` from a temporary file of the same name
    (its suffix says the format; :class:`~regie.inventory.files.WorkbookError` names the file)."""
    name = Path(upload.filename or "").name
    if name in ("", ".", ".."):
        name = "upload"
    with tempfile.TemporaryDirectory(prefix="regie-inventory-") as tmp:
        path = Path(tmp) / name
        with open(path, "wb") as out:
            while chunk := upload.file.read(1 << 16):
                out.write(chunk)
        return files.read_book(path)


def _import_page(request: Request, d: Desk, status_code: int = 200, **extra: Any) -> HTMLResponse:
    return render(request, "inventory_import.html", {**_base(request, d), **extra}, status_code=status_code)


@router.post("/import", name="inventory_import")
async def inventory_import(request: Request, d: DeskDep) -> Response:
    """Read the uploaded workbook and show what importing it would change (nothing is changed yet)."""
    try:
        form = await read_upload(request, MAX_WORKBOOK_BYTES)
    except UploadTooLarge:
        return _import_page(request, d, 413, too_large=MAX_WORKBOOK_BYTES // (1 << 20))
    try:
        token = form.get(auth.CSRF_FIELD)
        auth.check_csrf(request, d.caller, token if isinstance(token, str) else None)
        upload = form.get("workbook")
        if not isinstance(upload, UploadFile) or not upload.filename:
            return _import_page(request, d, 400, missing=True)
        remove = form.get("remove") == "yes"
        remove_data = remove and form.get("remove_data") == "yes"
        name = upload.filename
        try:
            wanted = await run_in_threadpool(_read_workbook, upload)
            current = book_of(d.store, d.territory_id)
            changes = await run_in_threadpool(
                inventory.apply_book, d.store, d.account, d.territory_id, wanted,
                dry_run=True, remove=remove, remove_data=remove_data, via=name,
            )  # fmt: skip
        except files.WorkbookError as exc:
            return _import_page(request, d, 400, name=name, unreadable=str(exc))
        except InventoryProblems as exc:
            return _import_page(request, d, 400, name=name, problems=exc.problems)
    finally:
        await form.close()
    preview = Preview(d.account.id, d.territory_id, name, wanted, remove, remove_data, current.sheets, time.time())
    token = _keep_preview(request, preview) if not changes.empty else None
    return _import_page(request, d, name=name, changes=_shown(changes, d.locale), empty=changes.empty,
                        kept=changes.kept, token=token, remove=remove, remove_data=remove_data)  # fmt: skip


@router.post("/import/apply", name="inventory_import_apply")
async def inventory_import_apply(request: Request, d: DeskDep) -> Response:
    """Apply a previewed workbook, all or nothing, if the inventory is still the one it was compared with."""
    form = await _form(request, d.caller)
    with _PREVIEW_LOCK:
        preview = _previews(request).pop(form.get("token", ""), None)
    if (
        preview is None
        or preview.account_id != d.account.id
        or preview.territory_id != d.territory_id
        or preview.at < time.time() - PREVIEW_TTL_S
    ):
        return _import_page(request, d, 409, expired=True)
    if book_of(d.store, d.territory_id).sheets != preview.current:
        return _import_page(request, d, 409, moved=True, name=preview.name)
    try:
        await run_in_threadpool(
            inventory.apply_book, d.store, d.account, d.territory_id, preview.wanted,
            remove=preview.remove, remove_data=preview.remove_data, via=preview.name,
        )  # fmt: skip
    except InventoryProblems as exc:
        return _import_page(request, d, 400, name=preview.name, problems=exc.problems)
    return RedirectResponse(d.url("/admin/inventory?done=imported"), status_code=303)


def _shown(changes: Changes, locale: str) -> list[dict[str, Any]]:
    """The changes per sheet, as the preview lists them."""
    out = []
    for s in SHEETS:
        sc = changes[s.name]
        if sc.empty:
            continue
        label = kind_label(s, locale)
        out.append({"sheet": s.name, "label": label,
                    "changes": [(a, c, _delta(c)) for a in ACTIONS for c in getattr(sc, a)]})  # fmt: skip
    return out


def _delta(change: Change) -> list[tuple[str, str | None, str | None]]:
    """(column, before, after) of the columns that change."""
    before, after = change.before or {}, change.after or {}
    return [(c, before.get(c), after.get(c)) for c in change.columns]


# ---------------------------------------------------------------- one kind: list and add


@router.get("/{sheet}", name="inventory_list", response_class=HTMLResponse)
def inventory_list(request: Request, d: DeskDep, sheet: str, ended_too: bool = False, q: str = "") -> Response:
    """The objects of one kind; the ended ones only when asked (``?ended_too=true``); ``q`` keeps the rows
    with a value containing it (case ignored), so that a PRM or a name is found among thousands."""
    s = _kind(sheet)
    today = date.today()
    rows = [(s.key_of(r), r, ended(s, r, today)) for r in _rows(d, book_of(d.store, d.territory_id), sheet)]
    needle = q.strip().casefold()[:100]
    if needle:
        rows = [x for x in rows if any(needle in (v or "").casefold() for v in x[1].values())]
    hidden = sum(e for _, _, e in rows)
    if not ended_too:
        rows = [x for x in rows if not x[2]]
    context = {**_base(request, d), "sheet": s, "rows": rows, "ended_too": ended_too, "hidden": hidden, "q": q}
    return render(request, "inventory_list.html", context)


def _form_page(
    request: Request, d: Desk, s: Sheet, values: Row, problems: list[Problem], status_code: int = 200
) -> HTMLResponse:
    book = book_of(d.store, d.territory_id)
    shown = fields(s, values, problems, editing=False, locale=d.locale)
    context = {
        **_base(request, d), "sheet": s, "fields": shown, "references": _references(book),
        "problems": general_problems(s, problems, {f.column.name for f in shown}), "refused": bool(problems),
    }  # fmt: skip
    return render(request, "inventory_new.html", context, status_code=status_code)


@router.get("/{sheet}/new", name="inventory_new", response_class=HTMLResponse)
def inventory_new(request: Request, d: DeskDep, sheet: str) -> Response:
    """The form to add one object (prefilled from the query string, e.g. ``?holder=p0001``)."""
    s = _kind(sheet)
    values = {c: request.query_params.get(c) for c in s.column_names if request.query_params.get(c)}
    return _form_page(request, d, s, values, [])


def _values(s: Sheet, form: dict[str, str], *, skip: tuple[str, ...] = ()) -> dict[str, str | None]:
    """The form's values per column, a blank field as a blank cell (None)."""
    return {c: form.get(c) or None for c in s.column_names if c not in skip}


@router.post("/{sheet}/new", name="inventory_add")
async def inventory_add(request: Request, d: DeskDep, sheet: str) -> Response:
    """Add one object; refused with every problem next to its field, nothing stored."""
    s = _kind(sheet)
    values = _values(s, await _form(request, d.caller))
    try:
        changes = inventory.edit_row(d.store, d.account, d.territory_id, sheet, None, values)
    except InventoryProblems as exc:
        return _form_page(request, d, s, values, exc.problems, 400)
    added = [c.key for c in changes[sheet].added] or [s.key_of(values)]
    return RedirectResponse(d.url(f"{item_url(sheet, added[0])}?done=added"), status_code=303)


# ---------------------------------------------------------------- one object: page, edit, end, move


def _find(book: Book, s: Sheet, key: str) -> Row:
    for row in book.get(s.name) or []:
        if s.key_of(row) == key:
            return row
    raise HTTPException(404, f"no {s.name} {key!r} in this territory")


def _refers(
    book: Book, s: Sheet, row: Row, link: Callable[[str, str], str] = item_url
) -> list[tuple[Column, str, str | None]]:
    """The objects this one refers to: (column, key, link or None when no such object)."""
    keys = {k: set(v) for k, v in _references(book).items()}
    out = []
    for c in s.columns:
        value = row.get(c.name)
        if not c.refers_to or not value:
            continue
        target = c.refers_to
        if target == "holders":
            target = "persons" if value in keys.get("persons", set()) else "organisations"
        out.append((c, value, link(target, value) if value in keys.get(target, set()) else None))
    return out


def _related(book: Book, s: Sheet, key: str, row: Row) -> list[tuple[Sheet, list[tuple[str, Row]]]]:
    """Objects that refer to this one (the delivery points a transformer feeds, a person's memberships...)."""
    out = []
    for other in SHEETS:
        if other.name not in KINDS:
            continue
        refs = [c.name for c in other.columns if c.refers_to == s.name
                or (c.refers_to == "holders" and s.name in ("persons", "organisations"))]  # fmt: skip
        if s.name == "delivery_points" and other.name == "memberships":
            refs = ["prm"]
        if refs:
            hits = [(other.key_of(r), r) for r in book.get(other.name) or [] if any(r.get(c) == key for c in refs)]
            if hits:
                out.append((other, hits))
    return out


def _history(d: Desk, s: Sheet, key: str) -> list[dict[str, Any]]:
    """The object's entries in the access log, oldest first: who, when, what, before → after (a person's name
    or e-mail appear as the fingerprint the log keeps of them)."""
    zone = _zone(d)
    out = []
    for e in inventory.history(d.store, d.territory_id, s.name, key):
        before, after = e.before or {}, e.after or {}
        when = format_datetime(datetime.fromtimestamp(e.at, zone), "d MMM y HH:mm:ss", locale=d.locale)
        delta = [(c, before.get(c), after.get(c)) for c in e.columns]
        out.append({"seq": e.seq, "actor": e.actor, "action": e.action, "at": when, "delta": delta, "via": e.via})
    return out


def _zone(d: Desk) -> ZoneInfo:
    try:
        return d.store.load_inventory(d.territory_id).territory.zone
    except LookupError:
        return ZoneInfo("Europe/Paris")


def _item_page(
    request: Request,
    d: Desk,
    s: Sheet,
    key: str,
    *,
    values: Row | None = None,
    problems: list[Problem] | None = None,
    form: str = "",
    status_code: int = 200,
    extra: dict[str, Any] | None = None,
) -> HTMLResponse:
    book = book_of(d.store, d.territory_id)
    row = _find(book, s, key)
    problems = problems or []
    shown = fields(s, values if form == "edit" and values is not None else row,
                   problems if form == "edit" else [], editing=True, locale=d.locale)  # fmt: skip
    context = {
        **_base(request, d), "sheet": s, "key": key, "row": row, "fields": shown,
        "is_ended": ended(s, row, date.today()), "end_column": s.end,
        "references": _references(book), "related": _related(book, s, key, row),
        "refers": _refers(book, s, row, lambda sheet, k: d.url(item_url(sheet, k))),
        "history": _history(d, s, key), "form": form, "today": date.today().isoformat(),
        "problems": general_problems(s, problems, {f.column.name for f in shown}) if form == "edit" else [],
        "refused": bool(problems) and form == "edit",
        "end_problems": problems if form == "end" else [],
        "move_problems": problems if form == "move" else [],
        "feed_problems": problems if form == "feed" else [],
        **(extra or {}),
    }  # fmt: skip
    return render(request, "inventory_item.html", context, status_code=status_code)


@router.get("/{sheet}/item/{key:path}", name="inventory_item", response_class=HTMLResponse)
def inventory_item(request: Request, d: DeskDep, sheet: str, key: str) -> Response:
    """One object: its values, the form to edit it, the form to end it, what refers to it, its history."""
    s = _kind(sheet)
    return _item_page(request, d, s, key)


@router.post("/{sheet}/item/{key:path}", name="inventory_edit")
async def inventory_edit(request: Request, d: DeskDep, sheet: str, key: str) -> Response:
    """Change one object; refused with the problems next to their fields, nothing stored."""
    s = _kind(sheet)
    form = await _form(request, d.caller)
    _find(book_of(d.store, d.territory_id), s, key)  # a 404 for an unknown key: an edit never adds
    # the key columns stay the object's (a changed key would be another object), the end has its own form
    values = _values(s, form, skip=(*s.key, *((s.end,) if s.end else ())))
    try:
        changes = inventory.edit_row(d.store, d.account, d.territory_id, sheet, key, values)
    except InventoryProblems as exc:
        return _item_page(request, d, s, key, values=values, problems=exc.problems, form="edit", status_code=400)
    done = "unchanged" if changes.empty else "saved"
    return RedirectResponse(d.url(f"{item_url(sheet, key)}?done={done}"), status_code=303)


@router.post("/{sheet}/end/{key:path}", name="inventory_end")
async def inventory_end(request: Request, d: DeskDep, sheet: str, key: str) -> Response:
    """End one object on a date (excluded): it stays, with its data, but is over from that day."""
    s = _kind(sheet)
    form = await _form(request, d.caller)
    if s.end is None:
        raise HTTPException(404, f"{s.name} are not ended: edit or remove them with the workbook")
    on = _day(form.get("on"))
    if on is None:
        problem = not_a_date(s.name, s.end, form.get("on", ""))
        return _item_page(request, d, s, key, problems=[problem], form="end", status_code=400)
    try:
        inventory.end_row(d.store, d.account, d.territory_id, sheet, key, on)
    except InventoryProblems as exc:
        return _item_page(request, d, s, key, problems=exc.problems, form="end", status_code=400)
    return RedirectResponse(d.url(f"{item_url(sheet, key)}?done=ended"), status_code=303)


@router.post("/transformers/feed/{key:path}", name="inventory_feed")
async def inventory_feed(request: Request, d: DeskDep, key: str) -> Response:
    """Record that this transformer feeds a delivery point: that point's ``transformer`` column names it."""
    s = SHEET["transformers"]
    form = await _form(request, d.caller)
    prm = form.get("prm", "")
    book = book_of(d.store, d.territory_id)
    _find(book, s, key)
    if prm not in {SHEET["delivery_points"].key_of(r) for r in book.get("delivery_points") or []}:
        problem = said("delivery_points", "prm", N_("no delivery point %(prm)s in this territory"), prm=prm)
        return _item_page(request, d, s, key, problems=[problem], form="feed", status_code=400)
    try:
        inventory.edit_row(d.store, d.account, d.territory_id, "delivery_points", prm, {"transformer": key})
    except InventoryProblems as exc:
        return _item_page(request, d, s, key, problems=exc.problems, form="feed", status_code=400)
    return RedirectResponse(d.url(f"{item_url('transformers', key)}?done=saved"), status_code=303)


def said(sheet: str, column: str, template: str, **params: str) -> Problem:
    """A problem found by a page itself (not by the inventory's rules), in English and ready for translation."""
    shown = {k: repr(v) for k, v in params.items()}
    return Problem(sheet, None, column, template % shown, template, shown)


def not_a_date(sheet: str, column: str, text: str) -> Problem:
    return said(sheet, column, N_("%(value)s is not a date (YYYY-MM-DD)"), value=text)


def moved_book(book: Book, key: str, on: date, prm: str) -> tuple[Book, str]:
    """The inventory once the holder of membership ``key`` moves to ``prm`` on ``on``: that membership ends on
    ``on`` and another, of the same holder, starts on ``on``. Returns the book and the new membership's key."""
    s = SHEET["memberships"]
    rows = [dict(r) for r in book["memberships"]]
    wanted = Book({"memberships": rows})
    for row in rows:
        if s.key_of(row) == key:
            row[s.end or "until"] = on.isoformat()
            holder = row.get("holder")
            break
    else:
        raise HTTPException(404, f"no membership {key!r} in this territory")
    new = {c: None for c in s.column_names} | {"holder": holder, "prm": prm, "since": on.isoformat()}
    rows.append(new)
    return wanted, s.key_of(new)


@router.post("/memberships/move/{key:path}", name="inventory_move")
async def inventory_move(request: Request, d: DeskDep, key: str) -> Response:
    """Moving house: this membership ends on a day and the holder's membership of another delivery point
    starts that day, in one change (both or neither). The data of the old delivery point until that day
    stay the holder's."""
    s = SHEET["memberships"]
    form = await _form(request, d.caller)
    on, prm = _day(form.get("on")), form.get("prm", "")
    extra = {"move_prm": prm, "move_on": form.get("on", "")}
    if on is None:
        problem = not_a_date(s.name, "on", form.get("on", ""))
        return _item_page(request, d, s, key, problems=[problem], form="move", status_code=400, extra=extra)
    wanted, new_key = moved_book(book_of(d.store, d.territory_id), key, on, prm)
    try:
        inventory.apply_book(d.store, d.account, d.territory_id, wanted, via="page: move")
    except InventoryProblems as exc:
        return _item_page(request, d, s, key, problems=exc.problems, form="move", status_code=400, extra=extra)
    return RedirectResponse(d.url(f"{item_url('memberships', new_key)}?done=moved"), status_code=303)
