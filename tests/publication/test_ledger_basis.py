"""The ledger's basis is kept compact (int16 rows, wider rows apart) but must give back every float64 bit for
bit: the secrecy arithmetic on the published figures depends on it (:mod:`regie.publication.ledger`)."""

from __future__ import annotations

import numpy as np

from regie.publication import ledger


def _bits(x: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(x, dtype=np.float64).view(np.uint64)


def _awkward(rng: np.random.Generator, points: int, cells: int) -> np.ndarray:
    """Whole Watts mostly, and rows that need more: a big consumer, a fraction, -0.0, NaN, 1e300."""
    x = rng.integers(0, 9000, (points, cells)).astype(np.float64)
    x[1] += 40_000  # above int16
    x[2, 5] = 123.25  # a fraction: float32 holds it
    x[3, 7] = 0.1  # float64 only
    x[4, 0] = -0.0
    x[5, 3] = np.nan
    x[6, 1] = 1e300
    x[7, :] = 3_000_000_000  # above int32, whole: float32 holds 3e9 exactly
    return x


def test_a_block_gives_back_every_bit() -> None:
    x = _awkward(np.random.default_rng(1), 12, 300)
    block = ledger._Block.of(x)
    assert np.array_equal(_bits(block.dense()), _bits(x))
    assert np.array_equal(_bits(block.dense(5, 40)), _bits(x[:, 5:40]))
    assert block.narrow.dtype == np.int16
    assert sorted(block.wide_rows.tolist()) == [1, 2, 3, 4, 5, 6, 7]  # the others fit in 2 bytes
    assert block.nbytes < x.nbytes


def test_whole_watts_take_two_bytes_a_cell() -> None:
    x = np.random.default_rng(2).integers(-30_000, 30_000, (50, 2048)).astype(np.float64)
    block = ledger._Block.of(x)
    assert block.wide_rows.size == 0 and block.nbytes == x.nbytes // 4
    assert np.array_equal(_bits(block.dense()), _bits(x))


def test_taking_rows_keeps_the_wide_ones_in_place() -> None:
    x = _awkward(np.random.default_rng(3), 10, 64)
    keep = np.array([True, False, True, True, False, True, True, False, True, True])
    taken = ledger._Block.of(x).take(keep)
    assert np.array_equal(_bits(taken.dense()), _bits(x[keep]))


def test_the_basis_reads_across_its_blocks() -> None:
    rng = np.random.default_rng(4)
    n = 2 * ledger.BLOCK + 100
    x = _awkward(rng, 9, n)
    blocks = tuple(ledger._Block.of(x[:, lo : lo + ledger.BLOCK]) for lo in range(0, n, ledger.BLOCK))
    keys = tuple(f"p{i}" for i in range(9))
    basis = ledger.Basis(1000, 1800, keys, blocks)
    assert basis.n == n
    assert np.array_equal(_bits(basis.values), _bits(x))
    lo, hi = ledger.BLOCK - 10, 2 * ledger.BLOCK + 20
    assert np.array_equal(_bits(basis.columns(lo, hi)), _bits(x[:, lo:hi]))
    # another grid, starting 3 cells later and asking for a key the basis does not know
    out, covered = basis.on(("p2", "zz", "p0"), 1000 + 3 * 1800, n)
    assert covered[: n - 3].all() and not covered[n - 3 :].any()
    assert np.array_equal(_bits(out[0, : n - 3]), _bits(x[2, 3:]))
    assert np.array_equal(_bits(out[2, : n - 3]), _bits(x[0, 3:]))
    assert not out[1].any()
