"""Reference price paths for the market replay: from a CSV of real prices, or generated.

Pure numpy (no chain access). A path is a (T steps, K tokens) grid of prices in the quote
token, with one timestamp per step.

CSV format (long, one price per line, header required)::

    timestamp,token,price
    1704067200,WETH,2281.5
    1704067200,WBTC,42280.1
    ...

A timestamp is Unix seconds (``1704067200``) or an ISO 8601 date or date-time
(``1949-01-01``, ``2024-01-01T00:00:00Z``, ``2024-01-01 09:30+01:00``); a date or a
date-time without an offset is UTC. Every token needs a price at every timestamp (the grid
must be complete); prices must be finite and positive. Rows may come in any order.

Generated paths (``factor_model_path``) follow a one-factor model with a planted, learnable
signal. One-step log returns::

    ln(p_{t+1,k}/p_{t,k}) = β_k·m_{t+1} + σ·(α·z_{t,k} + ε_{t+1,k}),   m ~ N(0, σ_m²), ε ~ N(0, 1)

where z_t is the cross-sectional z-score of each token's last-``window``-step log return
(momentum; zero until ``window`` steps exist). z_t depends only on prices up to t, so it is
exactly the (ranked) ``return_window`` feature of scoring/dex_features.py: a model that
learns "rank by recent return" earns an expected rank correlation of about α/√(1+α²)
with the next step's idiosyncratic return. Same seed, same path, bit for bit.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np


@dataclass(frozen=True)
class PricePath:
    timestamps: np.ndarray  # (T,) int64, strictly increasing
    tokens: tuple[str, ...]  # (K,)
    prices: np.ndarray  # (T, K) float64 > 0
    signal: np.ndarray | None = None  # (T, K) the planted z_t of generated paths

    @property
    def steps(self) -> int:
        return int(self.prices.shape[0])

    def price(self, step: int, token: str) -> float:
        return float(self.prices[step, self.tokens.index(token)])


def _timestamp(text: str | None, line: int) -> int:
    """Unix seconds from an integer or an ISO 8601 date / date-time (UTC unless it says)."""
    text = (text or "").strip()
    if text.lstrip("-").isdigit():
        return int(text)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(
            f"line {line}: timestamp {text[:40]!r} is neither Unix seconds nor an ISO 8601 date "
            "(e.g. 1704067200, 2024-01-01 or 2024-01-01T00:00:00Z)"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp())


def load_price_csv(source: str | Path | io.TextIOBase) -> PricePath:
    """Parse a ``timestamp,token,price`` CSV (a path, or a file-like object)."""
    if isinstance(source, str | Path):
        with open(source, newline="") as handle:
            return load_price_csv(handle)
    reader = csv.DictReader(source)
    if reader.fieldnames is None or [f.strip() for f in reader.fieldnames] != [
        "timestamp",
        "token",
        "price",
    ]:
        raise ValueError(f"price CSV header must be timestamp,token,price; got {reader.fieldnames}")
    cells: dict[tuple[int, str], float] = {}
    for line, row in enumerate(reader, start=2):
        timestamp = _timestamp(row.get("timestamp"), line)
        try:
            price = float(row["price"])
        except (TypeError, ValueError):
            raise ValueError(f"line {line}: price {row.get('price')!r} is not a number") from None
        token = (row["token"] or "").strip()
        if not token:
            raise ValueError(f"line {line}: empty token name")
        if not np.isfinite(price) or price <= 0:
            raise ValueError(f"line {line}: price must be finite and positive, got {row['price']}")
        if (timestamp, token) in cells:
            raise ValueError(f"line {line}: second price for {token} at {timestamp}")
        cells[(timestamp, token)] = price
    if not cells:
        raise ValueError("price CSV has no rows")
    timestamps = sorted({t for t, _ in cells})
    tokens = sorted({k for _, k in cells})
    missing = [(t, k) for t in timestamps for k in tokens if (t, k) not in cells]
    if missing:
        shown = ", ".join(f"{k}@{t}" for t, k in missing[:5])
        raise ValueError(f"price grid is incomplete: {len(missing)} missing, e.g. {shown}")
    prices = np.array([[cells[(t, k)] for k in tokens] for t in timestamps])
    return PricePath(
        timestamps=np.array(timestamps, dtype=np.int64), tokens=tuple(tokens), prices=prices
    )


def factor_model_path(
    tokens: Sequence[str],
    steps: int,
    *,
    seed: int,
    start_prices: Sequence[float] | None = None,
    start_timestamp: int = 1_700_000_000,
    step_seconds: int = 3_600,
    market_vol: float = 0.01,
    idio_vol: float = 0.02,
    signal_strength: float = 0.3,
    window: int = 5,
) -> PricePath:
    """A generated path (see the module docstring); ``signal_strength`` is α."""
    if steps < 1 or len(tokens) < 2:
        raise ValueError("need at least 1 step and 2 tokens")
    rng = np.random.default_rng(seed)
    k = len(tokens)
    betas = rng.uniform(0.5, 1.5, k)
    if start_prices is None:
        start = np.exp(rng.uniform(np.log(0.5), np.log(50.0), k))
    else:
        start = np.asarray(start_prices, dtype=np.float64)
        if start.shape != (k,) or (start <= 0).any():
            raise ValueError("start_prices must be one positive price per token")
    market = rng.normal(0.0, market_vol, steps)
    noise = rng.standard_normal((steps, k))
    log_p = np.empty((steps, k))
    signal = np.zeros((steps, k))
    log_p[0] = np.log(start)
    for t in range(steps):
        if t >= window:
            past = log_p[t] - log_p[t - window]
            spread = past.std()
            signal[t] = (past - past.mean()) / spread if spread > 0 else 0.0
        if t + 1 == steps:
            break
        log_p[t + 1] = (
            log_p[t]
            + betas * market[t + 1]
            + idio_vol * (signal_strength * signal[t] + noise[t + 1])
        )
    timestamps = start_timestamp + step_seconds * np.arange(steps, dtype=np.int64)
    return PricePath(
        timestamps=timestamps, tokens=tuple(tokens), prices=np.exp(log_p), signal=signal
    )
