"""One era, every model: a single ranking pass, then cheap scoring against any target.

``prepare_era`` does everything that depends on the predictions and stakes only — the gauss
ranks g and their 1.5 powers g' for every model, the per-model norms, the meta-model and its
overlaps g_j·u — and keeps it in a :class:`RankedEra`. Each (daily) target update then costs
two matrix-vector products, g'·t' for CORR and g·y_c for MMC/BMC::

    era = prepare_era(predictions, stakes)          # once per round (the expensive part)
    day = era.score(target_today, rules=rules)      # every day: ~2 BLAS gemv

Memory held by a RankedEra: two float64 (N, M) matrices.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from scoring.contribution import (
    OrthogonalReference,
    contribution_target,
    stake_weighted_mean,
)
from scoring.correlation import centred_norms, correlation_from_dots, powered_target
from scoring.inputs import (
    as_prediction_matrix,
    as_stakes,
    as_target,
    as_vector,
    column_labels,
    raise_if_non_finite_columns,
)
from scoring.payout import PayoutRules
from scoring.ranking import rank_columns


@dataclass(frozen=True)
class EraScores:
    """Scores of every model for one era against one target (arrays of length N).

    ``bmc`` is present when the era was prepared with a benchmark, ``payout`` when rules
    were given. ``model_ids`` are the prediction frame's column labels (or 0..N-1).
    """

    corr: np.ndarray
    mmc: np.ndarray
    bmc: np.ndarray | None
    payout: np.ndarray | None
    model_ids: list[Any]

    def to_frame(self) -> pd.DataFrame:
        """One row per model: corr, mmc, and bmc / payout when present."""
        columns: dict[str, np.ndarray] = {"corr": self.corr, "mmc": self.mmc}
        if self.bmc is not None:
            columns["bmc"] = self.bmc
        if self.payout is not None:
            columns["payout"] = self.payout
        return pd.DataFrame(columns, index=pd.Index(self.model_ids, name="model"))


class RankedEra:
    """Predictions of one era, ranked once and ready to be scored against any target.

    Attributes: ``gauss`` and ``powered`` are (N, M) (models as rows), ``stakes`` (N,),
    ``meta_model`` (M,) the stake-weighted mean of gauss ranks, ``model_ids``.
    Build with :func:`prepare_era`.
    """

    def __init__(
        self,
        *,
        gauss: np.ndarray,
        powered: np.ndarray,
        powered_norms: np.ndarray,
        stakes: np.ndarray,
        meta_model: np.ndarray,
        meta_reference: OrthogonalReference,
        benchmark_reference: OrthogonalReference | None,
        model_ids: list[Any],
    ) -> None:
        self.gauss = gauss
        self.powered = powered
        self.powered_norms = powered_norms
        self.stakes = stakes
        self.meta_model = meta_model
        self._meta = meta_reference
        self._benchmark = benchmark_reference
        self.model_ids = model_ids

    @property
    def n_rows(self) -> int:
        """M, the number of rows (stocks/ids) in the era."""
        return self.gauss.shape[1]

    @property
    def n_models(self) -> int:
        """N, the number of models."""
        return self.gauss.shape[0]

    def corr(self, target: ArrayLike) -> np.ndarray:
        """CORR of every model (N,) against ``target`` (M,); see :mod:`scoring.correlation`."""
        return self._corr(as_target(target, self.n_rows))

    def mmc(self, target: ArrayLike) -> np.ndarray:
        """MMC of every model (N,) against ``target`` (M,); see :mod:`scoring.contribution`."""
        target_c = contribution_target(as_target(target, self.n_rows))
        return self._meta.contribution(self.gauss @ target_c, target_c)

    def bmc(self, target: ArrayLike) -> np.ndarray:
        """BMC of every model (N,); needs an era prepared with ``benchmark=``."""
        if self._benchmark is None:
            raise ValueError("this era was prepared without a benchmark: pass benchmark= "
                             "to prepare_era to score BMC")
        target_c = contribution_target(as_target(target, self.n_rows))
        return self._benchmark.contribution(self.gauss @ target_c, target_c)

    def score(self, target: ArrayLike, *, rules: PayoutRules | None = None) -> EraScores:
        """CORR, MMC (and BMC, payouts when available) against ``target`` — no re-ranking."""
        target_values = as_target(target, self.n_rows)
        corr = self._corr(target_values)
        target_c = contribution_target(target_values)
        gauss_dot_target = self.gauss @ target_c
        mmc = self._meta.contribution(gauss_dot_target, target_c)
        bmc = (self._benchmark.contribution(gauss_dot_target, target_c)
               if self._benchmark is not None else None)
        payout = rules.payouts(self.stakes, corr, mmc) if rules is not None else None
        return EraScores(corr=corr, mmc=mmc, bmc=bmc, payout=payout, model_ids=self.model_ids)

    def _corr(self, target_values: np.ndarray) -> np.ndarray:
        powered_t = powered_target(target_values)
        return correlation_from_dots(
            self.powered @ powered_t, self.powered_norms, float(np.sqrt(powered_t @ powered_t))
        )


def prepare_era(
    predictions: ArrayLike,
    stakes: ArrayLike,
    *,
    benchmark: ArrayLike | None = None,
    threads: int | None = None,
) -> RankedEra:
    """Rank one era's predictions (M, N) once and build the stake-weighted meta-model.

    ``stakes`` (N,) are the stakes snapshotted at the round's close (zero-stake models are
    scored but do not shape the meta-model); ``benchmark`` (M,) enables BMC. Passing the
    predictions F-ordered (each model's column contiguous) skips a transposition. Raises
    ``ValueError`` on NaN/inf (naming the columns), M < 2, N = 0, mismatched shapes, negative
    stakes, a zero total stake, or a constant meta-model/benchmark.
    """
    matrix = as_prediction_matrix(predictions)
    n_rows, n_models = matrix.shape
    labels = column_labels(predictions, n_models)
    stake_vector = as_stakes(stakes, n_models)
    benchmark_vector = (as_vector(benchmark, "benchmark", n_rows)
                        if benchmark is not None else None)
    ranked = rank_columns(matrix, ("gauss", "powered"), threads=threads)
    raise_if_non_finite_columns(ranked.non_finite, labels, "predictions")
    gauss = ranked.outputs["gauss"]
    meta = stake_weighted_mean(gauss, stake_vector, threads=threads)
    meta_reference = OrthogonalReference.build(gauss, meta, "meta-model")
    benchmark_reference = (OrthogonalReference.build(gauss, benchmark_vector, "benchmark")
                           if benchmark_vector is not None else None)
    return RankedEra(
        gauss=gauss,
        powered=ranked.outputs["powered"],
        powered_norms=centred_norms(
            ranked.sums["powered"], ranked.sums_of_squares["powered"], n_rows
        ),
        stakes=stake_vector,
        meta_model=meta,
        meta_reference=meta_reference,
        benchmark_reference=benchmark_reference,
        model_ids=labels,
    )


def score_era(
    predictions: ArrayLike,
    target: ArrayLike,
    stakes: ArrayLike,
    *,
    benchmark: ArrayLike | None = None,
    rules: PayoutRules | None = None,
    threads: int | None = None,
) -> EraScores:
    """All scores of one era in one ranking pass: ``prepare_era(...).score(target, rules=)``.

    Keep the :class:`RankedEra` from :func:`prepare_era` instead when the same predictions
    will be re-scored against later targets.
    """
    n_rows = as_prediction_matrix(predictions).shape[0]
    as_target(target, n_rows)  # reject a bad target before the expensive ranking pass
    era = prepare_era(predictions, stakes, benchmark=benchmark, threads=threads)
    return era.score(target, rules=rules)
