"""Constant-product (x·y = k) arithmetic in exact integers, identical to ArenaPair/ArenaRouter.

Pure functions on Python ints (token base units, "wei"), so every amount the keeper plans or
checks equals what the contracts compute, to the wei. A Uniswap-V2 pool uses the same
formulas, so they also price real V2 pools.

* ``amount_out(a, R_in, R_out) = a·997·R_out // (R_in·1000 + a·997)`` (0.30% fee on the input)
* ``amount_in(b, R_in, R_out)  = R_in·b·1000 // ((R_out − b)·997) + 1`` (V2's getAmountIn: enough
  input for b; the smallest one, or one more when the division is exact)
* ``quote(a, R_a, R_b)        = a·R_b // R_a`` (value at the mid price, no fee)
* ``arbitrage_input(I, O, T)``: the input that moves the pool's ratio I/O to the target T.
"""

from __future__ import annotations

from fractions import Fraction
from math import isqrt

FEE_KEPT = 997  # per mille of the input that reaches the curve
FEE_BASE = 1000


def amount_out(amount_in: int, reserve_in: int, reserve_out: int) -> int:
    """Output of an exact-input swap: ``a·997·R_out // (R_in·1000 + a·997)``."""
    if amount_in <= 0:
        raise ValueError("amount_in must be positive")
    if reserve_in <= 0 or reserve_out <= 0:
        raise ValueError("both reserves must be positive")
    with_fee = amount_in * FEE_KEPT
    return with_fee * reserve_out // (reserve_in * FEE_BASE + with_fee)


def amount_in(amount_out_: int, reserve_in: int, reserve_out: int) -> int:
    """V2's getAmountIn, as the router computes it: ``R_in·b·1000 // ((R_out − b)·997) + 1``.
    Enough to buy ``amount_out_``; the smallest such input, or one more when the division
    is exact."""
    if amount_out_ <= 0:
        raise ValueError("amount_out must be positive")
    if reserve_in <= 0 or not 0 < amount_out_ < reserve_out:
        raise ValueError("the output must be positive and below the output reserve")
    return reserve_in * amount_out_ * FEE_BASE // ((reserve_out - amount_out_) * FEE_KEPT) + 1


def quote(amount: int, reserve_from: int, reserve_to: int) -> int:
    """``amount`` valued at the pool's mid price: ``amount·R_to // R_from`` (no fee)."""
    if reserve_from <= 0 or reserve_to <= 0:
        raise ValueError("both reserves must be positive")
    return amount * reserve_to // reserve_from


def swap_reserves(amount: int, reserve_in: int, reserve_out: int) -> tuple[int, int, int]:
    """(output, new reserve_in, new reserve_out) after an exact-input swap."""
    out = amount_out(amount, reserve_in, reserve_out)
    return out, reserve_in + amount, reserve_out - out


def arbitrage_input(reserve_in: int, reserve_out: int, target_ratio: Fraction) -> int:
    """Input that brings the pool ratio R_in/R_out up to ``target_ratio`` (0 if already there).

    With the fee, R_out' = R_out·1000·R_in / (1000·R_in + 997·d) and R_in' = R_in + d, so
    R_in'/R_out' = T is the quadratic 997·d² + 1997·R_in·d + 1000·R_in·(R_in − T·R_out) = 0:

        d = (√(9·R_in² + 3,988,000·T·R_in·R_out) − 1997·R_in) / 1994

    (1997² − 4·997·1000 = 9). Computed in integers with T = n/m as
    ``(isqrt(N·m) − 1997·R_in·m) // (1994·m)`` where ``N = 9·R_in²·m + 3,988,000·n·R_in·R_out``.
    Both floors round toward a smaller input and a smaller output, so the pool never
    overshoots the target: afterwards R_in'/R_out' ≤ T.

    To move a pool's price of a token (quote per token, R_quote/R_token) up to P, sell quote:
    ``arbitrage_input(R_quote, R_token, P)``; down to P, sell the token:
    ``arbitrage_input(R_token, R_quote, 1/P)``.
    """
    if reserve_in <= 0 or reserve_out <= 0:
        raise ValueError("both reserves must be positive")
    target = Fraction(target_ratio)
    if target <= 0:
        raise ValueError("target ratio must be positive")
    n, m = target.numerator, target.denominator
    if n * reserve_out <= m * reserve_in:
        return 0
    big = 9 * reserve_in * reserve_in * m + 3_988_000 * n * reserve_in * reserve_out
    d = (isqrt(big * m) - 1997 * reserve_in * m) // (1994 * m)
    return max(d, 0)


def price_ratio(
    price: float | Fraction, *, token_decimals: int = 18, quote_decimals: int = 18
) -> Fraction:
    """A price in quote units per token unit as a ratio of base units (R_quote/R_token)."""
    value = Fraction(price)
    if value <= 0:
        raise ValueError(f"price must be positive, got {price}")
    return value * Fraction(10**quote_decimals, 10**token_decimals)
