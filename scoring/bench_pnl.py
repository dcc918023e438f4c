"""Benchmark: P&L contributions for N models × K tokens (target: N=5,000 × K=500 in ≤ 100 ms).

    .venv/bin/python -m scoring.bench_pnl                    # N=5,000, K=500
    .venv/bin/python -m scoring.bench_pnl --models 20000 --tokens 500 --repeats 9

Prints two timings, each the median and best of ``--repeats`` warm runs after one cold run:

* ``from gauss ranks`` — ``pnl_contributions`` on the (K, N) gauss-rank matrix, which the
  round already holds (the ranking pass is shared with CORR/MMC scoring);
* ``from raw predictions`` — ``contributions_from_predictions``, gauss ranking included.

The machine may be shared: the load average is printed next to the figures.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import numpy as np

from scoring.pnl import contributions_from_predictions, pnl_contributions
from scoring.ranking import gauss_rank

TARGET_S = 0.100


def synthetic_round(n_tokens: int, n_models: int, seed: int) -> dict[str, np.ndarray]:
    """Predictions with a shared signal, exponential stakes, returns related to the signal."""
    rng = np.random.default_rng(seed)
    signal = rng.standard_normal(n_tokens)
    predictions = rng.standard_normal((n_tokens, n_models)) + signal[:, None] * rng.uniform(
        0.0, 0.5, n_models
    )
    stakes = rng.exponential(100.0, n_models)
    returns = 0.01 * signal + 0.05 * rng.standard_normal(n_tokens)
    return {"predictions": predictions, "stakes": stakes, "returns": returns}


def _time(fn, repeats: int) -> tuple[float, float, float]:
    start = time.perf_counter()
    fn()
    cold = time.perf_counter() - start
    runs = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - start)
    return cold, statistics.median(runs), min(runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", type=int, default=5_000)
    parser.add_argument("--tokens", type=int, default=500)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    data = synthetic_round(args.tokens, args.models, args.seed)
    gauss = np.asarray(gauss_rank(data["predictions"]))
    print(f"P&L contributions, N={args.models:,} models × K={args.tokens:,} tokens")
    print(f"load average before: {os.getloadavg()[0]:.2f}")
    cold, median, best = _time(
        lambda: pnl_contributions(gauss, data["stakes"], data["returns"], tilt=0.5), args.repeats
    )
    status = "met" if median <= TARGET_S else "MISSED"
    print(
        f"from gauss ranks:      median {median * 1e3:7.2f} ms  best {best * 1e3:7.2f} ms"
        f"  cold {cold * 1e3:7.2f} ms  (target {TARGET_S * 1e3:.0f} ms: {status})"
    )
    cold, median, best = _time(
        lambda: contributions_from_predictions(
            data["predictions"], data["stakes"], data["returns"], tilt=0.5
        ),
        args.repeats,
    )
    status = "met" if median <= TARGET_S else "MISSED"
    print(
        f"from raw predictions:  median {median * 1e3:7.2f} ms  best {best * 1e3:7.2f} ms"
        f"  cold {cold * 1e3:7.2f} ms  (target {TARGET_S * 1e3:.0f} ms: {status})"
    )
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
