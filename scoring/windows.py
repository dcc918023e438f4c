"""Multi-era summaries of per-era scores, for leaderboards and reputation.

Input is an (E, N) array of per-era scores, oldest era first, one column per model; NaN marks
an era in which a model did not take part (a missing era is not a zero score). Over the last
``window`` eras (all of them when ``window`` is None), for each model over its present eras:

    mean   = Σ s_e / n
    sharpe = mean / std,  std = sqrt(Σ (s_e − mean)² / n)   (ddof = 0, as numerai-tools)

A model with no era in the window has mean NaN; a model with fewer than 2 eras, or with a
zero standard deviation, has sharpe NaN. These NaNs mean "not enough history" and are meant
for display; they never feed a payout.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike


def _window(era_scores: ArrayLike, window: int | None) -> np.ndarray:
    scores = np.asarray(era_scores, dtype=np.float64)
    if scores.ndim == 1:
        scores = scores[:, None]
    if scores.ndim != 2:
        raise ValueError(f"era_scores must be (E,) or (E, N); got shape {scores.shape}")
    if np.isinf(scores).any():
        raise ValueError("era_scores contain infinite values")
    if window is not None:
        if int(window) != window or window < 1:
            raise ValueError(f"window must be a positive integer; got {window!r}")
        scores = scores[-int(window):]
    return scores


def _present_counts_and_means(scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    present = ~np.isnan(scores)
    counts = present.sum(axis=0)
    totals = np.where(present, scores, 0.0).sum(axis=0)
    means = np.full(scores.shape[1], np.nan)
    np.divide(totals, counts, out=means, where=counts > 0)
    return counts, means


def window_mean(era_scores: ArrayLike, window: int | None = None) -> np.ndarray:
    """Mean per model (N,) of its present scores over the last ``window`` eras."""
    _, means = _present_counts_and_means(_window(era_scores, window))
    return means


def window_sharpe(era_scores: ArrayLike, window: int | None = None) -> np.ndarray:
    """Sharpe per model (N,): mean / std (ddof 0) of its present scores in the window."""
    scores = _window(era_scores, window)
    counts, means = _present_counts_and_means(scores)
    deviations = np.where(np.isnan(scores), 0.0, scores - np.nan_to_num(means))
    variances = np.full(scores.shape[1], np.nan)
    np.divide((deviations * deviations).sum(axis=0), counts, out=variances, where=counts > 0)
    sharpe = np.full(scores.shape[1], np.nan)
    np.divide(means, np.sqrt(variances), out=sharpe, where=(counts >= 2) & (variances > 0))
    return sharpe
