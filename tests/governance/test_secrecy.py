"""Statistical secrecy: 9 points masked, a dominated cell masked, and no masked cell can be recovered from
the published totals — neither by subtracting a row or a column nor by solving the whole system."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from regie.governance.secrecy import DOMINANCE, FEWER_THAN_10, SECONDARY, protect, protect_contributions


def contributions(cells: dict[tuple[str, str], list[float]]) -> pd.DataFrame:
    rows = []
    for (month, transformer), values in cells.items():
        for k, v in enumerate(values):
            rows.append({"month": month, "transformer": transformer, "prm": f"{transformer}-{k}", "value": v})
    return pd.DataFrame(rows)


def village() -> pd.DataFrame:
    rng = np.random.default_rng(7)
    cells = {}
    for month, t in itertools.product(["2025-01", "2025-02", "2025-03"], ["T1", "T2", "T3", "T4"]):
        cells[(month, t)] = list(rng.uniform(100, 300, 15))
    cells[("2025-02", "T2")] = list(rng.uniform(100, 300, 9))  # 9 delivery points
    cells[("2025-03", "T3")] = [50_000.0, *rng.uniform(100, 300, 14)]  # one sawmill dominates
    return contributions(cells)


def published_equations(t) -> tuple[np.ndarray, np.ndarray, list[tuple[int, int]]]:
    """What an attacker knows: A x = b over the masked cells x, from every published total."""
    v = t.values.to_numpy()
    masked = [tuple(c) for c in np.argwhere(np.isnan(v))]
    eqs, rhs = [], []
    for i, total in enumerate(t.row_totals.to_numpy()):
        if not np.isnan(total):
            eqs.append([1.0 if c[0] == i else 0.0 for c in masked])
            rhs.append(total - np.nansum(v[i]))
    for j, total in enumerate(t.col_totals.to_numpy()):
        if not np.isnan(total):
            eqs.append([1.0 if c[1] == j else 0.0 for c in masked])
            rhs.append(total - np.nansum(v[:, j]))
    if not np.isnan(t.total):
        eqs.append([1.0] * len(masked))
        rhs.append(t.total - np.nansum(v))
    return np.array(eqs), np.array(rhs), masked


def test_nine_points_and_dominance_are_masked_with_their_reason() -> None:
    t = protect_contributions(village(), "month", "transformer")
    assert t.reasons.loc["2025-02", "T2"] == FEWER_THAN_10
    assert t.reasons.loc["2025-03", "T3"] == DOMINANCE
    assert np.isnan(t.values.loc["2025-02", "T2"]) and np.isnan(t.values.loc["2025-03", "T3"])
    assert t.counts.loc["2025-02", "T2"] == 9
    assert set(t.reasons.stack().dropna()) <= {FEWER_THAN_10, DOMINANCE, SECONDARY}
    assert (t.reasons == SECONDARY).to_numpy().sum() >= 2
    # Published cells are exact; totals are the true totals.
    assert t.values.loc["2025-01", "T1"] == pytest.approx(
        village().query("month == '2025-01' and transformer == 'T1'").value.sum()
    )


def test_no_masked_cell_can_be_recovered_by_subtraction() -> None:
    t = protect_contributions(village(), "month", "transformer")
    v = t.values.to_numpy()
    for i, j in np.argwhere(np.isnan(v)):
        in_row = np.isnan(v[i]).sum()
        in_col = np.isnan(v[:, j]).sum()
        row_known, col_known = not np.isnan(t.row_totals.iloc[i]), not np.isnan(t.col_totals.iloc[j])
        # Subtracting the published cells from a published total gives the cell only if it is alone.
        assert not (row_known and in_row == 1), f"cell {i, j} = row total - the rest"
        assert not (col_known and in_col == 1), f"cell {i, j} = column total - the rest"


def test_no_masked_cell_is_determined_by_all_published_totals_together() -> None:
    t = protect_contributions(village(), "month", "transformer")
    a, _, masked = published_equations(t)
    rank = np.linalg.matrix_rank(a)
    for k, cell in enumerate(masked):
        unit = np.zeros((1, len(masked)))
        unit[0, k] = 1
        # The cell is recoverable iff its unit vector is a combination of the equations.
        assert np.linalg.matrix_rank(np.vstack([a, unit])) > rank, f"cell {cell} can be solved for"


@pytest.mark.parametrize("seed", range(20))
def test_random_tables_leak_nothing(seed: int) -> None:
    rng = np.random.default_rng(seed)
    shape = (int(rng.integers(2, 7)), int(rng.integers(2, 7)))
    values = pd.DataFrame(rng.uniform(10, 1000, shape))
    counts = pd.DataFrame(rng.integers(5, 25, shape))
    largest = values * rng.uniform(0.05, 0.95, shape)
    t = protect(values, counts, largest)
    a, _, masked = published_equations(t)
    if not masked:
        return
    rank = np.linalg.matrix_rank(a) if len(a) else 0
    for k in range(len(masked)):
        unit = np.zeros((1, len(masked)))
        unit[0, k] = 1
        assert len(a) == 0 or np.linalg.matrix_rank(np.vstack([a, unit])) > rank
    primary = (counts.to_numpy() < 10) | (largest.to_numpy() > 0.85 * values.to_numpy())
    assert np.isnan(t.values.to_numpy()[primary]).all()


def test_empty_cells_are_published_and_a_one_column_table_hides_nothing_by_its_totals() -> None:
    values = pd.DataFrame({"all": [5000.0, 0.0, 800.0]}, index=["residential", "farms", "industry"])
    counts = pd.DataFrame({"all": [40, 0, 2]}, index=values.index)
    largest = pd.DataFrame({"all": [300.0, 0.0, 700.0]}, index=values.index)
    t = protect(values, counts, largest)
    assert t.reasons.loc["industry", "all"] == FEWER_THAN_10
    assert t.values.loc["farms", "all"] == 0.0  # no delivery point: nothing to hide
    assert t.reasons.loc["residential", "all"] == SECONDARY or np.isnan(t.total)
    a, _, masked = published_equations(t)
    assert len(a) == 0 or np.linalg.matrix_rank(a) < len(masked)


def test_negative_aggregates_are_refused() -> None:
    with pytest.raises(ValueError, match="non-negative"):
        protect(pd.DataFrame([[-1.0]]), pd.DataFrame([[20]]), pd.DataFrame([[0.0]]))
