"""Time-weighted average prices (chain/dex/twap.py): the arithmetic against hand computations,
the reader's reserves at every block of a window, valuations of a market at rest, and the
rebalance's slippage limits set against the average instead of a pushed spot price."""

from __future__ import annotations

from fractions import Fraction

import pytest

from chain.dex import amm
from chain.dex.rebalance import RebalanceLimits
from chain.dex.twap import reserves_at_price, time_weighted_price
from chain.dex.vault_ledger import averaged_reserves, mark_to_market
from chain.gateway import ChainGateway
from chain.tests.dex_world import make_dex_world


def test_time_weighted_price_by_hand():
    # End states of blocks A, A+1, A+2, A+3 and the timestamps of A..B (B = A+4):
    #   price 10/4 held 12 s, 10/3 held 3 s, no pool for 4 s (left out), 10/10 held 1 s.
    states = [(4, 10), (3, 10), None, (10, 10)]
    timestamps = [100, 112, 115, 119, 120]
    # (2.5·12 + (10/3)·3 + 1·1) / (12 + 3 + 1) = (30 + 10 + 1) / 16
    assert time_weighted_price(states, timestamps) == Fraction(41, 16)
    # One block interval of a price: that price, exactly.
    assert time_weighted_price([(7, 3)], [5, 17]) == Fraction(3, 7)
    # A zero reserve is no price; a window without any price has no average.
    assert time_weighted_price([(0, 5), None], [1, 2, 3]) is None
    assert time_weighted_price([], [9]) is None
    with pytest.raises(ValueError, match="one timestamp per state"):
        time_weighted_price([(1, 1)], [1])
    with pytest.raises(ValueError, match="must not decrease"):
        time_weighted_price([(1, 1)], [5, 4])


def test_a_spike_for_one_block_interval_moves_the_average_by_its_share_of_the_time():
    # 19 one-second intervals at price 2 and one at 3 (+50%): the average moves 0.5/20 = 2.5%.
    states = [(100, 200)] * 10 + [(100, 300)] + [(100, 200)] * 9
    assert time_weighted_price(states, list(range(21))) == Fraction(2) + Fraction(1, 20)


def test_reserves_at_price_by_hand():
    # Depth k = 100·400 = 40,000 placed at price 9/4: R̄_t = ⌊√(40,000·4/9)⌋ = ⌊√17,777⌋ = 133,
    # R̄_q = ⌊√(40,000·9/4)⌋ = √90,000 = 300.
    assert reserves_at_price(Fraction(9, 4), 100, 400) == (133, 300)
    assert reserves_at_price(Fraction(1), 100, 400) == (200, 200)
    # Already at that price: the pool's own reserves, to the unit.
    assert reserves_at_price(Fraction(400, 100), 100, 400) == (100, 400)
    # Realistic depths: the ratio is the price to ~1e-24, the depth kept.
    r_t, r_q = 10**24 + 12_345, 3 * 10**24 + 67
    price = Fraction(r_q, r_t) * Fraction(1001, 1000)
    a_t, a_q = reserves_at_price(price, r_t, r_q)
    assert abs(Fraction(a_q, a_t) / price - 1) < Fraction(1, 10**22)
    assert abs(Fraction(a_t * a_q, r_t * r_q) - 1) < Fraction(1, 10**22)
    with pytest.raises(ValueError, match="no price"):
        reserves_at_price(Fraction(1), 0, 5)


def test_the_reader_reads_each_block_of_a_window_and_nothing_before_the_pool():
    world = make_dex_world()
    dex, market = world.dex, world.universe.markets[-1]  # the pool created last
    head = world.chain.block_number()
    window = dex.reader.block_window(head, 12)  # reaches back to before that pool existed
    assert [ref.number for ref in window] == list(range(head - 12, head + 1))
    assert all(a.timestamp < b.timestamp for a, b in zip(window, window[1:], strict=False))
    states = dex.reader.reserves_over(market.pair, window)
    assert states[0] is None  # no pair yet
    first = next(i for i, s in enumerate(states) if s is not None)
    assert first < len(states) - 1
    for ref, state in zip(window[first:], states[first:], strict=True):
        assert state == dex.reader.reserves(market.pair, block=ref.number)
    # Reserves of past blocks are kept: a second read of the window makes no eth_call.
    calls = []
    original = world.chain.web3.eth.call
    world.chain.web3.eth.call = lambda *a, **k: calls.append(a) or original(*a, **k)
    try:
        assert dex.reader.reserves_over(market.pair, window) == states
    finally:
        world.chain.web3.eth.call = original
    assert calls == []


def test_a_market_at_rest_is_valued_at_the_average_exactly_as_at_spot():
    world = make_dex_world()
    spot = mark_to_market(world.dex, world.vault)
    averaged = mark_to_market(world.dex, world.vault, twap_blocks=20)
    assert averaged.reserves == spot.reserves == averaged.spot_reserves
    assert averaged.value_at_mid == spot.value_at_mid == world.dex.vault_value_at_mid(world.vault)
    assert (averaged.twap_blocks, averaged.window_start) == (20, spot.block - 20)
    assert (spot.twap_blocks, spot.window_start) == (0, None)


def _push_price(world, token: str, quote_fraction_bps: int) -> None:
    """An attacker buys ``token`` with a fraction of its pool's quote reserve."""
    attacker = world.chain.dev_accounts[6]
    pair = world.dex.vault_pair(world.vault, token)
    _, reserve_quote = world.dex.reader.reserves(pair).oriented(world.dex.reader.pair(pair), token)
    amount = reserve_quote * quote_fraction_bps // 10_000
    world.dex.mint(token=world.universe.quote, to=attacker, amount=amount)
    world.dex.ensure_allowance(
        token=world.universe.quote,
        spender=world.dex.exchange.router,
        amount=amount,
        sender=attacker,
    )
    world.dex.swap_exact_in(
        path=[world.universe.quote, token], amount_in=amount, min_out=1, sender=attacker
    )


@pytest.mark.parametrize("twap_blocks", [0, 20])
def test_a_front_run_before_the_rebalance_cannot_widen_its_slippage_limit(twap_blocks):
    """The attacker pushes T0 up 4.5% (the vault is about to buy it) in the latest block,
    right before the keeper plans. At spot the plan's limit is computed from the pushed
    price and the buy fills there; against the 20-block average the limit stays at the fair
    price, every attempt reverts and the vault buys none of it at the attacker's price."""
    world = make_dex_world()
    for _ in range(25):  # a market at rest: the window holds only the seeded prices
        world.chain.advance_time(1)
    token = world.universe.tokens[0]
    pair = world.dex.vault_pair(world.vault, token)
    fair = mark_to_market(world.dex, world.vault).reserves[token]
    _push_price(world, token, 220)  # +2.2% of the quote reserve in: price ×1.022² ≈ +4.5%
    pushed = mark_to_market(world.dex, world.vault)
    assert pushed.price(token) / (fair[1] / fair[0]) - 1 == pytest.approx(0.0449, abs=0.0005)

    limits = RebalanceLimits(
        slippage_bps=50, retry_widening_bps=50, max_attempts=3, twap_blocks=twap_blocks
    )
    result = world.rebalancer(limits=limits).run("round-1", world.weights([0.4, 0.3, 0.2, 0.1]))
    trade = next(t for t in result.trades if t["token"] == token)
    amount = int(trade["amount_in"])
    if twap_blocks == 0:
        # The limit trusted the pushed block: the vault paid the attacker's price.
        expected = amm.amount_out(amount, pushed.reserves[token][1], pushed.reserves[token][0])
        assert int(trade["expected_out"]) == expected
        assert trade["status"] == "done"
        at_fair = amm.amount_out(amount, fair[1], fair[0])
        assert int(trade["amount_out"]) / at_fair - 1 == pytest.approx(-0.043, abs=0.002)
        return
    # The buys were planned at the 20-block average before the planning block: the pushed
    # state is that block's own, which has no weight yet, so the average is the fair price
    # (at the fair pool's depth), and the expected output is the formula there.
    plan = world.journal.load(f"rebalance:{world.vault}:round-1")
    assert plan["twap_blocks"] == 20
    window = world.dex.reader.block_window(plan["planned_block"], 20)
    spot, averaged = averaged_reserves(world.dex, pair, token, window)
    assert spot == pushed.spot_reserves[token] != fair
    assert [str(averaged[0]), str(averaged[1])] == plan["buy_planning_reserves"][token]
    assert averaged == fair  # the window's states are all the fair pool's
    assert int(trade["expected_out"]) == amm.amount_out(amount, averaged[1], averaged[0])
    # Min-out = 99.5%, 99%, 98.5% of that; the pushed pool gives ≈ 4.4% less, so every attempt
    # reverts and the trade is recorded failed: the vault holds none of T0, bought nothing at
    # the attacker's price, and the other three tokens are bought.
    assert [int(a["min_out"]) for a in trade["attempts"]] == [
        int(trade["expected_out"]) * bps // 10_000 for bps in (9950, 9900, 9850)
    ]
    assert [a["result"] for a in trade["attempts"]] == [
        "reverted: ArenaRouter: insufficient output amount"
    ] * 3
    assert trade["status"] == "failed"
    assert world.dex.vault_trade(world.vault, bytes.fromhex(trade["key"][2:])) is None
    assert world.dex.balance_of(token, world.vault) == 0
    assert result.executed == 3 and result.failed == 1


CHAIN_TIME = 4_000_000_000  # both worlds' clocks jump here; later blocks tick one second apart


def _sandwich_world(sandwich: str, *, attack: bool):
    """A vault holding four tokens in a quiet market, then the attacker's buy around a read
    at B: "in the read block" (the buy in B) or "one block before the read" (the buy in B−1,
    then someone else's block B); empty blocks instead of the attacker's without ``attack``.
    (The sell-back after B cannot matter to a read at B.) Returns the valuation at B averaged
    over 20 blocks, the spot valuation at B, and the world."""
    chain = ChainGateway.in_process(deploy=False)
    chain.advance_time(CHAIN_TIME - chain.block_timestamp())
    world = make_dex_world(chain)
    world.rebalancer().run("round-1", world.weights([0.25] * 4))
    for _ in range(25):
        chain.advance_time(1)
    victim = world.universe.tokens[1]
    if attack:
        _push_price(world, victim, 2_000)  # mint and approve, then the buy: three blocks
    else:
        for _ in range(3):
            chain.advance_time(1)
    if sandwich == "one block before the read":
        chain.advance_time(1)
    averaged = mark_to_market(world.dex, world.vault, twap_blocks=20)
    spot = mark_to_market(world.dex, world.vault, block=averaged.block)
    return averaged, spot, world


@pytest.mark.parametrize("sandwich", ["in the read block", "one block before the read"])
def test_a_sandwich_around_a_mark_moves_the_average_by_its_time_share_at_most(sandwich):
    honest, honest_spot, world = _sandwich_world(sandwich, attack=False)
    attacked, attacked_spot, _ = _sandwich_world(sandwich, attack=True)
    victim = world.universe.tokens[1]
    assert (attacked.block, attacked.window_start) == (honest.block, honest.window_start)
    # The attacker's buy (a fifth of the pool's quote) moved the spot price ≈ +44%.
    spot_move = Fraction(attacked_spot.price(victim)) / Fraction(honest_spot.price(victim)) - 1
    assert float(spot_move) == pytest.approx(0.44, abs=0.005)
    move = (
        Fraction(attacked.reserves[victim][1], attacked.reserves[victim][0])
        / Fraction(honest.reserves[victim][1], honest.reserves[victim][0])
        - 1
    )
    others = [t for t in world.universe.tokens if t != victim]
    assert all(attacked.reserves[t] == honest.reserves[t] for t in others)
    if sandwich == "in the read block":
        assert move == 0 and attacked.reserves == honest.reserves
        assert attacked.value_at_mid == honest.value_at_mid
    else:  # one interval of 1 s out of the window's 20 s
        assert float(move) == pytest.approx(float(spot_move) / 20, rel=1e-12)
