"""regie — an open-source energy-data trust (régie de données) for local energy communities."""

__version__ = "0.1.0"

from regie import lean_pandas  # noqa: F401  (pandas without pyarrow: docs/footprint.md)
