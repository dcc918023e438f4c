"""Payout arithmetic on hand-checked numbers."""

from __future__ import annotations

import numpy as np
import pytest

import scoring

RULES = scoring.PayoutRules(threshold=1000.0, corr_multiplier=0.5, mmc_multiplier=2.0, cap=0.2)


def test_below_the_threshold_the_factor_is_one():
    stakes = np.array([100.0, 300.0, 0.0])
    corr = np.array([0.02, -0.03, 0.5])
    mmc = np.array([0.01, 0.0, 0.5])
    # 0.5*0.02 + 2*0.01 = 0.03 -> 3.0 ; 0.5*-0.03 = -0.015 -> -4.5 ; no stake -> 0
    np.testing.assert_allclose(RULES.payouts(stakes, corr, mmc), [3.0, -4.5, 0.0],
                               rtol=1e-15)


def test_above_the_threshold_every_payout_is_scaled_down():
    stakes = np.array([1500.0, 2500.0])  # total 4000 -> factor 1000/4000 = 0.25
    corr = np.array([0.04, -0.02])
    mmc = np.array([0.01, -0.01])
    # 0.25 * (0.02 + 0.02) = 0.01 -> 15.0 ; 0.25 * (-0.01 - 0.02) = -0.0075 -> -18.75
    np.testing.assert_allclose(RULES.payouts(stakes, corr, mmc), [15.0, -18.75], rtol=1e-12)
    assert scoring.payout_factor(4000.0, 1000.0) == 0.25


def test_gains_and_burns_are_clipped_at_the_cap():
    payout = scoring.payouts([10.0, 10.0], [1.0, -1.0], [1.0, -1.0], threshold=1e6,
                             corr_multiplier=1.0, mmc_multiplier=1.0, cap=0.2)
    assert payout.tolist() == [2.0, -2.0]


def test_rules_are_frozen():
    with pytest.raises(AttributeError):
        RULES.cap = 1.0  # type: ignore[misc]


def test_score_era_applies_the_rules_to_its_own_scores():
    rng = np.random.default_rng(0)
    predictions = rng.random((200, 5))
    target = rng.integers(0, 5, 200) / 4
    stakes = np.array([400.0, 300.0, 200.0, 100.0, 500.0])
    result = scoring.score_era(predictions, target, stakes, rules=RULES)
    expected = stakes * np.clip((1000 / 1500) * (0.5 * result.corr + 2.0 * result.mmc), -0.2, 0.2)
    np.testing.assert_allclose(result.payout, expected, rtol=1e-15)
    frame = result.to_frame()
    assert list(frame.columns) == ["corr", "mmc", "payout"]
    assert frame["payout"].tolist() == result.payout.tolist()


def test_the_pnl_contribution_term_adds_with_its_multiplier():
    rules = scoring.PayoutRules(
        threshold=1000.0, corr_multiplier=0.5, mmc_multiplier=2.0, cap=0.2, pnl_multiplier=1.5
    )
    stakes = np.array([100.0, 300.0])
    corr = np.array([0.02, -0.03])
    mmc = np.array([0.01, 0.0])
    pnl = np.array([0.04, -0.1])
    # 0.01 + 0.02 + 1.5·0.04 = 0.09 -> 9.0 ; −0.015 + 1.5·(−0.1) = −0.165 -> −49.5
    np.testing.assert_allclose(rules.payouts(stakes, corr, mmc, pnl), [9.0, -49.5], rtol=1e-12)
    # Without a multiplier the term is absent, whatever the contributions are.
    np.testing.assert_allclose(RULES.payouts(stakes, corr, mmc, pnl), [3.0, -4.5], rtol=1e-12)


def test_a_pnl_multiplier_without_contributions_is_refused():
    with pytest.raises(ValueError, match="pnl_multiplier is set but no P&L contributions"):
        scoring.payouts([1.0], [0.1], [0.1], threshold=1.0, corr_multiplier=1.0,
                        mmc_multiplier=1.0, cap=0.2, pnl_multiplier=1.0)
    with pytest.raises(ValueError, match="pnl"):
        scoring.payouts([1.0, 2.0], [0.1, 0.1], [0.1, 0.1], threshold=1.0, corr_multiplier=1.0,
                        mmc_multiplier=1.0, cap=0.2, pnl=[0.1], pnl_multiplier=1.0)
