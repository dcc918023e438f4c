"""Simulated modelers of varied skill for the demo.

Each one turns an era's feature matrix into predictions in [0, 1]. Skilled ones learn from
the training data (LightGBM, least squares); others are noisy, random, single-feature, or
adversarial (anti-correlated) — so leaderboards, MMC and burns have something to show.
"""

from collections.abc import Callable
from dataclasses import dataclass

import lightgbm as lgb
import numpy as np
import pandas as pd

Predictor = Callable[[np.ndarray, int], np.ndarray]


@dataclass(frozen=True)
class DemoModeler:
    username: str
    model_name: str
    style: str
    stake_tokens: int
    predict: Predictor  # (features, round number) -> predictions in [0, 1]


def to_unit_rank(values: np.ndarray) -> np.ndarray:
    """Ranks scaled into (0, 1): what a tidy submission looks like."""
    order = np.argsort(np.argsort(values, kind="stable"), kind="stable")
    return (order + 0.5) / len(values)


def _lgbm(train: pd.DataFrame, features: list[str], *, leaves: int, trees: int, seed: int, cols: float):
    model = lgb.LGBMRegressor(
        n_estimators=trees,
        learning_rate=0.05,
        num_leaves=leaves,
        colsample_bytree=cols,
        subsample=0.8,
        subsample_freq=1,
        random_state=seed,
        n_jobs=1,
        verbose=-1,
    )
    model.fit(train[features].to_numpy(), train["target"].to_numpy())
    return model


def _least_squares(train: pd.DataFrame, columns: list[int], features: list[str]) -> np.ndarray:
    x = train[features].to_numpy()[:, columns]
    x = np.column_stack([x, np.ones(len(x))])
    coef, *_ = np.linalg.lstsq(x, train["target"].to_numpy(), rcond=None)
    return coef


def build_modelers(train: pd.DataFrame, features: list[str], seed: int) -> list[DemoModeler]:
    """Train the demo's ~20 models on the training data (deterministic given the seed)."""
    modelers: list[DemoModeler] = []

    def add(name: str, style: str, stake: int, predict: Predictor) -> None:
        modelers.append(DemoModeler(f"{name}-lab", name, style, stake, predict))

    def noise_rng(tag: int, round_number: int) -> np.random.Generator:
        return np.random.default_rng([seed, 500 + tag, round_number])

    lgbm_specs = [("gbm-deep", 31, 300, 0.8), ("gbm-wide", 15, 200, 1.0), ("gbm-lite", 7, 120, 0.6),
                  ("gbm-sub", 15, 150, 0.4), ("gbm-slow", 31, 80, 0.9)]
    gbms = []
    for i, (name, leaves, trees, cols) in enumerate(lgbm_specs):
        model = _lgbm(train, features, leaves=leaves, trees=trees, seed=seed + i, cols=cols)
        gbms.append(model)
        add(name, "lightgbm", [900, 600, 300, 450, 200][i], lambda x, r, m=model: to_unit_rank(m.predict(x)))

    for i, cols in enumerate([list(range(len(features))), list(range(0, len(features), 2)), [0, 1, 2, 3, 4, 5]]):
        coef = _least_squares(train, cols, features)
        add(f"linear-{i + 1}", "linear", [400, 150, 80][i],
            lambda x, r, c=coef, k=cols: to_unit_rank(np.column_stack([x[:, k], np.ones(len(x))]) @ c))

    for i, col in enumerate([0, 2, 5]):
        sign = np.sign(np.corrcoef(train[features[col]], train["target"])[0, 1]) or 1.0
        add(f"one-feature-{i + 1}", "single feature", [50, 40, 30][i],
            lambda x, r, c=col, s=sign, t=i: to_unit_rank(s * x[:, c] + 1e-6 * noise_rng(t, r).random(len(x))))

    base = gbms[1]
    for i, level in enumerate([0.5, 1.0, 2.0, 4.0]):
        add(f"noisy-{i + 1}", f"noisy (σ={level})", [120, 100, 60, 40][i],
            lambda x, r, lv=level, t=10 + i: to_unit_rank(
                (to_unit_rank(base.predict(x)) - 0.5) / 0.29 + noise_rng(t, r).normal(0, lv, len(x))))

    for i in range(3):
        add(f"random-{i + 1}", "random", [30, 20, 10][i],
            lambda x, r, t=20 + i: noise_rng(t, r).random(len(x)))

    add("contrarian", "adversarial", 250, lambda x, r: 1.0 - to_unit_rank(gbms[0].predict(x)))
    return modelers
