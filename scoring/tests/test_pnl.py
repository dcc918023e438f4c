"""scoring.pnl: the tilt's bounds, the excess return and P&L contributions checked against
finite differences, leave-one-out and Euler's identity."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import ndtri

from scoring.pnl import (
    contributions_from_predictions,
    excess_return,
    meta_signal,
    pnl_contributions,
    tilt_scale,
    tilt_weights,
    token_returns,
    vault_pnl,
)
from scoring.ranking import gauss_rank


def make_round(seed: int, n_tokens: int = 12, n_models: int = 6, *, ties: bool = False):
    rng = np.random.default_rng(seed)
    predictions = rng.standard_normal((n_tokens, n_models))
    if ties:
        predictions = np.round(predictions)  # heavy ties in every column
    gauss = gauss_rank(predictions)
    stakes = rng.exponential(50.0, n_models) + 1.0
    returns = rng.normal(0.0, 0.05, n_tokens)
    return gauss, stakes, returns


def portfolio_excess(gauss, stakes, returns, tilt, scale):
    """R_ex computed the long way: weights first, then Σ (w − 1/K)·r."""
    return excess_return(tilt_weights(gauss, stakes, tilt=tilt, scale=scale), returns)


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    n_tokens=st.integers(2, 40),
    n_models=st.integers(1, 8),
    ties=st.booleans(),
    tilt=st.floats(0.0, 1.0),
)
def test_weights_are_bounded_and_sum_to_one(seed, n_tokens, n_models, ties, tilt):
    gauss, stakes, _ = make_round(seed, n_tokens, n_models, ties=ties)
    weights = tilt_weights(gauss, stakes, tilt=tilt)
    assert weights.sum() == pytest.approx(1.0, abs=1e-12)
    assert (weights >= (1 - tilt) / n_tokens - 1e-15).all()
    assert (weights <= (1 + tilt) / n_tokens + 1e-15).all()


def test_the_full_band_is_reached_by_a_unanimous_signal():
    gauss = gauss_rank(np.arange(10.0)[:, None] * np.ones((1, 3)))
    weights = tilt_weights(gauss, [1.0, 2.0, 3.0], tilt=0.8)
    assert weights.min() == pytest.approx(0.2 / 10, abs=1e-15)
    assert weights.max() == pytest.approx(1.8 / 10, abs=1e-15)
    assert np.all(np.diff(weights) > 0)


def test_scale_without_ties_is_the_largest_gauss_rank():
    gauss, _, _ = make_round(3, n_tokens=500, n_models=4)
    assert tilt_scale(gauss) == pytest.approx(ndtri(499.5 / 500), rel=1e-12)


def test_scale_with_ties_is_measured_and_still_bounds_the_weights():
    # Ties in the upper half pull the column mean down, so the top value's distance from the
    # mean exceeds the untied maximum: the measured c covers it.
    predictions = np.array([[1.0], [2.0], [3.0], [4.0], [4.0], [6.0]])
    gauss = gauss_rank(predictions)
    assert tilt_scale(gauss) > ndtri(5.5 / 6)
    weights = tilt_weights(gauss, [1.0], tilt=1.0)
    assert weights.max() == pytest.approx(2.0 / 6, abs=1e-15)
    assert weights.min() >= 0.0


def test_equal_weights_when_untilted_or_when_every_model_predicts_a_tie():
    gauss, stakes, returns = make_round(1)
    assert np.array_equal(tilt_weights(gauss, stakes, tilt=0.0), np.full(12, 1 / 12))
    flat = gauss_rank(np.ones((5, 3)))
    result = pnl_contributions(flat, [1.0, 1.0, 1.0], returns[:5], tilt=0.5)
    assert result.scale == 0.0
    assert np.array_equal(result.weights, np.full(5, 0.2))
    assert result.excess_return == 0.0
    assert np.array_equal(result.normalised, np.zeros(3))


@pytest.mark.parametrize("ties", [False, True])
def test_excess_return_matches_the_weights(ties):
    gauss, stakes, returns = make_round(5, ties=ties)
    result = pnl_contributions(gauss, stakes, returns, tilt=0.6)
    weights = tilt_weights(gauss, stakes, tilt=0.6)
    assert np.allclose(result.weights, weights, rtol=0, atol=1e-15)
    assert result.excess_return == pytest.approx(
        float((weights - 1 / 12) @ returns), rel=1e-12, abs=1e-17
    )


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
@pytest.mark.parametrize("ties", [False, True])
def test_gradient_matches_central_finite_differences(seed, ties):
    gauss, stakes, returns = make_round(seed, ties=ties)
    tilt = 0.7
    result = pnl_contributions(gauss, stakes, returns, tilt=tilt)
    scale = tilt_scale(gauss)  # a constant of the predictions: fixed while stakes move
    for j in range(len(stakes)):
        h = 1e-4 * stakes[j]
        up, down = stakes.copy(), stakes.copy()
        up[j] += h
        down[j] -= h
        numeric = (
            portfolio_excess(gauss, up, returns, tilt, scale)
            - portfolio_excess(gauss, down, returns, tilt, scale)
        ) / (2 * h)
        assert result.gradient[j] == pytest.approx(numeric, rel=1e-6, abs=1e-13)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_leave_one_out_equals_the_scaled_derivative_exactly(seed):
    gauss, stakes, returns = make_round(seed, n_models=8)
    tilt = 0.5
    result = pnl_contributions(gauss, stakes, returns, tilt=tilt)
    scale = tilt_scale(gauss)
    full = portfolio_excess(gauss, stakes, returns, tilt, scale)
    total = stakes.sum()
    for j in range(len(stakes)):
        without = stakes.copy()
        without[j] = 0.0
        loo = full - portfolio_excess(gauss, without, returns, tilt, scale)
        predicted = total / (total - stakes[j]) * stakes[j] * result.gradient[j]
        assert loo == pytest.approx(predicted, rel=1e-9, abs=1e-16)
        assert np.sign(loo) == np.sign(result.gradient[j])


def test_small_stake_leave_one_out_approaches_the_derivative():
    gauss, stakes, returns = make_round(9, n_models=5)
    stakes[2] = 1e-6 * stakes.sum()
    result = pnl_contributions(gauss, stakes, returns, tilt=0.5)
    scale = tilt_scale(gauss)
    without = stakes.copy()
    without[2] = 0.0
    loo = portfolio_excess(gauss, stakes, returns, 0.5, scale) - portfolio_excess(
        gauss, without, returns, 0.5, scale
    )
    assert loo / stakes[2] == pytest.approx(result.gradient[2], rel=1e-5)


def test_contributions_are_relative_to_the_meta_model():
    gauss, stakes, returns = make_round(11, n_models=7)
    result = pnl_contributions(gauss, stakes, returns, tilt=0.9)
    # Euler: scaling all stakes together leaves R_ex unchanged.
    assert float(stakes @ result.gradient) == pytest.approx(0.0, abs=1e-15)
    # A model whose ranks equal the meta-model's contributes nothing.
    signal = meta_signal(gauss, stakes)
    with_copy = np.column_stack([gauss, signal])
    copy_result = pnl_contributions(with_copy, np.append(stakes, 5.0), returns, tilt=0.9)
    assert copy_result.gradient[-1] == pytest.approx(0.0, abs=1e-15)


def test_a_model_that_ranks_tokens_by_their_returns_contributes_most():
    rng = np.random.default_rng(4)
    returns = rng.normal(0, 0.03, 30)
    predictions = rng.standard_normal((30, 5))
    predictions[:, 3] = returns  # the oracle
    result = contributions_from_predictions(predictions, np.full(5, 10.0), returns, tilt=0.5)
    assert int(np.argmax(result.gradient)) == 3
    assert result.gradient[3] > 0


def test_normalised_contributions_ignore_stake_tilt_and_return_scale():
    gauss, stakes, returns = make_round(21)
    base = pnl_contributions(gauss, stakes, returns, tilt=0.5)
    other = pnl_contributions(gauss, 40.0 * stakes, 3.0 * returns + 0.02, tilt=0.2)
    assert np.allclose(other.normalised, base.normalised, rtol=1e-10, atol=1e-15)
    assert np.allclose(
        pnl_contributions(gauss, 40.0 * stakes, returns, tilt=0.5).share,
        base.share,
        rtol=1e-10,
        atol=1e-18,
    )
    # normalised_j = (ĝ_j − ŝ)·r_c / (K·σ_r), written out:
    centred = gauss - gauss.mean(axis=0)
    signal = centred @ stakes / stakes.sum()
    r_c = returns - returns.mean()
    expected = (centred - signal[:, None]).T @ r_c / (len(returns) * returns.std())
    assert np.allclose(base.normalised, expected, rtol=1e-10, atol=1e-15)


def test_constant_returns_give_zero_contributions():
    gauss, stakes, _ = make_round(2)
    result = pnl_contributions(gauss, stakes, np.full(12, 0.04), tilt=0.5)
    assert result.excess_return == pytest.approx(0.0, abs=1e-18)
    assert np.array_equal(result.normalised, np.zeros(6))
    assert np.allclose(result.gradient, 0.0, atol=1e-18)


def test_blocked_pass_equals_the_plain_formulas_across_many_blocks():
    rng = np.random.default_rng(8)
    predictions = rng.standard_normal((300, 2_500))
    gauss = np.asarray(gauss_rank(predictions))
    stakes = rng.exponential(3.0, 2_500)
    returns = rng.normal(0, 0.02, 300)
    result = pnl_contributions(gauss, stakes, returns, tilt=0.4)
    c = np.abs(gauss - gauss.mean(axis=0)).max()
    s = gauss @ stakes / stakes.sum()
    r_c = returns - returns.mean()
    share = 0.4 / (300 * c) * (gauss.T @ r_c - s @ r_c)
    assert result.scale == c
    assert np.allclose(result.share, share, rtol=1e-9, atol=1e-18)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"stakes": [1.0, -1.0, 1.0]}, "stakes must be non-negative"),
        ({"stakes": [0.0, 0.0, 0.0]}, "total stake is zero"),
        ({"tilt": 1.5}, r"tilt must be in \[0, 1\]"),
        ({"returns": [0.1, 0.2]}, "returns has 2 rows but the predictions have 4 rows"),
        ({"gauss": np.array([[0.1, np.nan, 0.0]] * 4)}, "gauss ranks contain NaN"),
    ],
)
def test_bad_input_is_refused_with_a_clear_message(kwargs, message):
    args = {
        "gauss": gauss_rank(np.arange(12.0).reshape(4, 3)),
        "stakes": [1.0, 2.0, 3.0],
        "returns": [0.01, -0.02, 0.03, 0.0],
        "tilt": 0.5,
    } | kwargs
    with pytest.raises(ValueError, match=message):
        pnl_contributions(args["gauss"], args["stakes"], args["returns"], tilt=args["tilt"])


def test_vault_pnl_is_value_change_and_excess_over_equal_weight():
    result = vault_pnl(
        value_start=10**21,
        value_end=1_030_000_000_000_000_000_000,
        prices_start=[1.0, 2.0, 4.0],
        prices_end=[1.1, 2.0, 3.8],
    )
    assert result.pnl == 3 * 10**19
    assert result.portfolio_return == pytest.approx(0.03, rel=1e-15)
    assert result.benchmark_return == pytest.approx((0.1 + 0.0 - 0.05) / 3, rel=1e-12)
    assert result.excess_return == pytest.approx(0.03 - 0.05 / 3, rel=1e-12)
    assert np.allclose(token_returns([2.0, 4.0], [3.0, 2.0]), [0.5, -0.5])
    with pytest.raises(ValueError, match="prices must be positive"):
        token_returns([1.0, 0.0], [1.0, 1.0])
