"""The session's demo year (the ``demo_year`` fixture of ``tests/conftest.py``): a module of its own, so that
helpers name its type without importing a conftest by name (several folders have one)."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class DemoYear:
    """The Prats demo year (``build_prats(seed=42)``) installed once per session (per worker under ``-n``) in a
    SQLite store that no test opens: :meth:`copy` gives each user a store of its own, so a test that writes
    leaves the next one the same start. ``data`` is the generated year itself, to read, never to change."""

    data: Any  # regie.demo.data.DemoData
    path: Path

    def copy(self, folder: Path) -> str:
        """URL of a fresh copy of the installed store in ``folder`` (a file copy: seconds less than a build)."""
        folder.mkdir(parents=True, exist_ok=True)
        for suffix in ("", "-wal"):  # the build closed its store: no -wal is left, unless SQLite kept one
            if Path(f"{self.path}{suffix}").exists():
                shutil.copyfile(f"{self.path}{suffix}", folder / f"{self.path.name}{suffix}")
        return f"sqlite:///{folder / self.path.name}"
