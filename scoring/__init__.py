"""Arena's scoring engine: Numerai-exact scores for every model of an era, vectorised.

Pure numerics (numpy, pandas, scipy): this package never imports Django. Arrays hold one
column per model, (M rows, N models). See README.md beside this file for formulas, the
NaN / degenerate-input policy and benchmark figures.
"""

from scoring.contribution import bmc, meta_model, mmc
from scoring.correlation import numerai_corr
from scoring.era import EraScores, RankedEra, prepare_era, score_era
from scoring.neutral import fnc
from scoring.payout import PayoutRules, payout_factor, payouts
from scoring.ranking import gauss_rank
from scoring.windows import window_mean, window_sharpe

__all__ = [
    "EraScores",
    "PayoutRules",
    "RankedEra",
    "bmc",
    "fnc",
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
