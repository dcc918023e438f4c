"""Rebalancing a vault on the in-process chain: plan and amounts, idempotency and crash
resume, slippage/deadline failures retried within limits, reconciliation to the wei."""

from __future__ import annotations

from collections import Counter
from fractions import Fraction
from typing import Any

import pytest

from chain.dex import amm
from chain.dex.gateway import DexGateway
from chain.dex.journal import FileJournal, MemoryJournal
from chain.dex.rebalance import (
    RebalanceError,
    RebalanceLimits,
    Rebalancer,
    TradingHalted,
    target_values,
    trade_key,
)
from chain.dex.vault_ledger import LedgerMismatch, mark_to_market
from chain.tests.dex_world import E18, make_dex_world

CAPITAL = 10_000 * E18


class SimulatedCrash(Exception):
    pass


class CrashingJournal(MemoryJournal):
    """Dies (without saving) when the k-th trade is about to be booked as done: the trade
    has executed on-chain, the journal never hears of it — the worst moment to crash."""

    def __init__(self, crash_at_done: int) -> None:
        super().__init__()
        self.crash_at_done = crash_at_done

    def save(self, key: str, document: dict[str, Any]) -> None:
        if key.startswith("rebalance:"):
            trades = document["sells"] + (document["buys"] or [])
            if sum(t["status"] == "done" for t in trades) >= self.crash_at_done:
                raise SimulatedCrash(key)
        super().save(key, document)


class HookJournal(MemoryJournal):
    """Calls ``hook(document)`` on every save of a rebalance document (to move the market
    between the keeper's decisions)."""

    def __init__(self, hook) -> None:
        super().__init__()
        self.hook = hook

    def save(self, key: str, document: dict[str, Any]) -> None:
        super().save(key, document)
        if key.startswith("rebalance:"):
            self.hook(document)


def trade_events(world) -> list[dict[str, Any]]:
    return [
        e
        for e in world.dex.vault_events(world.vault, world.vault_block)
        if e["name"] == "TradeExecuted"
    ]


def test_first_rebalance_buys_the_target_weights_at_the_planned_amounts():
    world = make_dex_world()
    weights = world.weights([0.4, 0.3, 0.2, 0.1])
    before = mark_to_market(world.dex, world.vault)
    result = world.rebalancer().run("round-1", weights)
    assert result.value_before == CAPITAL == before.value_at_mid
    assert [t["phase"] for t in result.trades] == ["buy"] * 4
    # Cash only: each deficit is its whole target ⌊w·V⌋ (w's exact binary value), scaled to
    # the cash when the float weights sum to a hair above one.
    targets = target_values(weights, CAPITAL)
    total = sum(targets.values())
    assert total == sum(int(Fraction(w) * CAPITAL) for w in weights.values())
    for trade, token in zip(result.trades, weights, strict=True):
        reserve_token, reserve_quote = before.reserves[token]
        amount = int(trade["amount_in"])
        assert amount == targets[token] * min(CAPITAL, total) // total
        assert int(trade["amount_out"]) == amm.amount_out(amount, reserve_quote, reserve_token)
        assert trade["key"] == "0x" + trade_key(world.vault, "round-1", "buy", token).hex()
        assert trade["attempts"][-1]["min_out"] == str(int(trade["expected_out"]) * 9950 // 10_000)
    after = mark_to_market(world.dex, world.vault)
    assert after.quote_balance < 4  # rounding dust: at most one wei per buy
    assert after.value_at_mid == result.value_after
    for token, weight in weights.items():
        assert after.weights()[token] == pytest.approx(weight, abs=0.002)
    # Cost against the pre-trade mid: each pool traded once, so its reserves before the
    # rebalance are the pre-trade reserves. Fee (30 bps) plus impact (≈ trade / depth:
    # 10-40 bps for these 0.1-0.4% trades).
    for trade in result.trades:
        reserve_token, reserve_quote = before.reserves[trade["token"]]
        assert int(trade["mid_in"]) == int(trade["amount_in"])
        assert int(trade["mid_out"]) == int(trade["amount_out"]) * reserve_quote // reserve_token
    assert result.traded_quote == sum(int(t["amount_in"]) for t in result.trades)
    assert 30 + 10 < result.execution_cost_bps < 30 + 40
    assert result.cost_quote == sum(int(t["mid_in"]) - int(t["mid_out"]) for t in result.trades)
    assert result.executed == 4 and result.failed == 0
    assert result.gas_used == sum(t["gas_used"] for t in result.trades)
    assert all(t["gas_used"] > 21_000 and t["tx_hash"] for t in result.trades)
    assert after.value_at_mid == world.dex.vault_value_at_mid(world.vault)
    assert after.liquidation_value == world.dex.vault_liquidation_value(world.vault)


def test_running_a_finished_rebalance_again_trades_nothing():
    world = make_dex_world()
    weights = world.weights([0.25, 0.25, 0.25, 0.25])
    first = world.rebalancer().run("round-1", weights)
    block = world.chain.block_number()
    again = world.rebalancer().run("round-1", weights)
    assert world.chain.block_number() == block
    assert again == first
    assert len(trade_events(world)) == 4
    with pytest.raises(RebalanceError, match="was planned with other weights"):
        world.rebalancer().run("round-1", world.weights([0.7, 0.1, 0.1, 0.1]))


def test_rebalance_sells_before_it_buys_and_buys_with_what_the_sells_raised():
    world = make_dex_world()
    world.rebalancer().run("round-1", world.weights([0.4, 0.3, 0.2, 0.1]))
    cash = mark_to_market(world.dex, world.vault).quote_balance  # round 1's rounding dust
    result = world.rebalancer().run("round-2", world.weights([0.1, 0.2, 0.3, 0.4]))
    phases = [(t["phase"], t["token"]) for t in result.trades]
    tokens = world.universe.tokens
    assert phases == [
        ("sell", tokens[0]),
        ("sell", tokens[1]),
        ("buy", tokens[2]),
        ("buy", tokens[3]),
    ]
    last_sell = max(t["block"] for t in result.trades if t["phase"] == "sell")
    assert all(t["block"] > last_sell for t in result.trades if t["phase"] == "buy")
    raised = sum(int(t["amount_out"]) for t in result.trades if t["phase"] == "sell")
    spent = sum(int(t["amount_in"]) for t in result.trades if t["phase"] == "buy")
    assert spent <= raised + cash and raised + cash - spent < 10  # all cash reinvested
    after = mark_to_market(world.dex, world.vault)
    for token, weight in zip(tokens, [0.1, 0.2, 0.3, 0.4], strict=True):
        assert after.weights()[token] == pytest.approx(weight, abs=0.003)


@pytest.mark.parametrize("crash_at_done", [1, 3])
def test_a_crash_after_k_of_n_trades_resumes_with_the_rest_only(tmp_path, crash_at_done):
    world = make_dex_world()
    world.rebalancer().run("round-1", world.weights([0.4, 0.3, 0.2, 0.1]))
    weights = world.weights([0.1, 0.2, 0.3, 0.4])
    crashing = CrashingJournal(crash_at_done)
    crashing._documents = dict(world.journal._documents)  # the ledger's saved state
    with pytest.raises(SimulatedCrash):
        world.rebalancer(journal=crashing).run("round-2", weights)
    executed_before_resume = len(trade_events(world))
    assert executed_before_resume == 4 + crash_at_done

    # A new process: fresh gateway objects over the same chain, the journal as it was saved.
    survivor = MemoryJournal()
    survivor._documents = dict(crashing._documents)
    result = world.rebalancer(journal=survivor, dex=DexGateway(world.chain)).run("round-2", weights)
    events = trade_events(world)
    assert len(events) == 4 + 4  # round 1's four, round 2's four: nothing twice
    assert Counter(e["args"]["key"] for e in events).most_common(1)[0][1] == 1
    assert result.executed == 4
    booked_from_chain = result.trades[crash_at_done - 1]
    (event,) = [e for e in events if e["args"]["key"] == booked_from_chain["key"]]
    assert booked_from_chain["amount_out"] == str(event["args"]["amount_out"])
    assert booked_from_chain["tx_hash"] == event["tx_hash"] and booked_from_chain["gas_used"] > 0
    assert len(booked_from_chain["attempts"]) == 1


def test_file_journal_carries_a_rebalance_across_processes(tmp_path):
    world = make_dex_world()
    journal = FileJournal(tmp_path / "journal")
    weights = world.weights([0.5, 0.5, 0.0, 0.0])
    first = world.rebalancer(journal=journal).run("round-1", weights)
    reopened = FileJournal(tmp_path / "journal")
    again = world.rebalancer(journal=reopened, dex=DexGateway(world.chain)).run("round-1", weights)
    assert again == first
    assert len(trade_events(world)) == 2
    assert reopened.load(f"ledger:{world.vault}")["halted"] is None


def adverse_sell(world, token: str, fraction_bps: int) -> None:
    """Someone else sells ``token`` into its pool, moving its price down."""
    trader = world.chain.dev_accounts[5]
    pair = world.dex.vault_pair(world.vault, token)
    reserve_token, _ = world.dex.reader.reserves(pair).oriented(world.dex.reader.pair(pair), token)
    amount = reserve_token * fraction_bps // 10_000
    world.dex.mint(token=token, to=trader, amount=amount)
    world.dex.swap_exact_in(
        path=[token, world.universe.quote], amount_in=amount, min_out=1, sender=trader
    )


def test_a_slippage_failure_is_recorded_and_retried_within_the_widened_limit():
    world = make_dex_world()
    world.rebalancer().run("round-1", world.weights([0.4, 0.3, 0.2, 0.1]))
    token = world.universe.tokens[0]
    moved = []

    def front_run(doc):
        first = doc["sells"][0]
        if first["attempts"] and first["attempts"][0]["result"] == "sending" and not moved:
            moved.append(True)
            adverse_sell(world, token, 35)  # ~70 bps lower price: beyond 50, within 100

    journal = HookJournal(front_run)
    journal._documents = dict(world.journal._documents)
    result = world.rebalancer(journal=journal).run("round-2", world.weights([0.1, 0.2, 0.3, 0.4]))
    trade = result.trades[0]
    assert (trade["token"], trade["status"]) == (token, "done")
    assert [a["result"] for a in trade["attempts"]] == [
        "reverted: ArenaRouter: insufficient output amount",
        "executed",
    ]
    expected = int(trade["expected_out"])
    assert [int(a["min_out"]) for a in trade["attempts"]] == [
        expected * 9950 // 10_000,
        expected * 9900 // 10_000,
    ]
    assert expected * 9900 // 10_000 <= int(trade["amount_out"]) < expected * 9950 // 10_000
    assert result.failed == 0


def test_an_expired_deadline_is_recorded_and_retried():
    world = make_dex_world()
    delays = []

    def stall(doc):
        trade = (doc["buys"] or [None])[0]
        if (
            trade
            and trade["attempts"]
            and trade["attempts"][-1]["result"] == "sending"
            and not delays
        ):
            delays.append(world.chain.advance_time(400))  # past the 300 s deadline

    journal = HookJournal(stall)
    result = world.rebalancer(journal=journal).run("round-1", world.weights([0.25] * 4))
    trade = result.trades[0]
    assert [a["result"] for a in trade["attempts"]] == [
        "reverted: ArenaRouter: expired",
        "executed",
    ]
    assert trade["attempts"][1]["deadline"] > trade["attempts"][0]["deadline"] + 300
    assert result.executed == 4


def test_a_trade_beyond_every_limit_fails_and_the_rebalance_goes_on():
    world = make_dex_world()
    world.rebalancer().run("round-1", world.weights([0.4, 0.3, 0.2, 0.1]))
    token = world.universe.tokens[0]

    def crash_the_price(doc):
        first = doc["sells"][0]
        if first["attempts"] and first["attempts"][-1]["result"] == "sending":
            adverse_sell(world, token, 100)  # ~2% lower before every attempt

    journal = HookJournal(crash_the_price)
    journal._documents = dict(world.journal._documents)
    cash = mark_to_market(world.dex, world.vault).quote_balance  # round 1's rounding dust
    limits = RebalanceLimits(slippage_bps=50, retry_widening_bps=25, max_attempts=3)
    result = world.rebalancer(journal=journal, limits=limits).run(
        "round-2", world.weights([0.1, 0.2, 0.3, 0.4])
    )
    failed = result.trades[0]
    assert failed["status"] == "failed"
    assert [a["result"] for a in failed["attempts"]] == [
        "reverted: ArenaRouter: insufficient output amount"
    ] * 3
    assert result.failed == 1 and result.executed == len(result.trades) - 1
    assert world.dex.vault_trade(world.vault, bytes.fromhex(failed["key"][2:])) is None
    # The failed sell raised nothing, so the buys spent only what the other sell raised.
    raised = sum(
        int(t["amount_out"])
        for t in result.trades
        if t["phase"] == "sell" and t["status"] == "done"
    )
    assert sum(int(t["amount_in"]) for t in result.trades if t["phase"] == "buy") <= raised + cash


def test_a_refused_trade_for_another_reason_stops_the_rebalance():
    world = make_dex_world()
    with pytest.raises(RebalanceError, match="ArenaVault: caller is not the keeper"):
        Rebalancer(
            world.dex,
            vault=world.vault,
            journal=world.journal,
            ledger=world.ledger(),
            keeper=world.chain.dev_accounts[1],
        ).run("round-1", world.weights([0.25] * 4))
    doc = world.journal.load(f"rebalance:{world.vault}:round-1")
    first = doc["buys"][0]
    assert first["status"] == "failed"
    assert [a["result"] for a in first["attempts"]] == [
        "reverted: ArenaVault: caller is not the keeper"
    ]
    assert [t["status"] for t in doc["buys"][1:]] == ["planned"] * 3
    assert trade_events(world) == []


def test_a_stray_transfer_halts_trading_until_it_is_booked():
    world = make_dex_world()
    world.rebalancer().run("round-1", world.weights([0.25] * 4))
    token = world.universe.tokens[2]
    world.dex.mint(token=token, to=world.vault, amount=12_345)  # nobody recorded this
    with pytest.raises(
        LedgerMismatch, match=rf"{token}: ledger \d+, chain \d+ \(difference \+12345\)"
    ):
        world.rebalancer().run("round-2", world.weights([0.1, 0.2, 0.3, 0.4]))
    with pytest.raises(TradingHalted, match="does not reconcile"):
        world.rebalancer().run("round-2", world.weights([0.1, 0.2, 0.3, 0.4]))
    assert len(trade_events(world)) == 4
    ledger = world.ledger()
    booked = ledger.balances[token]
    with pytest.raises(LedgerMismatch):
        ledger.resolve({token: 1}, reason="wrong amount")  # still off: stays halted
    assert world.ledger().halted
    assert world.ledger().balances[token] == booked  # and the wrong entry is taken back
    world.ledger().resolve({token: 12_345}, reason="airdrop received from the minter")
    result = world.rebalancer().run("round-2", world.weights([0.1, 0.2, 0.3, 0.4]))
    assert result.executed == 4


def test_ledger_follows_deposits_withdrawals_and_trades_to_the_wei():
    world = make_dex_world()
    ledger = world.ledger()
    assert ledger.reconcile().balances[world.universe.quote] == CAPITAL
    world.rebalancer().run("round-1", world.weights([0.5, 0.0, 0.5, 0.0]))
    world.dex.vault_withdraw(
        vault=world.vault, token=world.universe.tokens[0], amount=10**9, to=world.chain.operator
    )
    world.dex.mint(token=world.universe.quote, to=world.chain.operator, amount=10**9)
    world.dex.vault_deposit(vault=world.vault, amount=10**9)
    reconciled = world.ledger().reconcile()
    for token, amount in reconciled.balances.items():
        assert world.dex.balance_of(token, world.vault) == amount
    assert world.ledger().synced_to == reconciled.block


def test_weights_are_checked_before_anything_is_planned():
    world = make_dex_world()
    rebalancer = world.rebalancer()
    with pytest.raises(RebalanceError, match="sum to"):
        rebalancer.run("bad", world.weights([0.5, 0.5, 0.5, 0.0]))
    with pytest.raises(RebalanceError, match="non-negative"):
        rebalancer.run("bad", world.weights([1.1, -0.1, 0.0, 0.0]))
    with pytest.raises(RebalanceError, match="outside the vault's universe"):
        rebalancer.run("bad", {world.universe.quote: 1.0})
    assert world.journal.load(f"rebalance:{world.vault}:bad") is None
    with pytest.raises(ValueError, match="must stay below 10,000"):
        RebalanceLimits(slippage_bps=5_000, retry_widening_bps=5_000, max_attempts=2)


def test_ledger_objects_share_the_journal_state():
    world = make_dex_world()
    keeper_side, operator_side = world.ledger(), world.ledger()
    token = world.universe.tokens[1]
    world.dex.mint(token=token, to=world.vault, amount=777)
    with pytest.raises(LedgerMismatch):
        keeper_side.reconcile()
    assert operator_side.halted  # halted through the other object
    operator_side.resolve({token: 777}, reason="test transfer")
    # The keeper's object sees the adjustment (it would halt again without it).
    reconciled = keeper_side.reconcile()
    assert reconciled.balances[token] == 777 and keeper_side.halted is None
