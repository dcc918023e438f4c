"""DEX tournaments: the meta-model's portfolio tilt, its excess return and each model's
P&L contribution — pure numpy, vectorised over all models.

Shapes follow the engine's convention: one column per model, so a round's gauss-ranked
predictions are ``G`` with shape (K tokens, N models); ``stakes`` a (N,), ``returns`` r (K,)
the tokens' simple returns in the quote token over the round.

**Tilt** (long-only, around equal weight). With ``A = Σ_j a_j`` and ``ĝ_j = g_j − mean_k g_j``
(each model's gauss ranks, centred across tokens)::

    s   = Σ_j a_j·g_j / A                         stake-weighted meta-model signal (K,)
    c   = max_j max_k |ĝ_kj|                     the round's scale (see below)
    z_k = (s_k − mean(s)) / c                     = Σ_j a_j·ĝ_kj / (A·c)
    w_k = (1 + λ·z_k) / K                         λ ∈ [0, 1] is the tilt

``z`` is a stake-weighted mean of the columns ĝ_j/c, each bounded by 1 in absolute value,
so |z_k| ≤ 1 and every weight lies in [(1 − λ)/K, (1 + λ)/K]; Σ_k z_k = 0 so the weights
sum to one. ``c`` is a constant of the round's *predictions* (every submitted model,
staked or not), never of the stakes, which keeps w a smooth function of the stakes and the
derivative below exact. Without ties c = Φ⁻¹((K − ½)/K), the largest gauss rank; ties can
push a centred value slightly past it, which is why c is measured rather than assumed. (A
``max|s|`` normaliser would be non-differentiable wherever the arg-max token changes.)

**Excess return** of the tilted buy-and-hold portfolio over equal weight (frictionless)::

    R_ex = Σ_k (w_k − 1/K)·r_k = (λ / K)·z·r_c,     r_c = r − mean(r)

**P&L contribution** of model j = the exact derivative of R_ex with respect to its stake::

    ∂R_ex/∂a_j = λ / (K·c·A) · (ĝ_j − ŝ)·r_c  =  λ / (K·c·A) · (g_j·r_c − s·r_c)

(ŝ = Σ a_j ĝ_j / A; centring drops out because Σ_k r_c,k = 0). By Euler's theorem
Σ_j a_j·∂R_ex/∂a_j = 0: R_ex does not change when every stake scales together, so
contributions measure what a model adds *relative to the meta-model*, like MMC.
Leave-one-out, exactly: R_ex(a) − R_ex(a with a_j = 0) = A/(A − a_j) · a_j · ∂R_ex/∂a_j.

**Normalisation** (comparable across rounds). The raw derivative scales with 1/A (total
stake), λ, 1/c and the size of the round's returns (volatility, horizon). Reported as::

    share_j      = A · ∂R_ex/∂a_j            excess return per unit of stake *share*
    normalised_j = share_j · c / (λ·σ_r)     = (ĝ_j − ŝ)·r_c / (K·σ_r)

with σ_r the population standard deviation of r across tokens. ``normalised`` is the
covariance between the model's deviation from the meta-model (in gauss-rank units) and the
standardised returns: free of total stake, tilt, universe size and volatility, signed and
ordered exactly as the derivative within a round. It is 0 for every model when σ_r = 0
(no excess return is possible), λ = 0 (no tilt) or c = 0 (every model predicted all tokens
tied). A model with zero stake gets the contribution its first unit of stake would make.

Execution costs (fees, slippage) are in the vault's realised P&L (``vault_pnl``), not in
contributions: they depend on the vault's size and the pools' depth, not on a model.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from scoring.inputs import as_prediction_matrix, as_stakes, as_vector
from scoring.ranking import gauss_rank


@dataclass(frozen=True)
class PnlContributions:
    """One round's tilt, its frictionless excess return and every model's contribution."""

    weights: np.ndarray  # (K,) target weights, sum 1
    excess_return: float  # Σ (w_k − 1/K)·r_k
    gradient: np.ndarray  # (N,) ∂R_ex/∂a_j, return per unit of stake
    share: np.ndarray  # (N,) A·∂R_ex/∂a_j
    normalised: np.ndarray  # (N,) share·c/(λ·σ_r)
    scale: float  # c
    total_stake: float  # A
    return_std: float  # σ_r


# Bytes per block of models in the single pass over G: small enough to stay in a core's L2
# cache across the six operations done on it (measured at K = 500: 1-2 MB blocks take ~6 ms
# for N = 5,000, 4 MB blocks spill and take 10-60 ms).
_BLOCK_BYTES = 1 << 20


def _as_gauss(gauss: ArrayLike, *, check_finite: bool = True) -> np.ndarray:
    matrix = np.asarray(as_prediction_matrix(gauss, "gauss ranks"), dtype=np.float64)
    if check_finite and not np.isfinite(matrix).all():
        raise ValueError("gauss ranks contain NaN or infinite values")
    return matrix


@dataclass(frozen=True)
class _RoundSums:
    scale: float  # c
    signal: np.ndarray  # G·a (K,), not yet divided by A
    overlap: np.ndarray  # G^T·r_c (N,)


def _round_sums(g: np.ndarray, a: np.ndarray, r_c: np.ndarray) -> _RoundSums:
    """c, G·a and G^T·r_c in one pass over G, block of models by block of models.

    G is read from memory once instead of six times (finiteness, mean, max, min and two
    products), which is what bounds these O(K·N) sums at N = 5,000, K = 500.
    """
    n_tokens, n_models = g.shape
    block = max(1, _BLOCK_BYTES // (8 * n_tokens))
    signal = np.zeros(n_tokens)
    overlap = np.empty(n_models)
    scale = 0.0
    for start in range(0, n_models, block):
        part = g[:, start : start + block]
        if not np.isfinite(part).all():
            raise ValueError("gauss ranks contain NaN or infinite values")
        means = part.mean(axis=0)
        scale = max(
            scale, float((part.max(axis=0) - means).max()), float((means - part.min(axis=0)).max())
        )
        signal += part @ a[start : start + block]
        overlap[start : start + block] = r_c @ part
    return _RoundSums(scale=scale, signal=signal, overlap=overlap)


def _as_tilt(tilt: float) -> float:
    value = float(tilt)
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"tilt must be in [0, 1] to keep every weight >= 0; got {tilt!r}")
    return value


def tilt_scale(gauss: ArrayLike) -> float:
    """c = max_j max_k |g_kj − mean_k g_kj|: the largest centred gauss rank of the round."""
    g = _as_gauss(gauss)
    means = g.mean(axis=0)
    return float(max((g.max(axis=0) - means).max(), (means - g.min(axis=0)).max()))


def meta_signal(gauss: ArrayLike, stakes: ArrayLike) -> np.ndarray:
    """s = Σ_j a_j·g_j / Σ_j a_j, the stake-weighted meta-model over tokens (K,)."""
    g = _as_gauss(gauss)
    a = as_stakes(stakes, g.shape[1])
    return g @ a / a.sum()


def tilt_weights(
    gauss: ArrayLike, stakes: ArrayLike, *, tilt: float, scale: float | None = None
) -> np.ndarray:
    """w_k = (1 + λ·(s_k − mean(s))/c) / K — see the module docstring. ``scale`` overrides
    c (it must be at least the round's own c, or the bounds no longer hold)."""
    g = _as_gauss(gauss)
    lam = _as_tilt(tilt)
    c = tilt_scale(g) if scale is None else float(scale)
    s = meta_signal(g, stakes)
    n_tokens = g.shape[0]
    if c == 0.0:
        return np.full(n_tokens, 1.0 / n_tokens)
    z = (s - s.mean()) / c
    return (1.0 + lam * z) / n_tokens


def excess_return(weights: ArrayLike, returns: ArrayLike) -> float:
    """Σ_k (w_k − 1/K)·r_k: a buy-and-hold portfolio's return over equal weight."""
    w = as_vector(weights, "weights")
    r = as_vector(returns, "returns", w.shape[0])
    return float((w - 1.0 / w.shape[0]) @ r)


def pnl_contributions(
    gauss: ArrayLike,
    stakes: ArrayLike,
    returns: ArrayLike,
    *,
    tilt: float,
    scale: float | None = None,
) -> PnlContributions:
    """Weights, excess return and every model's contribution from gauss ranks (K, N).

    Cost: O(K·N) — one blocked pass over G (see ``_round_sums``).
    """
    g = _as_gauss(gauss, check_finite=False)  # checked block by block in _round_sums
    lam = _as_tilt(tilt)
    n_tokens, n_models = g.shape
    a = as_stakes(stakes, n_models)
    r = as_vector(returns, "returns", n_tokens)
    # Identical returns: centre exactly (r − mean(r) would leave rounding dust of ~1e-18
    # that the normalisation would then divide by itself).
    r_c = r - r.mean() if np.ptp(r) > 0 else np.zeros(n_tokens)
    sums = _round_sums(g, a, r_c)
    c = sums.scale if scale is None else float(scale)
    total = float(a.sum())
    s = sums.signal / total
    sigma = float(np.sqrt(r_c @ r_c / n_tokens))
    if c == 0.0:
        zeros = np.zeros(n_models)
        return PnlContributions(
            weights=np.full(n_tokens, 1.0 / n_tokens),
            excess_return=0.0,
            gradient=zeros,
            share=zeros.copy(),
            normalised=zeros.copy(),
            scale=c,
            total_stake=total,
            return_std=sigma,
        )
    z = (s - s.mean()) / c
    weights = (1.0 + lam * z) / n_tokens
    # g_j·r_c = ĝ_j·r_c because r_c sums to zero: no centred copy of G is needed.
    share = lam / (n_tokens * c) * (sums.overlap - s @ r_c)
    normalised = share * c / (lam * sigma) if lam > 0 and sigma > 0 else np.zeros(n_models)
    return PnlContributions(
        weights=weights,
        excess_return=float(lam / n_tokens * (z @ r_c)),
        gradient=share / total,
        share=share,
        normalised=normalised,
        scale=c,
        total_stake=total,
        return_std=sigma,
    )


def contributions_from_predictions(
    predictions: ArrayLike,
    stakes: ArrayLike,
    returns: ArrayLike,
    *,
    tilt: float,
    threads: int | None = None,
) -> PnlContributions:
    """``pnl_contributions`` from raw predictions (K, N): gauss-ranks each model first."""
    return pnl_contributions(gauss_rank(predictions, threads=threads), stakes, returns, tilt=tilt)


def token_returns(prices_start: ArrayLike, prices_end: ArrayLike) -> np.ndarray:
    """Simple returns p_end/p_start − 1 per token (prices in the quote token)."""
    p0 = as_vector(prices_start, "prices_start")
    p1 = as_vector(prices_end, "prices_end", p0.shape[0])
    if (p0 <= 0).any() or (p1 <= 0).any():
        raise ValueError("prices must be positive")
    return p1 / p0 - 1.0


@dataclass(frozen=True)
class VaultPnl:
    """Realised P&L of a vault over a period, fees and slippage included."""

    pnl: int  # value_end − value_start, quote base units
    portfolio_return: float  # pnl / value_start
    benchmark_return: float  # equal weight, bought at the start mid prices, no costs
    excess_return: float  # portfolio_return − benchmark_return


def vault_pnl(
    *, value_start: int, value_end: int, prices_start: ArrayLike, prices_end: ArrayLike
) -> VaultPnl:
    """P&L = vault value change in the quote token (both marked at mid, so every fee and
    slippage paid in between is inside it); excess over equal weights held from the start:
    benchmark = mean_k(p_end,k / p_start,k) − 1."""
    if value_start <= 0:
        raise ValueError(f"value_start must be positive; got {value_start}")
    pnl = int(value_end) - int(value_start)
    ret = pnl / value_start
    bench = float(token_returns(prices_start, prices_end).mean())
    return VaultPnl(
        pnl=pnl, portfolio_return=ret, benchmark_return=bench, excess_return=ret - bench
    )
