"""File upload API: ``POST /api/import/{format}`` — the same import as ``regie import`` and the upload page.

A bad file is the caller's to fix: 400 with the importer's detail ``{error, source, line, field}`` (nothing
of the file was written); 404 for a format regie does not know; 401 without a key that may write; 403 when
the key may not write a series the file names (:mod:`regie.governance.writes`: a member's key writes only
that member's series; the refusal is logged and nothing is written). The file's size and, for an archive,
what it unpacks to are bounded by the importer (:mod:`regie.ingest.limits`, lowered per app with
``app.state.max_upload_bytes`` / ``max_unpacked_bytes``). The upload is spooled to disk by Starlette, and
the route is a plain ``def`` so that FastAPI runs the import in its thread pool instead of blocking the
event loop.
"""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, File, Form, Header, HTTPException, Request, UploadFile
from pydantic import BaseModel, Field

from regie.governance import writes
from regie.ingest import IngestError, adapters
from regie.ingest.importer import Importer
from regie.ingest.limits import Limits
from regie.web import territory_choice
from regie.web.auth import resolve_caller
from regie.web.deps import StoreDep

router = APIRouter(prefix="/api", tags=["import"])


class ImportOut(BaseModel):
    format: str
    source: str = Field(description="the uploaded file's name")
    points_read: int = Field(description="readings in the file (gaps excluded)")
    points_written: int = Field(description="distinct readings stored (a re-import rewrites the same ones)")
    quarantined: int = Field(description="readings of unknown delivery points, kept for the admin")
    series: list[str] = Field(description="series written to")
    created: list[str] = Field(description="series this import created")
    seconds: float


class IngestErrorOut(BaseModel):
    error: str
    source: str | None
    line: int | None
    field: str | None


def _fail(status: int, exc: IngestError) -> HTTPException:
    return HTTPException(status_code=status, detail=exc.as_dict())


@router.post(
    "/import/{fmt}",
    response_model=ImportOut,
    responses={
        400: {"description": "the file is malformed; nothing was written", "model": IngestErrorOut},
        401: {"description": "no API key with the write scope"},
        403: {"description": "the key may not write a series the file names; nothing was written"},
        404: {"description": "unknown format", "model": IngestErrorOut},
    },
)
def import_upload(
    request: Request,
    fmt: str,
    store: StoreDep,
    file: Annotated[UploadFile, File(description="the file: CSV, JSON, or a .tar.gz / .zip emoncms backup")],
    options: Annotated[str | None, Form(description='adapter options as a JSON object, e.g. {"unit": "kW"}')] = None,
    authorization: Annotated[str | None, Header()] = None,
) -> ImportOut:
    """Import one uploaded file atomically; formats: enedis-portal, enedis-r63, enedis-dataconnect,
    emoncms-archive, csv (see ``regie import --help``)."""
    caller = resolve_caller(request) if authorization else None  # the header is declared for the OpenAPI schema
    key = caller.key if caller is not None else None
    if key is None or not key.allows("write"):
        raise HTTPException(401, detail="an API key with the write scope is required (Authorization: Bearer ...)")
    if key.node is not None:
        raise HTTPException(403, detail=f"a device key posts the inputs of node {key.node} only, not files")
    if fmt not in adapters():
        raise _fail(404, IngestError(f"unknown format; known: {', '.join(adapters())}", field="format"))
    try:
        opts = json.loads(options) if options else {}
    except json.JSONDecodeError as exc:
        raise _fail(400, IngestError(f"options are not a JSON object: {exc.msg}", field="options")) from None
    if not isinstance(opts, dict):
        raise _fail(400, IngestError("options must be a JSON object", field="options"))
    # The clock, the territory's zone, the limits and the parsers' chunk sizes are not the client's to set.
    for reserved in ("now", "zone", "limits", "chunk_rows", "block_points"):
        opts.pop(reserved, None)
    for k, v in opts.items():  # every option is text, as on the command line and in the upload form
        if not isinstance(v, str):
            raise _fail(400, IngestError(f"option {k[:40]!r} must be a string", field="options"))
    name = file.filename or "upload"
    guard = writes.guard(store, writes.key_writer(caller.account, key.id, key.node, key.site_id), f"import/{fmt}", name)
    try:
        territory = territory_choice.choose(request, caller).id  # ?territory=, else the key's account's, else the main
        report = Importer(store, territory, guard=guard, limits=app_limits(request)).import_stream(
            fmt, file.file, name, **opts
        )
    except writes.WriteDenied as exc:
        guard.finish(exc)
        raise HTTPException(403, detail={"error": exc.reason, "source": name, "line": None, "field": None}) from None
    except IngestError as exc:
        raise _fail(400, exc) from None
    guard.finish(points=report.points_written)
    return ImportOut(**report.as_dict())


def app_limits(request: Request) -> Limits:
    """The import limits of this app: the defaults of :mod:`regie.ingest.limits`, unless set on the app."""
    state, default = request.app.state, Limits()
    return Limits(
        max_upload_bytes=int(getattr(state, "max_upload_bytes", default.max_upload_bytes)),
        max_unpacked_bytes=int(getattr(state, "max_unpacked_bytes", default.max_unpacked_bytes)),
    )
