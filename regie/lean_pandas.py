"""pandas imported without pyarrow: 34 MB less in every regie process (`regie serve` first, docs/footprint.md).

pandas 3 imports pyarrow at its own import whenever it is installed (``pandas/compat/pyarrow.py``) and then backs
its ``str`` columns with it; pyarrow is a regie dependency for Parquet (the lake, the cluster, the open-data
files), so every process paid ``pyarrow.lib`` and ``pyarrow.compute`` (34 MB resident, measured with
``python -X importtime`` and ``/proc/self/status``) though regie's pandas code is numeric. Imported by
``regie/__init__.py``, this module hooks the first import of pandas (nothing is imported before: a process that
needs no pandas, as the SPARQL engine's child, loads none) and makes pyarrow unimportable for the time of that
import only: pandas then keeps its ``str`` columns as Python strings (the same values and missing values:
pandas 3's ``str`` dtype behaves alike on both storages, PDEP-14), and pyarrow loads where regie's Parquet code
imports it.

pandas computes its pyarrow version flags at that import; they are set back to the installed pyarrow's
version (read from its metadata, without importing it), so that what pandas imports later behaves as it
would have: its Parquet writer in particular, whose ``patch_pyarrow`` (``pandas/core/arrays/arrow/
extension_types.py``) would otherwise try to unregister an extension type pyarrow ≥ 14.0.1 no longer has.
``HAS_PYARROW`` stays False: the modules pandas imported were set up without pyarrow. Parquet files written by
pandas then type their text columns ``string`` rather than ``large_string``, with the same values.

Nothing changes when pandas or pyarrow was imported before regie: both ways compute the same figures.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.metadata
import importlib.util
import sys
from types import ModuleType
from typing import Any


class _HidingLoader(importlib.abc.Loader):
    """pandas's own loader, run with pyarrow unimportable; everything else asked of it goes to the real one."""

    def __init__(self, loader: Any) -> None:
        self._loader = loader

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        return self._loader.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        if "pyarrow" in sys.modules:  # loaded already: pandas uses it, as it would anyway
            self._loader.exec_module(module)
            return
        sys.modules["pyarrow"] = None  # type: ignore[assignment]  # the import system's "not importable"
        try:
            self._loader.exec_module(module)
        finally:
            del sys.modules["pyarrow"]
        _true_version_flags()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._loader, name)


class _PandasFinder(importlib.abc.MetaPathFinder):
    """Finds pandas once, as the other finders do, and hands its spec the hiding loader."""

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> importlib.machinery.ModuleSpec | None:
        if fullname != "pandas":
            return None
        sys.meta_path.remove(self)  # once: the other finders find it, and any later import is theirs
        spec = importlib.util.find_spec("pandas")
        if spec is not None and spec.loader is not None:
            spec.loader = _HidingLoader(spec.loader)
        return spec


def _true_version_flags() -> None:
    """pandas's ``pa_version_underXpY`` flags from the installed pyarrow's version (all True without one)."""
    from pandas import compat
    from pandas.compat import pyarrow as flags
    from pandas.util.version import InvalidVersion, Version

    try:
        installed = Version(Version(importlib.metadata.version("pyarrow")).base_version)
    except (importlib.metadata.PackageNotFoundError, InvalidVersion):
        return
    for name in dir(flags):
        if name.startswith("pa_version_under") and name.endswith(tuple("0123456789")):
            major, _, patch = name.removeprefix("pa_version_under").partition("p")
            value = installed < Version(f"{major}.0.{patch or 0}")  # pandas's own: 14p1 is "< 14.0.1"
            setattr(flags, name, value)
            if hasattr(compat, name):
                setattr(compat, name, value)


def install() -> bool:
    """Hook the first import of pandas (module doc); False when pandas was imported already or is hooked."""
    if "pandas" in sys.modules or any(isinstance(f, _PandasFinder) for f in sys.meta_path):
        return False
    sys.meta_path.insert(0, _PandasFinder())
    return True


install()
