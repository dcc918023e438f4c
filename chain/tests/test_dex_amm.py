"""chain.dex.amm: the integer constant-product formulas and the arbitrage closed form."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chain.dex import amm

reserve = st.integers(10**9, 10**30)
ratio = st.fractions(min_value=Fraction(1, 10**6), max_value=Fraction(10**6)).filter(
    lambda f: f > 0
)


def test_amount_out_by_hand():
    # 1000·997·5000 // (10000·1000 + 1000·997) = 4985000000 // 10997000 = 453
    assert amm.amount_out(1000, 10_000, 5_000) == 453
    assert amm.amount_in(453, 10_000, 5_000) == 10_000 * 453 * 1000 // ((5_000 - 453) * 997) + 1
    assert amm.quote(1000, 10_000, 5_000) == 500
    assert amm.swap_reserves(1000, 10_000, 5_000) == (453, 11_000, 4_547)


@settings(max_examples=300, deadline=None)
@given(amount=st.integers(1, 10**30), reserve_in=reserve, reserve_out=reserve)
def test_amount_in_is_v2s_get_amount_in_enough_and_at_most_one_over_the_smallest(
    amount, reserve_in, reserve_out
):
    """Uniswap V2's getAmountIn (floor + 1, as the router computes it) buys the output, and
    is the smallest input that does, except when the division is exact: then one more."""
    out = amm.amount_out(amount, reserve_in, reserve_out)
    if out == 0:
        return
    needed = amm.amount_in(out, reserve_in, reserve_out)
    numerator, denominator = reserve_in * out * 1000, (reserve_out - out) * 997
    smallest = -(-numerator // denominator)  # the exact ceiling
    assert smallest <= amount
    assert needed == smallest + (numerator % denominator == 0)
    assert amm.amount_out(needed, reserve_in, reserve_out) >= out
    assert amm.amount_out(smallest, reserve_in, reserve_out) >= out
    if smallest > 1:
        assert amm.amount_out(smallest - 1, reserve_in, reserve_out) < out


@settings(max_examples=300, deadline=None)
@given(reserve_in=reserve, reserve_out=reserve, target=ratio)
def test_arbitrage_reaches_the_target_ratio_without_overshooting(reserve_in, reserve_out, target):
    d = amm.arbitrage_input(reserve_in, reserve_out, target)
    if Fraction(reserve_in, reserve_out) >= target:
        assert d == 0
        return

    # d is the exact real root floored: with the unrounded output the ratio is still at or
    # below the target after d and already above it after d + 1.
    def exact_ratio(x: int) -> Fraction:
        out = Fraction(997 * x * reserve_out, 1000 * reserve_in + 997 * x)
        return (reserve_in + x) / (reserve_out - out)

    assert exact_ratio(d) <= target < exact_ratio(d + 1)
    # On-chain the output is floored too, which keeps the pool at or below the target.
    out = amm.amount_out(d, reserve_in, reserve_out) if d else 0
    after = Fraction(reserve_in + d, reserve_out - out)
    assert after <= target
    assert float(after / target) == pytest.approx(1.0, abs=1e-6)


def test_arbitrage_in_both_directions_sets_the_mid_price():
    reserve_token, reserve_quote = 10**24, 2 * 10**24  # price 2.0
    up = amm.price_ratio(2.5)
    d = amm.arbitrage_input(reserve_quote, reserve_token, up)  # buy the token with quote
    out = amm.amount_out(d, reserve_quote, reserve_token)
    assert float(Fraction(reserve_quote + d, reserve_token - out)) == pytest.approx(2.5, rel=1e-15)
    down = amm.price_ratio(1.5)
    d = amm.arbitrage_input(reserve_token, reserve_quote, 1 / down)  # sell the token
    out = amm.amount_out(d, reserve_token, reserve_quote)
    assert float(Fraction(reserve_quote - out, reserve_token + d)) == pytest.approx(1.5, rel=1e-15)


def test_price_ratio_applies_decimals():
    assert amm.price_ratio(25_000, token_decimals=8, quote_decimals=6) == Fraction(250)
    with pytest.raises(ValueError, match="price must be positive"):
        amm.price_ratio(0)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: amm.amount_out(0, 1, 1), "amount_in must be positive"),
        (lambda: amm.amount_out(1, 0, 1), "both reserves must be positive"),
        (lambda: amm.amount_in(5, 10, 5), "below the output reserve"),
        (lambda: amm.arbitrage_input(1, 1, Fraction(-1)), "target ratio must be positive"),
    ],
)
def test_bad_arguments(call, message):
    with pytest.raises(ValueError, match=message):
        call()
