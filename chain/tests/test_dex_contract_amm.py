"""ArenaPair / ArenaFactory / ArenaRouter on titanoboa: every amount equals the
constant-product formula to the wei, k never decreases, V2-compatible interface, reverts."""

from __future__ import annotations

from math import isqrt

import boa
import pytest
from eth_utils import event_abi_to_log_topic, function_signature_to_4byte_selector, keccak
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chain.artifacts import load_artifact
from chain.dex import amm
from chain.dex.reader import V2_EVENT_TOPICS
from chain.tests.dex_contract_world import FAR_DEADLINE, make_exchange, reserves_of

DEAD = "0x000000000000000000000000000000000000dEaD"
HYPOTHESIS = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
reserve = st.integers(10**6, 10**30)


@pytest.fixture(scope="module")
def ex():
    exchange = make_exchange()
    exchange.a = exchange.token("AAA")
    exchange.b = exchange.token("BBB")
    exchange.c = exchange.token("CCC")
    exchange.trader = boa.env.generate_address("trader")
    exchange.fund(exchange.trader, exchange.a, exchange.b, exchange.c, amount=10**32)
    return exchange


def k_of(pair) -> int:
    r0, r1, _ = pair.getReserves()
    return r0 * r1


@HYPOTHESIS
@given(reserve_in=reserve, reserve_out=reserve, amount=st.integers(1, 10**31), flip=st.booleans())
def test_swap_output_equals_the_formula_to_the_wei(ex, reserve_in, reserve_out, amount, flip):
    token_in, token_out = (ex.b, ex.a) if flip else (ex.a, ex.b)
    with boa.env.anchor():
        pair = ex.seed(token_in, token_out, reserve_in, reserve_out)
        expected = amm.amount_out(amount, reserve_in, reserve_out)
        k_before = k_of(pair)
        before = token_out.balanceOf(ex.trader)
        if expected == 0:
            with boa.reverts("ArenaPair: insufficient output amount"), boa.env.prank(ex.trader):
                ex.router.swapExactTokensForTokens(
                    amount, 0, [token_in.address, token_out.address], ex.trader, FAR_DEADLINE
                )
            return
        with boa.env.prank(ex.trader):
            amounts = ex.router.swapExactTokensForTokens(
                amount, expected, [token_in.address, token_out.address], ex.trader, FAR_DEADLINE
            )
        assert list(amounts) == [amount, expected]
        assert token_out.balanceOf(ex.trader) - before == expected
        assert reserves_of(pair, token_in) == (reserve_in + amount, reserve_out - expected)
        assert k_of(pair) >= k_before
        assert ex.router.getAmountOut(amount, reserve_in, reserve_out) == expected


@HYPOTHESIS
@given(r_in=reserve, r_out=reserve, amount=st.integers(1, 10**28))
def test_the_pair_accepts_exactly_the_formula_and_not_one_wei_more(ex, r_in, r_out, amount):
    expected = amm.amount_out(amount, r_in, r_out)
    if expected == 0:
        return
    with boa.env.anchor():
        pair = ex.seed(ex.a, ex.b, r_in, r_out)
        a_is_0 = pair.token0() == ex.a.address

        def outs(n: int) -> tuple[int, int]:
            return (0, n) if a_is_0 else (n, 0)

        with boa.env.prank(ex.trader):
            ex.a.transfer(pair.address, amount)
            # One wei more breaks the invariant (or, at the very edge, takes the whole reserve).
            edge = expected + 1 >= r_out
            reason = "insufficient liquidity" if edge else "constant product violated"
            with boa.reverts(f"ArenaPair: {reason}"):
                pair.swap(*outs(expected + 1), ex.trader, b"")
            pair.swap(*outs(expected), ex.trader, b"")
        assert reserves_of(pair, ex.a) == (r_in + amount, r_out - expected)


@HYPOTHESIS
@given(reserves=st.lists(reserve, min_size=4, max_size=4), amount=st.integers(10**9, 10**27))
def test_two_hop_swap_chains_the_formula(ex, reserves, amount):
    with boa.env.anchor():
        ex.seed(ex.a, ex.b, reserves[0], reserves[1])
        ex.seed(ex.b, ex.c, reserves[2], reserves[3])
        middle = amm.amount_out(amount, reserves[0], reserves[1])
        if middle == 0 or amm.amount_out(middle, reserves[2], reserves[3]) == 0:
            return
        final = amm.amount_out(middle, reserves[2], reserves[3])
        path = [ex.a.address, ex.b.address, ex.c.address]
        assert list(ex.router.getAmountsOut(amount, path)) == [amount, middle, final]
        before = ex.c.balanceOf(ex.trader)
        with boa.env.prank(ex.trader):
            ex.router.swapExactTokensForTokens(amount, final, path, ex.trader, FAR_DEADLINE)
        assert ex.c.balanceOf(ex.trader) - before == final


@HYPOTHESIS
@given(
    r_a=st.integers(10**12, 10**27),
    r_b=st.integers(10**12, 10**27),
    ops=st.lists(
        st.tuples(st.sampled_from(["swap_a", "swap_b", "add", "remove"]), st.integers(1, 10**6)),
        min_size=1,
        max_size=12,
    ),
)
def test_k_never_decreases_and_lp_shares_never_lose_value(ex, r_a, r_b, ops):
    """Swaps: k' ≥ k. Liquidity changes: k'/S'² ≥ k/S² (rounding always favours the pool)."""
    with boa.env.anchor():
        pair = ex.seed(ex.a, ex.b, r_a, r_b)
        lp = ex.owner
        for op, size in ops:
            k, supply = k_of(pair), pair.totalSupply()
            reserve_a, reserve_b = reserves_of(pair, ex.a)
            if op in ("swap_a", "swap_b"):
                token_in, token_out, r_in = (
                    (ex.a, ex.b, reserve_a) if op == "swap_a" else (ex.b, ex.a, reserve_b)
                )
                amount = r_in * size // 10**6 + 1
                r_out = reserve_b if op == "swap_a" else reserve_a
                expected = amm.amount_out(amount, r_in, r_out)
                if expected == 0:
                    continue
                with boa.env.prank(ex.trader):
                    ex.router.swapExactTokensForTokens(
                        amount,
                        expected,
                        [token_in.address, token_out.address],
                        ex.trader,
                        FAR_DEADLINE,
                    )
                assert k_of(pair) >= k
            elif op == "add":
                amount_a = reserve_a * size // 10**6 + 1
                amount_b = reserve_b * size // 10**6 + 1
                with boa.env.prank(ex.trader):
                    try:
                        ex.router.addLiquidity(
                            ex.a.address,
                            ex.b.address,
                            amount_a,
                            amount_b,
                            0,
                            0,
                            ex.trader,
                            FAR_DEADLINE,
                        )
                    except boa.BoaError as exc:
                        assert "ArenaPair: insufficient liquidity minted" in str(exc)
                        continue
                assert k_of(pair) * supply**2 >= k * pair.totalSupply() ** 2
            else:
                liquidity = pair.balanceOf(lp) * size // 10**6
                if liquidity == 0:
                    continue
                with boa.env.prank(lp):
                    pair.approve(ex.router.address, liquidity)
                    try:
                        ex.router.removeLiquidity(
                            ex.a.address, ex.b.address, liquidity, 0, 0, lp, FAR_DEADLINE
                        )
                    except boa.BoaError as exc:
                        assert "ArenaPair: insufficient liquidity burned" in str(exc)
                        continue
                assert k_of(pair) * supply**2 >= k * pair.totalSupply() ** 2


def test_liquidity_mint_and_burn_amounts(ex):
    with boa.env.anchor():
        pair = ex.seed(ex.a, ex.b, 4 * 10**18, 9 * 10**18)
        root = isqrt(4 * 10**18 * 9 * 10**18)
        assert pair.totalSupply() == root
        assert pair.balanceOf(DEAD) == 1000
        assert pair.balanceOf(ex.owner) == root - 1000
        # A second deposit at another ratio is trimmed to the pool's ratio.
        with boa.env.prank(ex.trader):
            amount_a, amount_b, minted = ex.router.addLiquidity(
                ex.a.address, ex.b.address, 2 * 10**18, 10**19, 0, 0, ex.trader, FAR_DEADLINE
            )
        assert (amount_a, amount_b) == (2 * 10**18, 2 * 10**18 * 9 // 4)
        assert minted == min(amount_a * root // (4 * 10**18), amount_b * root // (9 * 10**18))
        supply = pair.totalSupply()
        reserve_a, reserve_b = reserves_of(pair, ex.a)
        with boa.env.prank(ex.trader):
            pair.approve(ex.router.address, minted)
            out_a, out_b = ex.router.removeLiquidity(
                ex.a.address, ex.b.address, minted, 0, 0, ex.trader, FAR_DEADLINE
            )
        assert (out_a, out_b) == (minted * reserve_a // supply, minted * reserve_b // supply)
        assert pair.balanceOf(ex.trader) == 0


def test_router_reverts_with_clear_reasons(ex):
    with boa.env.anchor():
        ex.seed(ex.a, ex.b, 10**21, 10**21)
        path = [ex.a.address, ex.b.address]
        expected = amm.amount_out(10**18, 10**21, 10**21)
        now = boa.env.evm.patch.timestamp
        with boa.env.prank(ex.trader):
            with boa.reverts("ArenaRouter: expired"):
                ex.router.swapExactTokensForTokens(10**18, 1, path, ex.trader, now - 1)
            with boa.reverts("ArenaRouter: insufficient output amount"):
                ex.router.swapExactTokensForTokens(10**18, expected + 1, path, ex.trader, now)
            ex.router.swapExactTokensForTokens(10**18, expected, path, ex.trader, now)
            with boa.reverts("ArenaRouter: no pair for these tokens"):
                ex.router.swapExactTokensForTokens(
                    10**18, 1, [ex.a.address, ex.c.address], ex.trader, now
                )
            with boa.reverts("ArenaRouter: invalid path"):
                ex.router.swapExactTokensForTokens(10**18, 1, [ex.a.address], ex.trader, now)
            with boa.reverts("ArenaRouter: insufficient input amount"):
                ex.router.swapExactTokensForTokens(0, 0, path, ex.trader, now)
            with boa.reverts("ArenaRouter: insufficient B amount"):
                ex.router.addLiquidity(
                    ex.a.address, ex.b.address, 10**18, 2 * 10**18, 0, 2 * 10**18, ex.trader, now
                )
            with boa.reverts("ArenaRouter: expired"):
                ex.router.addLiquidity(ex.a.address, ex.b.address, 1, 1, 0, 0, ex.trader, now - 1)


def test_pair_guards(ex):
    with boa.env.anchor():
        pair = ex.seed(ex.a, ex.b, 10**21, 10**21)
        with boa.env.prank(ex.trader):
            with boa.reverts("ArenaPair: flash swaps are not supported"):
                pair.swap(0, 1, ex.trader, b"\x01")
            with boa.reverts("ArenaPair: insufficient output amount"):
                pair.swap(0, 0, ex.trader, b"")
            with boa.reverts("ArenaPair: insufficient liquidity"):
                pair.swap(0, 10**21, ex.trader, b"")
            with boa.reverts("ArenaPair: invalid recipient"):
                pair.swap(0, 1, pair.token0(), b"")
            with boa.reverts("ArenaPair: insufficient input amount"):
                pair.swap(0, 1, ex.trader, b"")
            with boa.reverts("ArenaPair: insufficient liquidity burned"):
                pair.burn(ex.trader)
            # A stray transfer: skim pays it out, sync adopts it into the reserves.
            before = ex.a.balanceOf(ex.trader)
            ex.a.transfer(pair.address, 5)
            pair.skim(ex.trader)
            assert ex.a.balanceOf(ex.trader) == before
            ex.a.transfer(pair.address, 7)
            pair.sync()
        assert reserves_of(pair, ex.a) == (10**21 + 7, 10**21)


def test_factory_indexes_pairs_like_v2(ex):
    with boa.env.anchor():
        d = ex.token("DDD")
        first_count = ex.factory.allPairsLength()
        pair = ex.factory.createPair(d.address, ex.a.address)
        (created,) = [e for e in ex.factory.get_logs() if type(e).__name__ == "PairCreated"]
        token0, token1 = sorted([d.address, ex.a.address], key=lambda x: int(x, 16))
        assert (created.token0, created.token1, created.pair) == (token0, token1, pair)
        assert created.count == first_count + 1
        assert ex.factory.getPair(d.address, ex.a.address) == pair
        assert ex.factory.getPair(ex.a.address, d.address) == pair
        assert ex.factory.allPairs(first_count) == pair
        with boa.reverts("ArenaFactory: pair exists"):
            ex.factory.createPair(ex.a.address, d.address)
        with boa.reverts("ArenaFactory: identical tokens"):
            ex.factory.createPair(d.address, d.address)
        with boa.reverts("ArenaFactory: zero address token"):
            ex.factory.createPair("0x" + "00" * 20, d.address)


def test_events_and_selectors_match_uniswap_v2_signatures():
    abi = load_artifact("ArenaPair").abi
    topics = {
        item["name"]: "0x" + event_abi_to_log_topic(item).hex()
        for item in abi
        if item["type"] == "event"
    }
    for signature in (
        "Sync(uint112,uint112)",
        "Swap(address,uint256,uint256,uint256,uint256,address)",
        "Mint(address,uint256,uint256)",
        "Burn(address,uint256,uint256,address)",
    ):
        name = signature.split("(")[0]
        assert topics[name] == "0x" + keccak(text=signature).hex() == V2_EVENT_TOPICS[name]
    selectors = {
        "0x"
        + function_signature_to_4byte_selector(
            f"{item['name']}({','.join(i['type'] for i in item['inputs'])})"
        ).hex()
        for item in abi
        if item["type"] == "function"
    }
    for signature in (
        "getReserves()",
        "token0()",
        "token1()",
        "factory()",
        "mint(address)",
        "burn(address)",
        "swap(uint256,uint256,address,bytes)",
        "skim(address)",
        "sync()",
        "MINIMUM_LIQUIDITY()",
    ):
        assert "0x" + function_signature_to_4byte_selector(signature).hex() in selectors
    router_abi = load_artifact("ArenaRouter").abi
    swap = next(i for i in router_abi if i.get("name") == "swapExactTokensForTokens")
    assert [i["type"] for i in swap["inputs"]] == [
        "uint256",
        "uint256",
        "address[]",
        "address",
        "uint256",
    ]
