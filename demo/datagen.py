"""A synthetic tournament data set with a planted, learnable signal.

Pure numpy/pandas. Every era is reproducible from (seed, era): the live data and all of its
daily targets can be regenerated at any time, so the demo keeps no hidden state on disk.

Model of the world, per era with R rows and F features:
  features   X ~ N(0, 1) quantised into five bins {0, .25, .5, .75, 1} (like the classic data)
  signal     s = X·w + a·(x0·x1) + b·sin(3·x2)        (linear part + two non-linear parts)
  final      y = s + ε,  ε ~ N(0, σ²)  → ranked into five equal bins {0, .25, .5, .75, 1}
  day d of D y_d = s + ε + η_d·(1 − d/D),  η_d ~ N(0, σ_day²): early days are noisier and
             converge to the final target on day D, like a return measured over a growing horizon.
"""

from dataclasses import dataclass

import numpy as np
import pandas as pd

BINS = np.array([0.0, 0.25, 0.5, 0.75, 1.0])


@dataclass(frozen=True)
class World:
    seed: int = 7
    n_features: int = 20
    rows_per_era: int = 400
    noise: float = 3.0
    daily_noise: float = 2.0

    def _weights(self) -> np.ndarray:
        rng = np.random.default_rng([self.seed, 0])
        w = rng.normal(0.0, 1.0, self.n_features)
        w[rng.random(self.n_features) < 0.4] = 0.0  # some features are pure noise
        return w

    def _era_rng(self, era: int, stream: int) -> np.random.Generator:
        return np.random.default_rng([self.seed, 1 + stream, era])

    def era_features(self, era: int) -> np.ndarray:
        raw = self._era_rng(era, 0).normal(size=(self.rows_per_era, self.n_features))
        return quantise(raw)

    def era_signal(self, features: np.ndarray) -> np.ndarray:
        centred = (features - 0.5) * 4.0
        linear = centred @ self._weights()
        return linear + 1.5 * centred[:, 0] * centred[:, 1] + 1.5 * np.sin(3 * centred[:, 2])

    def era_target(self, era: int, day: int | None = None, days: int = 1) -> np.ndarray:
        """Final target (day None or day == days) or the noisier target of score day `day`."""
        features = self.era_features(era)
        signal = self.era_signal(features)
        signal = signal / signal.std()
        raw = signal + self._era_rng(era, 1).normal(0.0, self.noise, len(signal))
        if day is not None and day < days:
            extra = self._era_rng(era, 2 + day).normal(0.0, self.daily_noise, len(signal))
            raw = raw + extra * (1.0 - day / days)
        return rank_bins(raw)

    def era_frame(self, era: int, *, with_target: bool) -> pd.DataFrame:
        features = self.era_features(era)
        frame = pd.DataFrame(features, columns=self.feature_names())
        frame.insert(0, "era", f"era{era:04d}")
        frame.insert(0, "id", era_ids(self.seed, era, self.rows_per_era))
        if with_target:
            frame["target"] = self.era_target(era)
        return frame

    def feature_names(self) -> list[str]:
        return [f"feature_{i:02d}" for i in range(self.n_features)]

    def frame(self, eras: range, *, with_target: bool = True) -> pd.DataFrame:
        return pd.concat([self.era_frame(e, with_target=with_target) for e in eras], ignore_index=True)


def quantise(raw: np.ndarray) -> np.ndarray:
    """Map N(0,1) values onto five equal-probability bins {0, .25, .5, .75, 1}."""
    edges = np.array([-0.8416, -0.2533, 0.2533, 0.8416])  # normal quintile boundaries
    return BINS[np.searchsorted(edges, raw)]


def rank_bins(values: np.ndarray) -> np.ndarray:
    """Rank into five equal-count bins {0, .25, .5, .75, 1}."""
    order = np.argsort(np.argsort(values, kind="stable"), kind="stable")
    return BINS[(order * 5) // len(values)]


def era_ids(seed: int, era: int, rows: int) -> list[str]:
    # Opaque ids (like real tournaments') so row order reveals nothing.
    rng = np.random.default_rng([seed, 99, era])
    tags = rng.integers(0, 16**10, size=rows)
    return [f"n{era:04d}{t:010x}" for t in tags]


TRAINING_ERAS = range(0, 80)
VALIDATION_ERAS = range(80, 100)
LIVE_ERA_OFFSET = 1000  # live era of round n is LIVE_ERA_OFFSET + n
