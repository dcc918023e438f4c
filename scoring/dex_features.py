"""DEX tournaments: features per token and era from pool history, and the five-bin target.

Pure numpy/pandas. Arrays are (E eras, K tokens), oldest era first; NaN marks "not enough
history yet" (the first eras of a window) or "no future yet" (the last eras of a target),
never a silent gap: every other entry is finite. Services feed these from
``chain.dex.reader.V2Reader.pool_observations`` (one pool per token, against the quote
token), resampled onto the round's era grid with ``resample_pool``.

Features at era t (p = price in the quote token at the era's end, windows w):

* ``return_w``     = ln(p_t / p_{t−w})                                   momentum / reversal
* ``volatility_w`` = population std of the w one-era log returns ending at t  (w ≥ 2)
* ``volume_w``     = ln(1 + Σ quote volume of the last w eras)
* ``turnover_w``   = Σ quote volume of the last w eras / liquidity_t
* ``liquidity``    = ln(liquidity_t), liquidity = 2·quote reserve (both sides at mid)
* ``ma_distance_w`` = p_t / mean(p_{t−w+1..t}) − 1                        (w ≥ 2)

Target at era t over a horizon h: the forward return ln(p_{t+h}/p_t), ranked across the
era's tokens into five equal bins valued 0, 0.25, 0.5, 0.75, 1 (like the classic target):
with r̄ the tie-averaged rank among the era's n tokens, bin = ⌊5·(r̄ − ½)/n⌋.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from numpy.lib.stride_tricks import sliding_window_view
from numpy.typing import ArrayLike
from scipy.stats import rankdata

DEFAULT_WINDOWS = (1, 5, 20)


def _as_panel(values: ArrayLike, name: str, shape: tuple[int, int] | None = None) -> np.ndarray:
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != 2:
        raise ValueError(f"{name} must be 2-D (eras, tokens); got shape {array.shape}")
    if shape is not None and array.shape != shape:
        raise ValueError(f"{name} has shape {array.shape}, expected {shape}")
    return array


def resample_pool(
    timestamps: ArrayLike,
    reserve_base: ArrayLike,
    reserve_quote: ArrayLike,
    volume_quote: ArrayLike,
    era_ends: ArrayLike,
    *,
    base_decimals: int = 18,
    quote_decimals: int = 18,
) -> dict[str, np.ndarray]:
    """One pool's observations (oldest first) on an era grid: {price, liquidity, volume} (E,).

    price_e = reserve_quote/reserve_base of the last observation at or before era_end_e
    (in whole units, decimals applied), liquidity_e = 2·reserve_quote there (whole quote
    units), volume_e = quote volume of the observations in (era_end_{e−1}, era_end_e].
    Eras before the first observation have NaN price and liquidity and zero volume.
    """
    ts = np.asarray(timestamps, dtype=np.int64)
    ends = np.asarray(era_ends, dtype=np.int64)
    if ts.ndim != 1 or ends.ndim != 1:
        raise ValueError("timestamps and era_ends must be 1-D")
    if len(ts) and np.any(np.diff(ts) < 0):
        raise ValueError("observations must be in time order")
    if len(ends) and np.any(np.diff(ends) <= 0):
        raise ValueError("era_ends must be strictly increasing")
    base = np.array([float(x) for x in reserve_base]) / 10**base_decimals
    quote = np.array([float(x) for x in reserve_quote]) / 10**quote_decimals
    volume = np.array([float(x) for x in volume_quote]) / 10**quote_decimals
    if not len(base) == len(quote) == len(volume) == len(ts):
        raise ValueError("timestamps, reserves and volumes must have the same length")
    last = np.searchsorted(ts, ends, side="right") - 1  # last observation at or before each end
    price = np.full(len(ends), np.nan)
    liquidity = np.full(len(ends), np.nan)
    seen = last >= 0
    if (base[last[seen]] <= 0).any():
        raise ValueError("a pool reserve is zero at an era end: price undefined")
    price[seen] = quote[last[seen]] / base[last[seen]]
    liquidity[seen] = 2.0 * quote[last[seen]]
    cumulative = np.concatenate([[0.0], np.cumsum(volume)])
    through = cumulative[last + 1]
    era_volume = np.diff(np.concatenate([[0.0], through]))
    return {"price": price, "liquidity": liquidity, "volume": era_volume}


def _rolling_sum(values: np.ndarray, window: int) -> np.ndarray:
    """Σ of the last ``window`` rows ending at each row; NaN for the first window − 1 rows
    and wherever the window holds a NaN (a running cumsum would spread one NaN forever)."""
    out = np.full_like(values, np.nan)
    if window <= values.shape[0]:
        out[window - 1 :] = sliding_window_view(values, window, axis=0).sum(axis=-1)
    return out


def token_features(
    prices: ArrayLike,
    volumes: ArrayLike,
    liquidity: ArrayLike,
    *,
    windows: Sequence[int] = DEFAULT_WINDOWS,
) -> dict[str, np.ndarray]:
    """Every feature of the module docstring, each an (E, K) array."""
    p = _as_panel(prices, "prices")
    v = _as_panel(volumes, "volumes", p.shape)
    depth = _as_panel(liquidity, "liquidity", p.shape)
    if (p[np.isfinite(p)] <= 0).any():
        raise ValueError("prices must be positive")
    if any(int(w) < 1 for w in windows):
        raise ValueError(f"windows must be >= 1; got {list(windows)}")
    log_p = np.log(p)
    step = np.full_like(p, np.nan)
    step[1:] = np.diff(log_p, axis=0)
    features: dict[str, np.ndarray] = {}
    for w in sorted({int(w) for w in windows}):
        ret = np.full_like(p, np.nan)
        ret[w:] = log_p[w:] - log_p[:-w]
        features[f"return_{w}"] = ret
        volume_sum = _rolling_sum(v, w)
        features[f"volume_{w}"] = np.log1p(volume_sum)
        features[f"turnover_{w}"] = volume_sum / depth
        if w >= 2:
            mean = _rolling_sum(step, w) / w
            mean_sq = _rolling_sum(step * step, w) / w
            features[f"volatility_{w}"] = np.sqrt(np.maximum(mean_sq - mean * mean, 0.0))
            features[f"ma_distance_{w}"] = p / (_rolling_sum(p, w) / w) - 1.0
    features["liquidity"] = np.log(depth)
    return features


def bin_cross_section(values: ArrayLike, bins: int = 5) -> np.ndarray:
    """Rank each era's tokens (ties averaged, NaN skipped) into ``bins`` equal bins valued
    0 … 1: bin = ⌊bins·(r̄ − ½)/n⌋ / (bins − 1). NaN stays NaN."""
    x = _as_panel(values, "values")
    if bins < 2:
        raise ValueError("bins must be >= 2")
    ranks = rankdata(x, axis=1, nan_policy="omit")
    counts = np.isfinite(x).sum(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        index = np.floor(bins * (ranks - 0.5) / counts)
    return np.minimum(index, bins - 1) / (bins - 1)


def forward_return_target(prices: ArrayLike, horizon: int, *, bins: int = 5) -> np.ndarray:
    """ln(p_{t+h}/p_t) binned across tokens per era (5 bins: 0, .25, .5, .75, 1).
    The last ``horizon`` eras are NaN (their future is not known yet)."""
    p = _as_panel(prices, "prices")
    if horizon < 1:
        raise ValueError("horizon must be >= 1 era")
    forward = np.full_like(p, np.nan)
    forward[:-horizon] = np.log(p[horizon:]) - np.log(p[:-horizon])
    return bin_cross_section(forward, bins)


def features_frame(
    prices: ArrayLike,
    volumes: ArrayLike,
    liquidity: ArrayLike,
    *,
    tokens: Sequence[str],
    eras: Sequence[object],
    windows: Sequence[int] = DEFAULT_WINDOWS,
    horizon: int | None = None,
    binned: bool = True,
) -> pd.DataFrame:
    """Long frame indexed by (era, token): one column per feature (binned across tokens
    per era when ``binned``), plus ``target`` when ``horizon`` is given."""
    p = _as_panel(prices, "prices")
    if len(tokens) != p.shape[1] or len(eras) != p.shape[0]:
        raise ValueError(f"expected {p.shape[0]} eras and {p.shape[1]} tokens")
    columns = token_features(p, volumes, liquidity, windows=windows)
    if binned:
        columns = {name: bin_cross_section(values) for name, values in columns.items()}
    if horizon is not None:
        columns["target"] = forward_return_target(p, horizon)
    index = pd.MultiIndex.from_product([list(eras), list(tokens)], names=["era", "token"])
    return pd.DataFrame({name: values.reshape(-1) for name, values in columns.items()}, index=index)
