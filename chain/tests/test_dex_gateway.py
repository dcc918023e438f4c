"""DexGateway and the V2 reader on a real chain: the in-process one and an anvil node."""

from __future__ import annotations

import pytest

from chain.dex import amm
from chain.dex.gateway import DexGateway
from chain.gateway import ChainRevert
from market.universe import build_universe

E18 = 10**18


@pytest.fixture(scope="module")
def dex(gateway):
    dex = DexGateway(gateway)
    dex.deploy_exchange()
    return dex


@pytest.fixture(scope="module")
def universe(dex):
    return build_universe(
        dex, symbols=["AAA", "BBB"], start_prices=[2.0, 0.25], depth_quote=10**6 * E18
    )


def test_reader_reads_reserves_and_history_through_the_v2_interface(dex, universe):
    market = universe.market("AAA")
    info = dex.reader.pair(market.pair)
    assert {info.token0, info.token1} == {market.token, universe.quote}
    assert int(info.token0, 16) < int(info.token1, 16)
    seeded = dex.reader.reserves(market.pair)
    assert seeded.oriented(info, market.token) == (5 * 10**5 * E18, 10**6 * E18)
    assert dex.reader.mid_price(market.pair, market.token) == 2.0
    trader = dex.chain.dev_accounts[3]
    dex.mint(token=universe.quote, to=trader, amount=1_000 * E18)
    expected = amm.amount_out(1_000 * E18, 10**6 * E18, 5 * 10**5 * E18)
    swap = dex.swap_exact_in(
        path=[universe.quote, market.token], amount_in=1_000 * E18, min_out=expected, sender=trader
    )
    assert dex.balance_of(market.token, trader) == expected
    past = dex.reader.reserves(market.pair, block=swap.block - 1)
    assert (past.reserve0, past.reserve1, past.block) == (
        seeded.reserve0,
        seeded.reserve1,
        swap.block - 1,
    )
    after = dex.reader.reserves(market.pair).oriented(info, market.token)
    assert after == (5 * 10**5 * E18 - expected, 10**6 * E18 + 1_000 * E18)

    history = dex.reader.history(market.pair, dex.exchange.block)
    assert [e["name"] for e in history] == ["Sync", "Mint", "Sync", "Swap"]
    swap_event = history[-1]["args"]
    quote_is_0 = info.token0 == universe.quote
    assert swap_event["amount0In" if quote_is_0 else "amount1In"] == 1_000 * E18
    assert swap_event["amount1Out" if quote_is_0 else "amount0Out"] == expected
    assert swap_event["to"] == trader
    assert dex.reader.history(market.pair, dex.exchange.block, names=["Swap"]) == history[-1:]
    assert dex.reader.history(market.pair, dex.exchange.block, max_range=1) == history

    rows = dex.reader.pool_observations(market.pair, market.token, dex.exchange.block)
    assert rows.reserve_base == [5 * 10**5 * E18, 5 * 10**5 * E18 - expected]
    assert rows.reserve_quote == [10**6 * E18, 10**6 * E18 + 1_000 * E18]
    assert rows.volume_quote == [0, 1_000 * E18]
    assert rows.timestamp[1] == dex.chain.block_timestamp(swap.block)


def test_create_pair_sends_nothing_when_the_pair_exists(dex, universe):
    market = universe.market("BBB")
    assert dex.create_pair(universe.quote, market.token) == market.pair
    assert dex.pair_for(market.token, universe.quote) == market.pair


def test_vault_trade_runs_once_per_key_and_reverts_carry_the_reason(dex, universe):
    keeper = dex.chain.dev_accounts[4]
    market = universe.market("BBB")
    vault = dex.deploy_vault(
        quote=universe.quote, keeper=keeper, tournament_id=1, tokens=universe.tokens
    )
    assert dex.vault_tokens(vault) == universe.tokens
    assert dex.vault_keeper(vault) == keeper
    dex.mint(token=universe.quote, to=dex.chain.operator, amount=100 * E18)
    deposit = dex.vault_deposit(vault=vault, amount=100 * E18)
    assert [e["name"] for e in deposit.events if e["contract"] == "vault"] == ["Deposited"]
    token_reserve, quote_reserve = dex.reader.reserves(market.pair).oriented(
        dex.reader.pair(market.pair), market.token
    )
    expected = amm.amount_out(10 * E18, quote_reserve, token_reserve)
    key = b"\x42" * 32
    with pytest.raises(ChainRevert, match="ArenaRouter: insufficient output amount"):
        dex.vault_swap(
            vault=vault,
            key=key,
            token_in=universe.quote,
            token_out=market.token,
            amount_in=10 * E18,
            min_out=expected + 1,
            deadline=dex.now() + 60,
        )
    with pytest.raises(ChainRevert, match="ArenaRouter: expired"):
        dex.vault_swap(
            vault=vault,
            key=key,
            token_in=universe.quote,
            token_out=market.token,
            amount_in=10 * E18,
            min_out=expected,
            deadline=dex.now() - 1,
        )
    with pytest.raises(ChainRevert, match="ArenaVault: caller is not the keeper"):
        dex.vault_swap(
            vault=vault,
            key=key,
            token_in=universe.quote,
            token_out=market.token,
            amount_in=10 * E18,
            min_out=expected,
            deadline=dex.now() + 60,
            keeper=dex.chain.operator,
        )
    assert dex.vault_trade(vault, key) is None
    first = dex.vault_swap(
        vault=vault,
        key=key,
        token_in=universe.quote,
        token_out=market.token,
        amount_in=10 * E18,
        min_out=expected,
        deadline=dex.now() + 60,
    )
    again = dex.vault_swap(
        vault=vault,
        key=key,
        token_in=universe.quote,
        token_out=market.token,
        amount_in=10 * E18,
        min_out=expected,
        deadline=dex.now() + 60,
    )
    assert first.sent and not again.sent
    (traded,) = [e for e in first.events if e["name"] == "TradeExecuted"]
    assert traded["args"]["amount_out"] == expected
    record = dex.vault_trade(vault, key)
    assert (record.amount_in, record.amount_out) == (10 * E18, expected)
    found = dex.vault_trade_event(vault, key, from_block=first.block)
    assert (found["tx_hash"], found["gas_used"]) == (first.tx_hash, first.gas_used)
    events = dex.vault_events(vault, first.block - 5)
    assert [e["name"] for e in events if e["name"] == "TradeExecuted"] == ["TradeExecuted"]
    assert dex.balance_of(market.token, vault) == expected
    assert dex.vault_value_at_mid(vault) == 90 * E18 + amm.quote(
        expected, token_reserve - expected, quote_reserve + 10 * E18
    )
