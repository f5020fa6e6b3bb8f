"""Each point's contributions are kept compact (:mod:`regie.publication.compact`) for the life of the process, and
the ledger's basis shares their blocks: every operation the on-commit refresh uses must give back the float64
values and the ``seen`` flags bit for bit, as the dense matrices they replace would."""

from __future__ import annotations

import numpy as np

from regie.publication import compact, ledger
from regie.publication.contributions import Contributions
from regie.store import open_store


def _bits(x: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(x, dtype=np.float64).view(np.uint64)


def _world(seed: int, points: int, steps: int) -> tuple[tuple[str, ...], np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    values = rng.integers(0, 9000, (points, steps)).astype(np.float64)
    values[1] += 40_000  # int32
    values[2, 7] = 0.1  # float64 only
    values[3, 5] = -0.0
    seen = rng.random((points, steps)) < 0.9
    values[~seen] = 0.0
    return tuple(f"p{i:02d}" for i in range(points)), values, seen


def test_contributions_give_back_every_bit_across_blocks() -> None:
    keys, values, seen = _world(1, 7, 2 * compact.BLOCK + 37)
    c = Contributions.of(keys, values, seen)
    assert c.n == values.shape[1] and len(c.blocks) == 3
    assert np.array_equal(_bits(c.values), _bits(values)) and np.array_equal(c.seen, seen)
    lo, hi = compact.BLOCK - 5, 2 * compact.BLOCK + 9
    assert np.array_equal(_bits(c.columns(lo, hi)), _bits(values[:, lo:hi]))
    assert np.array_equal(c.seen_in(lo, hi), seen[:, lo:hi])
    assert np.array_equal(c.nonzero(lo, hi), values[:, lo:hi] != 0)
    assert np.array_equal(_bits(c.total), _bits(values.sum(axis=0)))
    # whole Watts below 32,768 (the usual load curve): 2 bytes a step, and a bit for ``seen``
    plain = Contributions.of(keys, np.floor(np.abs(values[:, : compact.BLOCK])) % 30_000, seen[:, : compact.BLOCK])
    assert plain.nbytes <= len(keys) * compact.BLOCK * (2 + 1 / 8) + 64


def test_window_padding_and_rewritten_rows_are_what_the_dense_operations_give() -> None:
    keys, values, seen = _world(2, 6, compact.BLOCK + 100)
    c = Contributions.of(keys, values, seen)
    w = c.window(compact.BLOCK - 20, compact.BLOCK + 30)
    assert np.array_equal(_bits(w.values), _bits(values[:, compact.BLOCK - 20 : compact.BLOCK + 30]))
    grown = c.padded(c.n + compact.BLOCK + 1)  # fills the last block, then adds blocks
    assert grown.n == c.n + compact.BLOCK + 1 and all(b.width <= compact.BLOCK for b in grown.blocks)
    assert np.array_equal(_bits(grown.values[:, : c.n]), _bits(values)) and not grown.values[:, c.n :].any()
    assert not grown.seen[:, c.n :].any()
    # two points re-read over a window that straddles two blocks
    at, width = compact.BLOCK - 3, 10
    fresh_values = np.full((2, width), 1234.5)
    fresh = Contributions.of(("p04", "p01"), fresh_values, np.ones((2, width), dtype=bool))
    again = c.with_rows(fresh, at)
    expected, expected_seen = values.copy(), seen.copy()
    expected[[4, 1], at : at + width] = fresh_values
    expected_seen[[4, 1], at : at + width] = True
    assert np.array_equal(_bits(again.values), _bits(expected)) and np.array_equal(again.seen, expected_seen)
    assert np.array_equal(_bits(c.values), _bits(values))  # the kept contributions were not written in place
    assert c.with_rows(Contributions.of(("unknown",), fresh_values[:1], np.ones((1, width), dtype=bool)), at) is None


def test_a_first_publication_keeps_one_copy_of_each_block(tmp_path) -> None:
    keys, values, seen = _world(3, 12, compact.BLOCK + 50)
    c = Contributions.of(keys, values, seen)
    store = open_store(f"sqlite:///{tmp_path / 's.sqlite'}")
    try:
        fig, basis = ledger.publish(store, "consumption", 1800, 1_700_000_000, c, c.nonzero, None)
    finally:
        store.close()
    assert all(b is k for b, k in zip(basis.blocks, c.blocks, strict=True))  # shared, not copied
    assert np.array_equal(_bits(basis.values), _bits(values))
    assert np.array_equal(fig.points, (values != 0).sum(axis=0))
