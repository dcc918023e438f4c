"""Multi-era mean and sharpe on hand-checked numbers, missing eras included."""

from __future__ import annotations

import numpy as np

import scoring

# eras x models; NaN = the model did not take part that era
ERA_SCORES = np.array([
    [0.01, np.nan, 0.02],
    [0.03, np.nan, 0.02],
    [-0.01, 0.05, 0.02],
    [0.05, np.nan, 0.02],
])


def test_mean_over_all_eras_skips_missing_ones():
    np.testing.assert_allclose(scoring.window_mean(ERA_SCORES), [0.02, 0.05, 0.02], rtol=1e-12)


def test_mean_over_the_last_two_eras():
    np.testing.assert_allclose(scoring.window_mean(ERA_SCORES, window=2), [0.02, 0.05, 0.02],
                               rtol=1e-12)
    assert np.isnan(scoring.window_mean(ERA_SCORES, window=1)[1])


def test_sharpe_uses_the_population_std():
    # model 0: mean 0.02, deviations (-1, 1, -3, 3)e-2 -> std sqrt(5)/100
    sharpe = scoring.window_sharpe(ERA_SCORES)
    np.testing.assert_allclose(sharpe[0], 0.02 / (np.sqrt(5) / 100), rtol=1e-12)
    assert np.isnan(sharpe[1])  # one era only
    assert np.isnan(sharpe[2])  # zero spread


def test_single_model_series():
    np.testing.assert_allclose(scoring.window_sharpe([0.1, 0.3]), [0.2 / 0.1], rtol=1e-12)
