"""Validation and coercion of the engine's inputs.

Every public function of :mod:`scoring` funnels its arguments through these helpers so that
bad input fails early with one clear ``ValueError`` (which argument, which columns, why)
instead of surfacing later as a silent NaN in a score or a payout.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

# Offending column lists are cut after this many labels to keep messages readable.
_MAX_LABELS_SHOWN = 10


def column_labels(data: Any, n_columns: int) -> list[Any]:
    """Labels used in error messages: a DataFrame's column names, else positions 0..N-1."""
    columns = getattr(data, "columns", None)
    if columns is not None and len(columns) == n_columns:
        return list(columns)
    return list(range(n_columns))


def describe_columns(labels: Sequence[Any]) -> str:
    """Render a list of offending column labels, cut after a few."""
    shown = ", ".join(repr(label) for label in labels[:_MAX_LABELS_SHOWN])
    more = len(labels) - _MAX_LABELS_SHOWN
    return f"[{shown}{f', ... and {more} more' if more > 0 else ''}]"


def as_prediction_matrix(predictions: ArrayLike, name: str = "predictions") -> np.ndarray:
    """Return ``predictions`` as a 2-D (M rows, N models) real array without copying if possible.

    A 1-D input is one model: it becomes an (M, 1) view. Finiteness is checked later, inside
    the ranking pass, where it costs one cheap row-sum per model instead of a full extra pass.
    """
    array = np.asarray(predictions)
    if array.ndim == 1:
        array = array[:, None]
    if array.ndim != 2:
        raise ValueError(f"{name} must be 1-D (M,) or 2-D (M, N); got shape {array.shape}")
    if not (np.issubdtype(array.dtype, np.floating) or np.issubdtype(array.dtype, np.integer)
            or array.dtype == np.bool_):
        raise ValueError(f"{name} must hold real numbers; got dtype {array.dtype}")
    n_rows, n_models = array.shape
    if n_rows < 2:
        raise ValueError(f"{name} need at least 2 rows (M >= 2) to be ranked; got M = {n_rows}")
    if n_models < 1:
        raise ValueError(f"{name} have no model columns (N = 0)")
    return array


def raise_if_non_finite_columns(bad_columns: np.ndarray, labels: Sequence[Any], name: str) -> None:
    """Raise the engine's NaN-policy error for the given column positions, if any."""
    if len(bad_columns):
        offending = [labels[int(i)] for i in bad_columns]
        raise ValueError(
            f"{name} contain NaN or infinite values in {len(offending)} column(s): "
            f"{describe_columns(offending)}"
        )


def as_vector(values: ArrayLike, name: str, n_rows: int | None = None) -> np.ndarray:
    """Return a finite 1-D float64 vector, checking its length against ``n_rows`` if given.

    An (M, 1) column is accepted as the vector it obviously is.
    """
    vector = np.asarray(values, dtype=np.float64)
    if vector.ndim == 2 and vector.shape[1] == 1:
        vector = vector[:, 0]
    if vector.ndim != 1:
        raise ValueError(f"{name} must be a 1-D vector; got shape {vector.shape}")
    if n_rows is not None and vector.shape[0] != n_rows:
        raise ValueError(
            f"{name} has {vector.shape[0]} rows but the predictions have {n_rows} rows"
        )
    if not np.isfinite(vector).all():
        bad = np.flatnonzero(~np.isfinite(vector))
        raise ValueError(
            f"{name} contains NaN or infinite values at {len(bad)} position(s): "
            f"{describe_columns(bad.tolist())}"
        )
    return vector


def as_target(target: ArrayLike, n_rows: int) -> np.ndarray:
    """A finite, non-constant target of length M (a constant target has no correlation)."""
    vector = as_vector(target, "target", n_rows)
    if vector.shape[0] < 2:
        raise ValueError(f"target needs at least 2 rows (M >= 2); got M = {vector.shape[0]}")
    if vector.min() == vector.max():
        raise ValueError(
            f"target is constant (every row is {float(vector[0])!r}); correlation with it is "
            "undefined"
        )
    return vector


def as_stakes(stakes: ArrayLike, n_models: int | None, *,
              purpose: str = "the stake-weighted meta-model is undefined") -> np.ndarray:
    """Finite, non-negative stakes (one per model when ``n_models`` is given), positive total.

    ``purpose`` completes the zero-total error message (what cannot be computed).
    """
    vector = as_vector(stakes, "stakes")
    if n_models is not None and vector.shape[0] != n_models:
        raise ValueError(f"stakes has {vector.shape[0]} entries but there are {n_models} models")
    negative = np.flatnonzero(vector < 0)
    if len(negative):
        raise ValueError(
            f"stakes must be non-negative; negative at model position(s) "
            f"{describe_columns(negative.tolist())}"
        )
    with np.errstate(over="ignore"):
        total = vector.sum()
    if not np.isfinite(total):
        raise ValueError("total stake overflows to infinity")
    if not total > 0:
        raise ValueError(f"total stake is zero: {purpose}")
    return vector


def as_scores(scores: ArrayLike, name: str, n_models: int) -> np.ndarray:
    """A finite per-model score vector of length N."""
    vector = as_vector(scores, name)
    if vector.shape[0] != n_models:
        raise ValueError(f"{name} has {vector.shape[0]} entries but there are {n_models} models")
    return vector


def as_finite_number(value: float, name: str, *, positive: bool = False) -> float:
    """A finite (and, if asked, strictly positive) scalar rule parameter."""
    number = float(value)
    if not np.isfinite(number):
        raise ValueError(f"{name} must be finite; got {value!r}")
    if positive and not number > 0:
        raise ValueError(f"{name} must be > 0; got {value!r}")
    return number
