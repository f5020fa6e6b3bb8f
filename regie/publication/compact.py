"""Points × cells matrices kept exactly in fewer bytes: the publication's contributions and the ledger's basis.

A year of 30-min cells for the demo's 640 points is 90 MB in float64, and the publication keeps two such
matrices per figure for the life of the process (today's contributions, :mod:`regie.publication.contributions`,
and the basis at the published version, :mod:`regie.publication.ledger`). Metered Watts are usually whole
numbers (Linky load curves are integral W) and a household draws less than 32,768 W: most rows take 2 bytes a
cell. The secrecy arithmetic depends on every bit, so a row is narrowed only when it converts back bit for bit
(-0.0 and NaN included), block by block of :data:`BLOCK` cells.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

#: Cells per block: a year at 30 min is 18 blocks, and no step of the work on a block holds more than
#: points × BLOCK float64 (5 MB for 640 points): the peak of a publication is a few of those beside what it keeps.
BLOCK = 1024
#: The types a point's row of a block may be kept in after int16, narrowest first: the first that gives back
#: every float64 bit; a fraction, a -0.0 or a NaN keeps its row in float64.
WIDER = (np.int32, np.float32)


def exact(x: np.ndarray, types: tuple[type, ...]) -> np.ndarray | None:
    """``x`` (float64) in the first of ``types`` that holds it bit for bit, else None."""
    bits = np.ascontiguousarray(x, dtype=np.float64).view(np.uint64)
    with np.errstate(invalid="ignore", over="ignore"):
        for narrow in types:
            small = x.astype(narrow)
            if np.array_equal(small.astype(np.float64).view(np.uint64), bits):
                return small
    return None


def narrowest(row: np.ndarray) -> np.ndarray:
    """A float64 row (or rows) in the narrowest type that gives it back bit for bit (float64 itself at worst)."""
    kept = exact(row, (np.int16, *WIDER))
    return row if kept is None else kept


@dataclass(frozen=True, slots=True)
class ExactBlock:
    """points × cells, exactly: every row in int16 (``narrow``) but the ``wide_rows`` (0 there in ``narrow``),
    kept in ``wide`` in the narrowest type that holds them."""

    narrow: np.ndarray
    wide_rows: np.ndarray
    wide: np.ndarray

    @classmethod
    def of(cls, block: np.ndarray) -> ExactBlock:
        block = np.asarray(block, dtype=np.float64)
        bits = np.ascontiguousarray(block).view(np.uint64)
        with np.errstate(invalid="ignore", over="ignore"):
            narrow = block.astype(np.int16)
            fits = (narrow.astype(np.float64).view(np.uint64) == bits).all(axis=1)
        wide_rows = np.flatnonzero(~fits)
        narrow[wide_rows] = 0
        wide = block[wide_rows]
        kept = exact(wide, WIDER)
        return cls(narrow, wide_rows, wide if kept is None else kept)

    @classmethod
    def of_rows(cls, rows: list[np.ndarray], width: int) -> ExactBlock:
        """A block from rows each already in its narrowest type (:func:`narrowest`): no points × cells float64."""
        narrow = np.zeros((len(rows), width), dtype=np.int16)
        wide_rows = [i for i, r in enumerate(rows) if r.dtype != np.int16]
        for i, r in enumerate(rows):
            if r.dtype == np.int16:
                narrow[i] = r
        wide = np.array([rows[i] for i in wide_rows], dtype=np.float64).reshape(len(wide_rows), width)
        kept = exact(wide, WIDER)
        return cls(narrow, np.array(wide_rows, dtype=np.intp), wide if kept is None else kept)

    @property
    def width(self) -> int:
        return self.narrow.shape[1]

    @property
    def nbytes(self) -> int:
        return self.narrow.nbytes + self.wide_rows.nbytes + self.wide.nbytes

    def dense(self, lo: int = 0, hi: int | None = None) -> np.ndarray:
        """Cells ``[lo, hi)`` of the block, float64."""
        out = self.narrow[:, lo:hi].astype(np.float64)
        out[self.wide_rows] = self.wide[:, lo:hi]
        return out

    def take(self, rows: np.ndarray) -> ExactBlock:
        """The block's ``rows`` (a mask over its points)."""
        keep = rows[self.wide_rows]
        renumbered = np.cumsum(rows)[self.wide_rows[keep]] - 1
        return ExactBlock(self.narrow[rows], renumbered, self.wide[keep])


def widths(n: int) -> list[tuple[int, int]]:
    """The ``[lo, hi)`` cells of each block of a grid of ``n`` cells."""
    return [(lo, min(lo + BLOCK, n)) for lo in range(0, n, BLOCK)]


def columns(blocks: Sequence[Any], points: int, lo: int, hi: int, dtype: Any = float) -> np.ndarray:
    """points × cells ``[lo, hi)`` of a grid kept as ``blocks`` (in grid order: anything with a ``width`` and a
    ``dense(lo, hi)``, values or flags), as ``dtype``."""
    out = np.zeros((points, max(0, hi - lo)), dtype=dtype)
    start = 0
    for b in blocks:
        end = start + b.width
        x, y = max(lo, start), min(hi, end)
        if x < y:
            out[:, x - lo : y - lo] = b.dense(x - start, y - start)
        start = end
    return out


@dataclass(frozen=True, slots=True)
class Flags:
    """points × cells booleans, one bit each (``np.packbits`` along the cells)."""

    bits: np.ndarray
    width: int

    @classmethod
    def of(cls, x: np.ndarray) -> Flags:
        x = np.asarray(x, dtype=bool)
        return cls(np.packbits(x, axis=1), x.shape[1])

    def dense(self, lo: int = 0, hi: int | None = None) -> np.ndarray:
        hi = self.width if hi is None else hi
        return np.unpackbits(self.bits, axis=1, count=self.width).astype(bool)[:, lo:hi]

    @property
    def nbytes(self) -> int:
        return self.bits.nbytes
