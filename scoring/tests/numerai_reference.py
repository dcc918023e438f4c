"""numerai-tools' published scoring, called the way the engine's docstrings say it is equal to.

Test helper only: the engine itself never imports numerai-tools.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from numerai_tools import scoring as nt


def frame(predictions: np.ndarray) -> pd.DataFrame:
    matrix = np.asarray(predictions, dtype=np.float64)
    if matrix.ndim == 1:
        matrix = matrix[:, None]
    return pd.DataFrame(matrix, columns=[f"model_{j}" for j in range(matrix.shape[1])])


def series(values: np.ndarray, name: str) -> pd.Series:
    return pd.Series(np.asarray(values, dtype=np.float64), name=name)


def gauss_rank(predictions: np.ndarray) -> np.ndarray:
    return nt.gaussian(nt.tie_kept_rank(frame(predictions))).to_numpy()


def numerai_corr(predictions: np.ndarray, target: np.ndarray) -> np.ndarray:
    return nt.numerai_corr(frame(predictions), series(target, "target")).to_numpy()


def meta_model(predictions: np.ndarray, stakes: np.ndarray) -> np.ndarray:
    gauss = nt.gaussian(nt.tie_kept_rank(frame(predictions)))
    weights = pd.Series(np.asarray(stakes, dtype=np.float64), index=gauss.columns)
    return nt.stake_weight(gauss, weights).to_numpy()


def contribution(predictions: np.ndarray, reference: np.ndarray, target: np.ndarray
                 ) -> np.ndarray:
    return nt.correlation_contribution(
        frame(predictions), series(reference, "reference"), series(target, "target")
    ).to_numpy()


def feature_neutral_corr(predictions: np.ndarray, features: np.ndarray, target: np.ndarray
                         ) -> np.ndarray:
    feature_frame = pd.DataFrame(np.asarray(features, dtype=np.float64))
    feature_frame.columns = [f"feature_{k}" for k in range(feature_frame.shape[1])]
    return nt.feature_neutral_corr(
        frame(predictions), feature_frame, series(target, "target")
    ).to_numpy()
