"""Tie-kept gauss ranks: hand-checked values and the corners of the packed-key sort."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import ndtri
from scipy.stats import rankdata

import scoring
from scoring.ranking import rank_columns, rank_tables


def expected_gauss(column: np.ndarray) -> np.ndarray:
    """Φ⁻¹((average rank − 0.5) / M) via scipy's rankdata, an independent ranking."""
    return ndtri((rankdata(column, method="average") - 0.5) / len(column))


def test_hand_checked_ties():
    # average ranks [3.5, 1, 3.5, 2] -> (r - 0.5)/4 = [0.75, 0.125, 0.75, 0.375]
    gauss = scoring.gauss_rank(np.array([3.0, 1.0, 3.0, 2.0]))
    np.testing.assert_allclose(
        gauss, [0.6744897501960817, -1.1503493803760079, 0.6744897501960817,
                -0.31863936396437514], rtol=0, atol=1e-15)


def test_one_dimensional_input_gives_one_dimensional_output():
    assert scoring.gauss_rank(np.array([0.2, 0.1])).shape == (2,)
    assert scoring.gauss_rank(np.array([[0.2], [0.1]])).shape == (2, 1)


def test_tables_double_the_rank_to_stay_integral():
    tables = rank_tables(4)
    # k = 2r: r = 1, 1.5, ..., 4  ->  Φ⁻¹((k - 1) / 8)
    np.testing.assert_array_equal(tables.gauss[2:], ndtri(np.arange(1, 8) / 8))
    np.testing.assert_array_equal(
        tables.powered[2:], np.sign(tables.gauss[2:]) * np.abs(tables.gauss[2:]) ** 1.5)


def test_negative_zero_ties_with_zero():
    gauss = scoring.gauss_rank(np.array([-0.0, 0.0, 1.0, -1.0]))
    # ranks [2.5, 2.5, 4, 1]
    np.testing.assert_array_equal(gauss, ndtri(np.array([2.0, 2.0, 3.5, 0.5]) / 4))


def test_extreme_magnitudes_and_subnormals_keep_their_order():
    column = np.array([5e-324, 0.0, -5e-324, 1e308, -1e308, 2.5e-308, -np.finfo(float).max])
    np.testing.assert_array_equal(scoring.gauss_rank(column), expected_gauss(column))


def test_values_one_ulp_apart_fall_back_to_an_exact_sort():
    # All 600 values share every packed key bit, and the row order is the reverse of the
    # value order, so the packed sort is wrong and the fallback must fix it.
    n_rows = 600
    column = 1.0 + np.arange(n_rows)[::-1] * np.spacing(1.0)
    expected = ndtri((np.arange(n_rows)[::-1] + 0.5) / n_rows)
    np.testing.assert_array_equal(scoring.gauss_rank(column), expected)


def test_colliding_and_tied_values_mixed():
    rng = np.random.default_rng(4)
    base = rng.choice([0.3, 0.6], size=(500, 3))
    column_block = base + rng.integers(0, 3, size=(500, 3)) * np.spacing(base)
    np.testing.assert_array_equal(
        scoring.gauss_rank(column_block),
        np.column_stack([expected_gauss(c) for c in column_block.T]))


@pytest.mark.parametrize("dtype", [np.int8, np.int64, np.uint16, np.float32, np.bool_])
def test_any_real_dtype_ranks_like_its_float64_values(dtype):
    rng = np.random.default_rng(1)
    values = rng.integers(0, 2 if dtype is np.bool_ else 100, size=(300, 4)).astype(dtype)
    np.testing.assert_array_equal(
        scoring.gauss_rank(values), scoring.gauss_rank(values.astype(np.float64)))


def test_powered_sums_match_the_powered_matrix():
    rng = np.random.default_rng(9)
    matrix = np.column_stack([rng.random(1000), rng.integers(0, 5, 1000), np.full(1000, 2.0)])
    ranked = rank_columns(matrix, ("gauss", "powered"))
    powered = ranked.outputs["powered"]
    np.testing.assert_allclose(ranked.sums["powered"], powered.sum(axis=1), atol=1e-10)
    np.testing.assert_allclose(ranked.sums_of_squares["powered"], (powered ** 2).sum(axis=1),
                               atol=1e-9)
    assert ranked.sums["powered"][2] == 0.0 and ranked.sums_of_squares["powered"][2] == 0.0


def test_gauss_ranks_are_centred_and_symmetric_without_ties():
    gauss = scoring.gauss_rank(np.random.default_rng(2).random((999, 3)))
    np.testing.assert_allclose(gauss.sum(axis=0), 0.0, atol=1e-11)
    np.testing.assert_allclose(np.sort(gauss[:, 0]), -np.sort(gauss[:, 0])[::-1], atol=1e-15)
