"""Ingest adapters: one module per source, each ending in the same :class:`regie.model.Readings` batches.

Adapters register themselves in :mod:`regie.ingest.registry` (the core's own adapters use the same
registry a third-party one would), so the CLI, the API and the upload page find them by name.
"""

from regie.ingest.errors import IngestError
from regie.ingest.registry import FileAdapter, adapters, get_adapter, register

__all__ = ["FileAdapter", "IngestError", "adapters", "get_adapter", "register"]
