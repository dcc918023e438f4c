"""Payouts: a pure function of stakes, scores and the round's frozen rules.

    payout_factor = min(1, threshold / Σ_j stake_j)
    payout_j      = stake_j · clip(payout_factor · (corr_multiplier·CORR_j + mmc_multiplier·MMC_j
                                                   + pnl_multiplier·PNL_j), −cap, cap)

PNL_j is the model's normalised P&L contribution in DEX tournaments (scoring/pnl.py); the
term is absent (0) elsewhere.

Negative payouts are burns. The factor shrinks every model's exposure once the total stake at
risk exceeds the threshold, so the sponsor's pool bounds the round's total payout; the clip
bounds each model's gain or loss to ``cap`` × its stake.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from scoring.inputs import as_finite_number, as_scores, as_stakes


def payout_factor(total_stake: float, threshold: float) -> float:
    """min(1, threshold / total_stake); both must be finite and > 0."""
    total = as_finite_number(total_stake, "total stake", positive=True)
    limit = as_finite_number(threshold, "threshold", positive=True)
    return min(1.0, limit / total)


def payouts(
    stakes: ArrayLike,
    corr: ArrayLike,
    mmc: ArrayLike,
    *,
    threshold: float,
    corr_multiplier: float,
    mmc_multiplier: float,
    cap: float,
    pnl: ArrayLike | None = None,
    pnl_multiplier: float = 0.0,
) -> np.ndarray:
    """Per-model payout (N,) — see the module docstring for the formula.

    Raises ``ValueError`` for negative or non-finite stakes, a zero total stake, scores that
    are non-finite or not one per model, a non-positive threshold or cap, or non-finite
    multipliers, or a non-zero ``pnl_multiplier`` without ``pnl``. The result is always finite.
    """
    stake_vector = as_stakes(stakes, None, purpose="the payout factor threshold / total "
                             "stake is undefined")
    n_models = stake_vector.shape[0]
    total = float(stake_vector.sum())
    corr_vector = as_scores(corr, "corr", n_models)
    mmc_vector = as_scores(mmc, "mmc", n_models)
    weight_corr = as_finite_number(corr_multiplier, "corr_multiplier")
    weight_mmc = as_finite_number(mmc_multiplier, "mmc_multiplier")
    limit = as_finite_number(cap, "cap", positive=True)
    weight_pnl = as_finite_number(pnl_multiplier, "pnl_multiplier")
    if pnl is None:
        if weight_pnl != 0:
            raise ValueError("pnl_multiplier is set but no P&L contributions were given")
        pnl_vector = np.zeros(n_models)
    else:
        pnl_vector = as_scores(pnl, "pnl", n_models)
    factor = payout_factor(total, threshold)
    with np.errstate(over="ignore", invalid="ignore"):
        score = factor * (
            weight_corr * corr_vector + weight_mmc * mmc_vector + weight_pnl * pnl_vector
        )
        result = stake_vector * np.clip(score, -limit, limit)
    if not np.isfinite(result).all():
        raise ValueError("payout overflowed: multipliers or stakes are too large to combine")
    return result


@dataclass(frozen=True)
class PayoutRules:
    """A tournament's payout rules, frozen per round (see :func:`payouts`)."""

    threshold: float
    corr_multiplier: float
    mmc_multiplier: float
    cap: float
    pnl_multiplier: float = 0.0

    def __post_init__(self) -> None:
        as_finite_number(self.threshold, "threshold", positive=True)
        as_finite_number(self.corr_multiplier, "corr_multiplier")
        as_finite_number(self.mmc_multiplier, "mmc_multiplier")
        as_finite_number(self.cap, "cap", positive=True)
        as_finite_number(self.pnl_multiplier, "pnl_multiplier")

    def payouts(
        self, stakes: ArrayLike, corr: ArrayLike, mmc: ArrayLike, pnl: ArrayLike | None = None
    ) -> np.ndarray:
        """:func:`payouts` with these rules."""
        return payouts(
            stakes,
            corr,
            mmc,
            threshold=self.threshold,
            corr_multiplier=self.corr_multiplier,
            mmc_multiplier=self.mmc_multiplier,
            cap=self.cap,
            pnl=pnl,
            pnl_multiplier=self.pnl_multiplier,
        )
