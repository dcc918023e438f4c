"""Arena's scoring engine: Numerai-exact scores for every model of an era, vectorised.

Pure numerics (numpy, pandas, scipy): this package never imports Django. Arrays hold one
column per model, (M rows, N models). See README.md beside this file for formulas, the
NaN / degenerate-input policy and benchmark figures.
"""

from scoring.contribution import bmc, meta_model, mmc
from scoring.correlation import numerai_corr
from scoring.dex_features import (
    bin_cross_section,
    features_frame,
    forward_return_target,
    resample_pool,
    token_features,
)
from scoring.era import EraScores, RankedEra, prepare_era, score_era
from scoring.neutral import fnc
from scoring.payout import PayoutRules, payout_factor, payouts
from scoring.pnl import (
    PnlContributions,
    VaultPnl,
    contributions_from_predictions,
    excess_return,
    meta_signal,
    pnl_contributions,
    tilt_scale,
    tilt_weights,
    token_returns,
    vault_pnl,
)
from scoring.ranking import gauss_rank
from scoring.windows import window_mean, window_sharpe

__all__ = [
    "EraScores",
    "PayoutRules",
    "PnlContributions",
    "RankedEra",
    "VaultPnl",
    "bin_cross_section",
    "bmc",
    "contributions_from_predictions",
    "excess_return",
    "features_frame",
    "fnc",
    "forward_return_target",
    "meta_signal",
    "pnl_contributions",
    "resample_pool",
    "tilt_scale",
    "tilt_weights",
    "token_features",
    "token_returns",
    "vault_pnl",
    "gauss_rank",
    "meta_model",
    "mmc",
    "numerai_corr",
    "payout_factor",
    "payouts",
    "prepare_era",
    "score_era",
    "window_mean",
    "window_sharpe",
]
