"""Meta-model, MMC and BMC: what each model adds beyond a reference model.

Meta-model (stake-weighted mean of gauss ranks; zero-stake models drop out)::

    mm = Σ_j s_j · g_j / Σ_j s_j

Contribution against a reference r (MMC: r = meta-model, BMC: r = a benchmark model),
numerai-tools' ``correlation_contribution``::

    u   = gauss rank of r                              (r is re-ranked, like every column)
    y   = 4·t if every t_i ∈ [0, 1] else t;  y_c = y − mean(y)
    n_j = g_j − u · (g_j·u)/(u·u)                      (g_j orthogonalised against u)
    C_j = y_c · n_j / M

Expanding the dot product removes the M×N orthogonalised matrix entirely::

    C_j = (g_j·y_c − (u·y_c)(g_j·u)/(u·u)) / M

so with the per-model overlaps g_j·u cached, a new target costs one product G·y_c.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from scoring.inputs import (
    as_prediction_matrix,
    as_stakes,
    as_target,
    as_vector,
    column_labels,
    raise_if_non_finite_columns,
)
from scoring.ranking import default_threads, rank_columns

# Stake-weighted sums walk the models in blocks of this many rows of products ...
_META_BLOCK_MODELS = 64
# ... over chunks of at least this many rows (one chunk per thread).
_META_MIN_CHUNK = 256
_THREADING_MIN_ELEMENTS = 1 << 17


def contribution_target(target: np.ndarray) -> np.ndarray:
    """y − mean(y), y = 4·t when the whole target lies in [0, 1] (Numerai's bucket units)."""
    scaled = target * 4 if ((target >= 0).all() and (target <= 1).all()) else target
    return scaled - scaled.mean()


def stake_weighted_mean(gauss_rows: np.ndarray, stakes: np.ndarray, *,
                        threads: int | None = None) -> np.ndarray:
    """Σ_j s_j·g_j / Σ_j s_j over models (rows of ``gauss_rows``, shape (N, M)).

    The sum is accumulated model by model, in model order, from the rounded products
    s_j·g_j: the same sequence of floating-point operations as numerai-tools'
    ``stake_weight`` on a DataFrame. That is not pedantry: the meta-model is ranked
    again, so rows that tie there must tie here, bit for bit (a BLAS gemv fuses and
    reorders the additions and can split such ties). Zero-stake models are skipped,
    which changes no bit (x + 0·g = x). Rows are independent, so they are split between
    threads.
    """
    staked = np.flatnonzero(stakes > 0)
    n_rows = gauss_rows.shape[1]
    accumulator = np.zeros(n_rows)
    n_threads = default_threads() if threads is None else max(1, threads)
    # Chunks at least _META_MIN_CHUNK rows wide keep the reduction strictly sequential.
    n_chunks = max(1, min(n_threads, n_rows // _META_MIN_CHUNK))
    bounds = np.linspace(0, n_rows, n_chunks + 1).astype(int)
    chunks = list(zip(bounds[:-1], bounds[1:], strict=True))

    def accumulate(chunk: tuple[int, int]) -> None:
        first_row, last_row = chunk
        target = accumulator[first_row:last_row]
        scratch = np.empty((_META_BLOCK_MODELS + 1, last_row - first_row))
        for first in range(0, len(staked), _META_BLOCK_MODELS):
            models = staked[first:first + _META_BLOCK_MODELS]
            block = scratch[: len(models) + 1]
            # Row 0 carries the running sum, rows 1.. the next products: numpy reduces a
            # C-ordered (k, width >= 2) array over axis 0 strictly row after row, so this
            # is the model-by-model sum (test_meta_model_is_bit_identical_to_reference).
            block[0] = target
            np.multiply(gauss_rows[models, first_row:last_row], stakes[models, None],
                        out=block[1:])
            np.add.reduce(block, axis=0, out=target)

    if len(chunks) == 1 or gauss_rows.size < _THREADING_MIN_ELEMENTS:
        for chunk in chunks:
            accumulate(chunk)
    else:
        with ThreadPoolExecutor(len(chunks), thread_name_prefix="scoring-meta") as pool:
            list(pool.map(accumulate, chunks))
    return accumulator / stakes.sum()


@dataclass(frozen=True)
class OrthogonalReference:
    """A reference column (meta-model or benchmark) prepared for contribution scoring.

    ``gauss`` is u (the reference's gauss rank, (M,)), ``overlaps`` are g_j·u for every model,
    ``norm_squared`` is u·u (> 0: a constant reference is rejected when built).
    """

    gauss: np.ndarray
    overlaps: np.ndarray
    norm_squared: float

    @classmethod
    def build(cls, gauss_rows: np.ndarray, reference: np.ndarray, name: str
              ) -> OrthogonalReference:
        """Gauss-rank ``reference`` (M,) and compute its overlaps with ``gauss_rows`` (N, M)."""
        ranked = rank_columns(reference[:, None], ("gauss",), threads=1)
        if len(ranked.non_finite):  # pragma: no cover - callers validate references first
            raise ValueError(f"{name} contains NaN or infinite values")
        reference_gauss = ranked.outputs["gauss"][0]
        norm_squared = float(reference_gauss @ reference_gauss)
        if norm_squared == 0.0:
            raise ValueError(
                f"{name} is constant: orthogonalising against it is undefined "
                f"(every staked model submitted constant predictions?)"
            )
        return cls(reference_gauss, gauss_rows @ reference_gauss, norm_squared)

    def contribution(self, gauss_dot_target: np.ndarray, target_c: np.ndarray) -> np.ndarray:
        """C_j = (g_j·y_c − (u·y_c)(g_j·u)/(u·u)) / M, given g_j·y_c for every model."""
        reference_dot_target = float(self.gauss @ target_c)
        projection = self.overlaps * (reference_dot_target / self.norm_squared)
        return (gauss_dot_target - projection) / target_c.shape[0]


def _gauss_rows(predictions: ArrayLike, threads: int | None) -> np.ndarray:
    matrix = as_prediction_matrix(predictions)
    ranked = rank_columns(matrix, ("gauss",), threads=threads)
    raise_if_non_finite_columns(
        ranked.non_finite, column_labels(predictions, matrix.shape[1]), "predictions"
    )
    return ranked.outputs["gauss"]


def meta_model(predictions: ArrayLike, stakes: ArrayLike, *, threads: int | None = None
               ) -> np.ndarray:
    """Stake-weighted mean of the gauss-ranked columns of ``predictions`` (M, N) → (M,).

    Equals ``numerai_tools.scoring.stake_weight(gaussian(tie_kept_rank(P)), stakes)``.
    Raises ``ValueError`` on negative or non-finite stakes, a zero total stake, or a
    stakes vector whose length is not N.
    """
    gauss_rows = _gauss_rows(predictions, threads)
    stake_vector = as_stakes(stakes, gauss_rows.shape[0])
    return stake_weighted_mean(gauss_rows, stake_vector, threads=threads)


def _contribution(predictions: ArrayLike, reference: ArrayLike, target: ArrayLike,
                  name: str, threads: int | None) -> np.ndarray:
    gauss_rows = _gauss_rows(predictions, threads)
    n_rows = gauss_rows.shape[1]
    target_c = contribution_target(as_target(target, n_rows))
    prepared = OrthogonalReference.build(gauss_rows, as_vector(reference, name, n_rows), name)
    return prepared.contribution(gauss_rows @ target_c, target_c)


def mmc(predictions: ArrayLike, meta_model: ArrayLike, target: ArrayLike, *,
        threads: int | None = None) -> np.ndarray:
    """Meta-model contribution of every column of ``predictions`` (M, N) → (N,).

    Equals ``numerai_tools.scoring.correlation_contribution(P, meta_model, target)``.
    ``meta_model`` (M,) is re-ranked here, as in the reference. Raises ``ValueError`` on
    NaN/inf, mismatched lengths, a constant target or a constant meta-model.
    """
    return _contribution(predictions, meta_model, target, "meta_model", threads)


def bmc(predictions: ArrayLike, benchmark: ArrayLike, target: ArrayLike, *,
        threads: int | None = None) -> np.ndarray:
    """Benchmark-model contribution: :func:`mmc` with a benchmark model's predictions (M,)
    in place of the meta-model."""
    return _contribution(predictions, benchmark, target, "benchmark", threads)
