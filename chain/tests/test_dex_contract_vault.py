"""ArenaVault on titanoboa: roles, one-time trade keys, slippage/deadline limits, deposits and
withdrawals, and the mark-to-market views against the exact formulas."""

from __future__ import annotations

import boa
import pytest

from chain.dex import amm
from chain.tests.contract_world import deployer
from chain.tests.dex_contract_world import FAR_DEADLINE, MAX, make_exchange, reserves_of

KEY = b"\x11" * 32
OTHER_KEY = b"\x22" * 32
CAPITAL = 10**21


@pytest.fixture
def vault_world():
    with boa.env.anchor():
        ex = make_exchange()
        quote = ex.token("USD")
        tokens = [ex.token(s) for s in ("AAA", "BBB")]
        pairs = [ex.seed(t, quote, 10**22, 2 * 10**22 * (i + 1)) for i, t in enumerate(tokens)]
        keeper = boa.env.generate_address("keeper")
        owner = boa.env.generate_address("owner")
        with boa.env.prank(owner):
            vault = deployer("ArenaVault").deploy(
                quote.address, ex.router.address, keeper, 7, [t.address for t in tokens]
            )
        sponsor = boa.env.generate_address("sponsor")
        quote.mint(sponsor, CAPITAL)
        with boa.env.prank(sponsor):
            quote.approve(vault.address, MAX)
            vault.deposit(CAPITAL)
        yield {
            "ex": ex,
            "quote": quote,
            "tokens": tokens,
            "pairs": pairs,
            "vault": vault,
            "keeper": keeper,
            "owner": owner,
            "sponsor": sponsor,
        }


def buy(w, token, amount, min_out, key=KEY, deadline=FAR_DEADLINE):
    with boa.env.prank(w["keeper"]):
        return w["vault"].swap(key, w["quote"].address, token.address, amount, min_out, deadline)


def test_a_keeper_trade_pays_the_formula_and_is_recorded_under_its_key(vault_world):
    w = vault_world
    token, pair, vault = w["tokens"][0], w["pairs"][0], w["vault"]
    reserve_token, reserve_quote = reserves_of(pair, token)
    expected = amm.amount_out(10**20, reserve_quote, reserve_token)
    assert buy(w, token, 10**20, expected) == expected
    (event,) = [e for e in vault.get_logs() if type(e).__name__ == "TradeExecuted"]
    assert (event.key, event.token_in, event.token_out) == (KEY, w["quote"].address, token.address)
    assert (event.amount_in, event.amount_out) == (10**20, expected)
    assert tuple(vault.trades(KEY)) == (10**20, expected)
    assert tuple(vault.trades(OTHER_KEY)) == (0, 0)
    assert w["quote"].balanceOf(vault.address) == CAPITAL - 10**20
    assert token.balanceOf(vault.address) == expected
    assert list(vault.holdings()) == [expected, 0]
    with boa.reverts("ArenaVault: trade key already used"):
        buy(w, token, 10**20, 1)
    # Sell it back under another key: the other direction.
    reserve_token, reserve_quote = reserves_of(pair, token)
    back = amm.amount_out(expected, reserve_token, reserve_quote)
    with boa.env.prank(w["keeper"]):
        assert (
            vault.swap(OTHER_KEY, token.address, w["quote"].address, expected, back, FAR_DEADLINE)
            == back
        )
    assert w["quote"].balanceOf(vault.address) == CAPITAL - 10**20 + back


def test_only_the_keeper_trades_and_only_within_limits(vault_world):
    w = vault_world
    token, vault = w["tokens"][0], w["vault"]
    outsider_token = w["ex"].token("ZZZ")
    with boa.env.prank(w["owner"]), boa.reverts("ArenaVault: caller is not the keeper"):
        vault.swap(KEY, w["quote"].address, token.address, 10**18, 1, FAR_DEADLINE)
    with boa.reverts("ArenaVault: empty trade key"):
        buy(w, token, 10**18, 1, key=b"\x00" * 32)
    with boa.reverts("ArenaVault: a positive minimum output (slippage limit) is required"):
        buy(w, token, 10**18, 0)
    with boa.reverts("ArenaVault: zero amount in"):
        buy(w, token, 0, 1)
    with boa.reverts("ArenaVault: trades must be between the quote token and a universe token"):
        buy(w, outsider_token, 10**18, 1)
    with (
        boa.env.prank(w["keeper"]),
        boa.reverts("ArenaVault: trades must be between the quote token and a universe token"),
    ):
        vault.swap(KEY, token.address, w["tokens"][1].address, 1, 1, FAR_DEADLINE)
    reserve_token, reserve_quote = reserves_of(w["pairs"][0], token)
    expected = amm.amount_out(10**18, reserve_quote, reserve_token)
    with boa.reverts("ArenaRouter: insufficient output amount"):
        buy(w, token, 10**18, expected + 1)
    with boa.reverts("ArenaRouter: expired"):
        buy(w, token, 10**18, 1, deadline=boa.env.evm.patch.timestamp - 1)
    # A refused trade leaves its key unused: the keeper can retry under the same key.
    assert tuple(vault.trades(KEY)) == (0, 0)
    assert buy(w, token, 10**18, expected) == expected


def test_owner_manages_keeper_universe_and_withdrawals(vault_world):
    w = vault_world
    vault, quote = w["vault"], w["quote"]
    new_keeper = boa.env.generate_address("new keeper")
    with boa.env.prank(w["keeper"]):
        with boa.reverts("ownable: caller is not the owner"):
            vault.set_keeper(new_keeper)
        with boa.reverts("ownable: caller is not the owner"):
            vault.withdraw(quote.address, 1, w["keeper"])
    with boa.env.prank(w["owner"]):
        vault.set_keeper(new_keeper)
        with boa.reverts("ArenaVault: keeper is the zero address"):
            vault.set_keeper("0x" + "00" * 20)
        vault.withdraw(quote.address, 10**18, w["sponsor"])
        (event,) = [e for e in vault.get_logs() if type(e).__name__ == "Withdrawn"]
        assert (event.token, event.to, event.amount) == (quote.address, w["sponsor"], 10**18)
        with boa.reverts("ArenaVault: the quote token is not a position"):
            vault.add_token(quote.address)
        with boa.reverts("ArenaVault: token already in the universe"):
            vault.add_token(w["tokens"][0].address)
    lonely = w["ex"].token("LON")
    with boa.env.prank(w["owner"]), boa.reverts("ArenaVault: no pair with the quote token"):
        vault.add_token(lonely.address)
    w["ex"].seed(lonely, quote, 10**20, 10**20)
    with boa.env.prank(w["owner"]):
        vault.add_token(lonely.address)
    assert vault.keeper() == new_keeper
    assert vault.token_count() == 3 and vault.tokens(2) == lonely.address
    assert quote.balanceOf(vault.address) == CAPITAL - 10**18
    with boa.reverts("ArenaVault: zero deposit"):
        vault.deposit(0)


def test_mark_to_market_views_equal_the_formulas(vault_world):
    w = vault_world
    vault = w["vault"]
    assert vault.value_at_mid() == vault.liquidation_value() == CAPITAL
    for i, (token, pair) in enumerate(zip(w["tokens"], w["pairs"], strict=True)):
        reserve_token, reserve_quote = reserves_of(pair, token)
        expected = amm.amount_out(3 * 10**20, reserve_quote, reserve_token)
        buy(w, token, 3 * 10**20, expected, key=bytes([i + 1]) * 32)
    quote_left = CAPITAL - 6 * 10**20
    mid = quote_left
    liquidation = quote_left
    for token, pair in zip(w["tokens"], w["pairs"], strict=True):
        held = token.balanceOf(vault.address)
        reserve_token, reserve_quote = reserves_of(pair, token)
        mid += held * reserve_quote // reserve_token
        liquidation += amm.amount_out(held, reserve_token, reserve_quote)
    assert vault.value_at_mid() == mid
    assert vault.liquidation_value() == liquidation
    # Buying pushed both prices up (the mid gains), selling everything back pays fees and
    # impact twice (the liquidation value loses).
    assert liquidation < CAPITAL < mid


def test_constructor_checks():
    with boa.env.anchor():
        ex = make_exchange()
        quote, lonely = ex.token("USD"), ex.token("LON")
        vault_deployer = deployer("ArenaVault")
        with boa.reverts("ArenaVault: keeper is the zero address"):
            vault_deployer.deploy(quote.address, ex.router.address, "0x" + "00" * 20, 1, [])
        with boa.reverts("ArenaVault: no pair with the quote token"):
            vault_deployer.deploy(
                quote.address, ex.router.address, boa.env.eoa, 1, [lonely.address]
            )
        with boa.reverts("ArenaVault: router has no code"):
            vault_deployer.deploy(quote.address, boa.env.eoa, boa.env.eoa, 1, [])
