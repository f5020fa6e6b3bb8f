"""Static files, served by the app itself (no CDN): our own CSS/JS, and front-end libraries from node_modules.

Front-end libraries are pinned in ``package.json`` / ``package-lock.json`` at the repository root and
installed by ``scripts/setup.sh`` (``npm ci``). Only the files listed in :data:`VENDOR_FILES` are served,
never the rest of ``node_modules``.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, HTTPException
from fastapi.responses import FileResponse

STATIC_DIR = Path(__file__).resolve().parent / "static"
REPO_ROOT = Path(__file__).resolve().parents[2]

#: Public name under /static/vendor/ → path inside node_modules.
VENDOR_FILES: dict[str, str] = {
    "echarts.min.js": "echarts/dist/echarts.min.js",
    "echarts-lang-fr.js": "echarts/i18n/langFR.js",
    "leaflet.js": "leaflet/dist/leaflet.js",
    "leaflet.css": "leaflet/dist/leaflet.css",
}

router = APIRouter(include_in_schema=False)
_CACHE = {"Cache-Control": "public, max-age=3600"}


def node_modules() -> Path:
    """Where ``npm ci`` put the front-end packages: the repository root (an editable install) or the cwd."""
    for base in (REPO_ROOT, Path.cwd()):
        if (base / "node_modules").is_dir():
            return base / "node_modules"
    return REPO_ROOT / "node_modules"


def vendor_path(name: str) -> Path | None:
    """The file behind /static/vendor/<name>, or None when it is unknown or not installed."""
    if name not in VENDOR_FILES:
        return None
    path = node_modules() / VENDOR_FILES[name]
    return path if path.is_file() else None


def vendor_available(name: str) -> bool:
    """Whether a front-end library is installed (pages say how to install it when it is not)."""
    return vendor_path(name) is not None


@router.get("/static/vendor/{name}", name="vendor")
def vendor(name: str) -> FileResponse:
    path = vendor_path(name)
    if path is None:
        detail = f"{name} is not installed: run scripts/setup.sh (npm ci)" if name in VENDOR_FILES else "not found"
        raise HTTPException(404, detail)
    return FileResponse(path, headers=_CACHE)


@router.get("/static/{name}", name="static")
def static(name: str) -> FileResponse:
    path = STATIC_DIR / name
    # Only plain files directly inside static/: the route's {name} cannot hold a '/', and we refuse dot-files.
    if name.startswith(".") or not path.is_file():
        raise HTTPException(404, "not found")
    return FileResponse(path, headers=_CACHE)
