"""Degenerate input fails loudly with a message that names the argument, the columns and why."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

import scoring

RNG = np.random.default_rng(0)
PREDICTIONS = RNG.random((6, 4))
TARGET = np.array([0.0, 0.25, 0.5, 0.75, 1.0, 0.5])
STAKES = np.array([10.0, 0.0, 5.0, 1.0])


def raises(message: str):
    return pytest.raises(ValueError, match=f"^{re.escape(message)}$")


class TestPredictions:
    def test_nan_names_the_offending_columns(self):
        predictions = PREDICTIONS.copy()
        predictions[2, 1] = np.nan
        predictions[0, 3] = np.nan
        with raises("predictions contain NaN or infinite values in 2 column(s): [1, 3]"):
            scoring.numerai_corr(predictions, TARGET)

    def test_nan_uses_frame_column_labels(self):
        frame = pd.DataFrame(PREDICTIONS, columns=["ann", "bob", "cyd", "dee"])
        frame.loc[4, "cyd"] = np.nan
        with raises("predictions contain NaN or infinite values in 1 column(s): ['cyd']"):
            scoring.prepare_era(frame, STAKES)

    def test_infinity_is_rejected_like_nan(self):
        predictions = PREDICTIONS.copy()
        predictions[5, 0] = -np.inf
        with raises("predictions contain NaN or infinite values in 1 column(s): [0]"):
            scoring.gauss_rank(predictions)

    def test_long_lists_of_columns_are_cut(self):
        predictions = RNG.random((3, 14))
        predictions[0, :] = np.nan
        with raises("predictions contain NaN or infinite values in 14 column(s): "
                    "[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, ... and 4 more]"):
            scoring.meta_model(predictions, np.ones(14))

    def test_nan_is_found_in_every_block_of_a_large_matrix(self):
        predictions = RNG.random((300, 900))
        predictions[7, 899] = np.nan
        predictions[299, 450] = np.nan
        with raises("predictions contain NaN or infinite values in 2 column(s): [450, 899]"):
            scoring.gauss_rank(predictions, threads=2)

    def test_fewer_than_two_rows(self):
        with raises("predictions need at least 2 rows (M >= 2) to be ranked; got M = 1"):
            scoring.gauss_rank(np.array([[0.3, 0.4]]))

    def test_no_models(self):
        with raises("predictions have no model columns (N = 0)"):
            scoring.gauss_rank(np.empty((5, 0)))

    def test_three_dimensional(self):
        with raises("predictions must be 1-D (M,) or 2-D (M, N); got shape (2, 2, 2)"):
            scoring.gauss_rank(np.zeros((2, 2, 2)))

    def test_non_numeric(self):
        with raises("predictions must hold real numbers; got dtype <U1"):
            scoring.gauss_rank(np.array(["a", "b", "c"]))


class TestTarget:
    def test_wrong_length(self):
        with raises("target has 5 rows but the predictions have 6 rows"):
            scoring.numerai_corr(PREDICTIONS, TARGET[:5])

    def test_nan(self):
        target = TARGET.copy()
        target[3] = np.nan
        with raises("target contains NaN or infinite values at 1 position(s): [3]"):
            scoring.score_era(PREDICTIONS, target, STAKES)

    def test_constant(self):
        with raises("target is constant (every row is 0.5); correlation with it is undefined"):
            scoring.mmc(PREDICTIONS, PREDICTIONS[:, 0], np.full(6, 0.5))

    def test_constant_target_on_a_ranked_era(self):
        era = scoring.prepare_era(PREDICTIONS, STAKES)
        with raises("target is constant (every row is 1.0); correlation with it is undefined"):
            era.score(np.ones(6))

    def test_two_dimensional(self):
        with raises("target must be a 1-D vector; got shape (6, 2)"):
            scoring.numerai_corr(PREDICTIONS, np.zeros((6, 2)))


class TestStakes:
    def test_zero_total(self):
        with raises("total stake is zero: the stake-weighted meta-model is undefined"):
            scoring.prepare_era(PREDICTIONS, np.zeros(4))

    def test_negative(self):
        with raises("stakes must be non-negative; negative at model position(s) [1]"):
            scoring.meta_model(PREDICTIONS, [1.0, -2.0, 0.0, 3.0])

    def test_wrong_length(self):
        with raises("stakes has 3 entries but there are 4 models"):
            scoring.score_era(PREDICTIONS, TARGET, [1.0, 2.0, 3.0])

    def test_nan(self):
        with raises("stakes contains NaN or infinite values at 1 position(s): [2]"):
            scoring.meta_model(PREDICTIONS, [1.0, 2.0, np.nan, 3.0])


class TestReferences:
    def test_constant_meta_model(self):
        with raises("meta_model is constant: orthogonalising against it is undefined "
                    "(every staked model submitted constant predictions?)"):
            scoring.mmc(PREDICTIONS, np.full(6, 0.2), TARGET)

    def test_every_staked_model_constant(self):
        predictions = PREDICTIONS.copy()
        predictions[:, [0, 2]] = 0.5
        with raises("meta-model is constant: orthogonalising against it is undefined "
                    "(every staked model submitted constant predictions?)"):
            scoring.prepare_era(predictions, [1.0, 0.0, 2.0, 0.0])

    def test_benchmark_wrong_length(self):
        with raises("benchmark has 5 rows but the predictions have 6 rows"):
            scoring.bmc(PREDICTIONS, np.arange(5.0), TARGET)

    def test_bmc_needs_a_benchmark(self):
        era = scoring.prepare_era(PREDICTIONS, STAKES)
        with raises("this era was prepared without a benchmark: pass benchmark= "
                    "to prepare_era to score BMC"):
            era.bmc(TARGET)


class TestFeatures:
    def test_wrong_rows(self):
        with raises("features have 4 rows but the predictions have 6 rows"):
            scoring.fnc(PREDICTIONS, np.zeros((4, 2)), TARGET)

    def test_nan(self):
        features = RNG.random((6, 3))
        features[1, 2] = np.nan
        with raises("features contain NaN or infinite values in 1 column(s): [2]"):
            scoring.fnc(PREDICTIONS, features, TARGET)


class TestPayouts:
    RULES = {"threshold": 100.0, "corr_multiplier": 0.5, "mmc_multiplier": 2.0, "cap": 0.25}

    def test_zero_total_stake(self):
        with raises("total stake is zero: the payout factor threshold / total stake is "
                    "undefined"):
            scoring.payouts([0.0, 0.0], [0.1, 0.2], [0.0, 0.1], **self.RULES)

    def test_nan_score(self):
        with raises("corr contains NaN or infinite values at 1 position(s): [0]"):
            scoring.payouts([1.0, 2.0], [np.nan, 0.2], [0.0, 0.1], **self.RULES)

    def test_scores_not_one_per_model(self):
        with raises("mmc has 1 entries but there are 2 models"):
            scoring.payouts([1.0, 2.0], [0.1, 0.2], [0.0], **self.RULES)

    @pytest.mark.parametrize(("name", "value", "message"), [
        ("threshold", 0.0, "threshold must be > 0; got 0.0"),
        ("cap", -1.0, "cap must be > 0; got -1.0"),
        ("corr_multiplier", np.inf, "corr_multiplier must be finite; got inf"),
        ("mmc_multiplier", np.nan, "mmc_multiplier must be finite; got nan"),
    ])
    def test_bad_rule(self, name, value, message):
        with raises(message):
            scoring.payouts([1.0, 2.0], [0.1, 0.2], [0.0, 0.1], **{**self.RULES, name: value})
        with raises(message):
            scoring.PayoutRules(**{**self.RULES, name: value})

    def test_overflow_is_an_error_not_an_infinite_payout(self):
        with raises("payout overflowed: multipliers or stakes are too large to combine"):
            scoring.payouts([1e308, 0.0], [1.0, 1.0], [1.0, 1.0], threshold=1e308,
                            corr_multiplier=1.0, mmc_multiplier=1.0, cap=1e10)

    def test_total_stake_overflow(self):
        with raises("total stake overflows to infinity"):
            scoring.payouts([1e308, 1e308], [0.1, 0.1], [0.1, 0.1], **self.RULES)


class TestWindows:
    def test_window_must_be_positive(self):
        with raises("window must be a positive integer; got 0"):
            scoring.window_mean(np.zeros((3, 2)), window=0)

    def test_infinite_scores(self):
        with raises("era_scores contain infinite values"):
            scoring.window_sharpe(np.array([[0.1], [np.inf]]))
