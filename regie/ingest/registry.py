"""The registry of file adapters: the CLI (`regie import FORMAT PATH`), the API and the upload page
look adapters up here by name instead of a chain of ``if``s (Datasette's plugin hooks are the model).

An adapter module calls :func:`register` at import; :func:`adapters` imports the built-in modules
listed in ``BUILTIN`` once, then returns everything registered (third-party modules included).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from regie.model import Readings

#: Built-in adapter modules, imported on first use (so importing regie.ingest stays cheap).
BUILTIN: list[str] = [
    "regie.ingest.enedis",
    "regie.ingest.emoncms_archive",
    "regie.ingest.csv_plain",
    "regie.ingest.r15_acc",
]


@dataclass(frozen=True, slots=True)
class FileAdapter:
    """A file format regie can import.

    ``parse(stream, name, **options)`` reads a binary stream and yields Readings batches keyed by the
    source's own identifiers (PRM, feed id, column name) — mapping them onto series is the importer's
    job. It must raise :class:`regie.ingest.IngestError` (file, line, field, why) on bad input.
    """

    name: str
    description: str
    parse: Callable[..., Iterator[Readings]]
    suffixes: tuple[str, ...] = ()


_ADAPTERS: dict[str, FileAdapter] = {}
_LOADED = False


def register(adapter: FileAdapter) -> FileAdapter:
    if adapter.name in _ADAPTERS and _ADAPTERS[adapter.name] is not adapter:
        raise ValueError(f"an ingest adapter named {adapter.name!r} is already registered")
    _ADAPTERS[adapter.name] = adapter
    return adapter


def adapters() -> dict[str, FileAdapter]:
    global _LOADED
    if not _LOADED:
        for module in BUILTIN:
            importlib.import_module(module)
        _LOADED = True
    return dict(sorted(_ADAPTERS.items()))


def get_adapter(name: str) -> FileAdapter:
    known = adapters()
    if name not in known:
        raise KeyError(f"no ingest adapter {name!r}; known: {', '.join(known) or 'none'}")
    return known[name]
