"""scoring.dex_features: pool history on an era grid, features per token and era, the
five-bin forward-return target."""

from __future__ import annotations

import numpy as np
import pytest

from scoring.dex_features import (
    bin_cross_section,
    features_frame,
    forward_return_target,
    resample_pool,
    token_features,
)

E18 = 10**18


def test_resample_pool_takes_the_last_state_and_sums_volume_per_era():
    series = resample_pool(
        timestamps=[100, 150, 205, 260, 260],
        reserve_base=[10 * E18, 9 * E18, 8 * E18, 10 * E18, 11 * E18],
        reserve_quote=[20 * E18, 23 * E18, 25 * E18, 20 * E18, 19 * E18],
        volume_quote=[0, 3 * E18, 2 * E18, 5 * E18, E18],
        era_ends=[50, 200, 300, 400],
    )
    assert np.isnan(series["price"][0]) and np.isnan(series["liquidity"][0])
    assert series["price"][1:].tolist() == [23 / 9, 19 / 11, 19 / 11]
    assert series["liquidity"][1:].tolist() == [46.0, 38.0, 38.0]
    assert series["volume"].tolist() == [0.0, 3.0, 8.0, 0.0]


def test_resample_pool_applies_decimals():
    series = resample_pool(
        timestamps=[1],
        reserve_base=[2 * 10**8],
        reserve_quote=[50_000 * 10**6],
        volume_quote=[10**6],
        era_ends=[1],
        base_decimals=8,
        quote_decimals=6,
    )
    assert series["price"].tolist() == [25_000.0]
    assert series["volume"].tolist() == [1.0]


def test_resample_pool_refuses_unordered_input():
    with pytest.raises(ValueError, match="observations must be in time order"):
        resample_pool([2, 1], [1, 1], [1, 1], [0, 0], [5])
    with pytest.raises(ValueError, match="era_ends must be strictly increasing"):
        resample_pool([1], [1], [1], [0], [5, 5])


def test_features_by_hand():
    prices = np.array([[1.0, 10.0], [2.0, 10.0], [4.0, 5.0], [2.0, 5.0]])
    volumes = np.array([[1.0, 0.0], [2.0, 3.0], [3.0, 0.0], [4.0, 1.0]])
    liquidity = np.array([[10.0, 100.0], [10.0, 100.0], [20.0, 100.0], [40.0, 50.0]])
    f = token_features(prices, volumes, liquidity, windows=(1, 3))
    assert set(f) == {
        "return_1",
        "volume_1",
        "turnover_1",
        "return_3",
        "volume_3",
        "turnover_3",
        "volatility_3",
        "ma_distance_3",
        "liquidity",
    }
    assert np.isnan(f["return_1"][0]).all()
    assert np.allclose(f["return_1"][1:, 0], np.log([2.0, 2.0, 0.5]))
    assert np.allclose(f["return_3"][3], [np.log(2.0), np.log(0.5)])
    assert np.isnan(f["return_3"][:3]).all()
    steps = np.log([2.0, 2.0, 0.5])  # token 0's one-era log returns ending at era 3
    assert f["volatility_3"][3, 0] == pytest.approx(steps.std(), rel=1e-12)
    assert np.isnan(f["volatility_3"][2]).all()  # needs 3 returns, i.e. 4 prices
    assert f["ma_distance_3"][2, 0] == pytest.approx(4.0 / (7.0 / 3) - 1, rel=1e-12)
    assert f["ma_distance_3"][3, 1] == pytest.approx(5.0 / (20.0 / 3) - 1, rel=1e-12)
    assert f["volume_3"][3].tolist() == pytest.approx(np.log1p([9.0, 4.0]).tolist())
    assert f["turnover_1"][3].tolist() == [0.1, 0.02]
    assert f["liquidity"][2].tolist() == pytest.approx(np.log([20.0, 100.0]).tolist())


def test_bins_are_equal_sized_tie_aware_and_keep_nan():
    values = np.array([np.arange(10.0), [0, 0, 1, 1, 2, 2, 3, 3, 4, np.nan]])
    binned = bin_cross_section(values)
    assert binned[0].tolist() == [0, 0, 0.25, 0.25, 0.5, 0.5, 0.75, 0.75, 1, 1]
    assert binned[1, 0] == binned[1, 1] and binned[1, 2] == binned[1, 3]
    assert np.isnan(binned[1, 9])
    assert set(binned[1, :9].tolist()) <= {0, 0.25, 0.5, 0.75, 1}
    seven = bin_cross_section(np.arange(7.0)[None, :])
    assert seven.tolist() == [[0, 0.25, 0.25, 0.5, 0.75, 0.75, 1]]  # ⌊5·(r − ½)/7⌋ / 4


def test_target_bins_forward_returns_and_leaves_the_future_unknown():
    rng = np.random.default_rng(0)
    prices = np.exp(np.cumsum(rng.normal(0, 0.1, (30, 10)), axis=0))
    target = forward_return_target(prices, horizon=3)
    assert np.isnan(target[-3:]).all()
    assert np.isfinite(target[:-3]).all()
    assert set(np.unique(target[:-3]).tolist()) == {0, 0.25, 0.5, 0.75, 1}
    forward = np.log(prices[3:] / prices[:-3])
    for era in range(27):
        order = np.argsort(forward[era])
        assert np.all(np.diff(target[era, order]) >= 0)
        assert (target[era] == 1.0).sum() == 2 and (target[era] == 0.0).sum() == 2


def test_features_frame_is_long_with_a_target():
    rng = np.random.default_rng(1)
    prices = np.exp(np.cumsum(rng.normal(0, 0.05, (25, 4)), axis=0))
    volumes = rng.uniform(0, 10, (25, 4))
    liquidity = rng.uniform(100, 200, (25, 4))
    frame = features_frame(
        prices,
        volumes,
        liquidity,
        tokens=["A", "B", "C", "D"],
        eras=list(range(25)),
        windows=(1, 5),
        horizon=2,
    )
    assert frame.shape == (100, 10)
    assert frame.index.names == ["era", "token"]
    assert frame.loc[(10, "C"), "target"] in {0, 0.25, 0.5, 0.75, 1}
    assert frame.loc[24].isna()["target"].all()
    assert frame.loc[(0, "A"), "return_1"] != frame.loc[(0, "A"), "return_1"]  # NaN: no history


def test_bad_panels_are_refused():
    with pytest.raises(ValueError, match="prices must be positive"):
        token_features([[1.0, -1.0]], [[0.0, 0.0]], [[1.0, 1.0]])
    with pytest.raises(ValueError, match="volumes has shape"):
        token_features([[1.0, 1.0]], [[0.0]], [[1.0, 1.0]])
    with pytest.raises(ValueError, match="horizon must be >= 1"):
        forward_return_target([[1.0, 2.0]], 0)
