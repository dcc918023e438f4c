"""Properties the scores must have whatever the data (hypothesis)."""

from __future__ import annotations

import numpy as np
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import scoring

SETTINGS = settings(max_examples=60, deadline=None)


@st.composite
def eras(draw, min_rows: int = 2, max_rows: int = 40, max_models: int = 4):
    """Predictions with plenty of ties, a non-constant target in [0, 1], positive stakes."""
    n_rows = draw(st.integers(min_rows, max_rows))
    n_models = draw(st.integers(1, max_models))
    levels = draw(st.integers(2, 50))
    predictions = draw(hnp.arrays(np.int64, (n_rows, n_models),
                                  elements=st.integers(0, levels - 1))).astype(np.float64)
    target = draw(hnp.arrays(np.int64, n_rows, elements=st.integers(0, 4))) / 4
    target[0], target[-1] = 0.0, 1.0
    stakes = draw(hnp.arrays(np.float64, n_models,
                             elements=st.floats(0.5, 1e6, allow_nan=False)))
    # A constant meta-model is a documented ValueError (test_errors), not a score.
    meta = scoring.meta_model(predictions, stakes)
    assume(meta.min() < meta.max())
    return predictions, target, stakes


@st.composite
def increasing_maps(draw, size: int):
    """A strictly increasing sequence of ``size`` floats, built from positive gaps."""
    start = draw(st.floats(-1e6, 1e6))
    gaps = draw(hnp.arrays(np.float64, size, elements=st.floats(1e-3, 1e3)))
    return start + np.cumsum(gaps)


@SETTINGS
@given(data=st.data(), era=eras())
def test_scores_are_invariant_to_strictly_increasing_transforms(data, era):
    predictions, target, stakes = era
    transformed = predictions.copy()
    for column in range(predictions.shape[1]):
        values = predictions[:, column]
        distinct = np.unique(values)
        new_values = data.draw(increasing_maps(len(distinct)))
        transformed[:, column] = new_values[np.searchsorted(distinct, values)]
    before = scoring.score_era(predictions, target, stakes)
    after = scoring.score_era(transformed, target, stakes)
    assert np.array_equal(scoring.gauss_rank(transformed), scoring.gauss_rank(predictions))
    assert np.array_equal(after.corr, before.corr)
    assert np.array_equal(after.mmc, before.mmc)


@SETTINGS
@given(era=eras(min_rows=3))
def test_the_meta_models_own_mmc_is_zero(era):
    predictions, target, stakes = era
    meta = scoring.meta_model(predictions, stakes)
    # The meta-model joins as one more model with no stake, so the meta-model is unchanged.
    with_meta = np.column_stack([predictions, meta])
    result = scoring.score_era(with_meta, target, np.append(stakes, 0.0))
    assert abs(result.mmc[-1]) <= 1e-12
    np.testing.assert_allclose(scoring.mmc(predictions, meta, target), result.mmc[:-1],
                               rtol=0, atol=1e-12)


payout_inputs = st.integers(1, 30).flatmap(lambda n: st.tuples(
    hnp.arrays(np.float64, n, elements=st.floats(0, 1e9)),
    hnp.arrays(np.float64, n, elements=st.floats(-1, 1)),
    hnp.arrays(np.float64, n, elements=st.floats(-1, 1)),
))


@SETTINGS
@given(
    inputs=payout_inputs,
    threshold=st.floats(1e-3, 1e12),
    corr_multiplier=st.floats(0, 10),
    mmc_multiplier=st.floats(0, 10),
    cap=st.floats(1e-3, 5),
)
def test_payouts_never_exceed_cap_times_stake(inputs, threshold, corr_multiplier,
                                               mmc_multiplier, cap):
    stakes, corr, mmc = inputs
    if not stakes.sum() > 0:
        return
    result = scoring.payouts(stakes, corr, mmc, threshold=threshold,
                             corr_multiplier=corr_multiplier, mmc_multiplier=mmc_multiplier,
                             cap=cap)
    assert np.isfinite(result).all()
    assert (np.abs(result) <= stakes * cap).all()


@SETTINGS
@given(threshold=st.floats(1, 1e9), below=st.floats(0.01, 1), first=st.floats(1.001, 1e3),
       growth=st.floats(1.001, 1e3))
def test_payout_factor_is_one_up_to_the_threshold_then_falls(threshold, below, first, growth):
    assert scoring.payout_factor(threshold * below, threshold) == 1.0
    smaller_total = threshold * first
    larger_total = smaller_total * growth
    assert (scoring.payout_factor(larger_total, threshold)
            < scoring.payout_factor(smaller_total, threshold) < 1.0)


@SETTINGS
@given(extra_stake=st.floats(1.0, 1e6), score=st.floats(0.001, 0.2))
def test_more_stake_elsewhere_shrinks_a_models_payout_past_the_threshold(extra_stake, score):
    rules = {"threshold": 100.0, "corr_multiplier": 1.0, "mmc_multiplier": 0.0, "cap": 1.0}
    alone = scoring.payouts([150.0, 0.0], [score, 0.0], [0.0, 0.0], **rules)[0]
    crowded = scoring.payouts([150.0, extra_stake], [score, 0.0], [0.0, 0.0], **rules)[0]
    assert 0 < crowded < alone
