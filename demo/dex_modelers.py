"""Simulated modelers of the demo DEX tournament: simple rules on the platform's features.

The demo market's prices carry a planted momentum signal (market/price_paths.py: the next
return leans on the cross-sectional rank of the last five eras' return), so momentum on
`feature_return_5` is the skilled model here; its mirror image loses, and the rest sit in
between — something for P&L contributions, payouts and burns to show.
"""

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from demo.modelers import to_unit_rank


@dataclass(frozen=True)
class DexModeler:
    username: str
    model_name: str
    stake_tokens: int
    predict: Callable[[pd.DataFrame, int], np.ndarray]  # (live rows, round) -> predictions


def _noise(seed: int, tag: int, round_number: int, n: int) -> np.ndarray:
    return np.random.default_rng([seed, 900 + tag, round_number]).standard_normal(n)


def dex_modelers(seed: int) -> list[DexModeler]:
    def column(name: str, sign: float = 1.0, noise: float = 0.0, tag: int = 0):
        def predict(live: pd.DataFrame, round_number: int) -> np.ndarray:
            values = sign * (live[name].to_numpy(dtype=float) - 0.5)
            if noise:
                values = values + noise * _noise(seed, tag, round_number, len(live))
            return to_unit_rank(values + 1e-9 * _noise(seed, 99 + tag, round_number, len(live)))

        return predict

    def blend(live: pd.DataFrame, round_number: int) -> np.ndarray:
        parts = [live[c].to_numpy(dtype=float) for c in ("feature_return_5", "feature_ma_distance_5")]
        return to_unit_rank(np.mean(parts, axis=0) + 1e-9 * _noise(seed, 50, round_number, len(live)))

    specs = [
        ("momentum", 800, column("feature_return_5")),
        ("momentum-noisy", 400, column("feature_return_5", noise=0.3, tag=1)),
        ("trend-blend", 500, blend),
        ("ma-distance", 300, column("feature_ma_distance_5")),
        ("low-vol", 200, column("feature_volatility_5", sign=-1.0)),
        ("liquidity", 150, column("feature_liquidity")),
        ("coin-flip", 100, column("feature_return_1", noise=10.0, tag=2)),
        ("reversal", 300, column("feature_return_5", sign=-1.0)),
    ]
    return [DexModeler(f"{name}-desk", name, stake, predict) for name, stake, predict in specs]
