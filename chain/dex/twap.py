"""Time-weighted average prices of a pool over its last N blocks, in exact arithmetic.

A pool's price during the interval [t_b, t_{b+1}) between two blocks is the price of its
state at the end of block b: that is the state every trade in block b+1 meets, and what a
Uniswap-V2 oracle's accumulators add up. Over the window of the last N blocks before block
B (A = B − N):

    p̄ = Σ_{b=A}^{B−1} P_b · (t_{b+1} − t_b) / Σ_{b=A}^{B−1} (t_{b+1} − t_b),   P_b = R_quote,b / R_token,b

— exactly what (price0CumulativeLast(B) − price0CumulativeLast(A)) / (t_B − t_A) measures,
here in exact rationals rather than UQ112x112. Block B's own end state has no weight yet: a
sandwich around the block at which the price is read (buy just before, sell back just
after) does not move p̄ at all, and a price held for one block interval moves it by its
share of the window's time only. Blocks at which the pool had no reserves (before it
existed) are left out with their intervals.

A valuation needs reserves, not only a price (the constant-product formulas of chain/dex/amm.py
take reserves): ``reserves_at_price`` places the pool's depth k = R_token·R_quote at the end
of the window's last block, B−1, at p̄ — so nothing of block B enters, not even its depth.
When p̄ equals that state's price exactly (the pool did not move during the window) it
returns those reserves unchanged, so a market at rest is valued to the wei as at spot.

Pure integer/rational arithmetic; reading the reserves is chain/dex/reader.py's job.
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from math import isqrt

# A full (non-archive) node keeps the state of about its last 128 blocks; reading reserves at
# each block of a longer window would need an archive node.
MAX_TWAP_BLOCKS = 100
DEFAULT_TWAP_BLOCKS = 20


def time_weighted_price(
    states: Sequence[tuple[int, int] | None], timestamps: Sequence[int]
) -> Fraction | None:
    """p̄ over consecutive blocks A..B−1 (see the module docstring).

    ``states[i]`` = (R_token, R_quote) at the end of block A+i, or None where the pool had no
    state; ``timestamps[i]`` = timestamp of block A+i, with one more entry at the end: the
    timestamp of block B, where the window ends. A state with a zero reserve counts as
    none. Returns None when no block of the window had a price.
    """
    if len(timestamps) != len(states) + 1:
        raise ValueError(
            "one timestamp per state, plus the timestamp of the block the window ends at"
        )
    total = Fraction(0)
    elapsed = 0
    for i, state in enumerate(states):
        interval = timestamps[i + 1] - timestamps[i]
        if interval < 0:
            raise ValueError("block timestamps must not decrease")
        if state is None or state[0] <= 0 or state[1] <= 0 or interval == 0:
            continue
        reserve_token, reserve_quote = state
        total += Fraction(reserve_quote, reserve_token) * interval
        elapsed += interval
    return total / elapsed if elapsed else None


def reserves_at_price(price: Fraction, reserve_token: int, reserve_quote: int) -> tuple[int, int]:
    """(R̄_token, R̄_quote): the depth k = R_token·R_quote of the given reserves placed at
    ``price`` (quote per token), R̄_token = ⌊√(k/price)⌋, R̄_quote = ⌊√(k·price)⌋; the
    given reserves themselves when they already are at ``price``."""
    if reserve_token <= 0 or reserve_quote <= 0:
        raise ValueError("a pool without reserves has no price")
    if price <= 0:
        raise ValueError("price must be positive")
    if Fraction(reserve_quote, reserve_token) == price:
        return reserve_token, reserve_quote
    k = reserve_token * reserve_quote
    averaged_token = isqrt(k * price.denominator // price.numerator)
    averaged_quote = isqrt(k * price.numerator // price.denominator)
    if averaged_token <= 0 or averaged_quote <= 0:
        raise ValueError(f"price {float(price)!r} is outside what a pool of this depth can show")
    return averaged_token, averaged_quote
