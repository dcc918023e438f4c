"""FNC: feature-neutral correlation (numerai-tools' ``feature_neutral_corr``).

    g_j   = gauss rank of model j's predictions
    A     = [features | 1]                          (M, K+1)
    n_j   = g_j − A · lstsq(A, g_j, rcond=1e-6)      (g_j neutralised against the features)
    FNC_j = CORR(n_j, target)                        (n_j is ranked again inside CORR)

The reference also divides each n_j by its standard deviation before CORR; ranks, and hence
CORR, do not change under a positive scaling, so that step is skipped. The least-squares
solve is the reference's own (``numpy.linalg.lstsq`` on the same matrices), which keeps its
rounding, so values that tie after neutralisation tie here too.

A constant prediction column is neutralised to a constant and scores 0.0 (numerai-tools fails
on it: its zero-std column becomes NaN and the whole frame is filtered away).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from scoring.correlation import numerai_corr
from scoring.inputs import (
    as_prediction_matrix,
    as_target,
    column_labels,
    describe_columns,
    raise_if_non_finite_columns,
)
from scoring.ranking import rank_columns

# numerai-tools' cut-off for small singular values of the neutraliser matrix.
_LSTSQ_RCOND = 1e-6


def as_feature_matrix(features: ArrayLike, n_rows: int) -> np.ndarray:
    """Features as a finite float64 (M, K) matrix (a 1-D input is one feature)."""
    matrix = np.asarray(features, dtype=np.float64)
    if matrix.ndim == 1:
        matrix = matrix[:, None]
    if matrix.ndim != 2:
        raise ValueError(f"features must be 1-D or 2-D (M, K); got shape {matrix.shape}")
    if matrix.shape[0] != n_rows:
        raise ValueError(
            f"features have {matrix.shape[0]} rows but the predictions have {n_rows} rows"
        )
    bad = np.flatnonzero(~np.isfinite(matrix).all(axis=0))
    if len(bad):
        labels = column_labels(features, matrix.shape[1])
        raise ValueError(
            f"features contain NaN or infinite values in {len(bad)} column(s): "
            f"{describe_columns([labels[i] for i in bad])}"
        )
    return matrix


def neutralise(columns: np.ndarray, features: np.ndarray) -> np.ndarray:
    """columns − A·lstsq(A, columns) with A = [features | 1]; ``columns`` is (M, N)."""
    design = np.hstack((features, np.ones((features.shape[0], 1))))
    coefficients = np.linalg.lstsq(design, columns, rcond=_LSTSQ_RCOND)[0]
    return columns - design.dot(coefficients)


def fnc(predictions: ArrayLike, features: ArrayLike, target: ArrayLike, *,
        threads: int | None = None) -> np.ndarray:
    """Feature-neutral CORR of every column of ``predictions`` (M, N) → (N,).

    Equals ``numerai_tools.scoring.feature_neutral_corr`` except for constant columns
    (0.0 here). Raises ``ValueError`` on NaN/inf in predictions or features, mismatched
    row counts, M < 2 or a constant target.
    """
    matrix = as_prediction_matrix(predictions)
    n_rows, n_models = matrix.shape
    as_target(target, n_rows)  # fail on a bad target before the expensive part
    feature_matrix = as_feature_matrix(features, n_rows)
    ranked = rank_columns(matrix, ("gauss",), threads=threads)
    raise_if_non_finite_columns(ranked.non_finite, column_labels(predictions, n_models),
                                "predictions")
    neutral = neutralise(ranked.outputs["gauss"].T, feature_matrix)
    return numerai_corr(neutral, target, threads=threads)
