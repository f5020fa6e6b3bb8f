"""Lists bound into one SQL statement, cut so that no statement exceeds what a database accepts.

Why: ``column IN (...)`` binds one variable per value. SQLite refuses a statement with more than 32,766 of them
(``SQLITE_MAX_VARIABLE_NUMBER``, the default since 3.32) and PostgreSQL's protocol more than 65,535, so a list
that grows with the territory (a town's 40,000 homes, their series, their alerts) must be sent in parts.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TypeVar

T = TypeVar("T")

#: Values bound per statement: far under both limits, and large enough that the round trips do not matter.
BATCH = 500


def batches(items: Sequence[T], size: int = BATCH) -> Iterator[Sequence[T]]:
    """``items`` in consecutive parts of at most ``size`` (none when empty)."""
    for i in range(0, len(items), size):
        yield items[i : i + size]
