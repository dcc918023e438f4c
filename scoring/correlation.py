"""Numerai's CORR: Pearson correlation of pow-1.5 gauss ranks with the pow-1.5 centred target.

    t_c  = t − mean(t)
    t'   = sign(t_c) · |t_c|^1.5
    g'_j = sign(g_j) · |g_j|^1.5,   g_j = gauss rank of model j's predictions
    CORR_j = Σ_i (g'_ij − mean g'_j)(t'_i − mean t') / (‖g'_j − mean g'_j‖ · ‖t' − mean t'‖)

Because t' − mean t' sums to zero, the numerator is the plain dot product g'_j · (t' − mean t'),
so scoring all N models against a target is one matrix-vector product over the cached g'
matrix plus per-model norms computed once at ranking time.

Constant prediction column: its gauss ranks are all Φ⁻¹(0.5) = 0, the Pearson denominator is 0.
numerai-tools returns NaN there; this engine returns CORR = 0.0 (no signal, and no NaN may ever
reach a payout).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from scoring.inputs import (
    as_prediction_matrix,
    as_target,
    column_labels,
    raise_if_non_finite_columns,
)
from scoring.ranking import rank_columns


def powered_target(target: np.ndarray) -> np.ndarray:
    """t' − mean(t') where t' = sign(t_c)·|t_c|^1.5 and t_c = t − mean(t) (same ops as reference)."""
    centred = target - target.mean()
    powered = np.sign(centred) * np.abs(centred) ** 1.5
    return powered - powered.mean()


def centred_norms(sums: np.ndarray, sums_of_squares: np.ndarray, n_rows: int) -> np.ndarray:
    """‖x_j − mean x_j‖ from Σx and Σx², clamped at 0 against rounding."""
    return np.sqrt(np.maximum(sums_of_squares - sums * sums / n_rows, 0.0))


def correlation_from_dots(
    dots: np.ndarray, column_norms: np.ndarray, target_norm: float
) -> np.ndarray:
    """Pearson correlation from g'·t' (t' centred) and the norms; 0.0 where a column is constant."""
    denominator = column_norms * target_norm
    result = np.zeros_like(dots)
    np.divide(dots, denominator, out=result, where=denominator > 0)
    return result


def numerai_corr(predictions: ArrayLike, target: ArrayLike, *, threads: int | None = None
                 ) -> np.ndarray:
    """CORR of every model column of ``predictions`` (M, N) (or one model, (M,)) → (N,).

    Equals ``numerai_tools.scoring.numerai_corr`` (within 1e-12 in practice), except a
    constant column scores 0.0 instead of NaN. Raises ``ValueError`` on NaN/inf (naming the
    columns), M < 2, a target of the wrong length, or a constant target.
    """
    matrix = as_prediction_matrix(predictions)
    n_rows = matrix.shape[0]
    target_values = as_target(target, n_rows)
    ranked = rank_columns(matrix, ("powered",), threads=threads)
    raise_if_non_finite_columns(
        ranked.non_finite, column_labels(predictions, matrix.shape[1]), "predictions"
    )
    powered_t = powered_target(target_values)
    dots = ranked.outputs["powered"] @ powered_t
    norms = centred_norms(ranked.sums["powered"], ranked.sums_of_squares["powered"], n_rows)
    return correlation_from_dots(dots, norms, float(np.sqrt(powered_t @ powered_t)))
