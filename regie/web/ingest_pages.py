"""Ingest pages: upload files (``/import``), the quarantine (``/quarantine``), emoncms inputs (``/inputs``),
and a site's sensors (``/admin/sites/{site}/sensors``: its emonPi keys and the inputs they posted).

Who: the upload is for the régie's admin and the operators of the régie (an organisation of kind ``regie``:
the body that meters the territory); the quarantine, the inputs and a site's sensors are the admin's
(:data:`regie.web.deps.AdminCaller`). The public is sent to log in; anyone else gets the refusal page. Each page
shows, and each form acts on, the territory chosen for the request (:mod:`regie.web.territory_choice`: an admin
of one territory never sees or touches another's quarantined readings, inputs or sites).

Uploads run the same :class:`regie.ingest.importer.Importer` as ``regie import`` and ``POST /api/import``:
each file is all or nothing, and a bad one says file, line, field and why. The multipart body is parsed as
it arrives (Starlette's parser spools each file to a temporary file past 1 MB, never the whole body in
memory) through a counter that stops at the upload limit. The limits themselves — a file's size, what an
archive may unpack to, zip bombs — are the importer's (:mod:`regie.ingest.limits`), the same for the API and
the CLI; they may be lowered per app (``app.state.max_upload_bytes``, ``app.state.max_unpacked_bytes``).
Every write (an import, a release, a re-mapping) goes through :mod:`regie.governance.writes`, which decides
and logs it. The import itself runs in the thread pool, off the event loop. Every form carries the
session's CSRF token.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_datetime
from fastapi import APIRouter, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import FormData, UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser

from regie.governance import territories, writes
from regie.governance.accounts import Account, Role, get_account
from regie.governance.key_owner import owner_ref
from regie.ingest import IngestError, adapters, apikeys
from regie.ingest.admin import (
    AdminError,
    Declaration,
    ReleasePending,
    declaration_defaults,
    declare_prm,
    discard,
    quarantine_lines,
    release,
    remap_input,
    resolve_ref,
)
from regie.ingest.importer import Importer
from regie.ingest.inputs import InputService, site_inputs
from regie.ingest.limits import Limits, mib
from regie.inventory.format import SEGMENTS
from regie.store import Store
from regie.store.quarantine import Scope
from regie.web import auth, i18n, territory_choice
from regie.web.account_pages import PageCaller, render
from regie.web.auth import Caller
from regie.web.deps import AdminCaller
from regie.web.imports import app_limits
from regie.web.territory_choice import Choice

log = logging.getLogger(__name__)
router = APIRouter(include_in_schema=False)
N_ = i18n.N_

MAX_FILES = 50

#: Options the upload form offers, by format: (form field, adapter option, label).
FORMAT_OPTIONS: dict[str, list[tuple[str, str, str]]] = {
    "csv": [
        ("csv_time_column", "time_column", N_("Time column (default: the first)")),
        ("csv_time_format", "time_format", N_("Time format: iso, unix, unix_ms or a strftime pattern")),
        ("csv_columns", "columns", N_("Columns → series: column=series[:unit], separated by commas")),
        ("csv_unit", "unit", N_("Unit of the values (W, kW, Wh, kWh, degC...)")),
        ("csv_convention", "convention", N_("Time stamps: start, end or instant")),
        ("csv_step", "step", N_("Step (ISO 8601, e.g. PT30M; inferred if empty)")),
        ("csv_kind", "kind", N_("Kind of the series created (consumption, production, temperature...)")),
        ("csv_timezone", "timezone", N_("Time zone of local times (default: the territory's)")),
    ],
    "emoncms-archive": [("emoncms_prefix", "prefix", N_("Prefix of the series ids (default: emoncms)"))],
    "enedis-r15-acc": [
        ("r15_key", "key", N_("AES key Enedis gave the PMO (hexadecimal)")),
        ("r15_iv", "iv", N_("IV Enedis gave with the key, if any (hexadecimal)")),
    ],
}
#: Options that are secrets: typed into a password field, never shown back.
SECRET_OPTIONS = {"key", "iv"}
DONE_MESSAGES: dict[str, str] = {
    "released": N_("The readings are released to their series and left the quarantine."),
    "discarded": N_("The readings are discarded."),
    "remapped": N_("The input is re-mapped: its next readings go to the new series."),
    "revoked": N_("The key is revoked: it no longer works."),
    "declared": N_("The delivery point is declared and its readings are released to its series."),
}


class UploadTooLarge(Exception):
    """The request body went past the upload limit."""


# ---------------------------------------------------------------- who


def may_import(store: Store, account: Account) -> bool:
    """The régie's admin, or an operator of an organisation of kind régie (who meters the territory)."""
    return account.role is Role.ADMIN or writes.regie_operator(store, account)


def _refused(request: Request, message: str) -> HTMLResponse:
    return render(request, "refused.html", {"active": "import", "message": message}, status_code=403)


def _store(request: Request) -> Store:
    return request.app.state.store


def _base(request: Request, caller: Caller, active: str, choice: Choice | None = None) -> dict[str, Any]:
    return {
        **(territory_choice.context(choice) if choice is not None else {}),
        "active": active,
        "account": caller.account,
        "csrf": auth.csrf_for(request, caller),
        "done": DONE_MESSAGES.get(request.query_params.get("done", "")),
        "is_admin": caller.role is Role.ADMIN,
    }


# ---------------------------------------------------------------- upload


def _upload_context(request: Request, caller: Caller) -> dict[str, Any]:
    limits = app_limits(request)
    return {
        **_base(request, caller, "import"),
        "formats": [(a.name, a.description, a.suffixes) for a in adapters().values()],
        "format_options": FORMAT_OPTIONS,
        "secret_options": SECRET_OPTIONS,
        "max_upload_mib": mib(limits.max_upload_bytes),
        "max_unpacked_mib": mib(limits.max_unpacked_bytes),
    }


@router.get("/import", name="import_page", response_class=HTMLResponse)
def import_page(request: Request, caller: PageCaller) -> Response:
    """The upload form: a format, one or several files, the format's options."""
    if not may_import(_store(request), caller.account):
        return _refused(request, "for the régie's admin and operators")
    return render(request, "import.html", _upload_context(request, caller))


async def _counted(request: Request, limit: int) -> AsyncIterator[bytes]:
    seen = 0
    async for chunk in request.stream():
        seen += len(chunk)
        if seen > limit:
            raise UploadTooLarge
        yield chunk


async def read_upload(request: Request, limit: int) -> FormData:
    """The multipart form, files spooled to temporary files, refused past ``limit`` bytes (declared or sent)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise UploadTooLarge
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise HTTPException(400, "expected a multipart/form-data upload")
    parser = MultiPartParser(request.headers, _counted(request, limit), max_files=MAX_FILES, max_fields=100)
    try:
        return await parser.parse()
    except MultiPartException as exc:
        raise HTTPException(400, exc.message) from None


def _options(form: FormData, fmt: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for field, option, _ in FORMAT_OPTIONS.get(fmt, []):
        value = form.get(field)
        if isinstance(value, str) and value.strip():
            out[option] = value.strip()
    return out


def import_files(
    store: Store, writer: writes.Writer, fmt: str, files: list[UploadFile], options: dict[str, str], limits: Limits,
    territory_id: str | None = None,
) -> list[dict]:  # fmt: skip
    """Import each file on its own (all or nothing per file, each write decided and logged by
    :mod:`regie.governance.writes`) into the territory chosen for the page; one result per file."""
    results: list[dict] = []
    for upload in files:
        name = upload.filename or "upload"
        guard = writes.guard(store, writer, f"import/{fmt}", name)
        try:
            importer = Importer(store, territory_id, guard=guard, limits=limits)
            report = importer.import_stream(fmt, upload.file, name, **dict(options))
            guard.finish(points=report.points_written)
            results.append({"name": name, "ok": True, "report": report})
        except writes.WriteDenied as exc:
            guard.finish(exc)
            results.append({"name": name, "ok": False, "error": IngestError(exc.reason, source=name)})
        except IngestError as exc:
            results.append({"name": name, "ok": False, "error": exc})
    return results


@router.post("/import", name="import_upload")
async def import_upload(request: Request, caller: PageCaller) -> Response:
    """Run the upload through the importer and show what each file did (or why it wrote nothing)."""
    store = _store(request)
    if not may_import(store, caller.account):
        return _refused(request, "for the régie's admin and operators")
    limits = app_limits(request)
    try:
        form = await read_upload(request, limits.max_upload_bytes)
    except UploadTooLarge:
        context = {**_upload_context(request, caller), "too_large": True}
        return render(request, "import.html", context, status_code=413)
    try:
        token = form.get(auth.CSRF_FIELD)
        auth.check_csrf(request, caller, token if isinstance(token, str) else None)
        fmt = str(form.get("format") or "")
        files = [f for f in form.getlist("files") if isinstance(f, UploadFile) and f.filename]
        if fmt not in adapters():
            context = {**_upload_context(request, caller), "problem": "format"}
            return render(request, "import.html", context, status_code=400)
        if not files:
            context = {**_upload_context(request, caller), "problem": "files", "chosen": fmt}
            return render(request, "import.html", context, status_code=400)
        options = _options(form, fmt)
        writer = writes.Writer(caller.account, caller.via)
        territory = territory_choice.choose(request, caller).id
        results = await run_in_threadpool(import_files, store, writer, fmt, files, options, limits, territory)
    finally:
        await form.close()
    failed = sum(not r["ok"] for r in results)
    context = {**_base(request, caller, "import"), "format": fmt, "results": results, "failed": failed}
    return render(request, "import_result.html", context, status_code=400 if failed == len(results) else 200)


# ---------------------------------------------------------------- quarantine (admin)


def _when(t: int | None, request: Request, zone: ZoneInfo) -> str:
    """An instant in the territory's zone, written the visitor's way."""
    if t is None:
        return ""
    return format_datetime(datetime.fromtimestamp(int(t), zone), "d MMM y HH:mm", locale=i18n.negotiate_locale(request))


def _zone(store: Store, territory_id: str | None) -> ZoneInfo:
    try:
        return store.load_inventory(territory_id).territory.zone
    except LookupError:
        return ZoneInfo("Europe/Paris")


def _scope(request: Request, caller: Caller) -> tuple[Choice, Scope]:
    """The territory this request shows (:func:`regie.web.territory_choice.choose`: ``?territory=`` within the
    admin's own) and the quarantined readings it handles: that territory's, and for an admin of every
    territory, also those that came with none."""
    choice = territory_choice.choose(request, caller)
    return choice, Scope(choice.id, unplaced=not territories.scoped(caller.account))


def _back(path: str, choice: Choice, done: str) -> RedirectResponse:
    """Post/redirect/get to the page of the territory the form was sent from."""
    query = territory_choice.query(choice)
    return RedirectResponse(f"{path}{query}{'&' if query else '?'}done={done}", status_code=303)


def _quarantine_page(request: Request, caller: Caller, error: str | None = None, status_code: int = 200) -> Response:
    store = _store(request)
    choice, scope = _scope(request, caller)
    zone = _zone(store, choice.id)
    lines = quarantine_lines(store, scope)
    for line in lines:
        line["first_text"] = _when(line["first"], request, zone)
        line["last_text"] = _when(line["last"], request, zone)
    context = {**_base(request, caller, "import", choice), "lines": lines, "error": error}
    return territory_choice.remember(request, render(request, "quarantine.html", context, status_code=status_code),
                                     choice)  # fmt: skip


@router.get("/quarantine", name="quarantine_page", response_class=HTMLResponse)
def quarantine_page(request: Request, caller: AdminCaller) -> Response:
    """Readings that could not be placed (of the territory shown): source, masked key, reason, count, first and
    last instant."""
    return _quarantine_page(request, caller)


async def _admin_form(request: Request, caller: Caller) -> dict[str, str]:
    form = await auth.form_with_csrf(request, caller)
    return {k: v.strip() for k, v in form.items() if isinstance(v, str)}


def _said(request: Request, exc: AdminError) -> str:
    """An admin error in the visitor's language when it was written for the catalogues, else as it is."""
    if exc.template is None:
        return str(exc)
    return i18n.translations(i18n.negotiate_locale(request)).gettext(exc.template) % exc.params


def _declare_page(
    request: Request, caller: Caller, ref: str, form: dict[str, str] | None = None, error: str | None = None,
    status_code: int = 200,
) -> Response:  # fmt: skip
    store = _store(request)
    choice, scope = _scope(request, caller)
    source, key = resolve_ref(store, ref, scope)
    defaults = declaration_defaults(store, source, key, scope)
    inv = store.load_inventory(choice.id)
    values = {"site_id": "", "site_name": "", "segment": defaults["segment"], "usage": "residential",
              "subscribed_kva": "", "holder": "", "holder_name": "",
              "since": defaults["since"].isoformat() if defaults["since"] else "", **(form or {})}  # fmt: skip
    context = {
        **_base(request, caller, "import", choice),
        "q": defaults,
        "values": values,
        "sites": sorted((x.id, x.name) for x in inv.sites if x.until is None),
        "holders": sorted([p.id for p in inv.persons] + [o.id for o in inv.organisations]),
        "segments": SEGMENTS,
        "error": error,
    }
    return render(request, "quarantine_declare.html", context, status_code=status_code)


@router.get("/quarantine/declare", name="quarantine_declare_form", response_class=HTMLResponse)
def quarantine_declare_form(request: Request, caller: AdminCaller, ref: str = "") -> Response:
    """ "Declare this PRM": a form pre-filled from the quarantined readings (masked PRM, segment, first day)."""
    try:
        return _declare_page(request, caller, ref)
    except AdminError as exc:
        return _quarantine_page(request, caller, _said(request, exc), status_code=404)


@router.post("/quarantine/declare", name="quarantine_declare")
async def quarantine_declare(request: Request, caller: AdminCaller) -> Response:
    """Declare the PRM (its site, its holder) in the territory shown through the inventory, then release its
    readings; a refusal shows the form again with why, and changes nothing."""
    form = await _admin_form(request, caller)
    store = _store(request)
    choice, scope = _scope(request, caller)
    ref = form.get("ref", "")
    try:
        source, key = resolve_ref(store, ref, scope)
    except AdminError as exc:
        return _quarantine_page(request, caller, str(exc), status_code=404)
    try:
        since = date.fromisoformat(form["since"]) if form.get("since") else None
    except ValueError:
        gettext = i18n.translations(i18n.negotiate_locale(request)).gettext
        error = gettext(N_("The first day held must be a date (YYYY-MM-DD), not %(value)s.")) % {
            "value": repr(form["since"][:40])
        }
        return _declare_page(request, caller, ref, form, error, status_code=400)
    declaration = Declaration(
        site_id=form.get("site_id", ""), site_name=form.get("site_name") or None,
        segment=form.get("segment", ""), usage=form.get("usage", ""),
        subscribed_kva=form.get("subscribed_kva") or None, holder=form.get("holder") or None,
        holder_name=form.get("holder_name") or None, since=since,
    )  # fmt: skip
    guard = writes.guard(store, writes.Writer(caller.account, caller.via), "quarantine/release", key)
    try:
        await run_in_threadpool(
            lambda: writes.run(guard, lambda: declare_prm(store, caller.account, source, key, declaration, guard=guard,
                                                          territory_id=choice.id, scope=scope))
        )  # fmt: skip
    except writes.WriteDenied as exc:
        return _declare_page(request, caller, ref, form, exc.reason, status_code=403)
    except ReleasePending as exc:  # declared: the form no longer applies, the quarantine shows the readings left
        return _quarantine_page(request, caller, _said(request, exc), status_code=409)
    except AdminError as exc:
        return _declare_page(request, caller, ref, form, _said(request, exc), status_code=400)
    return _back("/quarantine", choice, "declared")


@router.post("/quarantine/{action}", name="quarantine_action")
async def quarantine_action(request: Request, caller: AdminCaller, action: str) -> Response:
    """Release a key's readings (of the territory shown) to their series (once declared), or discard them
    (logged)."""
    if action not in ("release", "discard"):
        raise HTTPException(404, "unknown action: release or discard")
    form = await _admin_form(request, caller)
    store = _store(request)
    choice, scope = _scope(request, caller)
    who, target = caller.account.username, form.get("series") or None
    try:
        source, key = resolve_ref(store, form.get("ref", ""), scope)
        if action == "release":
            guard = writes.guard(store, writes.Writer(caller.account, caller.via), "quarantine/release", key)
            await run_in_threadpool(lambda: writes.run(guard, lambda: release(store, source, key, series_id=target,
                                                                           actor=who, guard=guard, scope=scope)))
        else:
            await run_in_threadpool(lambda: discard(store, source, key, actor=who, scope=scope))  # fmt: skip
    except writes.WriteDenied as exc:
        return _quarantine_page(request, caller, exc.reason, status_code=403)
    except (AdminError, IngestError) as exc:
        return _quarantine_page(request, caller, str(exc), status_code=409)
    return _back("/quarantine", choice, "released" if action == "release" else "discarded")


# ---------------------------------------------------------------- emoncms inputs (admin)


def _input_service(request: Request) -> InputService:
    """The app's input service when it runs (re-mapping must reach its cache), else one that only reads and
    re-maps (no writer thread is started for that)."""
    return getattr(request.app.state, "inputs", None) or InputService(_store(request))


def _inputs_page(request: Request, caller: Caller, error: str | None = None, status_code: int = 200) -> Response:
    store = _store(request)
    choice = territory_choice.choose(request, caller)
    zone = _zone(store, choice.id)
    rows = _input_service(request).inputs(choice.id) if choice.id is not None else []
    for r in rows:
        r["last_text"] = _when(r["last_time"], request, zone)
    try:
        series_ids = sorted(s.id for s in store.load_inventory(choice.id).series)
    except LookupError:
        series_ids = []
    context = {**_base(request, caller, "import", choice), "inputs": rows, "series_ids": series_ids, "error": error}
    return territory_choice.remember(request, render(request, "inputs.html", context, status_code=status_code),
                                     choice)  # fmt: skip


@router.get("/inputs", name="inputs_page", response_class=HTMLResponse)
def inputs_page(request: Request, caller: AdminCaller) -> Response:
    """The emoncms inputs whose series are in the territory shown: node, name, series, last time and value;
    each may be re-mapped (within that territory)."""
    return _inputs_page(request, caller)


@router.post("/inputs/remap", name="inputs_remap")
async def inputs_remap(request: Request, caller: AdminCaller) -> Response:
    """Bind an input of the territory shown to another series of it (or to a new one, created like its current
    series); the write guard refuses a series of a territory the admin does not run."""
    choice = territory_choice.choose(request, caller)
    form = await _admin_form(request, caller)
    service = _input_service(request)
    node, name = form.get("node", ""), form.get("name", "")
    guard = writes.guard(_store(request), writes.Writer(caller.account, caller.via), "input/remap", f"{node}/{name}")
    try:
        await run_in_threadpool(
            lambda: writes.run(guard, lambda: remap_input(
                service, node, name, form.get("series", ""), create=form.get("create") == "1",
                actor=caller.account.username, guard=guard, territory_id=choice.id,
            ))
        )  # fmt: skip
    except writes.WriteDenied as exc:
        return _inputs_page(request, caller, exc.reason, status_code=403)
    except AdminError as exc:
        return _inputs_page(request, caller, str(exc), status_code=409)
    return _back("/inputs", choice, "remapped")


# ---------------------------------------------------------------- a site's sensors (admin)


def _site_context(request: Request, caller: Caller, site_id: str) -> dict[str, Any] | None:
    """What the sensors part of a site's page shows; None when there is no such site. The site's own territory
    decides: an admin of another is refused (403, logged), as a ``?territory=`` it does not run is."""
    store = _store(request)
    territory_choice.choose(request, caller)  # a forged ?territory= is refused and logged here
    territory_id = territories.of_site(store, site_id)
    if territory_id is None:
        return None
    if not territories.may_see(caller.account, territory_id):
        raise territory_choice.Refused(territories.refuse(store, caller.account, territory_id, request.url.path))
    inv = store.load_inventory(territory_id)
    place = next((x for x in inv.sites if x.id == site_id), None)
    if place is None:
        return None
    zone = inv.territory.zone
    prms = {d.prm for d in inv.delivery_points if d.site_id == site_id}
    holders = sorted({m.holder_id for m in inv.memberships if m.prm in prms and m.active_on(date.today())})
    keys = apikeys.list_keys(store, site_id=site_id)
    rows = site_inputs(store, site_id)
    for r in rows:
        r["last_text"] = _when(r["last_time"], request, zone)
    return {
        **_base(request, caller, "import"),
        "site": place,
        "holders": holders,
        "keys": [
            {
                "key": k,
                "created_text": _when(k.created_at, request, zone),
                "revoked_text": _when(k.revoked_at, request, zone),
            }
            for k in keys
        ],
        "inputs": rows,
        "base_url": str(request.base_url).rstrip("/"),
    }


def _sensors_page(request: Request, caller: Caller, site_id: str, *, status_code: int = 200, **extra: Any) -> Response:
    context = _site_context(request, caller, site_id)
    if context is None:
        raise HTTPException(404, f"no site {site_id!r}")
    return render(request, "site_sensors.html", {**context, **extra}, status_code=status_code)


@router.get("/admin/sites/{site_id}/sensors", name="site_sensors", response_class=HTMLResponse)
def site_sensors(request: Request, caller: AdminCaller, site_id: str) -> Response:
    """A site's sensors: its keys (never their secrets), the inputs they posted, a form for a new key."""
    return _sensors_page(request, caller, site_id)


@router.post("/admin/sites/{site_id}/sensors/keys", name="site_sensor_key_add")
async def site_sensor_key_add(request: Request, caller: AdminCaller, site_id: str) -> Response:
    """Create a sensor key bound to the site; its clear text is shown on this answer only. Its owner, when given,
    is an account the admin sees (:func:`regie.governance.territories.accounts_seen_by`)."""
    form = await _admin_form(request, caller)
    store = _store(request)
    if _site_context(request, caller, site_id) is None:
        raise HTTPException(404, f"no site {site_id!r}")
    name, node, owner = form.get("name", ""), form.get("node") or None, form.get("owner") or None
    gettext = i18n.translations(i18n.negotiate_locale(request)).gettext
    acct = get_account(store, owner) if owner else None
    if acct is not None and not territories.may_manage(store, caller.account, acct):
        acct = None  # an account of another territory is, to this admin, no account
    problem = None
    if not name:
        problem = gettext(N_("A key needs a name saying what it is for, e.g. 'emonpi garage'."))
    elif owner and acct is None:
        problem = gettext(N_("No account %(name)s: create it first, or leave the field empty.")) % {"name": repr(owner)}
    if problem is not None:
        return _sensors_page(request, caller, site_id, status_code=400, error=problem, form=form)
    try:
        key, secret = apikeys.create_key(store, name, ["ingest"], node=node, site_id=site_id,
                                         owner_id=owner_ref(acct) if acct else None)  # fmt: skip
    except ValueError as exc:
        return _sensors_page(request, caller, site_id, status_code=400, error=str(exc), form=form)
    log.info("%s created sensor key #%d for site %s", caller.account.username, key.id, site_id)
    return _sensors_page(request, caller, site_id, status_code=201, created=key, secret=secret)


@router.post("/admin/sites/{site_id}/sensors/revoke", name="site_sensor_key_revoke")
async def site_sensor_key_revoke(request: Request, caller: AdminCaller, site_id: str) -> Response:
    """Revoke one of the site's keys at once (kept in the list, never valid again)."""
    form = await _admin_form(request, caller)
    if _site_context(request, caller, site_id) is None:
        raise HTTPException(404, f"no site {site_id!r}")
    key_id = form.get("key_id", "")
    if not key_id.isdigit() or not apikeys.revoke(_store(request), int(key_id), site_id=site_id):
        gettext = i18n.translations(i18n.negotiate_locale(request)).gettext
        error = gettext(N_("No active key #%(id)s on this site.")) % {"id": key_id[:12]}
        return _sensors_page(request, caller, site_id, status_code=409, error=error)
    log.info("%s revoked sensor key #%s of site %s", caller.account.username, key_id, site_id)
    return RedirectResponse(f"/admin/sites/{site_id}/sensors?done=revoked", status_code=303)
